package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
)

// linkFlags registers --link0 … --link7 (ADDR[,priority=N]).
func linkFlags(c *cobra.Command, into *[8]string) {
	f := c.Flags()
	for i := range into {
		usage := ""
		if i == 0 {
			usage = "this node's address on link 0, ADDR[,priority=N] (required)"
		} else {
			usage = fmt.Sprintf("this node's address on link %d, ADDR[,priority=N]", i)
		}
		f.StringVar(&into[i], fmt.Sprintf("link%d", i), "", usage)
	}
}

// parseLinkFlags turns the given --linkX values into link specs.
func parseLinkFlags(cmd string, vals [8]string) ([]agent.LinkSpec, error) {
	var out []agent.LinkSpec
	for i, v := range vals {
		if v == "" {
			continue
		}
		l, err := agent.ParseLinkSpec(i, v)
		if err != nil {
			return nil, badInput(fmt.Errorf("%s: %w", cmd, err))
		}
		out = append(out, l)
	}
	if len(out) == 0 || out[0].Number != 0 {
		return nil, badInput(fmt.Errorf("%s: --link0 ADDR is required", cmd))
	}
	return out, nil
}

// clusterErr maps an agent error of create and add onto the exit codes.
func clusterErr(cmd string, err error) error {
	err = fmt.Errorf("%s: %w", cmd, err)
	if errors.Is(err, agent.ErrConfig) {
		return badInput(err)
	}
	return &exitError{Code: exitFailed, Err: err}
}

// newCreateCmd is `quorate create` (pvecm create).
func newCreateCmd() *cobra.Command {
	var (
		links   [8]string
		opt     agent.CreateOptions
		nodeID  uint32
		votes   uint32
		port    uint16
		tokenMs uint32
	)
	c := &cobra.Command{
		Use:   "create CLUSTERNAME --link0 ADDR[,priority=N] [--link1 ...] [--nodeid N] [--name NODENAME] [--config PATH] [--keyfile PATH] [--votes N]",
		Short: "Create a new cluster with this node in it (pvecm create)",
		Long: `Write a corosync.conf for a new one-node cluster in Proxmox's layout (totem
with cluster_name, config_version 1, one interface per --linkX with its
knet_link_priority, secauth on and the keyfile; the nodelist with this node;
quorum provider corosync_votequorum) and a fresh authkey, as quorate keygen
writes it. Existing files are never overwritten. Then start the agent; more
nodes join with quorate add.

--port sets link 0's mcastport (link X uses PORT+X; default 5405+X), and
--token the totem token in milliseconds (default 3000).

Exit status: 0 when written, 2 for bad input or existing files, 1 when
writing failed.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := parseLinkFlags("create", links)
			if err != nil {
				return err
			}
			opt.ClusterName, opt.Links, opt.NodeID, opt.Votes, opt.Port = args[0], ls, nodeID, votes, port
			opt.Token = time.Duration(tokenMs) * time.Millisecond
			if _, err := agent.CreateCluster(opt); err != nil {
				return clusterErr("create", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Writing quorate key to %s.\nWriting corosync config to %s.\n", opt.KeyFile, opt.ConfigPath)
			fmt.Fprintf(w, "Cluster %s created. Next: start this node's agent,\n  quorate agent --config %s --keyfile %s\n"+
				"then issue a join token (quorate join-token) and run quorate add on each new node.\n",
				opt.ClusterName, opt.ConfigPath, opt.KeyFile)
			return nil
		},
	}
	f := c.Flags()
	linkFlags(c, &links)
	f.Uint32Var(&nodeID, "nodeid", 1, "this node's nodeid")
	f.StringVar(&opt.NodeName, "name", "", "this node's name (default: the host name)")
	f.StringVar(&opt.ConfigPath, "config", "/etc/corosync/corosync.conf", "corosync.conf to write")
	f.StringVar(&opt.KeyFile, "keyfile", "/etc/corosync/authkey", "authkey to write")
	f.Uint32Var(&votes, "votes", 1, "this node's quorum_votes")
	f.Uint16Var(&port, "port", 0, "mcastport of link 0 (default 5405)")
	f.Uint32Var(&tokenMs, "token", 0, "totem token in milliseconds (default corosync's 3000)")
	return c
}

// newAddCmd is `quorate add` (pvecm add).
func newAddCmd() *cobra.Command {
	var (
		links                [8]string
		opt                  agent.AddOptions
		joinToken, keyFile   string
		oldToken, oldAuthKey string
	)
	c := &cobra.Command{
		Use:   "add EXISTING --link0 ADDR[,priority=N] [--link1 ...] [--name N] [--nodeid N] (--join-token TOKEN | --keyfile PATH) [--config PATH]",
		Short: "Join this node to an existing cluster (pvecm add)",
		Long: `Contact the agent of a cluster node at EXISTING (host or host:port of its join
listener; default port 5405, TCP) and ask it to add this node: authenticated
by a join token from quorate join-token (--join-token) or, without one, by
the cluster authkey this node already has (--keyfile), never sending
either. The cluster checks that the name, nodeid and addresses are new,
adds the node to its corosync.conf (config_version + 1; needs quorum) and
sends the new corosync.conf and the authkey back, sealed. They are written
to --config and, with a join token, to --keyfile (default: the keyfile the
config names). Existing files are overwritten only with --force. Then start
the agent.

--keyfile is this node's authkey file, as for create, keygen and agent.
The flags --token (now --join-token) and --authkey (now --keyfile) of
earlier versions still work, with a warning.

Exit status: 0 when joined, 2 for bad input or existing files, 1 when the
node cannot be reached or the cluster refused (bad or used token, wrong key,
name or address in use, no quorum).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ls, err := parseLinkFlags("add", links)
			if err != nil {
				return err
			}
			if oldToken != "" {
				if joinToken != "" && joinToken != oldToken {
					return badInput(errors.New("add: --token is the old name of --join-token; give one of them"))
				}
				joinToken = oldToken
			}
			if oldAuthKey != "" {
				if keyFile != "" && keyFile != oldAuthKey {
					return badInput(errors.New("add: --authkey is the old name of --keyfile; give one of them"))
				}
				keyFile = oldAuthKey
			}
			if joinToken != "" {
				// The key comes back from the cluster: write it there.
				opt.Token, opt.AuthKeyPath = joinToken, keyFile
			} else {
				// The node has the key: it authenticates the join.
				opt.KeyFile = keyFile
			}
			opt.Existing, opt.Links = args[0], ls
			res, err := agent.Add(context.Background(), opt)
			if err != nil {
				return clusterErr("add", err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Node %s joined cluster %s as nodeid %d (config_version %d).\nWriting corosync config to %s.\n",
				res.Name, res.Config.ClusterName, res.NodeID, res.Config.ConfigVersion, res.ConfigPath)
			key := opt.KeyFile
			if res.AuthKeyPath != "" {
				key = res.AuthKeyPath
				fmt.Fprintf(w, "Writing quorate key to %s.\n", key)
			}
			if res.BundlePath != "" {
				fmt.Fprintf(w, "Writing the qdevice client bundle to %s.\n", res.BundlePath)
			}
			fmt.Fprintf(w, "Next: start this node's agent,\n  quorate agent --config %s --node %s --keyfile %s\n", res.ConfigPath, res.Name, key)
			return nil
		},
	}
	f := c.Flags()
	linkFlags(c, &links)
	f.StringVar(&opt.Name, "name", "", "this node's name (default: the host name)")
	f.StringVar(&opt.BundlePath, "qdevice-bundle", "", "take the qnetd client bundle with the configuration and write it here, so that a cluster with a quorum device can add this node (give the agent the same --qdevice-bundle)")
	f.Uint32Var(&opt.NodeID, "nodeid", 0, "this node's nodeid (default: the lowest free one)")
	f.Uint32Var(&opt.Votes, "votes", 0, "this node's quorum_votes (default 1)")
	f.StringVar(&joinToken, "join-token", "", "join token from quorate join-token")
	f.StringVar(&keyFile, "keyfile", "", "this node's authkey: written with --join-token (default: the keyfile the received config names), else the cluster key to authenticate with")
	f.StringVar(&opt.ConfigPath, "config", "/etc/corosync/corosync.conf", "corosync.conf to write")
	f.StringVar(&oldToken, "token", "", "old name of --join-token")
	f.StringVar(&oldAuthKey, "authkey", "", "old name of --keyfile")
	_ = f.MarkDeprecated("token", "use --join-token (--token is create's totem token)")
	_ = f.MarkDeprecated("authkey", "use --keyfile (this node's authkey file, as for create and agent)")
	f.BoolVar(&opt.Force, "force", false, "overwrite an existing corosync.conf or authkey")
	f.DurationVar(&opt.Timeout, "timeout", 30*time.Second, "how long to wait for the cluster")
	return c
}

// newJoinTokenCmd is `quorate join-token`.
func newJoinTokenCmd() *cobra.Command {
	var ttl time.Duration
	c := adminCmd("join-token [--ttl DURATION]", "Issue a single-use token for quorate add",
		`Issue a join token on this cluster node: a random id and secret, of which
only a derived key is kept in the replicated store, with an expiry (--ttl,
default 1h, at most 168h). quorate add --join-token TOKEN proves knowledge
of it to any member's join listener; the first successful join consumes it.
Needs quorum. Keep the token secret until used.

The token alone goes to standard output, so that TOKEN=$(quorate
join-token) captures it; its expiry goes to standard error.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			if ttl < time.Second && ttl != 0 {
				return badInput(fmt.Errorf("join-token: --ttl %v: at least 1s", ttl))
			}
			resp, err := ask(socket, agent.Request{Cmd: agent.CmdJoinToken, TTL: int(ttl / time.Second)})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), resp.Token)
			fmt.Fprintf(cmd.ErrOrStderr(), "Valid until %s, for one quorate add --join-token.\n", resp.Expires)
			return nil
		})
	c.Flags().DurationVar(&ttl, "ttl", agent.DefaultTokenTTL, "how long the token stays valid")
	return c
}
