package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/netmodel/udp"
)

// newAgentCmd is `quorate agent`: the daemon that replaces corosync on a
// node.
func newAgentCmd() *cobra.Command {
	var (
		opt       agent.Options
		logLevel  string
		logFormat string
		mountDir  string
		cpuProf   string
	)
	c := &cobra.Command{
		Use:   "agent --config /etc/corosync/corosync.conf",
		Short: "Run this node's cluster engine over UDP (the corosync daemon's job)",
		Long: `Run one cluster node: read corosync.conf, find the local node in its nodelist
(--node, else by host name and interface addresses, as corosync does), load
the authkey, bind one UDP socket per link (ringX_addr, port mcastport or
5405+X) and run Totem and votequorum on them until SIGINT or SIGTERM.

The ring sequence number and the replicated configuration store are kept in
config.db (SQLite) in --data-dir; the flight recorder (--journal, default
DATA-DIR/journal.jsonl) appends one JSON line per start, stop, link,
membership and quorum change, for quorate trace import; management commands
(quorate status, nodes, expected, delnode, links, members, cfs, load,
join-token) talk to --admin; quorate add talks to the join listener (TCP, on
link 0's address and port unless --join-listen says otherwise); with
--metrics the agent serves Prometheus metrics at http://ADDR/metrics.
With a quorum.device section (model net) the node's qdevice connects to
quorate qnetd over TLS with the client bundle --qdevice-bundle (default
DATA-DIR/qdevice.pem, installed by 'quorate qdevice setup').

Exit status: 0 after a signal, 1 when the agent fails, 2 for bad input
(flags, corosync.conf errors with file:line, a missing authkey, a
missing or invalid qdevice bundle).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.ConfigPath == "" {
				return badInput(errors.New("agent: --config is required (e.g. --config /etc/corosync/corosync.conf)"))
			}
			log, err := newLogger(logLevel, logFormat)
			if err != nil {
				return badInput(err)
			}
			opt.Logger = log
			if cpuProf != "" {
				f, err := os.Create(cpuProf)
				if err != nil {
					return badInput(fmt.Errorf("agent: --cpu-profile: %w", err))
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return &exitError{code: exitFailed, err: fmt.Errorf("agent: --cpu-profile: %w", err)}
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			mounted := serveMount(ctx, mountDir, opt.AdminSocket, log, cancel)
			err = agent.Run(ctx, opt)
			cancel()
			if merr := <-mounted; merr != nil && err == nil {
				return &exitError{code: exitFailed, err: merr}
			}
			if err != nil {
				if errors.Is(err, agent.ErrConfig) {
					return badInput(err)
				}
				return &exitError{code: exitFailed, err: err}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&opt.ConfigPath, "config", "", "corosync.conf to run")
	f.StringVar(&opt.NodeName, "node", "", "the local node's nodelist name or nodeid (default: found from the host name and addresses)")
	f.StringVar(&opt.AdminSocket, "admin", agent.DefaultAdminSocket, "admin socket for the management commands")
	f.StringVar(&opt.DataDir, "data-dir", agent.DefaultDataDir, "directory of config.db: the persisted ring sequence and configuration store")
	f.StringVar(&opt.MetricsAddr, "metrics", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9405)")
	f.StringVar(&opt.QdeviceBundle, "qdevice-bundle", "", "qnetd client bundle for quorum.device (default: DATA-DIR/qdevice.pem)")
	f.StringVar(&opt.Journal, "journal", "", "flight recorder: append a JSON line per link, membership and quorum change here (default DATA-DIR/journal.jsonl)")
	f.StringVar(&opt.Deliveries, "deliveries", "", "delivery log: append a JSON line per delivered message and configuration and per load message sent (for quorate lab's ordering checks)")
	f.Int64Var(&opt.JournalMax, "journal-max", agent.DefaultJournalMax, "rotate the journal to JOURNAL.1 at this size in bytes")
	f.StringVar(&opt.KeyFile, "keyfile", "", "authkey (default: totem.keyfile of the config, else /etc/corosync/authkey)")
	f.StringVar(&opt.JoinListen, "join-listen", "", "TCP address of the join listener for quorate add (default: link 0's address and port; off to disable)")
	f.StringVar(&mountDir, "mount", "", "mount the replicated store at this directory as pmxcfs mounts /etc/pve (see quorate mount --help)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&logFormat, "log-format", "text", "text or json (to stderr)")
	f.StringVar(&cpuProf, "cpu-profile", "", "write a CPU profile of the agent's whole run to this file (go tool pprof), for benchmarks")
	return c
}

// newLogger builds the agent's slog logger on stderr.
func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("agent: --log-level %q: want debug, info, warn or error", level)
	}
	o := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, o)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, o)), nil
	}
	return nil, fmt.Errorf("agent: --log-format %q: want text or json", format)
}

// newKeygenCmd is `quorate keygen`, corosync-keygen's job.
func newKeygenCmd() *cobra.Command {
	var (
		path  string
		size  int
		force bool
	)
	c := &cobra.Command{
		Use:   "keygen [-k FILE] [--size BYTES] [--force]",
		Short: "Write a new cluster authkey (corosync-keygen)",
		Long: `Write --size random bytes (default 256, allowed 128 to 4096) from the OS's
random source to -k FILE (default /etc/corosync/authkey) with mode 0400, as
corosync-keygen does. Copy the same file to every node. An existing file is
replaced only with --force.

Exit status: 0 when written, 1 when writing failed, 2 for bad input or an
existing file without --force.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if size < udp.MinKeySize || size > udp.MaxKeySize {
				return badInput(fmt.Errorf("keygen: --size %d: a key has %d to %d bytes", size, udp.MinKeySize, udp.MaxKeySize))
			}
			if _, err := os.Lstat(path); err == nil && !force {
				return badInput(fmt.Errorf("keygen: %s already exists; use --force to replace it", path))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return &exitError{code: exitFailed, err: fmt.Errorf("keygen: %w", err)}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Gathering %d bits for key from the OS random source.\n", size*8)
			if err := udp.GenerateKey(path, size); err != nil {
				return &exitError{code: exitFailed, err: fmt.Errorf("keygen: %w", err)}
			}
			fmt.Fprintf(w, "Writing quorate key to %s.\n", path)
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&path, "keyfile", "k", "/etc/corosync/authkey", "the authkey file to write")
	f.IntVarP(&size, "size", "s", udp.DefaultKeySize, "key size in bytes")
	f.BoolVar(&force, "force", false, "replace an existing key file")
	return c
}
