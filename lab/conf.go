package lab

import (
	"fmt"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios"
)

// corosyncConf writes the corosync.conf every agent of the run starts
// from: the scenario's cluster (inline, or as loaded from its
// cluster.corosync_conf, which the loader has already turned into the same
// values) with the lab's addresses as ringX_addr, and keyfile as the
// authkey. Keys are written only when they differ from what corosync
// derives, so the agents derive the rest exactly as the simulator does.
func corosyncConf(sc *scenarios.Scenario, keyfile string, qnetd string) string {
	var b strings.Builder
	t := sc.Cluster.Totem
	name := clusterName(sc)
	ms := func(d time.Duration) string { return fmt.Sprint(d.Milliseconds()) }
	fmt.Fprintf(&b, "totem {\n  version: 2\n  cluster_name: %s\n  config_version: 1\n  secauth: on\n  keyfile: %s\n", name, keyfile)
	fmt.Fprintf(&b, "  token: %s\n  token_coefficient: %s\n", ms(t.Token), ms(t.TokenCoefficient))
	opt := func(key string, d time.Duration) {
		if d != 0 {
			fmt.Fprintf(&b, "  %s: %s\n", key, ms(d))
		}
	}
	opt("consensus", t.Consensus)
	opt("join", t.Join)
	opt("merge", t.Merge)
	opt("token_retransmit", t.TokenRetransmit)
	opt("hold", t.Hold)
	opt("send_join", t.SendJoin)
	optInt := func(key string, v int) {
		if v != 0 {
			fmt.Fprintf(&b, "  %s: %d\n", key, v)
		}
	}
	optInt("max_messages", t.MaxMessages)
	optInt("window_size", t.WindowSize)
	optInt("token_retransmits_before_loss_const", t.TokenRetransmitsBeforeLossConst)
	optInt("miss_count_const", t.MissCountConst)
	optInt("seqno_unchanged_const", t.SeqnoUnchangedConst)
	optInt("fail_recv_const", t.FailRecvConst)
	if sc.Network.LinkMode != "" {
		fmt.Fprintf(&b, "  link_mode: %s\n", sc.Network.LinkMode)
	}
	for _, l := range sc.Network.Links {
		fmt.Fprintf(&b, "  interface {\n    linknumber: %d\n    knet_link_priority: %d\n", l.Number, l.Priority)
		if l.PingInterval != 0 {
			fmt.Fprintf(&b, "    knet_ping_interval: %s\n", ms(l.PingInterval))
		}
		if l.PingTimeout != 0 {
			fmt.Fprintf(&b, "    knet_ping_timeout: %s\n", ms(l.PingTimeout))
		}
		if l.PongCount != 0 {
			fmt.Fprintf(&b, "    knet_pong_count: %d\n", l.PongCount)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n\nnodelist {\n")
	for i, n := range sc.Cluster.Nodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: %d\n", n.Name, n.ID, n.Votes)
		for _, l := range sc.Network.Links {
			fmt.Fprintf(&b, "    ring%d_addr: %s\n", l.Number, nodeAddr(i, l.Number))
		}
		b.WriteString("  }\n")
	}
	q := sc.Cluster.Quorum
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n")
	optInt2 := func(key string, v int) {
		if v != 0 {
			fmt.Fprintf(&b, "  %s: %d\n", key, v)
		}
	}
	flag := func(key string, v bool) {
		if v {
			fmt.Fprintf(&b, "  %s: 1\n", key)
		}
	}
	optInt2("expected_votes", q.ExpectedVotes)
	flag("two_node", q.TwoNode)
	if q.WaitForAllSet {
		fmt.Fprintf(&b, "  wait_for_all: %d\n", b2i(q.WaitForAll))
	}
	flag("last_man_standing", q.LastManStanding)
	if q.LastManStanding && q.LastManStandingWindow != 0 {
		fmt.Fprintf(&b, "  last_man_standing_window: %s\n", ms(q.LastManStandingWindow))
	}
	if q.AutoTieBreaker {
		b.WriteString("  auto_tie_breaker: 1\n")
		switch q.AutoTieBreakerNode {
		case "", "lowest":
		case "list":
			ids := make([]string, len(q.AutoTieBreakerNodeList))
			for i, id := range q.AutoTieBreakerNodeList {
				ids[i] = fmt.Sprint(id)
			}
			fmt.Fprintf(&b, "  auto_tie_breaker_node: %s\n", strings.Join(ids, " "))
		default:
			fmt.Fprintf(&b, "  auto_tie_breaker_node: %s\n", q.AutoTieBreakerNode)
		}
	}
	if d := q.Device; d != nil {
		b.WriteString("  device {\n    model: net\n")
		if d.Votes != 0 {
			fmt.Fprintf(&b, "    votes: %d\n", d.Votes)
		}
		alg := d.Algorithm
		if alg == "" {
			alg = "ffsplit"
		}
		tb := d.TieBreaker
		if tb == "" {
			tb = "lowest"
		}
		fmt.Fprintf(&b, "    net {\n      host: %s\n      algorithm: %s\n      tie_breaker: %s\n    }\n  }\n", qnetd, alg, tb)
	}
	b.WriteString("}\n")
	return b.String()
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// clusterName is totem.cluster_name of the run: the scenario's, or "lab".
func clusterName(sc *scenarios.Scenario) string {
	if sc.Cluster.Name != "" {
		return sc.Cluster.Name
	}
	return "lab"
}
