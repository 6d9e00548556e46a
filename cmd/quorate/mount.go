package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent/pvefs"
	"github.com/quorate/quorate/cmd/internal/agentcmd"
)

// newMountCmd is `quorate mount DIR`: the store as a file system, served
// through a running agent's admin socket (pmxcfs's /etc/pve).
func newMountCmd() *cobra.Command {
	var logLevel string
	c := adminCmd("mount DIR [--admin SOCKET]",
		"Mount the replicated configuration store at DIR (pmxcfs's /etc/pve)",
		`Mount the store of the agent at --admin as a FUSE file system at DIR until
SIGINT or SIGTERM, then unmount it. 'quorate agent --mount DIR' does the same
for the agent's own lifetime.

The tree is pmxcfs's: files and directories owned by root:www-data (0640 and
0755; 0600/0700 under priv/ and nodes/*/priv/), read-only modes and EACCES on
every change while the node is not quorate, files of at most 1 MiB (EFBIG),
the virtual files .members, .version, .vmlist and .clusterlog, and local as a symlink to
nodes/<this node>. A write (on close or fsync) goes through the total order
exactly as 'quorate cfs put' does; reads are local and may be stale (see
docs/ops.md). A stale mount left at DIR by a killed process is detached first.

Exit status: 0 after a signal, 1 when mounting or unmounting failed, 2 for
bad input.`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			log, err := agentcmd.NewLogger(logLevel, "text")
			if err != nil {
				return badInput(err)
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := pvefs.New(socket, log).Serve(ctx, args[0]); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		})
	c.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return c
}
