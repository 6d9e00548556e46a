// Package check holds the one definition of the ordering checkers —
// integrity, membership agreement, total order, gaps, virtual synchrony and
// self-delivery — that both the simulator (sim) and the engine's own tests
// (engine/totem) judge delivery histories with, so that a property means
// the same wherever it is asserted. It depends on engine/wire alone, so
// any engine package's tests can import it.
//
// A History is built one delivery at a time (Process.Add): gaps are judged
// online, and a process keeps only what the whole-history checkers need,
// as fixed-size records without pointers in a chunked Arena.
package check

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// The ordering checkers judge what every node delivered against the
// properties of extended virtual synchrony (spec totem.md §10). They work on
// a recorded history, not on engine internals, so a broken engine cannot
// hide from them, and they can be tested on hand-made histories.

// DeliveryKind is what a recorded delivery is.
type DeliveryKind uint8

const (
	KindMsg DeliveryKind = iota + 1
	KindTrans
	KindRegular
)

// RingRef identifies a ring (totem's ring id).
type RingRef struct {
	Rep wire.NodeID
	Seq uint64
}

func (r RingRef) String() string { return fmt.Sprintf("%x.%x", uint32(r.Rep), r.Seq) }

// Delivery is one item a process delivered, in its Delivery order.
type Delivery struct {
	At      wire.Instant
	Kind    DeliveryKind
	Ring    RingRef
	Seq     uint32 // dMsg: sequence number on the ring it was sequenced on
	Sender  wire.NodeID
	ID      uint64 // dMsg: workload message id, 0 for other traffic
	Members []wire.NodeID
}

// Process is one incarnation of a node: a restart starts a new Process,
// with a delivery stream of its own.
type Process struct {
	Node  wire.NodeID
	Name  string
	Inc   int
	Start wire.Instant
	End   wire.Instant // 0 while alive at the end of the run
	// ds keeps the deliveries the whole-history checkers need: workload
	// messages and configurations. Other agreed traffic (the store's,
	// votequorum's) is judged online by the gap check and not kept, so that
	// memory does not grow with it.
	ds Arena[drec]
	// msets holds the member lists of the configurations in ds.
	msets [][]wire.NodeID
	// gap is the online state of the gap check; gapFail its first finding.
	gapRing    RingRef
	gapLast    uint32
	gapRegular bool
	gapFail    string
	Delivered  uint64 // every delivery, kept or not
	// Installs lists the regular configurations the process installed,
	// in order, with their instants.
	Installs []Install
}

// drec is a delivery as a process keeps it: fixed-size and free of
// pointers, so that the garbage collector never scans the millions a long
// run keeps; a configuration's members are in process.msets.
type drec struct {
	at     wire.Instant
	ring   RingRef
	id     uint64
	seq    uint32
	sender wire.NodeID
	mset   int32 // configurations: index into msets
	kind   DeliveryKind
}

// Kept is the number of deliveries the process keeps.
func (p *Process) Kept() int { return p.ds.Len() }

// RecordBytes is what one kept delivery costs (the size of drec; a test
// holds it to unsafe.Sizeof, which the engine's purity rule keeps out of
// non-test code).
const RecordBytes = 48

// All yields the kept deliveries in delivery order.
func (p *Process) All() func(yield func(Delivery) bool) {
	return func(yield func(Delivery) bool) {
		for _, c := range p.ds.chunks {
			for i := range c {
				x := &c[i]
				d := Delivery{At: x.at, Kind: x.kind, Ring: x.ring, Seq: x.seq, Sender: x.sender, ID: x.id}
				if x.kind != KindMsg {
					d.Members = p.msets[x.mset]
				}
				if !yield(d) {
					return
				}
			}
		}
	}
}

// Install is one regular configuration a process installed.
type Install struct {
	Ring RingRef
	At   wire.Instant
}

// Add takes the process's next delivery: it runs the online gap check and
// keeps what the other checkers need.
func (p *Process) Add(d Delivery) {
	p.Delivered++
	switch d.Kind {
	case KindRegular:
		p.gapRing, p.gapLast, p.gapRegular = d.Ring, 0, true
		p.Installs = append(p.Installs, Install{d.Ring, d.At})
	case KindTrans:
		p.gapRegular = false
	case KindMsg:
		if p.gapRegular && d.Ring == p.gapRing {
			if p.gapLast != 0 && d.Seq != p.gapLast+1 && p.gapFail == "" {
				p.gapFail = fmt.Sprintf("gap: %s delivered seq %d after seq %d on ring %s", p, d.Seq, p.gapLast, p.gapRing)
			}
			p.gapLast = d.Seq
		}
		if d.ID == 0 {
			return
		}
	}
	x := drec{at: d.At, ring: d.Ring, id: d.ID, seq: d.Seq, sender: d.Sender, kind: d.Kind}
	if d.Kind != KindMsg {
		x.mset = int32(len(p.msets))
		p.msets = append(p.msets, d.Members)
	}
	p.ds.Add(x)
}

func (p *Process) String() string { return fmt.Sprintf("%s#%d", p.Name, p.Inc) }

// SentMsg is what the workload multicast: by whom and when.
type SentMsg struct {
	Proc *Process
	At   wire.Instant
}

// History is the whole run's delivery record.
type History struct {
	Procs []*Process
	Sent  SentLog // workload id -> sender
	// Name prints a message id in findings; nil prints a simulator
	// workload id, origin node:counter.
	Name func(id uint64) string
}

// CheckResult is one checker's verdict with its first counterexample.
type CheckResult struct {
	OK     bool
	Detail string
}

func Pass() CheckResult { return CheckResult{OK: true} }

func Fail(f string, args ...any) CheckResult { return CheckResult{Detail: fmt.Sprintf(f, args...)} }

// CheckIntegrity: no creation (every delivered workload message was sent),
// no duplication (a process delivers a message at most once), self-inclusion
// (every configuration a process delivers contains it), strictly increasing
// ring ids, transitional ⊆ old ∩ new.
func CheckIntegrity(h *History) CheckResult {
	for _, p := range h.Procs {
		seen := make(map[uint64]bool, p.ds.Len()) // sized once, not grown
		var old []wire.NodeID
		var lastRing RingRef
		for d := range p.All() {
			switch d.Kind {
			case KindMsg:
				if d.ID == 0 {
					continue
				}
				if _, ok := h.Sent.Get(d.ID); !ok {
					return Fail("no creation: %s delivered message %s that nobody sent", p, h.msgName(d.ID))
				}
				if seen[d.ID] {
					return Fail("no duplication: %s delivered message %s twice (second time at %v)", p, h.msgName(d.ID), d.At)
				}
				seen[d.ID] = true
			case KindTrans, KindRegular:
				if !slices.Contains(d.Members, p.Node) {
					return Fail("self-inclusion: %s delivered %s configuration %s %v without itself", p, kindName(d.Kind), d.Ring, d.Members)
				}
				if d.Kind == KindTrans {
					for _, m := range d.Members {
						if old != nil && !slices.Contains(old, m) {
							return Fail("transitional configuration: %s's transitional %s lists %d, not in its old ring %v", p, d.Ring, m, old)
						}
					}
					continue // checked against the new ring by checkTransitionalSubset
				}
				if lastRing.Seq != 0 && d.Ring.Seq <= lastRing.Seq {
					return Fail("ring id monotonicity: %s installed ring %s after %s", p, d.Ring, lastRing)
				}
				lastRing = d.Ring
				old = d.Members
			}
		}
		if r := checkTransitionalSubset(p); !r.OK {
			return r
		}
	}
	return Pass()
}

// checkTransitionalSubset: each transitional configuration is a subset of
// the regular configuration that follows it.
func checkTransitionalSubset(p *Process) CheckResult {
	// A copy, not a pointer to the loop's variable: that would move every
	// delivery of the scan to the heap.
	var trans Delivery
	haveTrans := false
	for d := range p.All() {
		switch d.Kind {
		case KindTrans:
			trans, haveTrans = d, true
		case KindRegular:
			if haveTrans {
				for _, m := range trans.Members {
					if !slices.Contains(d.Members, m) {
						return Fail("transitional configuration: %s's transitional %v is not inside the new ring %s %v", p, trans.Members, d.Ring, d.Members)
					}
				}
			}
			haveTrans = false
		}
	}
	return Pass()
}

// CheckAgreement: all processes that install regular ring R install it with
// the same member list.
func CheckAgreement(h *History) CheckResult {
	type inst struct {
		p       *Process
		members []wire.NodeID
	}
	rings := map[RingRef]inst{}
	for _, p := range h.Procs {
		for d := range p.All() {
			if d.Kind != KindRegular {
				continue
			}
			if prev, ok := rings[d.Ring]; ok && !slices.Equal(prev.members, d.Members) {
				return Fail("membership agreement: ring %s installed as %v by %s and as %v by %s", d.Ring, prev.members, prev.p, d.Members, p)
			}
			rings[d.Ring] = inst{p, d.Members}
		}
	}
	return Pass()
}

// CheckTotalOrder: any two processes deliver the messages and regular
// configurations they both deliver in the same relative order. Each
// process's stream is a chain; the union of all chains must be acyclic
// (a cycle is exactly two processes disagreeing on some pair). On failure
// the pairwise search names the two processes and the two items.
func CheckTotalOrder(h *History) CheckResult {
	type key struct {
		kind DeliveryKind
		id   uint64
		ring RingRef
	}
	keyOf := func(d Delivery) (key, bool) {
		switch {
		case d.Kind == KindMsg && d.ID != 0:
			return key{kind: KindMsg, id: d.ID}, true
		case d.Kind == KindRegular:
			return key{kind: KindRegular, ring: d.Ring}, true
		}
		return key{}, false
	}
	most := 0
	for _, p := range h.Procs {
		most = max(most, p.ds.Len())
	}
	index := make(map[key]int, most) // sized once, not grown
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
	for _, p := range h.Procs {
		prev := -1
		for d := range p.All() {
			k, ok := keyOf(d)
			if !ok {
				continue
			}
			n := node(k)
			// Processes that deliver in the same order give the same
			// edge again: kept once (an edge twice changes no answer of
			// the sort below, only its work).
			if prev >= 0 && (len(succ[prev]) == 0 || succ[prev][len(succ[prev])-1] != n) {
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
		return Pass()
	}
	name := func(k key) string {
		if k.kind == KindMsg {
			return "message " + h.msgName(k.id)
		}
		return "ring " + k.ring.String()
	}
	// Find the first pair of processes that disagree, for the report.
	for i, a := range h.Procs {
		pos := map[key]int{}
		j := -1
		for d := range a.All() {
			j++
			if k, ok := keyOf(d); ok {
				pos[k] = j
			}
		}
		for _, b := range h.Procs[i+1:] {
			last, lastKey := -1, key{}
			for d := range b.All() {
				k, ok := keyOf(d)
				if !ok {
					continue
				}
				j, ok := pos[k]
				if !ok {
					continue
				}
				if j < last {
					return Fail("total order: %s delivered %s before %s; %s delivered them the other way round", a, name(k), name(lastKey), b)
				}
				last, lastKey = j, k
			}
		}
	}
	return Fail("total order: the processes' delivery orders cannot be merged into one (%d items in a cycle)", len(succ)-done)
}

// segment is what a process delivered while in one regular configuration:
// from installing it to installing the next (transitional part included).
type segment struct {
	from, to RingRef // to is zero for the last, unfinished segment
	trans    []wire.NodeID
	msgs     []uint64 // workload ids, in delivery order
}

func segments(p *Process) []segment {
	var out []segment
	var cur *segment
	for d := range p.All() {
		switch d.Kind {
		case KindRegular:
			if cur != nil {
				cur.to = d.Ring
				out = append(out, *cur)
			}
			cur = &segment{from: d.Ring}
		case KindTrans:
			if cur != nil {
				cur.trans = d.Members
			}
		case KindMsg:
			if cur != nil && d.ID != 0 {
				cur.msgs = append(cur.msgs, d.ID)
			}
		}
	}
	return out
}

// CheckVirtualSynchrony: processes that move together from configuration C
// to the same next configuration C' delivered the same messages in C, in
// the same order, and the same transitional configuration.
func CheckVirtualSynchrony(h *History) CheckResult {
	type move struct{ from, to RingRef }
	type witness struct {
		p   *Process
		seg segment
	}
	moves := map[move]witness{}
	for _, p := range h.Procs {
		for _, s := range segments(p) {
			m := move{s.from, s.to}
			w, ok := moves[m]
			if !ok {
				moves[m] = witness{p, s}
				continue
			}
			if !slices.Equal(w.seg.trans, s.trans) {
				return Fail("virtual synchrony: %s and %s moved from ring %s to %s with transitional configurations %v and %v", w.p, p, m.from, m.to, w.seg.trans, s.trans)
			}
			if !slices.Equal(w.seg.msgs, s.msgs) {
				a, b := slices.Sorted(slices.Values(w.seg.msgs)), slices.Sorted(slices.Values(s.msgs))
				if slices.Equal(a, b) {
					return Fail("virtual synchrony: %s and %s moved from ring %s to %s and delivered the same messages in %s in different orders",
						w.p, p, m.from, m.to, m.from)
				}
				onlyA, onlyB := diff(a, b)
				return Fail("virtual synchrony: %s and %s moved from ring %s to %s but delivered different messages in %s: only %s: %s; only %s: %s",
					w.p, p, m.from, m.to, m.from, w.p, h.names(onlyA), p, h.names(onlyB))
			}
		}
	}
	return Pass()
}

// CheckGaps: within a regular configuration, before its transitional
// configuration, agreed delivery never skips a sequence number. It runs
// online (process.add) over every agreed message, workload or not; this
// reports the first process's first finding.
func CheckGaps(h *History) CheckResult {
	for _, p := range h.Procs {
		if p.gapFail != "" {
			return CheckResult{Detail: p.gapFail}
		}
	}
	return Pass()
}

// CheckSelfDelivery: a process that stays alive to the end delivers every
// workload message it multicast before the settle instant.
func CheckSelfDelivery(h *History, settle wire.Instant) CheckResult {
	got := map[*Process]map[uint64]bool{}
	for _, p := range h.Procs {
		m := make(map[uint64]bool, p.ds.Len()) // sized once, not grown
		for d := range p.All() {
			if d.Kind == KindMsg && d.ID != 0 {
				m[d.ID] = true
			}
		}
		got[p] = m
	}
	for _, id := range h.Sent.IDs() {
		s, _ := h.Sent.Get(id)
		if s.Proc.End != 0 || s.At > settle {
			continue
		}
		if !got[s.Proc][id] {
			return Fail("self-delivery: %s multicast message %s at %v and never delivered it", s.Proc, h.msgName(id), s.At)
		}
	}
	return Pass()
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

func (h *History) names(ids []uint64) string {
	if len(ids) == 0 {
		return "none"
	}
	var s []string
	for i, id := range ids {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(ids)-5))
			break
		}
		s = append(s, h.msgName(id))
	}
	return strings.Join(s, ", ")
}

// msgName prints a message id for a finding.
func (h *History) msgName(id uint64) string {
	if h.Name != nil {
		return h.Name(id)
	}
	return fmt.Sprintf("%d:%d", id>>40, id&(1<<40-1))
}

func kindName(k DeliveryKind) string {
	switch k {
	case KindTrans:
		return "transitional"
	case KindRegular:
		return "regular"
	}
	return "message"
}
