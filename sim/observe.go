package sim

import (
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
)

// stateKind names one observable field of a node's state.
type stateKind uint8

const (
	stateUp         stateKind = iota // the node's process runs
	stateLinkUp                      // knet view of (peer, link)
	stateActiveLink                  // link in use to peer
	stateMembers                     // index of the last regular configuration's member set
	stateQuorate                     // votequorum's verdict
	stateTotalVotes
	stateExpectedVotes
	stateQuorumValue
	stateGuest         // node: -(guest index + 1); 1 while the guest runs
	stateConfigVersion // totem.config_version of the configuration the engine runs
)

type stateKey struct {
	node int32
	kind stateKind
	peer int32
	link int8
}

type change struct {
	at wire.Instant
	v  int64
}

// timeline is a piecewise-constant history: the value at t is the value of
// the last change at or before t (the state after everything that happened
// at t).
type timeline []change

func (tl timeline) at(t wire.Instant) (int64, bool) {
	v, ok := int64(0), false
	for _, c := range tl {
		if c.at > t {
			break
		}
		v, ok = c.v, true
	}
	return v, ok
}

// pathState is the simulator's ground truth for the round trip between two
// nodes on one link: open while both nodes run and packets pass both ways.
type pathState struct {
	open     bool
	since    wire.Instant
	openings int
}

// pairStats accumulates what node a saw of its links to peer b.
type pairStats struct {
	res         reports.PairLinks
	active      int8
	noLinkSince wire.Instant
	everActive  bool
}

// observer keeps what expectations and reports need: state timelines per
// node, the ground-truth path state, and per-pair link statistics.
type observer struct {
	r     *run
	state map[stateKey]timeline // lookups only; never ranged over
	paths [][]pathState         // [pair a*n+b][link index], a < b
	pairs []pairStats           // [a*n+b], a != b
	tl    []reports.TimelineEntry
	// faults are the faults applied, in order, as typed values: the
	// responses in result.json start from them.
	faults []reports.FaultResponse

	memberSets [][]string       // interned member-name sets
	memberIdx  map[string]int   // joined names -> index into memberSets
	installs   [][]wire.Instant // per host: when it installed each regular configuration
}

func newObserver(r *run) *observer {
	n := len(r.hosts)
	o := &observer{r: r, state: make(map[stateKey]timeline), memberIdx: map[string]int{}}
	o.installs = make([][]wire.Instant, len(r.hosts))
	o.paths = make([][]pathState, n*n)
	for i := range o.paths {
		o.paths[i] = make([]pathState, len(r.linkNos))
	}
	o.pairs = make([]pairStats, n*n)
	for a := range n {
		for b := range n {
			p := &o.pairs[a*n+b]
			p.active = wire.NoLink
			p.res.Node, p.res.Peer = r.hosts[a].name, r.hosts[b].name
		}
	}
	return o
}

func (o *observer) set(k stateKey, at wire.Instant, v int64) {
	tl := o.state[k]
	if n := len(tl); n > 0 && tl[n-1].v == v {
		return
	}
	if n := len(tl); n > 0 && tl[n-1].at == at {
		tl[n-1].v = v
		if n > 1 && tl[n-2].v == v {
			tl = tl[:n-1]
		}
		o.state[k] = tl
		return
	}
	o.state[k] = append(tl, change{at, v})
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// nodeUp records a node's process starting (up) or dying; its link views
// restart from nothing.
func (o *observer) nodeUp(h *host, up bool, at wire.Instant) {
	o.set(stateKey{node: int32(h.idx), kind: stateUp}, at, b2i(up))
	n := len(o.r.hosts)
	for b := range o.r.hosts {
		if b == h.idx {
			continue
		}
		for _, ln := range o.r.linkNos {
			o.set(stateKey{node: int32(h.idx), kind: stateLinkUp, peer: int32(b), link: int8(ln)}, at, 0)
		}
		o.set(stateKey{node: int32(h.idx), kind: stateActiveLink, peer: int32(b)}, at, wire.NoLink)
		p := &o.pairs[h.idx*n+b]
		if p.active != wire.NoLink {
			p.noLinkSince = at
		}
		p.active = wire.NoLink
	}
	event := "node_down"
	if up {
		event = "node_up"
	} else {
		o.r.stopGuests(h, at)
	}
	o.tl = append(o.tl, reports.TimelineEntry{TMs: at.Millis(), Node: h.name, Event: event})
	o.refreshPaths(at)
}

// refreshPaths recomputes the ground truth of every path after a fault.
func (o *observer) refreshPaths(at wire.Instant) {
	r := o.r
	n := len(r.hosts)
	for a := range n {
		for b := a + 1; b < n; b++ {
			ha, hb := r.hosts[a], r.hosts[b]
			for li, ln := range r.linkNos {
				open := ha.up && hb.up &&
					!r.net.PathVerdict(ha.id, hb.id, ln).Dropped() &&
					!r.net.PathVerdict(hb.id, ha.id, ln).Dropped()
				ps := &o.paths[a*n+b][li]
				if open != ps.open {
					ps.open, ps.since = open, at
					if open {
						ps.openings++
					}
				}
			}
		}
	}
}

func (o *observer) path(a, b int, ln wire.LinkNo) *pathState {
	if a > b {
		a, b = b, a
	}
	for li, l := range o.r.linkNos {
		if l == ln {
			return &o.paths[a*len(o.r.hosts)+b][li]
		}
	}
	return nil
}

// linkEvent records one link-layer event of node h.
func (o *observer) linkEvent(h *host, e wire.Event, at wire.Instant) {
	b, ok := o.r.byID[e.Peer]
	if !ok {
		return
	}
	n := len(o.r.hosts)
	p := &o.pairs[h.idx*n+b]
	ms := at.Millis()
	switch e.Kind {
	case wire.EventLinkUp, wire.EventLinkDown:
		up := e.Kind == wire.EventLinkUp
		o.set(stateKey{node: int32(h.idx), kind: stateLinkUp, peer: int32(b), link: int8(e.Link)}, at, b2i(up))
		ps := o.path(h.idx, b, e.Link)
		if up {
			p.res.Ups++
			if ps != nil && ps.open && ps.openings > 1 {
				p.res.RecoverMs = append(p.res.RecoverMs, at.Sub(ps.since).Seconds()*1e3)
			}
		} else {
			p.res.Downs++
			if ps != nil && !ps.open {
				p.res.DetectMs = append(p.res.DetectMs, at.Sub(ps.since).Seconds()*1e3)
			}
		}
		p.res.Changes = append(p.res.Changes, reports.LinkChange{TMs: ms, Event: e.Kind.String(), Link: int(e.Link)})
		link := int(e.Link)
		o.tl = append(o.tl, reports.TimelineEntry{TMs: ms, Node: h.name, Event: e.Kind.String(), Peer: o.r.hosts[b].name, Link: &link})
	case wire.EventActiveLink:
		o.set(stateKey{node: int32(h.idx), kind: stateActiveLink, peer: int32(b)}, at, int64(e.Active))
		old := p.active
		oldUp, _ := o.state[stateKey{node: int32(h.idx), kind: stateLinkUp, peer: int32(b), link: old}].at(at)
		if old != wire.NoLink && e.Active != wire.NoLink && oldUp == 0 {
			// Traffic moved off a link that went down, whatever the cause
			// (a fault, or loss silencing the heartbeat); the delay is
			// measured only when a fault broke the old link's path. A move
			// back to a recovered higher-priority link is no failover.
			p.res.Failovers++
			if ps := o.path(h.idx, b, wire.LinkNo(old)); ps != nil && !ps.open {
				p.res.FailoverMs = append(p.res.FailoverMs, at.Sub(ps.since).Seconds()*1e3)
			}
		}
		if e.Active == wire.NoLink && old != wire.NoLink {
			p.noLinkSince = at
		}
		if e.Active != wire.NoLink && old == wire.NoLink && p.everActive {
			p.res.NoLinkMs += at.Sub(p.noLinkSince).Seconds() * 1e3
		}
		if e.Active != wire.NoLink {
			p.everActive = true
		}
		p.active = e.Active
		p.res.Changes = append(p.res.Changes, reports.LinkChange{TMs: ms, Event: e.Kind.String(), Link: int(e.Active)})
		active := int(e.Active)
		o.tl = append(o.tl, reports.TimelineEntry{TMs: ms, Node: h.name, Event: e.Kind.String(), Peer: o.r.hosts[b].name, Active: &active})
	}
}

// finish closes open no-link intervals at the end of the run.
func (o *observer) finish(end wire.Instant) []reports.PairLinks {
	n := len(o.r.hosts)
	var out []reports.PairLinks
	for a := range n {
		for b := range n {
			if a == b {
				continue
			}
			p := &o.pairs[a*n+b]
			if p.active == wire.NoLink && p.everActive && o.r.hosts[a].up {
				p.res.NoLinkMs += end.Sub(p.noLinkSince).Seconds() * 1e3
			}
			out = append(out, p.res)
		}
	}
	return out
}

// regular records that node h installed a regular configuration.
func (o *observer) regular(h *host, d check.Delivery, at wire.Instant) {
	names := make([]string, len(d.Members))
	for i, id := range d.Members {
		names[i] = id.String()
		if j, ok := o.r.byID[id]; ok {
			names[i] = o.r.hosts[j].name
		}
	}
	slices.Sort(names)
	key := strings.Join(names, ",")
	idx, ok := o.memberIdx[key]
	if !ok {
		idx = len(o.memberSets)
		o.memberSets = append(o.memberSets, names)
		o.memberIdx[key] = idx
	}
	o.set(stateKey{node: int32(h.idx), kind: stateMembers}, at, int64(idx))
	o.installs[h.idx] = append(o.installs[h.idx], at)
	o.tl = append(o.tl, reports.TimelineEntry{TMs: at.Millis(), Node: h.name, Event: "membership",
		RingID: d.Ring.String(), Members: names})
}

// membershipChanges is the contract's metric: the largest number, over
// nodes, of regular configurations a node installed after its first one
// in the run, counting only installs inside [after, before).
func (o *observer) membershipChanges(after, before wire.Instant) int64 {
	var most int64
	for _, ins := range o.installs {
		var n int64
		for i, t := range ins {
			if i > 0 && t >= after && t < before {
				n++
			}
		}
		most = max(most, n)
	}
	return most
}

// quorum records node h's votequorum view.
// configVersion records the config_version node h's engine runs.
func (o *observer) configVersion(h *host, at wire.Instant) {
	o.set(stateKey{node: int32(h.idx), kind: stateConfigVersion}, at, int64(h.node.ConfigVersion()))
}

func (o *observer) quorum(h *host, at wire.Instant) { o.quorumStatus(h, h.node.QuorumNumbers(), at) }

// quorumStatus records st as node h's votequorum view at at.
func (o *observer) quorumStatus(h *host, st quorum.Numbers, at wire.Instant) {
	k := func(kind stateKind) stateKey { return stateKey{node: int32(h.idx), kind: kind} }
	before, known := o.state[k(stateQuorate)].at(at)
	o.set(k(stateQuorate), at, b2i(st.Quorate))
	o.set(k(stateTotalVotes), at, int64(st.TotalVotes))
	o.set(k(stateExpectedVotes), at, int64(st.ExpectedVotes))
	o.set(k(stateQuorumValue), at, int64(st.Quorum))
	defer func() {
		// Guests start after the quorum change is on the timeline.
		if st.Quorate {
			o.r.startGuests(h, at)
		}
	}()
	if !known || (before == 1) != st.Quorate {
		q := st.Quorate
		o.tl = append(o.tl, reports.TimelineEntry{TMs: at.Millis(), Node: h.name, Event: "quorum", Quorate: &q,
			Detail: fmt.Sprintf("total %d expected %d quorum %d", st.TotalVotes, st.ExpectedVotes, st.Quorum)})
	}
}
