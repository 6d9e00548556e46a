package corosyncconf

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// This file is the one mapping of a corosync.conf onto the engine's
// configuration. The agent starts its engine from it, and the simulator
// starts every simulated node from it (a scenario's own YAML values are then
// edits of the result), so that a file runs the same in both. Defaults stay
// with the engine packages: a key the file leaves out maps to the zero value
// the engine reads as corosync's default or derivation.

// Unsupported returns an error naming file:line for every setting of c that
// the engine cannot honour as written, so that no setting is dropped
// silently; nil when the engine runs the file as corosync would.
func (c *Config) Unsupported() error {
	var errs ErrorList
	bad := func(key, format string, args ...any) {
		errs = append(errs, &Error{File: c.File, Line: c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Totem.Transport != "knet" {
		bad("totem.transport", "totem.transport %q is not supported: quorate speaks knet-style links only", c.Totem.Transport)
	}
	q := c.Quorum
	if q.Provider != "corosync_votequorum" && len(c.Nodes) > 0 {
		key := "quorum.provider"
		if !c.Has(key) {
			key = "quorum"
		}
		bad(key, "quorum.provider %q is not supported: quorate always runs votequorum (set provider: corosync_votequorum)", q.Provider)
	}
	if q.ExpectedVotesTracking {
		key := "quorum.expected_votes_tracking"
		if !c.Has(key) {
			key = "quorum.allow_downscale"
		}
		bad(key, "%s is not modelled by quorate's votequorum", key)
	}
	if d := q.Device; d != nil {
		if a := d.Net.Algorithm; a != "ffsplit" && a != "lms" {
			// corosync-qdevice also knows 2nodelms (and test); the engine's
			// client and quorate qnetd implement ffsplit and lms only.
			bad("quorum.device.net.algorithm", "quorum.device.net.algorithm %s is not supported by quorate: use ffsplit or lms", a)
		}
		if tb := d.Net.TieBreaker; tb.Mode == TieBreakerList && len(tb.NodeIDs) > 1 {
			bad("quorum.device.net.tie_breaker", "quorum.device.net.tie_breaker lists %d node ids; quorate's arbiter takes one", len(tb.NodeIDs))
		}
		if m, ok := d.Heuristics["mode"]; ok {
			if on, isBool := parseQdeviceBool(m); on || !isBool {
				bad("quorum.device.heuristics.mode", "quorum.device.heuristics are not run by quorate (set mode: off)")
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// EngineConfig maps the file onto the engine configuration of node self,
// after Unsupported's checks. A self outside the nodelist is left to
// engine.New to refuse (a scenario may replace the nodelist first).
func (c *Config) EngineConfig(self uint32) (engine.Config, error) {
	if err := c.Unsupported(); err != nil {
		return engine.Config{}, err
	}
	mode, err := links.ParseMode(c.Totem.LinkMode)
	if err != nil {
		return engine.Config{}, &Error{File: c.File, Line: c.Line("totem.link_mode"), Key: "totem.link_mode", Msg: err.Error()}
	}
	t := c.Totem
	coeff := t.TokenCoefficient
	if coeff == 0 {
		// corosync's token_coefficient: 0 switches the per-node scaling
		// off; totem spells that -1 (0 there means "default").
		coeff = -1
	}
	cfg := engine.Config{
		NodeID:   wire.NodeID(self),
		LinkMode: mode,
		Totem: totem.Config{
			Token:                           t.Token,
			TokenCoefficient:                coeff,
			Consensus:                       t.Consensus,
			Join:                            t.Join,
			Merge:                           t.Merge,
			TokenRetransmit:                 t.TokenRetransmit,
			Hold:                            t.Hold,
			SendJoin:                        t.SendJoin,
			TokenRetransmitsBeforeLossConst: int(t.TokenRetransmitsBeforeLossConst),
			MaxMessages:                     int(t.MaxMessages),
			WindowSize:                      int(t.WindowSize),
			MissCountConst:                  int(t.MissCountConst),
			SeqnoUnchangedConst:             int(t.SeqnoUnchangedConst),
			FailRecvConst:                   int(t.FailRecvConst),
		},
		Quorum:        c.quorumConfig(),
		ConfigVersion: c.ConfigVersion,
	}
	for _, n := range c.Nodes {
		cfg.Nodes = append(cfg.Nodes, wire.NodeID(n.NodeID))
		for _, l := range c.LinkNumbers() {
			if a := n.RingAddrs[l]; a != "" {
				cfg.Addrs = append(cfg.Addrs, engine.NodeAddr{Node: wire.NodeID(n.NodeID), Link: wire.LinkNo(l),
					Addr: a, Port: c.Interface(l).MCastPort})
			}
		}
	}
	slices.Sort(cfg.Nodes)
	slices.SortFunc(cfg.Addrs, func(a, b engine.NodeAddr) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Link, b.Link))
	})
	for _, in := range c.Interfaces {
		cfg.Links = append(cfg.Links, links.LinkConfig{
			Number:       wire.LinkNo(in.LinkNumber),
			Priority:     int(in.KnetLinkPriority),
			PingInterval: in.KnetPingInterval,
			PingTimeout:  in.KnetPingTimeout,
			PongCount:    int(in.KnetPongCount),
		})
	}
	return cfg, nil
}

// quorumConfig converts the quorum section and the nodelist's votes. The
// file's values are already resolved as votequorum_readconfig resolves them
// (wait_for_all following two_node, device votes), so they are passed as
// set.
func (c *Config) quorumConfig() quorum.Config {
	cq := c.Quorum
	q := quorum.Config{
		ExpectedVotes:         int(cq.ExpectedVotes),
		TwoNode:               cq.TwoNode,
		WaitForAll:            cq.WaitForAll,
		WaitForAllSet:         true,
		LastManStanding:       cq.LastManStanding,
		LastManStandingWindow: cq.LastManStandingWindow,
		AutoTieBreaker:        cq.AutoTieBreaker,
		AutoTieBreakerNode:    string(cq.AutoTieBreakerNode.Mode),
	}
	if cq.AutoTieBreakerNode.Mode == TieBreakerList {
		q.AutoTieBreakerNode = ""
		for _, id := range cq.AutoTieBreakerNode.NodeIDs {
			q.AutoTieBreakerNodes = append(q.AutoTieBreakerNodes, wire.NodeID(id))
		}
	}
	for _, n := range c.Nodes {
		votes := int(n.QuorumVotes)
		if votes == 0 {
			votes = quorum.VotesNone
		}
		q.Nodes = append(q.Nodes, quorum.NodeConfig{ID: wire.NodeID(n.NodeID), Votes: votes})
	}
	if d := cq.Device; d != nil {
		dc := &quorum.DeviceConfig{Votes: int(d.Votes), Timeout: d.Timeout, SyncTimeout: d.SyncTimeout, MasterWins: d.MasterWins}
		if d.Net.Algorithm == "lms" {
			dc.Algorithm = quorum.AlgorithmLMS
		}
		switch tb := d.Net.TieBreaker; tb.Mode {
		case TieBreakerHighest:
			dc.TieBreaker.Mode = quorum.TieBreakerHighest
		case TieBreakerList:
			dc.TieBreaker.Mode = quorum.TieBreakerNodeID
			if len(tb.NodeIDs) > 0 {
				dc.TieBreaker.Node = wire.NodeID(tb.NodeIDs[0])
			}
		default:
			dc.TieBreaker.Mode = quorum.TieBreakerLowest
		}
		q.Device = dc
	}
	return q
}
