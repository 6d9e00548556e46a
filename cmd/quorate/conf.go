package main

import (
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
)

// newConfCmd groups the commands about the cluster's corosync.conf
// versions: every agent keeps the versions it replaced.
func newConfCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "conf",
		Short: "The cluster's corosync.conf versions: history and rollback",
		Long: `Every agent keeps the corosync.conf versions it replaced (DATA-DIR/conf-history,
the last 50). 'conf history' lists them; 'conf rollback VERSION' installs the
text of a kept version again as a new version (config_version one above the
cluster's), through the same checks as 'cfs put corosync.conf'.`,
	}
	c.AddCommand(newConfHistoryCmd(), newConfRollbackCmd())
	return c
}

func newConfHistoryCmd() *cobra.Command {
	return adminCmd("history", "List the corosync.conf versions this node kept",
		`List the corosync.conf versions this node kept, oldest first, and the
current one. Exit status: 0, 1 when the agent cannot be reached, 2 for bad
flags.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, args []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdConfHistory})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%-15s %8s  %s\n", "config_version", "bytes", "replaced")
			for _, v := range resp.History {
				when := v.Replaced.Format("2006-01-02 15:04:05Z")
				if v.Current {
					when = "(current)"
				}
				fmt.Fprintf(w, "%-15d %8d  %s\n", v.ConfigVersion, v.Size, when)
			}
			return nil
		})
}

func newConfRollbackCmd() *cobra.Command {
	return adminCmd("rollback VERSION", "Install a kept corosync.conf version again as a new version",
		`Install the text of kept version VERSION (see 'conf history') as the
cluster's corosync.conf with config_version one above the cluster's; every
agent applies it as any other change (live where corosync applies it live).
Exit status: 0 when done, 1 when the cluster refuses the change (no quorum),
2 for a version not kept on this node or a text that no longer validates.`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			v, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return badInput(fmt.Errorf("conf rollback: %q is not a config_version", args[0]))
			}
			resp, err := askAs(socket, "conf rollback", agent.Request{Cmd: agent.CmdConfRollback, Version: v})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Installed the text of config_version %d as config_version %d.\n", v, resp.ConfigVersion)
			return nil
		})
}
