package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/clusterlog"
)

// newLogCmd is `quorate log`: add to the cluster log or show it
// (PVE::Cluster::log_msg and /etc/pve/.clusterlog).
func newLogCmd() *cobra.Command {
	var (
		show     bool
		max, pri int
		tag      string
		user     string
		pid      uint32
	)
	c := adminCmd("log [MESSAGE...]", "Add a line to the cluster log, or show it (/etc/pve/.clusterlog)",
		`With a MESSAGE, add it to the cluster log: every member of the current
membership appends it at the same place of the total order, as pmxcfs's
cluster log collects the tasks and events of every node. With --show, print
the newest --max entries (default 50), newest first, in the JSON layout of
pmxcfs's .clusterlog, which 'quorate agent --mount' also serves.

The agents add their own entries: each new membership (tag cluster, from its
lowest member) and each node's quorum gained or lost (tag quorum).

Exit status: 0; 1 when the agent cannot be reached or cannot send; 2 for
bad input (no message, a priority above 7, a field too long).`,
		cobra.ArbitraryArgs, func(cmd *cobra.Command, socket string, args []string) error {
			if show {
				if len(args) > 0 {
					return badInput(fmt.Errorf("log: --show takes no message"))
				}
				resp, err := ask(socket, agent.Request{Cmd: agent.CmdClusterLog, Max: max})
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(clusterlog.JSON(resp.ClusterLog))
				return err
			}
			if len(args) == 0 {
				return badInput(fmt.Errorf("log: give a MESSAGE, or --show"))
			}
			if pri < 0 || pri > clusterlog.MaxPriority {
				return badInput(fmt.Errorf("log: --priority %d: want 0 (emerg) to 7 (debug)", pri))
			}
			e := clusterlog.Entry{Pri: uint8(pri), Tag: tag, User: user, PID: pid, Msg: strings.Join(args, " ")}
			_, err := ask(socket, agent.Request{Cmd: agent.CmdLog, Log: &e})
			return err
		})
	c.Flags().BoolVar(&show, "show", false, "print the cluster log instead of adding to it")
	c.Flags().IntVar(&max, "max", clusterlog.DumpEntries, "with --show: how many entries")
	c.Flags().IntVar(&pri, "priority", 6, "syslog priority, 0 (emerg) to 7 (debug)")
	c.Flags().StringVar(&tag, "tag", "cluster", "the entry's tag")
	c.Flags().StringVar(&user, "user", "root@pam", "the entry's user")
	c.Flags().Uint32Var(&pid, "pid", 0, "the entry's process id")
	return c
}
