package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// The harness runs N Stores over a fake Totem: a component is one ring
// whose members deliver the same queue of messages in one order. A
// membership change follows corosync's extended virtual synchrony
// (totem.md §7.4): each new group of an old ring delivers a prefix of the
// old queue in the old regular configuration (different groups may recover
// different prefixes), then its transitional configuration, then the
// old-ring messages it still holds after the first gap (those of its own
// members' senders, some of the others'), then the new regular
// configuration. What a node multicasts after the change began is sent in
// the new ring, as Totem's new-message queue does. Quorum is a majority of
// the nodelist; each member hears its verdict some time after the regular
// configuration, as votequorum's sync ends.

// ghostOp is one applied change in the lineage of a replica.
type ghostOp struct {
	From wire.NodeID
	Msg  Message
}

type hnode struct {
	id        wire.NodeID
	s         *Store // nil while down
	inc       int    // incarnation
	comp      *comp
	ghost     []ghostOp // lineage of the current state
	pghost    []ghostOp // lineage of the persisted snapshot
	persisted Snapshot
	moving    bool     // a membership change is under way: multicasts wait
	outbox    [][]byte // multicasts for the next ring
	owed      bool     // votequorum's verdict for the ring is still to come
	told      verdict  // the verdict SetQuorate last gave for the ring
	inquorate bool     // forced inquorate (a lost qdevice, say)
	forceYes  bool     // forced quorate (pvecm expected 1)
	restarts  int
}

type hmsg struct {
	from    wire.NodeID
	payload []byte
}

type comp struct {
	ring    RingRef
	members []wire.NodeID
	queue   []hmsg
}

// hop is one client operation in the history.
type hop struct {
	node      wire.NodeID
	inc       int
	id        OpID
	kind      OpKind
	key       string
	value     []byte
	old       uint64
	holder    string
	ring      RingRef
	inv, done int64
	res       *Result
}

type cluster struct {
	t       testing.TB
	ids     []wire.NodeID
	nodes   []*hnode // by id-1
	now     wire.Instant
	seq     uint64
	rnd     *rand.Rand // nil: full, in-order delivery at every change
	clock   int64
	hist    []*hop
	errs    []string
	trace   []string
	canary  func(*Store)
	writes  int
	autoVer bool // tell verdicts right after each regular configuration
	least   bool // scripted: a group recovers only up to the first outsider's message
}

func newCluster(t testing.TB, n int, rnd *rand.Rand, canary func(*Store)) *cluster {
	c := &cluster{t: t, rnd: rnd, canary: canary, autoVer: rnd == nil}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, wire.NodeID(i))
	}
	for _, id := range c.ids {
		x := &hnode{id: id}
		c.nodes = append(c.nodes, x)
		c.boot(x)
	}
	c.regroup([][]wire.NodeID{slices.Clone(c.ids)})
	return c
}

func (c *cluster) node(id wire.NodeID) *hnode { return c.nodes[id-1] }

func (c *cluster) failf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
}

func (c *cluster) logf(format string, args ...any) {
	c.trace = append(c.trace, fmt.Sprintf("%v ", c.now)+fmt.Sprintf(format, args...))
}

// harnessHeadroom is the framing room the harness asks of every store, as
// the engine does for Totem's header.
const harnessHeadroom = 3

// boot starts x's store from what it persisted, alone in a fresh ring.
func (c *cluster) boot(x *hnode) {
	s, err := New(Config{Self: x.id, Nodes: c.ids, Headroom: harnessHeadroom}, c.now, x.persisted)
	if err != nil {
		c.t.Fatalf("New(%d): %v", x.id, err)
	}
	x.inc++
	x.s, x.ghost, x.comp = s, slices.Clone(x.pghost), nil
	s.onApply = func(v uint64, from wire.NodeID, m Message) {
		x.ghost = append(x.ghost, ghostOp{From: from, Msg: m})
		if uint64(len(x.ghost)) != v {
			c.failf("node %d: applied version %d with a lineage of %d", x.id, v, len(x.ghost))
		}
	}
	s.onSynced = func(leader wire.NodeID, v uint64) {
		// x holds the leader's data: a transfer, or equal data already
		// (possibly reached by an equivalent history: adopt the leader's).
		l := c.node(leader)
		if uint64(len(l.ghost)) < v {
			c.failf("node %d synced to version %d of %d whose lineage has %d", x.id, v, leader, len(l.ghost))
			return
		}
		x.ghost = slices.Clone(l.ghost[:v])
	}
	if c.canary != nil {
		c.canary(s)
	}
}

// drain performs x's Ready: persist, multicast, record results and events.
func (c *cluster) drain(x *hnode) {
	rd := x.s.Ready()
	if rd.Persist != nil {
		x.persisted = *rd.Persist
		x.persisted.Entries = slices.Clone(rd.Persist.Entries)
		x.pghost = slices.Clone(x.ghost)
	}
	for _, m := range rd.Multicast {
		if len(m) < harnessHeadroom || !bytes.Equal(m[:harnessHeadroom], make([]byte, harnessHeadroom)) {
			c.failf("node %d: multicast without %d free bytes in front: % x", x.id, harnessHeadroom, m)
			continue
		}
		m = m[harnessHeadroom:]
		switch {
		case x.moving:
			x.outbox = append(x.outbox, m)
		case x.comp != nil:
			x.comp.queue = append(x.comp.queue, hmsg{from: x.id, payload: m})
		}
	}
	for _, r := range rd.Results {
		c.result(x, r)
	}
	for _, e := range rd.Events {
		c.logf("n%d %s", x.id, e)
	}
	x.s.Ack()
}

func (c *cluster) result(x *hnode, r Result) {
	for _, h := range c.hist {
		if h.node != x.id || h.inc != x.inc || h.id != r.Op {
			continue
		}
		if h.res != nil {
			c.failf("node %d op %d: second result %v", x.id, r.Op, r.Err)
			return
		}
		rc := r
		h.res, h.done = &rc, c.tick()
		c.logf("n%d result op=%d %s %q ok=%v err=%v ver=%d rev=%d", x.id, r.Op, r.Kind, r.Key, r.OK, r.Err, r.Version, r.Revision)
		return
	}
	c.failf("node %d: result for unknown op %d", x.id, r.Op)
}

func (c *cluster) tick() int64 { c.clock++; return c.clock }

// up returns the ids of the nodes that run.
func (c *cluster) up() []wire.NodeID {
	var ids []wire.NodeID
	for _, x := range c.nodes {
		if x.s != nil {
			ids = append(ids, x.id)
		}
	}
	return ids
}

// comps returns the current components, in order of their lowest member.
func (c *cluster) comps() []*comp {
	var cs []*comp
	for _, x := range c.nodes {
		if x.s != nil && x.comp != nil && !slices.Contains(cs, x.comp) {
			cs = append(cs, x.comp)
		}
	}
	return cs
}

// deliverOne delivers the head of cp's queue to every running member.
func (c *cluster) deliverOne(cp *comp) {
	m := cp.queue[0]
	cp.queue = cp.queue[1:]
	for _, id := range cp.members {
		if x := c.node(id); x.s != nil && x.comp == cp {
			x.s.Deliver(c.now, m.from, m.payload)
			c.drain(x)
		}
	}
}

// regroup installs a new partition of the running nodes. Components whose
// member set is unchanged keep running; the others go through the EVS
// steps described at the top of this file.
func (c *cluster) regroup(groups [][]wire.NodeID) {
	var changed [][]wire.NodeID
	for _, g := range groups {
		slices.Sort(g)
		if x := c.node(g[0]); x.comp != nil && slices.Equal(x.comp.members, g) && c.allIn(g, x.comp) {
			continue
		}
		changed = append(changed, g)
	}
	olds := map[*comp]bool{}
	for _, g := range changed {
		for _, id := range g {
			if x := c.node(id); x.comp != nil {
				olds[x.comp] = true
			}
		}
	}
	for _, cp := range c.comps() {
		if olds[cp] {
			c.endRing(cp, changed)
		}
	}
	for _, g := range changed {
		c.startRing(g)
	}
}

func (c *cluster) allIn(g []wire.NodeID, cp *comp) bool {
	for _, id := range g {
		if c.node(id).comp != cp {
			return false
		}
	}
	return true
}

// endRing delivers the end of old ring cp to each of its running members,
// group by group of the new partition.
func (c *cluster) endRing(cp *comp, groups [][]wire.NodeID) {
	q := cp.queue
	for _, g := range groups {
		var xs []*hnode
		for _, id := range g {
			if x := c.node(id); x.s != nil && x.comp == cp {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 {
			continue
		}
		r, extra := c.recovered(q, g)
		var trans []wire.NodeID
		for _, x := range xs {
			trans = append(trans, x.id)
		}
		for _, x := range xs {
			x.moving = true
			for _, m := range q[:r] {
				x.s.Deliver(c.now, m.from, m.payload)
				c.drain(x)
			}
			x.s.Configuration(c.now, ConfigTransitional, RingRef{Rep: g[0], Seq: c.seq + 4}, trans)
			x.told = verdictUnknown
			c.drain(x)
			for _, m := range extra {
				x.s.Deliver(c.now, m.from, m.payload)
				c.drain(x)
			}
			x.comp = nil
		}
	}
}

// recovered chooses what a group recovers of an old queue: the prefix up
// to the first message none of its members holds, and after it the
// messages of its own members plus some of the others'.
func (c *cluster) recovered(q []hmsg, g []wire.NodeID) (int, []hmsg) {
	if len(q) == 0 || (c.rnd == nil && !c.least) || (c.rnd != nil && c.rnd.IntN(3) == 0) {
		return len(q), nil
	}
	var gaps []int
	for i, m := range q {
		if !slices.Contains(g, m.from) {
			gaps = append(gaps, i)
		}
	}
	if len(gaps) == 0 {
		return len(q), nil
	}
	r := gaps[0] // nobody in g received the first message of an outsider
	if c.rnd != nil && c.rnd.IntN(2) == 0 {
		r = gaps[c.rnd.IntN(len(gaps))]
	}
	var extra []hmsg
	for _, m := range q[r+1:] {
		if slices.Contains(g, m.from) || (c.rnd != nil && c.rnd.IntN(2) == 0) {
			extra = append(extra, m)
		}
	}
	return r, extra
}

// startRing forms a new ring of group g and delivers its regular configuration.
func (c *cluster) startRing(g []wire.NodeID) {
	c.seq += 4
	cp := &comp{ring: RingRef{Rep: g[0], Seq: c.seq}, members: slices.Clone(g)}
	for _, id := range g {
		x := c.node(id)
		for _, m := range x.outbox {
			cp.queue = append(cp.queue, hmsg{from: id, payload: m})
		}
		x.outbox, x.moving, x.comp = nil, false, cp
	}
	c.logf("ring %s members %v", cp.ring, g)
	for _, id := range g {
		x := c.node(id)
		x.s.Configuration(c.now, ConfigRegular, cp.ring, g)
		x.told, x.owed = verdictUnknown, true
		c.drain(x)
	}
	if c.autoVer {
		for _, id := range g {
			c.tellVerdict(c.node(id))
		}
	}
}

// quorate is the harness's votequorum: a majority of the nodelist.
func (c *cluster) quorate(x *hnode) bool {
	if x.forceYes {
		return true
	}
	return x.comp != nil && 2*len(x.comp.members) > len(c.ids) && !x.inquorate
}

// tellVerdict ends votequorum's sync on x: it hears its verdict.
func (c *cluster) tellVerdict(x *hnode) {
	if x.s == nil || x.comp == nil {
		return
	}
	q := c.quorate(x)
	x.s.SetQuorate(c.now, q)
	x.owed, x.told = false, verdictOf(q)
	c.drain(x)
}

// settle delivers every owed verdict and every queued message.
func (c *cluster) settle() {
	for range 100000 {
		progress := false
		for _, x := range c.nodes {
			if x.s != nil && x.owed {
				c.tellVerdict(x)
				progress = true
			}
		}
		for _, cp := range c.comps() {
			if len(cp.queue) > 0 {
				c.deliverOne(cp)
				progress = true
			}
		}
		if !progress {
			return
		}
	}
	c.t.Fatal("harness: the cluster does not settle")
}

// deliverAll delivers every queued message, telling no verdict.
func (c *cluster) deliverAll() {
	for busy := true; busy; {
		busy = false
		for _, cp := range c.comps() {
			if len(cp.queue) > 0 {
				c.deliverOne(cp)
				busy = true
			}
		}
	}
}

// wait settles the cluster and returns h, answered if it will be.
func (c *cluster) wait(h *hop) *hop {
	c.settle()
	return h
}

// crash stops x; the rest of its ring reforms without it.
func (c *cluster) crash(id wire.NodeID) {
	x := c.node(id)
	cp := x.comp
	if c.rnd != nil && cp != nil && len(cp.queue) > 0 && c.rnd.IntN(3) > 0 {
		// Before dying, x delivered some messages the others have not
		// (its own among them: agreed delivery needs no one else), and
		// persisted and answered what it applied.
		k := len(cp.queue)
		if c.rnd.IntN(2) == 0 {
			k = 1 + c.rnd.IntN(k)
		}
		c.logf("n%d alone delivers %d of %d before crashing", id, k, len(cp.queue))
		for _, m := range slices.Clone(cp.queue[:k]) {
			x.s.Deliver(c.now, m.from, m.payload)
			c.drain(x)
		}
	}
	x.s, x.comp, x.moving, x.outbox = nil, nil, false, nil
	c.logf("crash n%d", id)
	if cp == nil {
		return
	}
	var rest []wire.NodeID
	for _, m := range cp.members {
		if y := c.node(m); y.s != nil && y.comp == cp {
			rest = append(rest, m)
		}
	}
	if len(rest) > 0 {
		c.regroup([][]wire.NodeID{rest})
	}
}

// crashAlone: x alone delivers the first k queued messages of its ring
// (persisting and answering what it applied), then crashes.
func (c *cluster) crashAlone(id wire.NodeID, k int) {
	x := c.node(id)
	for _, m := range slices.Clone(x.comp.queue[:k]) {
		x.s.Deliver(c.now, m.from, m.payload)
		c.drain(x)
	}
	c.crash(id)
}

// restart boots x from its persisted snapshot, alone in a new ring.
func (c *cluster) restart(id wire.NodeID) {
	x := c.node(id)
	x.restarts++
	c.boot(x)
	c.logf("restart n%d version %d", id, x.persisted.Version)
	c.startRing([]wire.NodeID{id})
}

// partition regroups the running nodes: groups may name down nodes, they
// are left out.
func (c *cluster) partition(groups ...[]wire.NodeID) {
	var gs [][]wire.NodeID
	for _, g := range groups {
		var live []wire.NodeID
		for _, id := range g {
			if c.node(id).s != nil {
				live = append(live, id)
			}
		}
		if len(live) > 0 {
			gs = append(gs, live)
		}
	}
	c.logf("partition %v", gs)
	c.regroup(gs)
}

// heal restarts nobody and merges every running node into one ring.
func (c *cluster) heal() { c.partition(c.up()) }

// advance moves time and fires due store timers.
func (c *cluster) advance(d time.Duration) {
	c.now = c.now.Add(d)
	for _, x := range c.nodes {
		if x.s == nil {
			continue
		}
		if dl := x.s.deadline(); dl != 0 && dl <= c.now {
			x.s.Advance(c.now)
			c.drain(x)
		}
	}
}

// op submits a client operation and records it in the history.
func (c *cluster) op(id wire.NodeID, kind OpKind, key string, value []byte, old uint64, holder string, ttl time.Duration) *hop {
	x := c.node(id)
	if x.s == nil {
		return nil
	}
	h := &hop{node: id, inc: x.inc, kind: kind, key: key, value: value, old: old, holder: holder, ring: x.s.ring, inv: c.tick()}
	var err error
	switch kind {
	case OpPut:
		h.id, err = x.s.Put(c.now, key, value)
	case OpDelete:
		h.id, err = x.s.Delete(c.now, key)
	case OpCAS:
		h.id, err = x.s.CompareAndSet(c.now, key, old, value)
	case OpLock:
		h.id, err = x.s.Lock(c.now, key, holder, ttl)
	case OpRead:
		h.id, err = x.s.ReadOrdered(c.now, key)
	}
	readOnly := x.told != verdictYes || (x.s.phase != PhaseSync && x.s.phase != PhaseSynced)
	switch {
	case readOnly && err != ErrReadOnly:
		c.failf("node %d without quorum: %s returned %v, want ErrReadOnly at once", id, kind, err)
	case !readOnly && err != nil:
		c.failf("node %d with quorum: %s returned %v", id, kind, err)
	}
	c.drain(x)
	if err != nil {
		h.res, h.done = &Result{Err: err}, h.inv
		return h
	}
	c.logf("n%d op=%d %s %q %q", id, h.id, kind, key, value)
	c.hist = append(c.hist, h)
	return h
}

func (c *cluster) put(id wire.NodeID, key, value string) *hop {
	return c.op(id, OpPut, key, []byte(value), 0, "", 0)
}

func (c *cluster) read(id wire.NodeID, key string) *hop { return c.op(id, OpRead, key, nil, 0, "", 0) }

// report fails the test with the check failures and the trace's tail.
func (c *cluster) report(t testing.TB, what string) {
	t.Helper()
	if len(c.errs) == 0 {
		return
	}
	tail := c.trace[max(0, len(c.trace)-60):]
	t.Fatalf("%s: %d check failures:\n  %s\ntrace tail:\n  %s", what, len(c.errs),
		strings.Join(c.errs[:min(len(c.errs), 10)], "\n  "), strings.Join(tail, "\n  "))
}
