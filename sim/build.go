package sim

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// Unsupported returns an input error for every part of sc the simulator
// cannot judge as written, so that a scenario never passes by silently
// skipping what it asks for.
func Unsupported(sc *scenarios.Scenario) error {
	var errs scenarios.ErrorList
	kv := sc.Workload != nil && sc.Workload.Kind == "kv"
	for i, e := range sc.Expect {
		field := fmt.Sprintf("expect[%d]", i)
		switch {
		case e.Check == "linearizable" && !kv:
			errs = append(errs, &scenarios.Error{Pos: e.Pos, Field: field + ".check", Msg: "check linearizable needs a kv workload (workload: {kind: kv})"})
		case e.Metric == "acked_writes_lost" && !kv:
			errs = append(errs, &scenarios.Error{Pos: e.Pos, Field: field + ".metric", Msg: "metric acked_writes_lost needs a kv workload (workload: {kind: kv})"})
		}
	}
	errs = append(errs, startable(sc)...)
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// startable checks that every node's engine accepts its configuration, so
// that a scenario whose nodes could not start is bad input (exit 2) rather
// than a run that fails at boot. The heartbeat timers are the case the
// loader cannot see: knet derives them from the effective token (token /
// (2 x pong_count) and token / pong_count) and refuses them below its
// 200ms timer resolution.
func startable(sc *scenarios.Scenario) scenarios.ErrorList {
	var errs scenarios.ErrorList
	for _, n := range sc.Cluster.Nodes {
		cfg, err := EngineConfig(sc, n)
		if err == nil {
			err = cfg.Validate()
		}
		if !errors.Is(err, links.ErrPingTimers) {
			// Other refusals (a node added later, not yet in the
			// nodelist) are the run's to handle.
			continue
		}
		field := "cluster.totem.token"
		iv, to, _ := cfg.PingTimers()
		msg := fmt.Sprintf("the knet heartbeat of node %s would be every %v with a timeout of %v, below knet's %v timer resolution, "+
			"so the node would not start: the heartbeat is derived from the effective token (%v here); "+
			"raise totem.token (or token_coefficient) or set ping_interval and ping_timeout on every link",
			n.Name, iv, to, links.TimerRes, effectiveToken(cfg))
		pos, ok := sc.PosOf(field)
		for _, f := range []string{"cluster.totem", "cluster.corosync_conf", "cluster"} {
			if ok {
				break
			}
			pos, ok = sc.PosOf(f)
		}
		if !ok {
			pos = scenarios.Position{File: sc.Path, Line: 1, Col: 1}
		}
		errs = append(errs, &scenarios.Error{Pos: pos, Field: field, Msg: msg})
		break // every node shares the timers: one error says it
	}
	return errs
}

func effectiveToken(cfg engine.Config) time.Duration {
	tm, err := cfg.Timers()
	if err != nil {
		return 0
	}
	return tm.Token
}

// topology converts the scenario's network into the network model's terms.
func topology(sc *scenarios.Scenario) (netmodel.Topology, error) {
	t := netmodel.Topology{HostWait: sc.Network.HostWait}
	for _, n := range sc.Cluster.Nodes {
		t.Nodes = append(t.Nodes, wire.NodeID(n.ID))
	}
	for _, l := range sc.Network.Links {
		d, err := dist(l.Latency)
		if err != nil {
			return t, err
		}
		t.Links = append(t.Links, netmodel.LinkSpec{
			Number:    wire.LinkNo(l.Number),
			Switch:    l.Switch,
			Latency:   d,
			Loss:      l.Loss,
			Duplicate: l.Duplicate,
			Reorder:   l.Reorder,
		})
	}
	return t, nil
}

// dist converts a scenario distribution into the network model's.
func dist(d scenarios.Distribution) (netmodel.Dist, error) {
	k, err := netmodel.ParseDistKind(d.Dist)
	if err != nil {
		return netmodel.Dist{}, err
	}
	return netmodel.Dist{Kind: k, Value: d.Value, Min: d.Min, Max: d.Max, Mean: d.Mean,
		Stddev: d.Stddev, Median: d.Median, Sigma: d.Sigma, Alpha: d.Alpha}, nil
}

// EngineConfig builds the engine configuration of node n. With a
// cluster.corosync_conf it starts from the file through the mapping the
// agent uses (corosyncconf.EngineConfig), and the keys the scenario itself
// writes are edits of that configuration; without a file every scenario
// value is such an edit of the engine's defaults.
func EngineConfig(sc *scenarios.Scenario, n scenarios.Node) (engine.Config, error) {
	return engineConfigFrom(sc, sc.Cluster.Conf, n)
}

// engineConfigFrom is EngineConfig with conf in place of the scenario's
// corosync.conf: the configuration an edit_conf installs.
func engineConfigFrom(sc *scenarios.Scenario, conf *corosyncconf.Config, n scenarios.Node) (engine.Config, error) {
	initial := conf == sc.Cluster.Conf
	set := func(path string) bool {
		if conf == nil {
			return true
		}
		if path == "cluster.nodes" && !initial {
			// The scenario's nodelist overrides the file it starts
			// from; a configuration the operator installed later (an
			// add, a delnode, an edit) has its own.
			return false
		}
		_, ok := sc.PosOf(path)
		return ok
	}
	var cfg engine.Config
	if conf != nil {
		c, err := conf.EngineConfig(n.ID)
		if err != nil {
			return engine.Config{}, err
		}
		cfg = c
	}
	cfg.NodeID = wire.NodeID(n.ID)
	if set("network.link_mode") {
		mode, err := links.ParseMode(sc.Network.LinkMode)
		if err != nil {
			return engine.Config{}, err
		}
		cfg.LinkMode = mode
	}
	editTotem(&cfg.Totem, sc.Cluster.Totem, func(key string) bool { return set("cluster.totem." + key) })
	if set("cluster.nodes") {
		cfg.Nodes = cfg.Nodes[:0:0]
		for _, m := range sc.Cluster.Nodes {
			if !m.Added {
				cfg.Nodes = append(cfg.Nodes, wire.NodeID(m.ID))
			}
		}
		slices.Sort(cfg.Nodes)
	}
	editQuorum(&cfg.Quorum, sc, conf != nil, set)
	if set("network.links") {
		cfg.Links = nil
		for _, l := range sc.Network.Links {
			if conf != nil && !set("cluster.nodes") && conf.Interface(l.Number) == nil {
				// The wire is there, but the file's nodes have no
				// address on it: corosync does not use the link (an
				// edit_conf may add it later).
				continue
			}
			cfg.Links = append(cfg.Links, links.LinkConfig{
				Number:       wire.LinkNo(l.Number),
				Priority:     l.Priority,
				PingInterval: l.PingInterval,
				PingTimeout:  l.PingTimeout,
				PongCount:    l.PongCount,
			})
		}
	}
	return cfg, nil
}

// editTotem writes the scenario's totem keys for which set is true.
func editTotem(c *totem.Config, t scenarios.Totem, set func(key string) bool) {
	dur := func(key string, dst *time.Duration, v time.Duration) {
		if set(key) {
			*dst = v
		}
	}
	num := func(key string, dst *int, v int) {
		if set(key) {
			*dst = v
		}
	}
	if set("token_coefficient") {
		c.TokenCoefficient = t.TokenCoefficient
		if c.TokenCoefficient == 0 {
			// The loader has filled the default, so 0 here was written: in
			// corosync it switches the per-node scaling off; totem spells
			// that -1.
			c.TokenCoefficient = -1
		}
	}
	dur("token", &c.Token, t.Token)
	dur("consensus", &c.Consensus, t.Consensus)
	dur("join", &c.Join, t.Join)
	dur("merge", &c.Merge, t.Merge)
	dur("token_retransmit", &c.TokenRetransmit, t.TokenRetransmit)
	dur("hold", &c.Hold, t.Hold)
	dur("send_join", &c.SendJoin, t.SendJoin)
	num("token_retransmits_before_loss_const", &c.TokenRetransmitsBeforeLossConst, t.TokenRetransmitsBeforeLossConst)
	num("max_messages", &c.MaxMessages, t.MaxMessages)
	num("window_size", &c.WindowSize, t.WindowSize)
	num("miss_count_const", &c.MissCountConst, t.MissCountConst)
	num("seqno_unchanged_const", &c.SeqnoUnchangedConst, t.SeqnoUnchangedConst)
	num("fail_recv_const", &c.FailRecvConst, t.FailRecvConst)
}

// editQuorum writes the scenario's quorum keys (and its nodelist's votes)
// for which set is true. withConf says c came from a corosync.conf, whose
// resolved wait_for_all must follow a two_node the scenario changes.
func editQuorum(c *quorum.Config, sc *scenarios.Scenario, withConf bool, set func(path string) bool) {
	q := sc.Cluster.Quorum
	has := func(key string) bool { return set("cluster.quorum." + key) }
	if has("expected_votes") {
		c.ExpectedVotes = q.ExpectedVotes
	}
	if has("two_node") {
		c.TwoNode = q.TwoNode
		if withConf && !sc.Cluster.Conf.Has("quorum.wait_for_all") {
			c.WaitForAll, c.WaitForAllSet = false, false
		}
	}
	if has("wait_for_all") {
		c.WaitForAll, c.WaitForAllSet = q.WaitForAll, q.WaitForAllSet
	}
	if has("last_man_standing") {
		c.LastManStanding = q.LastManStanding
	}
	if has("last_man_standing_window") {
		c.LastManStandingWindow = q.LastManStandingWindow
	}
	if has("auto_tie_breaker") {
		c.AutoTieBreaker = q.AutoTieBreaker
	}
	if has("auto_tie_breaker_node") {
		c.AutoTieBreakerNode, c.AutoTieBreakerNodes = q.AutoTieBreakerNode, nil
		if q.AutoTieBreakerNode == "list" {
			c.AutoTieBreakerNode = ""
			for _, id := range q.AutoTieBreakerNodeList {
				c.AutoTieBreakerNodes = append(c.AutoTieBreakerNodes, wire.NodeID(id))
			}
		}
	}
	if set("cluster.nodes") {
		c.Nodes = nil
		for _, n := range sc.Cluster.Nodes {
			if n.Added {
				continue
			}
			votes := n.Votes
			if votes == 0 {
				votes = quorum.VotesNone
			}
			c.Nodes = append(c.Nodes, quorum.NodeConfig{ID: wire.NodeID(n.ID), Votes: votes})
		}
	}
	if has("device") {
		c.Device = deviceConfig(q.Device)
	}
}

// deviceConfig converts cluster.quorum.device as the scenario format
// defines it; nil without one.
func deviceConfig(d *scenarios.Device) *quorum.DeviceConfig {
	if d == nil {
		return nil
	}
	dc := &quorum.DeviceConfig{Votes: d.Votes, Timeout: d.Timeout, SyncTimeout: d.SyncTimeout, MasterWins: d.MasterWins}
	if d.Algorithm == "lms" {
		dc.Algorithm = quorum.AlgorithmLMS
	} else if dc.Votes == 0 {
		// What `pvecm qdevice setup` writes for ffsplit (the contract's
		// default); corosync's own N-1 is for lms.
		dc.Votes = 1
	}
	switch d.TieBreaker {
	case "", "lowest":
		dc.TieBreaker.Mode = quorum.TieBreakerLowest
	case "highest":
		dc.TieBreaker.Mode = quorum.TieBreakerHighest
	default:
		id, _ := strconv.ParseUint(d.TieBreaker, 10, 32)
		dc.TieBreaker = quorum.TieBreaker{Mode: quorum.TieBreakerNodeID, Node: wire.NodeID(id)}
	}
	return dc
}
