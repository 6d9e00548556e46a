package sim

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// The ordering checkers judge what every node delivered against the
// properties of extended virtual synchrony (spec totem.md §10). They work on
// a recorded history, not on engine internals, so a broken engine cannot
// hide from them, and they can be tested on hand-made histories.

// dkind is what a recorded delivery is.
type dkind uint8

const (
	dMsg dkind = iota + 1
	dTrans
	dRegular
)

// ringRef identifies a ring (totem's ring id).
type ringRef struct {
	rep wire.NodeID
	seq uint64
}

func (r ringRef) String() string { return fmt.Sprintf("%x.%x", uint32(r.rep), r.seq) }

// delivery is one item a process delivered, in its delivery order.
type delivery struct {
	at      wire.Instant
	kind    dkind
	ring    ringRef
	seq     uint32 // dMsg: sequence number on the ring it was sequenced on
	sender  wire.NodeID
	id      uint64 // dMsg: workload message id, 0 for other traffic
	members []wire.NodeID
}

// process is one incarnation of a node: a restart starts a new process,
// with a delivery stream of its own.
type process struct {
	node  wire.NodeID
	name  string
	inc   int
	start wire.Instant
	end   wire.Instant // 0 while alive at the end of the run
	// ds keeps the deliveries the whole-history checkers need: workload
	// messages and configurations. Other agreed traffic (the store's,
	// votequorum's) is judged online by the gap check and not kept, so that
	// memory does not grow with it.
	ds arena[drec]
	// msets holds the member lists of the configurations in ds.
	msets [][]wire.NodeID
	// gap is the online state of the gap check; gapFail its first finding.
	gapRing    ringRef
	gapLast    uint32
	gapRegular bool
	gapFail    string
	delivered  uint64 // every delivery, kept or not
	// installs lists the regular configurations the process installed,
	// in order, with their instants.
	installs []install
}

// drec is a delivery as a process keeps it: fixed-size and free of
// pointers, so that the garbage collector never scans the millions a long
// run keeps; a configuration's members are in process.msets.
type drec struct {
	at     wire.Instant
	ring   ringRef
	id     uint64
	seq    uint32
	sender wire.NodeID
	mset   int32 // configurations: index into msets
	kind   dkind
}

// all yields the kept deliveries in delivery order.
func (p *process) all() iter.Seq[delivery] {
	return func(yield func(delivery) bool) {
		for _, c := range p.ds.chunks {
			for i := range c {
				x := &c[i]
				d := delivery{at: x.at, kind: x.kind, ring: x.ring, seq: x.seq, sender: x.sender, id: x.id}
				if x.kind != dMsg {
					d.members = p.msets[x.mset]
				}
				if !yield(d) {
					return
				}
			}
		}
	}
}

// install is one regular configuration a process installed.
type install struct {
	ring ringRef
	at   wire.Instant
}

// add takes the process's next delivery: it runs the online gap check and
// keeps what the other checkers need.
func (p *process) add(d delivery) {
	p.delivered++
	switch d.kind {
	case dRegular:
		p.gapRing, p.gapLast, p.gapRegular = d.ring, 0, true
		p.installs = append(p.installs, install{d.ring, d.at})
	case dTrans:
		p.gapRegular = false
	case dMsg:
		if p.gapRegular && d.ring == p.gapRing {
			if p.gapLast != 0 && d.seq != p.gapLast+1 && p.gapFail == "" {
				p.gapFail = fmt.Sprintf("gap: %s delivered seq %d after seq %d on ring %s", p, d.seq, p.gapLast, p.gapRing)
			}
			p.gapLast = d.seq
		}
		if d.id == 0 {
			return
		}
	}
	x := drec{at: d.at, ring: d.ring, id: d.id, seq: d.seq, sender: d.sender, kind: d.kind}
	if d.kind != dMsg {
		x.mset = int32(len(p.msets))
		p.msets = append(p.msets, d.members)
	}
	p.ds.add(x)
}

func (p *process) String() string { return fmt.Sprintf("%s#%d", p.name, p.inc) }

// sent is what the workload multicast: by whom and when.
type sent struct {
	proc *process
	at   wire.Instant
}

// history is the whole run's delivery record.
type history struct {
	procs []*process
	sent  map[uint64]sent // workload id -> sender; lookups only
}

// checkResult is one checker's verdict with its first counterexample.
type checkResult struct {
	ok     bool
	detail string
}

func pass() checkResult { return checkResult{ok: true} }

func fail(f string, args ...any) checkResult { return checkResult{detail: fmt.Sprintf(f, args...)} }

// checkIntegrity: no creation (every delivered workload message was sent),
// no duplication (a process delivers a message at most once), self-inclusion
// (every configuration a process delivers contains it), strictly increasing
// ring ids, transitional ⊆ old ∩ new.
func checkIntegrity(h *history) checkResult {
	for _, p := range h.procs {
		seen := map[uint64]bool{}
		var old []wire.NodeID
		var lastRing ringRef
		for d := range p.all() {
			switch d.kind {
			case dMsg:
				if d.id == 0 {
					continue
				}
				if _, ok := h.sent[d.id]; !ok {
					return fail("no creation: %s delivered message %s that nobody sent", p, msgName(d.id))
				}
				if seen[d.id] {
					return fail("no duplication: %s delivered message %s twice (second time at %v)", p, msgName(d.id), d.at)
				}
				seen[d.id] = true
			case dTrans, dRegular:
				if !slices.Contains(d.members, p.node) {
					return fail("self-inclusion: %s delivered %s configuration %s %v without itself", p, kindName(d.kind), d.ring, d.members)
				}
				if d.kind == dTrans {
					for _, m := range d.members {
						if old != nil && !slices.Contains(old, m) {
							return fail("transitional configuration: %s's transitional %s lists %d, not in its old ring %v", p, d.ring, m, old)
						}
					}
					continue // checked against the new ring by checkTransitionalSubset
				}
				if lastRing.seq != 0 && d.ring.seq <= lastRing.seq {
					return fail("ring id monotonicity: %s installed ring %s after %s", p, d.ring, lastRing)
				}
				lastRing = d.ring
				old = d.members
			}
		}
		if r := checkTransitionalSubset(p); !r.ok {
			return r
		}
	}
	return pass()
}

// checkTransitionalSubset: each transitional configuration is a subset of
// the regular configuration that follows it.
func checkTransitionalSubset(p *process) checkResult {
	var trans *delivery
	for d := range p.all() {
		switch d.kind {
		case dTrans:
			trans = &d
		case dRegular:
			if trans != nil {
				for _, m := range trans.members {
					if !slices.Contains(d.members, m) {
						return fail("transitional configuration: %s's transitional %v is not inside the new ring %s %v", p, trans.members, d.ring, d.members)
					}
				}
			}
			trans = nil
		}
	}
	return pass()
}

// checkAgreement: all processes that install regular ring R install it with
// the same member list.
func checkAgreement(h *history) checkResult {
	type inst struct {
		p       *process
		members []wire.NodeID
	}
	rings := map[ringRef]inst{}
	for _, p := range h.procs {
		for d := range p.all() {
			if d.kind != dRegular {
				continue
			}
			if prev, ok := rings[d.ring]; ok && !slices.Equal(prev.members, d.members) {
				return fail("membership agreement: ring %s installed as %v by %s and as %v by %s", d.ring, prev.members, prev.p, d.members, p)
			}
			rings[d.ring] = inst{p, d.members}
		}
	}
	return pass()
}

// checkTotalOrder: any two processes deliver the messages and regular
// configurations they both deliver in the same relative order. Each
// process's stream is a chain; the union of all chains must be acyclic
// (a cycle is exactly two processes disagreeing on some pair). On failure
// the pairwise search names the two processes and the two items.
func checkTotalOrder(h *history) checkResult {
	type key struct {
		kind dkind
		id   uint64
		ring ringRef
	}
	keyOf := func(d delivery) (key, bool) {
		switch {
		case d.kind == dMsg && d.id != 0:
			return key{kind: dMsg, id: d.id}, true
		case d.kind == dRegular:
			return key{kind: dRegular, ring: d.ring}, true
		}
		return key{}, false
	}
	index := map[key]int{}
	var succ [][]int
	var indeg []int
	node := func(k key) int {
		if i, ok := index[k]; ok {
			return i
		}
		index[k] = len(succ)
		succ = append(succ, nil)
		indeg = append(indeg, 0)
		return len(succ) - 1
	}
	for _, p := range h.procs {
		prev := -1
		for d := range p.all() {
			k, ok := keyOf(d)
			if !ok {
				continue
			}
			n := node(k)
			if prev >= 0 {
				succ[prev] = append(succ[prev], n)
				indeg[n]++
			}
			prev = n
		}
	}
	// Kahn's algorithm: every item comes out iff the graph is acyclic.
	queue := make([]int, 0, len(succ))
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	done := 0
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		done++
		for _, m := range succ[n] {
			if indeg[m]--; indeg[m] == 0 {
				queue = append(queue, m)
			}
		}
	}
	if done == len(succ) {
		return pass()
	}
	name := func(k key) string {
		if k.kind == dMsg {
			return "message " + msgName(k.id)
		}
		return "ring " + k.ring.String()
	}
	// Find the first pair of processes that disagree, for the report.
	for i, a := range h.procs {
		pos := map[key]int{}
		j := -1
		for d := range a.all() {
			j++
			if k, ok := keyOf(d); ok {
				pos[k] = j
			}
		}
		for _, b := range h.procs[i+1:] {
			last, lastKey := -1, key{}
			for d := range b.all() {
				k, ok := keyOf(d)
				if !ok {
					continue
				}
				j, ok := pos[k]
				if !ok {
					continue
				}
				if j < last {
					return fail("total order: %s delivered %s before %s; %s delivered them the other way round", a, name(k), name(lastKey), b)
				}
				last, lastKey = j, k
			}
		}
	}
	return fail("total order: the processes' delivery orders cannot be merged into one (%d items in a cycle)", len(succ)-done)
}

// segment is what a process delivered while in one regular configuration:
// from installing it to installing the next (transitional part included).
type segment struct {
	from, to ringRef // to is zero for the last, unfinished segment
	trans    []wire.NodeID
	msgs     []uint64 // workload ids, sorted
}

func segments(p *process) []segment {
	var out []segment
	var cur *segment
	for d := range p.all() {
		switch d.kind {
		case dRegular:
			if cur != nil {
				cur.to = d.ring
				slices.Sort(cur.msgs)
				out = append(out, *cur)
			}
			cur = &segment{from: d.ring}
		case dTrans:
			if cur != nil {
				cur.trans = d.members
			}
		case dMsg:
			if cur != nil && d.id != 0 {
				cur.msgs = append(cur.msgs, d.id)
			}
		}
	}
	return out
}

// checkVirtualSynchrony: processes that move together from configuration C
// to the same next configuration C' delivered the same set of messages in C
// and the same transitional configuration.
func checkVirtualSynchrony(h *history) checkResult {
	type move struct{ from, to ringRef }
	type witness struct {
		p   *process
		seg segment
	}
	moves := map[move]witness{}
	for _, p := range h.procs {
		for _, s := range segments(p) {
			m := move{s.from, s.to}
			w, ok := moves[m]
			if !ok {
				moves[m] = witness{p, s}
				continue
			}
			if !slices.Equal(w.seg.trans, s.trans) {
				return fail("virtual synchrony: %s and %s moved from ring %s to %s with transitional configurations %v and %v", w.p, p, m.from, m.to, w.seg.trans, s.trans)
			}
			if !slices.Equal(w.seg.msgs, s.msgs) {
				onlyA, onlyB := diff(w.seg.msgs, s.msgs)
				return fail("virtual synchrony: %s and %s moved from ring %s to %s but delivered different messages in %s: only %s: %s; only %s: %s",
					w.p, p, m.from, m.to, m.from, w.p, names(onlyA), p, names(onlyB))
			}
		}
	}
	return pass()
}

// checkGaps: within a regular configuration, before its transitional
// configuration, agreed delivery never skips a sequence number. It runs
// online (process.add) over every agreed message, workload or not; this
// reports the first process's first finding.
func checkGaps(h *history) checkResult {
	for _, p := range h.procs {
		if p.gapFail != "" {
			return checkResult{detail: p.gapFail}
		}
	}
	return pass()
}

// checkSelfDelivery: a process that stays alive to the end delivers every
// workload message it multicast before the settle instant.
func checkSelfDelivery(h *history, settle wire.Instant) checkResult {
	got := map[*process]map[uint64]bool{}
	for _, p := range h.procs {
		m := map[uint64]bool{}
		for d := range p.all() {
			if d.kind == dMsg && d.id != 0 {
				m[d.id] = true
			}
		}
		got[p] = m
	}
	ids := make([]uint64, 0, len(h.sent))
	for id := range h.sent {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := h.sent[id]
		if s.proc.end != 0 || s.at > settle {
			continue
		}
		if !got[s.proc][id] {
			return fail("self-delivery: %s multicast message %s at %v and never delivered it", s.proc, msgName(id), s.at)
		}
	}
	return pass()
}

func diff(a, b []uint64) (onlyA, onlyB []uint64) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i >= len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

func names(ids []uint64) string {
	if len(ids) == 0 {
		return "none"
	}
	var s []string
	for i, id := range ids {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(ids)-5))
			break
		}
		s = append(s, msgName(id))
	}
	return strings.Join(s, ", ")
}

// msgName prints a workload id as origin-node:counter.
func msgName(id uint64) string { return fmt.Sprintf("%d:%d", id>>40, id&(1<<40-1)) }

func kindName(k dkind) string {
	switch k {
	case dTrans:
		return "transitional"
	case dRegular:
		return "regular"
	}
	return "message"
}
