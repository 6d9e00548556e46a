package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/store"
)

// newCfsCmd is `quorate cfs`: the replicated configuration store, read and
// written through the local agent (the job pmxcfs's /etc/pve does for
// Proxmox tools).
func newCfsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "cfs",
		Short: "Read and write the replicated configuration store",
		Long: `Read and write the cluster's replicated configuration store through the
local agent. Every node keeps the whole store in config.db in its data
directory. Writes (put, rm) go through the cluster's total order and are
acknowledged only once every member of the current membership has applied
them and this node has them on disk. Without quorum the store is read-only:
writes are refused and reads answer from the local copy.

PATH is slash-separated (a leading / is ignored), like a file under /etc/pve.

Exit status: 0 on success, 1 when the agent refuses or the entry does not
exist, 2 for a bad path, a bad value or an unreachable agent.`,
		Args: exactArgs(0),
	}
	c.AddCommand(newCfsGetCmd(), newCfsPutCmd(), newCfsLsCmd(), newCfsRmCmd())
	return c
}

func newCfsGetCmd() *cobra.Command {
	var ordered bool
	c := adminCmd("get PATH", "Print an entry's value",
		`Print the value of PATH to standard output, byte for byte. By default the
local copy answers at once, as a read of /etc/pve does: it works without
quorum and may miss a write another node has just made. With --ordered the
read goes through the total order and sees every write acknowledged before
it (it needs quorum, like a write).`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			resp, err := askAs(socket, "cfs", agent.Request{Cmd: agent.CmdCfsGet, Path: args[0], Ordered: ordered})
			if err != nil {
				return err
			}
			if _, err := cmd.OutOrStdout().Write(resp.Entry.Value); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		})
	c.Flags().BoolVar(&ordered, "ordered", false, "read through the total order (linearizable; needs quorum)")
	return c
}

func newCfsPutCmd() *cobra.Command {
	return adminCmd("put PATH", "Write an entry from standard input",
		fmt.Sprintf(`Write standard input as the value of PATH, creating or replacing it
(e.g. quorate cfs put nodes/pve1/qemu-server/100.conf < 100.conf). The
command returns once every member has applied the write. Values are limited
to %d bytes.

PATH corosync.conf is the cluster's configuration: the text must parse and
validate as corosync would, keep the cluster name and raise config_version
above the cluster's, or the command exits 2 naming the line and nothing
changes. Every agent then applies it, live where corosync applies it live
(links, addresses, priorities, totem timers, votes, nodes).`, store.MaxValueSize),
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			in := cmd.InOrStdin()
			if f, ok := in.(*os.File); ok {
				if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
					return badInput(errors.New("cfs put: the value is read from standard input (e.g. quorate cfs put PATH < FILE)"))
				}
			}
			value, err := io.ReadAll(io.LimitReader(in, store.MaxValueSize+1))
			if err != nil {
				return &exitError{Code: exitFailed, Err: fmt.Errorf("cfs put: read standard input: %w", err)}
			}
			if len(value) > store.MaxValueSize {
				return badInput(fmt.Errorf("cfs put: the value on standard input is larger than the limit of %d bytes", store.MaxValueSize))
			}
			_, err = askAs(socket, "cfs", agent.Request{Cmd: agent.CmdCfsPut, Path: args[0], Value: value})
			return err
		})
}

func newCfsLsCmd() *cobra.Command {
	return adminCmd("ls [PREFIX]", "List the entries under a directory",
		`List the entries under directory PREFIX (all of them without it) from the
local copy, one per line: version, size in bytes and path. A lock shows its
holder.`,
		rangeArgs(0, 1), func(cmd *cobra.Command, socket string, args []string) error {
			req := agent.Request{Cmd: agent.CmdCfsLs}
			if len(args) == 1 {
				req.Path = args[0]
			}
			resp, err := askAs(socket, "cfs", req)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintf(w, "VERSION\tSIZE\t  PATH\n")
			for _, e := range resp.Entries {
				name := e.Path
				if e.Lock != "" {
					name += " (lock held by " + e.Lock + ")"
				}
				fmt.Fprintf(w, "%d\t%d\t  %s\n", e.Version, e.Size, name)
			}
			if err := w.Flush(); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		})
}

func newCfsRmCmd() *cobra.Command {
	return adminCmd("rm PATH", "Remove an entry",
		`Remove PATH from the store (a lock included: that releases it). The command
returns once every member has applied the removal; a missing entry exits 1.`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			_, err := askAs(socket, "cfs", agent.Request{Cmd: agent.CmdCfsRm, Path: args[0]})
			return err
		})
}

// rangeArgs is cobra.RangeArgs with an input-error exit code.
func rangeArgs(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(lo, hi)(cmd, args); err != nil {
			return badInput(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
		}
		return nil
	}
}
