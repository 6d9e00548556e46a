// Package agentcmd is the agent command: `quorate agent` in the one
// quorate binary, and the whole of the daemon binary quorate-agent, which
// links the agent and nothing else. A node pays in resident memory for
// every package its daemon links, because every package's start-up code
// and data are paged in from the binary when the process starts (the
// simulator, reports and their libraries are most of quorate); `quorate
// agent` therefore hands itself over to quorate-agent when that binary is
// installed beside it from the same build (Exec).
package agentcmd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/agent/pvefs"
)

// The exit codes of failure and bad input, shared by every quorate command
// (docs/ops.md).
const (
	ExitFailed   = 1
	ExitBadInput = 2
)

// Error carries an exit code with an error through cobra.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// BadInput marks err as bad input (exit 2: nothing was changed, and the
// same command cannot succeed).
func BadInput(err error) error { return &Error{Code: ExitBadInput, Err: err} }

// noArgs refuses positional arguments as bad input.
func noArgs(cmd *cobra.Command, args []string) error {
	if err := cobra.NoArgs(cmd, args); err != nil {
		return BadInput(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
	}
	return nil
}

// New is `quorate agent`: the daemon that replaces corosync on a node.
func New() *cobra.Command {
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
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opt.ConfigPath == "" {
				return BadInput(errors.New("agent: --config is required (e.g. --config /etc/corosync/corosync.conf)"))
			}
			log, err := NewLogger(logLevel, logFormat)
			if err != nil {
				return BadInput(err)
			}
			opt.Logger = log
			if cpuProf != "" {
				f, err := os.Create(cpuProf)
				if err != nil {
					return BadInput(fmt.Errorf("agent: --cpu-profile: %w", err))
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return &Error{Code: ExitFailed, Err: fmt.Errorf("agent: --cpu-profile: %w", err)}
				}
				defer pprof.StopCPUProfile()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			mounted := ServeMount(ctx, mountDir, opt.AdminSocket, log, cancel)
			err = agent.Run(ctx, opt)
			cancel()
			if merr := <-mounted; merr != nil && err == nil {
				return &Error{Code: ExitFailed, Err: merr}
			}
			if err != nil {
				if errors.Is(err, agent.ErrConfig) {
					return BadInput(err)
				}
				return &Error{Code: ExitFailed, Err: err}
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

// NewLogger builds a daemon's slog logger on stderr (the agent's, qnetd's,
// a mount's).
func NewLogger(level, format string) (*slog.Logger, error) {
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

// ServeMount mounts the store of the agent at socket on dir while ctx
// lasts; it returns a channel that yields the mount's error (nil after a
// clean unmount) and calls fail when the mount stops by itself.
func ServeMount(ctx context.Context, dir, socket string, log *slog.Logger, fail func()) <-chan error {
	out := make(chan error, 1)
	if dir == "" {
		out <- nil
		return out
	}
	go func() {
		err := pvefs.New(socket, log).Serve(ctx, dir)
		if err != nil {
			log.Error("the store's mount failed; stopping", "dir", dir, "err", err)
			fail()
		}
		out <- err
	}()
	return out
}

// ErrorLine is how every quorate command prints an error: one "quorate"
// prefix (the command path, "quorate run: ...", when the message names the
// command), without the package prefixes ("sim: ", "agent: ") a library
// error carries.
func ErrorLine(err error) string {
	msg := err.Error()
	for changed := true; changed; {
		changed = false
		for _, p := range []string{"sim: ", "sweep: ", "scenarios: ", "reports: ", "agent: "} {
			if rest, ok := strings.CutPrefix(msg, p); ok {
				msg, changed = rest, true
			}
		}
	}
	if strings.HasPrefix(msg, "quorate ") || strings.HasPrefix(msg, "quorate:") {
		return msg
	}
	return "quorate: " + msg
}

// Main runs `quorate agent ARGS...` as the whole program (the daemon
// binary) and returns its exit status: the same command, help, messages
// and exit codes as in the quorate binary.
func Main(args []string) int {
	root := &cobra.Command{Use: "quorate", SilenceUsage: true, SilenceErrors: true}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return BadInput(fmt.Errorf("%s: %w (see %s --help)", c.CommandPath(), err, c.CommandPath()))
	})
	root.AddCommand(New())
	root.SetArgs(append([]string{"agent"}, args...))
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(os.Stderr, ErrorLine(err))
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExitBadInput // cobra's own: unknown flag or argument
}
