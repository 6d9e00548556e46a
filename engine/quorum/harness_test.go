package quorum

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// harness runs N Quorum machines and an Arbiter on one virtual clock. It
// stands in for Totem: nodes in the same group share a ring, every member
// gets the same regular configuration when the group changes, and every
// multicast is delivered to every member of the sender's ring, in one
// global order, after a fixed latency. The arbiter streams are reliable
// and ordered, with their own latency; a down arbiter (or a cut link)
// silently swallows everything.
type harness struct {
	t     testing.TB
	now   wire.Instant
	ids   []wire.NodeID
	cfgs  []Config
	nodes []*Quorum // nil while the node is down
	group []int     // partition group of each node
	rings []RingID  // ring each node is in (zero: none yet)
	held  [][][]byte
	seq   uint64

	ringSet map[RingID][]wire.NodeID

	arb     *Arbiter
	arbUp   bool
	arbCut  []bool
	connGen []int

	queue []hevent
	qseq  uint64

	latency, arbLatency time.Duration
	trace               []string
	traceAll            bool
	checks              []func(h *harness)
}

// hevent is a scheduled action; ties are broken by insertion order.
type hevent struct {
	at  wire.Instant
	seq uint64
	fn  func()
}

// newHarness builds configs for nodes 1..n (one vote each, full nodelist)
// and lets mutate adjust each; no node is running yet.
func newHarness(t testing.TB, n int, mutate func(c *Config)) *harness {
	h := &harness{t: t, latency: time.Millisecond, arbLatency: 2 * time.Millisecond, arbUp: true, arb: NewArbiter()}
	var nodes []NodeConfig
	for i := 1; i <= n; i++ {
		nodes = append(nodes, NodeConfig{ID: wire.NodeID(i)})
	}
	for i := 1; i <= n; i++ {
		c := Config{Self: wire.NodeID(i), Nodes: slices.Clone(nodes)}
		if mutate != nil {
			mutate(&c)
		}
		h.ids = append(h.ids, wire.NodeID(i))
		h.cfgs = append(h.cfgs, c)
	}
	h.nodes = make([]*Quorum, n)
	h.group = make([]int, n)
	h.rings = make([]RingID, n)
	h.held = make([][][]byte, n)
	h.arbCut = make([]bool, n)
	h.connGen = make([]int, n)
	return h
}

func (h *harness) pos(id wire.NodeID) int {
	i := slices.Index(h.ids, id)
	if i < 0 {
		h.t.Fatalf("unknown node %d", id)
	}
	return i
}

func (h *harness) node(id wire.NodeID) *Quorum {
	q := h.nodes[h.pos(id)]
	if q == nil {
		h.t.Fatalf("node %d is down", id)
	}
	return q
}

func (h *harness) schedule(at wire.Instant, fn func()) {
	h.qseq++
	h.queue = append(h.queue, hevent{at: at, seq: h.qseq, fn: fn})
}

// boot starts the given nodes (fresh state) in group 0 and installs the
// resulting configurations.
func (h *harness) boot(ids ...wire.NodeID) {
	for _, id := range ids {
		i := h.pos(id)
		q, err := New(h.cfgs[i], h.now)
		if err != nil {
			h.t.Fatalf("New(node %d): %v", id, err)
		}
		h.nodes[i], h.group[i], h.rings[i], h.held[i] = q, 0, RingID{}, nil
		h.pump(i)
	}
	h.configure()
}

// fail powers nodes off: they stop at once, without a goodbye.
func (h *harness) fail(ids ...wire.NodeID) {
	for _, id := range ids {
		i := h.pos(id)
		h.nodes[i], h.rings[i] = nil, RingID{}
		h.connGen[i]++ // the host is gone: no FIN, the arbiter notices by DPD
	}
	h.configure()
}

// partition puts each listed group of nodes in its own partition; nodes
// not listed keep group 0.
func (h *harness) partition(groups ...[]wire.NodeID) {
	for i := range h.group {
		h.group[i] = 0
	}
	for g, ids := range groups {
		for _, id := range ids {
			h.group[h.pos(id)] = g + 1
		}
	}
	h.configure()
}

// heal joins every running node into one partition.
func (h *harness) heal() { h.partition() }

// configure installs a new ring for every group whose membership changed.
func (h *harness) configure() {
	groups := map[int][]int{}
	for i, q := range h.nodes {
		if q != nil {
			groups[h.group[i]] = append(groups[h.group[i]], i)
		}
	}
	for _, g := range slices.Sorted(func(yield func(int) bool) {
		for g := range groups {
			if !yield(g) {
				return
			}
		}
	}) {
		members := groups[g]
		var ids []wire.NodeID
		for _, i := range members {
			ids = append(ids, h.ids[i])
		}
		changed := false
		for _, i := range members {
			if !slices.Equal(h.ringMembers(h.rings[i]), ids) {
				changed = true
			}
		}
		if !changed {
			continue
		}
		h.seq += 4
		ring := RingID{Rep: ids[0], Seq: h.seq}
		for _, i := range members {
			h.rings[i] = ring
		}
		h.ringSet[ring] = ids
		for _, i := range members {
			h.nodes[i].Configuration(h.now, ring, ids)
			for _, p := range h.held[i] {
				h.send(i, p)
			}
			h.held[i] = nil
			h.pump(i)
		}
	}
}

// ringMembers returns the members of a ring the harness installed.
func (h *harness) ringMembers(r RingID) []wire.NodeID {
	if h.ringSet == nil {
		h.ringSet = map[RingID][]wire.NodeID{}
	}
	return h.ringSet[r]
}

// send multicasts payload from node i on its current ring.
func (h *harness) send(i int, payload []byte) {
	ring := h.rings[i]
	from := h.ids[i]
	h.schedule(h.now.Add(h.latency), func() {
		for j, q := range h.nodes {
			if q != nil && h.rings[j] == ring {
				q.Deliver(h.now, from, payload)
				h.pump(j)
			}
		}
	})
}

// arbSide runs fn on the arbiter after the stream latency, if node i can
// reach a running arbiter.
func (h *harness) arbSide(fn func(), i int) {
	if !h.arbUp || h.arbCut[i] {
		return
	}
	arb := h.arb
	h.schedule(h.now.Add(h.arbLatency), func() {
		if h.arb == arb && h.arbUp && !h.arbCut[i] {
			fn()
			h.pumpArb()
		}
	})
}

// nodeSide runs fn on node i after the stream latency, if the stream is
// still the one of generation gen.
func (h *harness) nodeSide(i, gen int, fn func(q *Quorum)) {
	h.schedule(h.now.Add(h.arbLatency), func() {
		if q := h.nodes[i]; q != nil && h.connGen[i] == gen && h.arbUp && !h.arbCut[i] {
			fn(q)
			h.pump(i)
		}
	})
}

// pump takes node i's Ready and acts on it.
func (h *harness) pump(i int) {
	q := h.nodes[i]
	rd := q.Ready()
	id := h.ids[i]
	for _, p := range rd.Multicast {
		if h.rings[i] == (RingID{}) {
			h.held[i] = append(h.held[i], p)
			continue
		}
		h.send(i, p)
	}
	for _, op := range rd.Arbiter {
		switch {
		case op.Dial:
			h.connGen[i]++
			gen := h.connGen[i]
			h.arbSide(func() {
				h.arb.Connect(h.now, id)
				h.nodeSide(i, gen, func(q *Quorum) { q.ArbiterConnected(h.now) })
			}, i)
		case op.Hangup:
			h.connGen[i]++
			h.arbSide(func() { h.arb.Disconnect(h.now, id) }, i)
		default:
			p := op.Payload
			h.arbSide(func() { h.arb.Receive(h.now, id, p) }, i)
		}
	}
	for _, e := range rd.Events {
		h.record(fmt.Sprintf("n%d: %v", id, e), e.Kind)
	}
	q.Ack()
}

// pumpArb takes the arbiter's Ready and acts on it.
func (h *harness) pumpArb() {
	rd := h.arb.Ready()
	for _, o := range rd.Out {
		i := h.pos(o.To)
		gen := h.connGen[i]
		if o.Close {
			h.nodeSide(i, gen, func(q *Quorum) { q.ArbiterClosed(h.now) })
			continue
		}
		p := o.Payload
		h.nodeSide(i, gen, func(q *Quorum) { q.ArbiterReceive(h.now, p) })
	}
	for _, e := range rd.Events {
		h.record("arbiter: "+e.String(), e.Kind)
	}
	h.arb.Ack()
}

func (h *harness) record(s string, k EventKind) {
	if !h.traceAll && (k == EventSync || k == EventArbiterClient || k == EventArbiterVote || k == EventExpectedVotes) {
		return
	}
	h.trace = append(h.trace, fmt.Sprintf("%v %s", time.Duration(h.now), s))
}

// run advances the clock by d, performing every delivery and timer due.
func (h *harness) run(d time.Duration) {
	until := h.now.Add(d)
	for {
		next := wire.Instant(-1)
		consider := func(t wire.Instant) {
			if t != 0 && (next < 0 || t < next) {
				next = t
			}
		}
		for _, e := range h.queue {
			consider(e.at)
		}
		for _, q := range h.nodes {
			if q != nil {
				consider(q.Ready().Deadline)
			}
		}
		if h.arbUp {
			consider(h.arb.Ready().Deadline)
		}
		if next < 0 || next > until {
			break
		}
		h.now = max(h.now, next)
		h.step()
	}
	h.now = until
	for _, c := range h.checks {
		c(h)
	}
}

// step runs everything due at h.now: queued deliveries in order, then
// node timers by position, then the arbiter's.
func (h *harness) step() {
	slices.SortStableFunc(h.queue, func(a, b hevent) int {
		return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
	})
	for len(h.queue) > 0 && h.queue[0].at <= h.now {
		e := h.queue[0]
		h.queue = h.queue[1:]
		e.fn()
	}
	for i, q := range h.nodes {
		if q != nil {
			if d := q.Ready().Deadline; d != 0 && d <= h.now {
				q.Advance(h.now)
				h.pump(i)
			}
		}
	}
	if h.arbUp {
		if d := h.arb.Ready().Deadline; d != 0 && d <= h.now {
			h.arb.Advance(h.now)
			h.pumpArb()
		}
	}
}

// setArbiter fails the arbiter silently (up=false) or starts a fresh one.
func (h *harness) setArbiter(up bool) {
	if up && !h.arbUp {
		h.arb = NewArbiter()
	}
	h.arbUp = up
}

// status prints one line per running node (or the given ones).
func (h *harness) status(ids ...wire.NodeID) string {
	if len(ids) == 0 {
		for i, q := range h.nodes {
			if q != nil {
				ids = append(ids, h.ids[i])
			}
		}
	}
	var sb strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&sb, "n%d: %v\n", id, h.node(id).Status())
	}
	return sb.String()
}

// flushTrace returns and clears the recorded events.
func (h *harness) flushTrace() string {
	s := strings.Join(h.trace, "\n")
	h.trace = nil
	if s != "" {
		s += "\n"
	}
	return s
}

// ids turns ints into node ids.
func ids(v ...int) []wire.NodeID {
	out := make([]wire.NodeID, len(v))
	for i, x := range v {
		out[i] = wire.NodeID(x)
	}
	return out
}
