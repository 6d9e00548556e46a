package sim

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/scenarios"
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
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// quorumConfig converts cluster.quorum and the nodelist's votes.
func quorumConfig(sc *scenarios.Scenario) quorum.Config {
	q := sc.Cluster.Quorum
	c := quorum.Config{
		ExpectedVotes:         q.ExpectedVotes,
		TwoNode:               q.TwoNode,
		WaitForAll:            q.WaitForAll,
		WaitForAllSet:         q.WaitForAllSet,
		LastManStanding:       q.LastManStanding,
		LastManStandingWindow: q.LastManStandingWindow,
		AutoTieBreaker:        q.AutoTieBreaker,
		AutoTieBreakerNode:    q.AutoTieBreakerNode,
	}
	if q.AutoTieBreakerNode == "list" {
		c.AutoTieBreakerNode = ""
		for _, id := range q.AutoTieBreakerNodeList {
			c.AutoTieBreakerNodes = append(c.AutoTieBreakerNodes, wire.NodeID(id))
		}
	}
	for _, n := range sc.Cluster.Nodes {
		votes := n.Votes
		if votes == 0 {
			votes = quorum.VotesNone
		}
		c.Nodes = append(c.Nodes, quorum.NodeConfig{ID: wire.NodeID(n.ID), Votes: votes})
	}
	if d := q.Device; d != nil {
		dc := &quorum.DeviceConfig{Votes: d.Votes}
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
		c.Device = dc
	}
	return c
}

// topology converts the scenario's network into the network model's terms.
func topology(sc *scenarios.Scenario) (netmodel.Topology, error) {
	var t netmodel.Topology
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

// engineConfig builds the engine configuration of node n.
func engineConfig(sc *scenarios.Scenario, n scenarios.Node) (engine.Config, error) {
	mode, err := links.ParseMode(sc.Network.LinkMode)
	if err != nil {
		return engine.Config{}, err
	}
	t := sc.Cluster.Totem
	if t.TokenCoefficient == 0 {
		// The loader has filled the default, so 0 here was written: in
		// corosync it switches the per-node scaling off; totem spells that -1.
		t.TokenCoefficient = -1
	}
	cfg := engine.Config{
		NodeID:   wire.NodeID(n.ID),
		LinkMode: mode,
		Totem: totem.Config{
			Token:                           t.Token,
			TokenCoefficient:                t.TokenCoefficient,
			Consensus:                       t.Consensus,
			Join:                            t.Join,
			Merge:                           t.Merge,
			TokenRetransmit:                 t.TokenRetransmit,
			Hold:                            t.Hold,
			SendJoin:                        t.SendJoin,
			TokenRetransmitsBeforeLossConst: t.TokenRetransmitsBeforeLossConst,
			MaxMessages:                     t.MaxMessages,
			WindowSize:                      t.WindowSize,
			MissCountConst:                  t.MissCountConst,
			SeqnoUnchangedConst:             t.SeqnoUnchangedConst,
			FailRecvConst:                   t.FailRecvConst,
		},
	}
	for _, m := range sc.Cluster.Nodes {
		cfg.Nodes = append(cfg.Nodes, wire.NodeID(m.ID))
	}
	slices.Sort(cfg.Nodes)
	cfg.Quorum = quorumConfig(sc)
	for _, l := range sc.Network.Links {
		cfg.Links = append(cfg.Links, links.LinkConfig{
			Number:       wire.LinkNo(l.Number),
			Priority:     l.Priority,
			PingInterval: l.PingInterval,
			PingTimeout:  l.PingTimeout,
			PongCount:    l.PongCount,
		})
	}
	return cfg, nil
}
