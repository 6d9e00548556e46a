package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/reports"
)

// The management commands talk to a running agent over its admin socket,
// in pvecm's words. Each exits 2 when the request is wrong, and 1 when the
// agent refuses it or cannot be reached (the same command may work later).

// adminTimeout bounds one management command.
const adminTimeout = 30 * time.Second

// adminCmd builds a management command with the --admin flag.
func adminCmd(use, short, long string, args cobra.PositionalArgs, run func(cmd *cobra.Command, socket string, args []string) error) *cobra.Command {
	var socket string
	c := &cobra.Command{
		Use: use, Short: short, Long: long, Args: args,
		RunE: func(cmd *cobra.Command, args []string) error { return run(cmd, socket, args) },
	}
	c.Flags().StringVar(&socket, "admin", agent.DefaultAdminSocket, "the agent's admin socket")
	return c
}

// ask sends one request and maps failures to exit codes; errors start
// with the request's command.
func ask(socket string, req agent.Request) (*agent.Response, error) {
	return askAs(socket, req.Cmd, req)
}

// askAs is ask with errors starting with name.
func askAs(socket, name string, req agent.Request) (*agent.Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	resp, err := agent.Call(ctx, socket, req)
	switch {
	case errors.Is(err, agent.ErrUnreachable):
		return nil, &exitError{Code: exitFailed, Err: fmt.Errorf("cannot reach the agent at %s: is `quorate agent` running? (%v)", socket, innermost(err))}
	case err != nil:
		return nil, &exitError{Code: exitFailed, Err: err}
	case !resp.OK && resp.BadRequest:
		return nil, badInput(fmt.Errorf("%s: %s", name, resp.Error))
	case !resp.OK:
		return nil, &exitError{Code: exitFailed, Err: fmt.Errorf("%s: %s", name, resp.Error)}
	}
	return resp, nil
}

// innermost returns the deepest error of a chain (e.g. "connection
// refused").
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			if multi, ok := err.(interface{ Unwrap() []error }); ok {
				if errs := multi.Unwrap(); len(errs) > 0 {
					next = errs[len(errs)-1]
				}
			}
		}
		if next == nil {
			return err
		}
		err = next
	}
}

// statusView turns the agent's answer into what the reports print, dated now.
func statusView(s *agent.StatusInfo) reports.StatusView {
	return reports.StatusView{
		ClusterName: s.ClusterName, ConfigVersion: s.ConfigVersion,
		Transport: s.Transport, SecureAuth: s.SecureAuth,
		Date:   reports.StatusDate(time.Now()),
		Quorum: s.Quorum, Names: s.Names, Addrs: s.Addrs,
	}
}

func newStatusCmd() *cobra.Command {
	return adminCmd("status", "Show cluster and quorum status (pvecm status)",
		`Print the Cluster information block and corosync-quorumtool -siH's output
for this node: quorum information, votequorum numbers and the membership with
ring0 addresses, as pvecm status does.

Exit status: 0 when quorate; 3 when not quorate (the status is printed);
1 when the agent cannot be reached or fails (the answer is unknown); 2 for
bad flags or arguments (a usage error on stderr, nothing on stdout).
corosync-quorumtool -s and pvecm status exit 2 when not quorate and 1 for a
usage error; quorate keeps 2 for bad input as every quorate command does,
so a mistyped flag in a script is never taken for a lost quorum.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdStatus})
			if err != nil {
				return err
			}
			v := statusView(resp.Status)
			if err := reports.WriteStatus(cmd.OutOrStdout(), v); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			if !v.Quorum.Quorate {
				return &exitError{Code: exitNotQuorate, Err: errors.New("status: this node is not quorate (Activity blocked)")}
			}
			return nil
		})
}

func newNodesCmd() *cobra.Command {
	return adminCmd("nodes", "List the members with their votes (pvecm nodes)",
		`Print the membership as corosync-quorumtool -l does: node ids, votes and
nodelist names, the local node marked (local).`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdNodes})
			if err != nil {
				return err
			}
			if err := reports.WriteNodes(cmd.OutOrStdout(), statusView(resp.Status)); err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			return nil
		})
}

func newExpectedCmd() *cobra.Command {
	return adminCmd("expected N", "Set the expected votes (pvecm expected N)",
		`Tell votequorum to expect N votes (corosync-quorumtool -e N): every member
sets its expected votes to N and recomputes the quorum. Refused
(CS_ERR_INVALID_PARAM, exit 1) when N is below the current total votes or
would make a quorate partition inquorate. The value lasts until more votes
appear or the agents restart.`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			n, err := strconv.Atoi(args[0])
			if err != nil || n < 1 {
				return badInput(fmt.Errorf("expected: %q is not a positive number of votes", args[0]))
			}
			_, err = ask(socket, agent.Request{Cmd: agent.CmdExpected, Votes: n})
			return err
		})
}

func newDelnodeCmd() *cobra.Command {
	return adminCmd("delnode NAME", "Remove a node from the cluster (pvecm delnode)",
		`Remove node NAME (nodelist name, ring0 address or nodeid) from the running
cluster's nodelist: every member drops it, and expected votes and quorum
shrink. Like pvecm it refuses the local node and needs quorum. The node also
leaves the cluster's corosync.conf (config_version + 1), which every agent
writes to its --config file. Power the node off first.`,
		exactArgs(1), func(cmd *cobra.Command, socket string, args []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdDelnode, Node: args[0]})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Removed node %s (nodeid %d) from the nodelist.\n", args[0], resp.Deleted)
			return nil
		})
}

func newLinksCmd() *cobra.Command {
	return adminCmd("links", "Show the knet link state to every peer (corosync-cfgtool -n)",
		`Print, for every peer, whether it is reachable and the state of each link:
local and remote address, connected or not, the mean pong latency, and which
link carries the traffic.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdLinks})
			if err != nil {
				return err
			}
			writeLinks(cmd.OutOrStdout(), resp.Links)
			return nil
		})
}

// writeLinks prints the links in corosync-cfgtool -n's layout.
func writeLinks(w io.Writer, li *agent.LinksInfo) {
	fmt.Fprintf(w, "Local node ID %d, transport knet, link_mode %s\n", li.Self, li.LinkMode)
	for _, p := range li.Peers {
		reach := "reachable"
		if p.Active < 0 {
			reach = "unreachable"
		}
		fmt.Fprintf(w, "nodeid: %d (%s) %s\n", p.ID, p.Name, reach)
		for _, l := range p.Links {
			state := "disconnected"
			if l.Up {
				state = "connected"
			}
			active := ""
			if l.Link == p.Active {
				active = " active"
			}
			fmt.Fprintf(w, "   LINK: %d udp (%s->%s) enabled %s latency: %.3f ms%s\n",
				l.Link, l.Local, l.Remote, state, l.LatencyMs, active)
		}
	}
}

func newMembersCmd() *cobra.Command {
	return adminCmd("members", "Show Totem's ring and its members",
		`Print Totem's state, the current ring id and the members of the last
regular configuration.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdMembers})
			if err != nil {
				return err
			}
			m := resp.Members
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Totem state: %s\nRing ID:     %s\n", m.State, m.Ring)
			fmt.Fprintf(w, "%10s %s\n", "Nodeid", "Name")
			for _, n := range m.Members {
				fmt.Fprintf(w, "%10d %s\n", n.ID, n.Name)
			}
			return nil
		})
}
