package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/cmd/internal/agentcmd"
	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/qnetd"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// newQnetdCmd is `quorate qnetd`: the arbiter daemon (corosync-qnetd) and
// its enroll and status subcommands.
func newQnetdCmd() *cobra.Command {
	var (
		cfg                 qnetd.Config
		logLevel, logFormat string
	)
	c := &cobra.Command{
		Use:   "qnetd [--listen ADDR] [--data-dir DIR] [--admin PATH] [--metrics ADDR]",
		Short: "Run the quorum device arbiter for clusters' qdevices (corosync-qnetd)",
		Long: `Run the arbiter that gives a cluster's quorum device its vote: each node's
qdevice connects over TCP with TLS 1.3 (default port 5403), and for every
cluster name the daemon runs the ffsplit or lms algorithm over the
memberships the nodes report.

On first start the daemon creates in --data-dir a certificate authority
(ca.crt, ca.key) and its server certificate (server.crt, server.key) for
the names given with --san (default: the host name, localhost and the
host's addresses). A node must present a client certificate of that CA
naming its cluster: issue one with 'quorate qnetd enroll CLUSTER'.
'quorate qnetd status' lists the connected clusters and nodes.

Exit status: 0 after SIGINT or SIGTERM, 1 when the daemon fails (a port in
use, an unreadable data directory), 2 for bad flags.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			log, err := agentcmd.NewLogger(logLevel, logFormat)
			if err != nil {
				return badInput(err)
			}
			cfg.Logger = log
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := qnetd.Run(ctx, cfg); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&cfg.Listen, "listen", fmt.Sprintf(":%d", qnetd.DefaultPort), "TCP address to listen on")
	f.StringVar(&cfg.DataDir, "data-dir", qnetd.DefaultDataDir, "directory of the CA and server certificate")
	f.StringVar(&cfg.AdminSocket, "admin", qnetd.DefaultAdminSocket, "unix socket for 'quorate qnetd status' (\"\" for none)")
	f.StringVar(&cfg.MetricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9406)")
	f.StringSliceVar(&cfg.SANs, "san", nil, "names and addresses of the server certificate when it is first created (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json (to stderr)")
	c.AddCommand(newQnetdEnrollCmd(), newQnetdStatusCmd())
	return c
}

// newQnetdEnrollCmd is `quorate qnetd enroll CLUSTER`: what `pvecm qdevice
// setup` does on the qnetd host over SSH.
func newQnetdEnrollCmd() *cobra.Command {
	var (
		dir, out string
		days     int
		force    bool
	)
	c := &cobra.Command{
		Use:   "enroll CLUSTER --out FILE [--data-dir DIR] [--days N]",
		Short: "Issue a client bundle for a cluster's qdevices",
		Long: `Issue a client certificate for cluster CLUSTER (its totem.cluster_name) from
the daemon's CA in --data-dir (created if missing) and write the bundle --
the CA certificate, the client certificate and its key, PEM -- to --out
with mode 0600 ('-' writes to stdout). Every node of the cluster uses the
same bundle: 'quorate qdevice setup HOST --bundle FILE' installs it.

Exit status: 0 when written, 1 when writing failed, 2 for bad input or an
existing --out without --force.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return badInput(errors.New("qnetd enroll: --out is required (a file, or - for stdout)"))
			}
			if days < 1 {
				return badInput(fmt.Errorf("qnetd enroll: --days %d: want at least 1", days))
			}
			if out != "-" && !force {
				if _, err := os.Lstat(out); err == nil {
					return badInput(fmt.Errorf("qnetd enroll: %s already exists; use --force to replace it", out))
				}
			}
			pem, err := qnetd.Enroll(dir, args[0], time.Duration(days)*24*time.Hour)
			if err != nil {
				if errors.Is(err, qnetd.ErrClusterName) {
					return badInput(err)
				}
				return &exitError{Code: exitFailed, Err: err}
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(pem)
			} else {
				err = fsx.WriteFileAtomic(out, pem, 0o600)
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "Wrote the bundle for cluster %q to %s (valid %d days).\n", args[0], out, days)
				}
			}
			if err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&dir, "data-dir", qnetd.DefaultDataDir, "the daemon's data directory (its CA)")
	f.StringVar(&out, "out", "", "bundle file to write, or - for stdout")
	f.IntVar(&days, "days", int(qnetd.ClientValidity/(24*time.Hour)), "validity of the client certificate in days")
	f.BoolVar(&force, "force", false, "replace an existing --out")
	return c
}

// newQnetdStatusCmd is `quorate qnetd status` (corosync-qnetd-tool -l).
func newQnetdStatusCmd() *cobra.Command {
	var socket, format string
	c := &cobra.Command{
		Use:   "status [--admin PATH] [--format text|json]",
		Short: "List the clusters and nodes connected to the local qnetd (corosync-qnetd-tool -l)",
		Long: `Ask the running daemon over its admin socket for the connected clusters and,
per node, its address, algorithm, ring id, membership and current vote.

Exit status: 0; 1 when the daemon cannot be reached or does not answer;
2 for bad flags.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return badInput(fmt.Errorf("qnetd status: --format %q: want text or json", format))
			}
			ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
			defer cancel()
			st, err := qnetd.QueryStatus(ctx, socket)
			if err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			fmt.Fprint(w, st.Format())
			return nil
		},
	}
	c.Flags().StringVar(&socket, "admin", qnetd.DefaultAdminSocket, "the daemon's admin socket")
	c.Flags().StringVar(&format, "format", "text", "text or json")
	return c
}

// newQdeviceCmd is `quorate qdevice setup|remove` (pvecm qdevice).
func newQdeviceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "qdevice",
		Short: "Add or remove the cluster's quorum device (pvecm qdevice)",
	}
	c.AddCommand(newQdeviceSetupCmd(), newQdeviceRemoveCmd())
	return c
}

// qdeviceFlags say where both subcommands make their change: through the
// running agent (--admin, cluster-wide) or, with --offline, in this node's
// files only.
type qdeviceFlags struct {
	admin           string
	offline         bool
	config, dataDir string
}

func (q *qdeviceFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&q.admin, "admin", agent.DefaultAdminSocket, "the agent's admin socket")
	c.Flags().BoolVar(&q.offline, "offline", false, "change this node's --config and --data-dir only, with no agent running")
	c.Flags().StringVar(&q.config, "config", "/etc/corosync/corosync.conf", "with --offline: the corosync.conf to rewrite")
	c.Flags().StringVar(&q.dataDir, "data-dir", agent.DefaultDataDir, "with --offline: the agent's data directory, where the bundle is installed")
}

const clusterHint = `Every agent writes the new corosync.conf and restarts its engine with it
in a few seconds (a quorum device cannot join a running votequorum);
quorate status then shows the Qdevice flag and its vote.`

const restartHint = `Restart the agent on every node (systemctl restart quorate) with this
corosync.conf: the engine takes a quorum device only when it starts.`

func newQdeviceSetupCmd() *cobra.Command {
	var (
		files        qdeviceFlags
		bundle, algo string
		force        bool
		timeout      time.Duration
	)
	c := &cobra.Command{
		Use:   "setup HOST[:PORT] --bundle FILE [--algorithm ffsplit|lms] [--admin SOCK | --offline --config PATH --data-dir DIR]",
		Short: "Add a qnetd quorum device to the cluster (pvecm qdevice setup)",
		Long: `Check the client bundle (from 'quorate qnetd enroll' on the qnetd host) and
prove that the qnetd at HOST (port 5403 unless given) accepts it -- a TLS
handshake and the hello exchange, without joining the arbiter. Then, through
the running agent (--admin), change the whole cluster as pvecm qdevice setup
does: the bundle goes into the replicated store (priv/qdevice.pem) and the
cluster's corosync.conf gets a quorum.device section (model net, tls on;
ffsplit with votes 1 for an even node count, lms for an odd one unless
--algorithm says otherwise; an odd node count needs --force, as with pvecm) with config_version increased by one. Every
agent writes the new file, installs the bundle as DATA-DIR/qdevice.pem and
restarts its engine with the device. The cluster must be quorate.

With --offline no agent is asked: the bundle is installed into --data-dir
and --config is rewritten on this node only; do the same on every node,
then start or restart the agents.

Exit status: 0 when done, 1 when the qnetd cannot be reached or refuses
the bundle, the cluster refuses the change (no quorum) or a file cannot be
written, 2 for bad input (flags, bundle, corosync.conf, a device already
configured, no agent at --admin).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if bundle == "" {
				return badInput(errors.New("qdevice setup: --bundle is required (write one with `quorate qnetd enroll CLUSTER --out FILE` on the qnetd host)"))
			}
			host, port, err := splitHostPort(args[0])
			if err != nil {
				return badInput(err)
			}
			b, err := qnetd.LoadBundle(bundle)
			if err != nil {
				return badInput(err)
			}
			if !files.offline {
				return qdeviceSetupCluster(cmd, files.admin, host, port, algo, force, bundle, b, timeout)
			}
			conf, src, err := loadConf(files.config)
			if err != nil {
				return err
			}
			if b.Cluster != conf.ClusterName {
				return badInput(fmt.Errorf("qdevice setup: %s is issued for cluster %q, but %s names cluster %q",
					bundle, b.Cluster, files.config, conf.ClusterName))
			}
			out, err := corosyncconf.AddDevice(src, host, port, algo, force)
			if err != nil {
				return badInput(inFile(err, files.config))
			}
			addr := net.JoinHostPort(host, strconv.Itoa(port))
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			probe, err := qnetd.Dial(ctx, addr, host, b, 0)
			if err != nil {
				return &exitError{Code: exitFailed, Err: fmt.Errorf("qdevice setup: the qnetd at %s does not accept %s: %w", addr, bundle, err)}
			}
			probe.Close()
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "qnetd at %s accepts the bundle for cluster %q.\n", addr, b.Cluster)
			pem, err := os.ReadFile(bundle)
			if err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			if err := os.MkdirAll(files.dataDir, 0o700); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			dst := filepath.Join(files.dataDir, agent.BundleFile)
			if err := fsx.WriteFileAtomic(dst, pem, 0o600); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			fmt.Fprintf(w, "Installed the bundle as %s.\n", dst)
			if err := writeConf(files.config, out); err != nil {
				return err
			}
			after, _ := corosyncconf.Parse(files.config, out)
			d := after.Quorum.Device
			fmt.Fprintf(w, "Wrote %s: quorum.device model net, host %s, port %d, algorithm %s, config_version %d.\n",
				files.config, d.Net.Host, d.Net.Port, d.Net.Algorithm, after.ConfigVersion)
			fmt.Fprintln(w, restartHint)
			return nil
		},
	}
	files.add(c)
	f := c.Flags()
	f.StringVar(&bundle, "bundle", "", "client bundle from 'quorate qnetd enroll'")
	f.StringVar(&algo, "algorithm", "", "ffsplit or lms (default: ffsplit for an even node count, lms for an odd one)")
	f.BoolVar(&force, "force", false, "set the device up on an odd node count (refused otherwise, as by pvecm)")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "bound on the connection test")
	return c
}

func newQdeviceRemoveCmd() *cobra.Command {
	var files qdeviceFlags
	c := &cobra.Command{
		Use:   "remove [--admin SOCK | --offline --config PATH --data-dir DIR]",
		Short: "Remove the cluster's quorum device (pvecm qdevice remove)",
		Long: `Through the running agent (--admin), remove the quorum.device section from
the cluster's corosync.conf (config_version increased by one) and the
bundle from the replicated store; every agent writes the new file, deletes
its DATA-DIR/qdevice.pem and restarts its engine without the device. The
cluster must be quorate.

With --offline: rewrite --config without its quorum.device section and
delete DATA-DIR/qdevice.pem on this node only, then restart the agents.

Exit status: 0 when done, 1 when the cluster refuses the change or a file
cannot be written, 2 for bad input (flags, corosync.conf, no device
configured, no agent at --admin).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !files.offline {
				resp, err := askAs(files.admin, "qdevice remove", agent.Request{Cmd: agent.CmdQdeviceRemove})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Removed the quorum device from the cluster's corosync.conf (config_version %d).\n%s\n",
					resp.ConfigVersion, clusterHint)
				return nil
			}
			_, src, err := loadConf(files.config)
			if err != nil {
				return err
			}
			out, err := corosyncconf.RemoveDevice(src)
			if err != nil {
				return badInput(inFile(err, files.config))
			}
			if err := writeConf(files.config, out); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Removed the quorum device from %s.\n", files.config)
			dst := filepath.Join(files.dataDir, agent.BundleFile)
			if err := os.Remove(dst); err == nil {
				fmt.Fprintf(w, "Removed %s.\n", dst)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return &exitError{Code: exitFailed, Err: err}
			}
			fmt.Fprintln(w, restartHint)
			return nil
		},
	}
	files.add(c)
	return c
}

// splitHostPort reads HOST[:PORT]; an IPv6 address with a port is
// bracketed.
func splitHostPort(s string) (string, int, error) {
	host, port := s, qnetd.DefaultPort
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("qdevice setup: %q: port %q is not in 1-65535", s, p)
		}
		host, port = h, n
	} else if strings.Count(s, ":") == 1 {
		return "", 0, fmt.Errorf("qdevice setup: %q: %v", s, err)
	}
	if host == "" {
		return "", 0, fmt.Errorf("qdevice setup: %q: no host", s)
	}
	return host, port, nil
}

// loadConf reads and checks corosync.conf, keeping its text.
func loadConf(path string) (*corosyncconf.Config, []byte, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, badInput(err)
	}
	c, err := corosyncconf.Parse(path, src)
	if err != nil {
		return nil, nil, badInput(err)
	}
	return c, src, nil
}

// writeConf replaces corosync.conf atomically, keeping its mode.
func writeConf(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := fsx.WriteFileAtomic(path, data, mode); err != nil {
		return &exitError{Code: exitFailed, Err: err}
	}
	return nil
}

// inFile makes the rewrite's errors name the real file.
func inFile(err error, path string) error {
	var ce *corosyncconf.Error
	if errors.As(err, &ce) {
		ce.File = path
		return err
	}
	var list corosyncconf.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			e.File = path
		}
	}
	return err
}

// qdeviceSetupCluster is qdevice setup through the running agent: the
// probe of the qnetd from this node first, then the cluster-wide change.
func qdeviceSetupCluster(cmd *cobra.Command, admin, host string, port int, algo string, force bool, path string, b *qnetd.Bundle,
	timeout time.Duration) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return badInput(err)
	}
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	probe, err := qnetd.Dial(ctx, addr, host, b, 0)
	if err != nil {
		return &exitError{Code: exitFailed, Err: fmt.Errorf("qdevice setup: the qnetd at %s does not accept %s: %w", addr, path, err)}
	}
	probe.Close()
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "qnetd at %s accepts the bundle for cluster %q.\n", addr, b.Cluster)
	resp, err := askAs(admin, "qdevice setup", agent.Request{Cmd: agent.CmdQdeviceSetup, Host: host, Port: port,
		Algorithm: algo, Bundle: pem, Force: force})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Added the quorum device to the cluster's corosync.conf (config_version %d) and its bundle to the store.\n%s\n",
		resp.ConfigVersion, clusterHint)
	return nil
}
