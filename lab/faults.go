package lab

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/scenarios/journal"
	"github.com/quorate/quorate/sim"
)

// fault carries out fault i by the real mechanism that matches it, and
// records when it took effect. add schedules what the fault starts later
// (a restart, the boots of a cold start).
func (l *lab) fault(i int, add func(time.Duration, func() error)) error {
	f := l.sc.Faults[i]
	at := l.now()
	idx := func(names []string) []int {
		out := make([]int, 0, len(names))
		for _, n := range names {
			out = append(out, l.nodeIdx[n])
		}
		return out
	}
	all := func(names []string) []*node {
		if names == nil {
			return l.nodes
		}
		var out []*node
		for _, n := range names {
			out = append(out, l.nodes[l.nodeIdx[n]])
		}
		return out
	}
	l.logf("fault %d: %s %s", i, f.Action, describe(f))
	var err error
	switch f.Action {
	case "switch_down", "switch_up":
		err = l.fab.switchSet(f.Switch, f.Action == "switch_up")
	case "link_down", "link_up":
		err = l.fab.nicSet(l.nodeIdx[f.Node], f.Link, f.Action == "link_up")
	case "partition":
		groups := make([][]int, len(f.Groups))
		for g, names := range f.Groups {
			groups[g] = idx(names)
		}
		l.cuts.partition(groups, f.Links)
		err = l.fw.render(l.cuts)
	case "isolate":
		l.cuts.isolate(l.nodeIdx[f.Node], f.Links)
		err = l.fw.render(l.cuts)
	case "drop":
		l.cuts.drop(idx(f.From), idx(f.To), f.Links)
		err = l.fw.render(l.cuts)
	case "heal":
		l.cuts.heal(f.Links)
		err = l.fw.render(l.cuts)
	case "set_loss":
		targets := idx(f.Nodes)
		if f.Nodes == nil {
			targets = idx(l.sc.NodeNames())
		}
		for _, n := range targets {
			l.cuts.loss[lossKey{n, f.Link}] = f.Loss
		}
		err = l.fw.render(l.cuts)
	case "set_latency":
		d, derr := sim.Dist(*f.Latency)
		if derr != nil {
			return derr
		}
		targets := idx(f.Nodes)
		if f.Nodes == nil {
			targets = idx(l.sc.NodeNames())
		}
		for _, t := range targets {
			l.mu.Lock()
			l.delays[lossKey{t, f.Link}] = d
			l.mu.Unlock()
			n := l.nodes[t]
			if n.cmd == nil {
				continue // applied when it starts
			}
			dd, ok := l.delayOf(t, f.Link)
			if !ok {
				dd = netmodel.Dist{} // below the veth's own: none added
			}
			if !l.call(n, agent.Request{Cmd: agent.CmdDelay, Delay: &agent.DelaySpec{Link: f.Link, Dist: dd}}, n.done) {
				l.logf("%s: the delay of link %d did not take effect", n.name, f.Link)
			}
		}
	case "crash":
		l.kill(l.nodes[l.nodeIdx[f.Node]], "crash")
	case "power_off":
		for _, n := range all(f.Nodes) {
			l.kill(n, "power_off")
		}
	case "restart":
		n := l.nodes[l.nodeIdx[f.Node]]
		add(f.At+f.After, func() error { return l.start(n) })
	case "cold_start":
		var s *netmodel.Sampler
		if f.Boot != nil {
			d, derr := sim.Dist(*f.Boot)
			if derr != nil {
				return derr
			}
			// The same stream as the simulator's, so that one seed
			// draws the same boot delays in both.
			if s, err = netmodel.NewSampler(d, l.streams.Source(fmt.Sprintf("fault/%d/boot", i))); err != nil {
				return err
			}
		}
		for _, n := range all(f.Nodes) {
			when := f.At
			if s != nil {
				when += s.Sample()
			}
			add(when, func() error { return l.start(n) })
		}
	case "qnetd_down":
		// The host fails silently: its network goes first, so that the
		// daemon's death sends no reset to the nodes.
		if err = l.fab.setLink(qnetdPort, false); err == nil {
			l.killQnetd()
		}
	case "qnetd_up":
		// A fresh daemon; the nodes' old connections get a reset on
		// their next exchange.
		if err = l.startQnetd(); err == nil {
			err = l.fab.setLink(qnetdPort, true)
		}
	case "set_expected":
		err = l.operator(f.Node, "expected", strconv.Itoa(f.Votes))
	case "delnode":
		err = l.operator(f.On, "delnode", f.Node)
	default:
		return fmt.Errorf("lab: fault %d: action %s is not supported in the lab", i, f.Action)
	}
	if err != nil {
		return fmt.Errorf("lab: fault %d (%s): %w", i, f.Action, err)
	}
	l.record(event{at: at, fault: i, node: -1})
	return nil
}

// operator runs a `quorate` operator command against node's admin socket,
// as a person would. A refusal (the node is down, no quorum) is logged:
// an operator action that cannot take effect is part of the scenario.
func (l *lab) operator(nodeName string, args ...string) error {
	n := l.nodes[l.nodeIdx[nodeName]]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.bin, append(args, "--admin", n.admin)...)
	out, err := cmd.CombinedOutput()
	l.logf("%s: quorate %s: %v %s", n.name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	return nil
}

func describe(f scenarios.Fault) string {
	var parts []string
	for _, s := range []string{f.Node, f.Switch, f.On} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if f.Nodes != nil {
		parts = append(parts, strings.Join(f.Nodes, ","))
	}
	return strings.Join(parts, " ")
}

// fed is one item for the Recording, in time order.
type fed struct {
	at    time.Duration
	order int // tie-break: lab events before journal records at one instant
	seq   int
	apply func(rec *sim.Recording, at time.Duration) error
}

// feed merges what the lab did with what every agent's journal recorded
// into one sequence in time order. Journal records carry the wall clock,
// which every agent shares with the lab on one machine.
func (l *lab) feed(stopAt time.Duration) ([]fed, error) {
	var out []fed
	push := func(at time.Duration, order int, apply func(*sim.Recording, time.Duration) error) {
		out = append(out, fed{at: at, order: order, seq: len(out), apply: apply})
	}
	for _, e := range l.events {
		e := e
		if e.fault >= 0 {
			push(e.at, 0, func(rec *sim.Recording, at time.Duration) error { return rec.Fault(e.fault, at) })
			continue
		}
		name := l.nodes[e.node].name
		push(e.at, 0, func(rec *sim.Recording, at time.Duration) error { return rec.NodeUp(name, e.up, at) })
	}
	dlogs, err := l.readDeliveries()
	if err != nil {
		return nil, err
	}
	ids := loadIDs(l, dlogs)
	for i, recs := range dlogs {
		name := l.nodes[i].name
		self := l.sc.Cluster.Nodes[i].ID
		for _, r := range recs {
			at := time.Unix(0, r.T).Sub(l.t0)
			if at > stopAt {
				continue
			}
			switch r.K {
			case agent.DeliverySent:
				id := ids[loadKey{self, r.Origin}]<<32 | uint64(self)<<40 | r.LSeq
				push(at, 1, func(rec *sim.Recording, at time.Duration) error { return rec.Sent(name, id, at) })
			case agent.DeliveryMessage, agent.DeliveryTransitional, agent.DeliveryRegular:
				d := sim.Delivered{Kind: map[string]string{agent.DeliveryMessage: "message", agent.DeliveryTransitional: "transitional",
					agent.DeliveryRegular: "regular"}[r.K], Ring: r.Ring, Seq: r.Seq, Part: r.Part, Sender: r.From, Members: r.Members}
				if r.Origin != 0 {
					d.ID = ids[loadKey{r.From, r.Origin}]<<32 | uint64(r.From)<<40 | r.LSeq
				}
				push(at, 1, func(rec *sim.Recording, at time.Duration) error { return rec.Deliver(name, d, at) })
			}
		}
	}
	for _, n := range l.nodes {
		path := filepath.Join(n.dir, "journal.jsonl")
		j, err := journal.ReadFile(path)
		if err != nil {
			if len(l.eventsOf(n.idx)) == 0 {
				continue // never started
			}
			return nil, fmt.Errorf("lab: %s's journal: %w", n.name, err)
		}
		for _, e := range j.Entries {
			r := e.Record
			at := r.Time.Sub(l.t0)
			if at > stopAt {
				continue // the stop itself: after the run's end
			}
			name := n.name
			switch r.Kind {
			case journal.KindLinkUp, journal.KindLinkDown:
				kind, link, peer := string(r.Kind), *r.Link, r.Peer
				push(at, 1, func(rec *sim.Recording, at time.Duration) error { return rec.Link(name, peer, kind, link, at) })
			case journal.KindActiveLink:
				link, peer := *r.Active, r.Peer
				push(at, 1, func(rec *sim.Recording, at time.Duration) error {
					return rec.Link(name, peer, "active_link", link, at)
				})
			case journal.KindMembership:
				if dlogs[n.idx] != nil {
					continue // the delivery log has every configuration
				}
				ring, members := r.Ring, r.Members
				push(at, 1, func(rec *sim.Recording, at time.Duration) error { return rec.Membership(name, ring, members, at) })
			case journal.KindQuorum:
				q := sim.QuorumView{}
				if r.Quorate != nil {
					q.Quorate = *r.Quorate
				}
				if r.TotalVotes != nil {
					q.TotalVotes = *r.TotalVotes
				}
				if r.ExpectedVotes != nil {
					q.ExpectedVotes = *r.ExpectedVotes
				}
				if r.Quorum != nil {
					q.Quor = *r.Quorum
				}
				push(at, 1, func(rec *sim.Recording, at time.Duration) error { return rec.Quorum(name, q, at) })
			}
		}
	}
	sortFeed(out)
	return out, nil
}

// sortFeed orders the feed by time, then lab events before agents'
// records before workload operations, then insertion.
func sortFeed(out []fed) {
	slices.SortStableFunc(out, func(a, b fed) int {
		switch {
		case a.at != b.at:
			return cmp.Compare(a.at, b.at)
		case a.order != b.order:
			return a.order - b.order
		}
		return a.seq - b.seq
	})
}

func (l *lab) eventsOf(i int) []event {
	var out []event
	for _, e := range l.events {
		if e.fault < 0 && e.node == i {
			out = append(out, e)
		}
	}
	return out
}

// delayOf is the send delay the lab gives node i's agent on link, and
// whether it adds one: a latency below maxLabLatency is left to the veth
// pair, whose own is some tens of microseconds, rather than paid for with
// a timer per packet on a loaded machine.
func (l *lab) delayOf(i, link int) (netmodel.Dist, bool) {
	l.mu.Lock()
	d := l.delays[lossKey{i, link}]
	l.mu.Unlock()
	if netMean(d) < maxLabLatency {
		return d, false
	}
	return d, true
}

// readDeliveries reads every node's delivery log (nil for a node without
// one). A line a killed agent left torn is skipped.
func (l *lab) readDeliveries() ([][]agent.DeliveryRecord, error) {
	out := make([][]agent.DeliveryRecord, len(l.nodes))
	for i, n := range l.nodes {
		b, err := os.ReadFile(n.deliveries())
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("lab: %s's delivery log: %w", n.name, err)
		}
		out[i] = []agent.DeliveryRecord{}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var r agent.DeliveryRecord
			if len(line) == 0 || json.Unmarshal(line, &r) != nil {
				continue
			}
			out[i] = append(out[i], r)
		}
	}
	return out, nil
}

// loadKey is one run of one sender's load generator.
type loadKey struct {
	from   uint32
	origin int64
}

// loadIDs numbers each sender's load-generator runs in the order they
// started (their origin stamps), so that a load message's workload id,
// sender<<40 | run<<32 | seq, is unique across the sender's restarts.
func loadIDs(l *lab, dlogs [][]agent.DeliveryRecord) map[loadKey]uint64 {
	seen := map[loadKey]bool{}
	for i, recs := range dlogs {
		self := l.sc.Cluster.Nodes[i].ID
		for _, r := range recs {
			switch {
			case r.K == agent.DeliverySent:
				seen[loadKey{self, r.Origin}] = true
			case r.Origin != 0:
				seen[loadKey{r.From, r.Origin}] = true
			}
		}
	}
	keys := slices.Collect(maps.Keys(seen))
	slices.SortFunc(keys, func(a, b loadKey) int {
		if a.from != b.from {
			return int(a.from) - int(b.from)
		}
		return cmp.Compare(a.origin, b.origin)
	})
	ids := map[loadKey]uint64{}
	run := uint64(0)
	for i, k := range keys {
		if i > 0 && keys[i-1].from != k.from {
			run = 0
		}
		run++
		ids[k] = run
	}
	return ids
}
