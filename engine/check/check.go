// Package check holds the one definition of the ordering checkers —
// integrity, membership agreement, total order, gaps, virtual synchrony and
// self-delivery — that both the simulator (sim) and the engine's own tests
// (engine/totem) judge delivery histories with, so that a property means
// the same wherever it is asserted. It depends on engine/wire alone, so
// any engine package's tests can import it.
//
// Every checker runs online: a History judges each delivery as it is added
// (Process.Add) and keeps running state, not the deliveries. It keeps a
// workload message (SentSlotBytes, whatever the number of nodes) until
// every member of its ring has delivered it, and the configurations
// installed; so what a loaded run keeps does not grow with its length.
// The Check functions report the first finding of each property once the
// history is complete.
package check

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// The ordering checkers judge what every node delivered against the
// properties of extended virtual synchrony (spec totem.md §10). They work on
// a recorded history, not on engine internals, so a broken engine cannot
// hide from them, and they can be tested on hand-made histories.
//
// Total order is judged through Totem's own coordinates. Every delivery of
// a message names the ring it was sequenced on and its sequence number
// there; every process must deliver the messages and regular
// configurations it delivers in increasing position (a ring's
// configuration, then its messages by sequence number; rings by id), and
// every delivery of one message must name the same ring and sequence
// number. Together these put all processes' deliveries inside one order,
// the positions', so no two processes can deliver two items the other way
// round; and each is checked with a constant amount of state per process
// and per message. The rules are stricter than "the union of the
// processes' orders is acyclic" only where that would let a message be
// sequenced twice or a process deliver a message outside the ring it
// belongs to, which extended virtual synchrony forbids as well.

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
	At   wire.Instant
	Kind DeliveryKind
	Ring RingRef
	Seq  uint32 // dMsg: sequence number on the ring it was sequenced on
	// Part is a message's place among those packed into the Totem
	// message at Seq (0 for the first or only one): Seq and Part
	// together are the message's position on its ring.
	Part    uint16
	Sender  wire.NodeID
	ID      uint64 // dMsg: workload message id, 0 for other traffic
	Members []wire.NodeID
}

// pos is an item's place in the order every process must deliver in: a
// ring's regular configuration, then the ring's messages by sequence
// number; rings by sequence, then representative.
type pos struct {
	ring RingRef
	msg  bool
	seq  uint32
	part uint16
}

func (a pos) less(b pos) bool {
	switch {
	case a.ring.Seq != b.ring.Seq:
		return a.ring.Seq < b.ring.Seq
	case a.ring.Rep != b.ring.Rep:
		return a.ring.Rep < b.ring.Rep
	case a.msg != b.msg:
		return !a.msg
	case a.seq != b.seq:
		return a.seq < b.seq
	}
	return a.part < b.part
}

// place prints a message's position on its ring: its sequence number,
// and its part when it was packed with others.
func place(seq uint32, part uint16) string {
	if part == 0 {
		return fmt.Sprintf("seq %d", seq)
	}
	return fmt.Sprintf("seq %d part %d", seq, part)
}

// Process is one incarnation of a node: a restart starts a new Process,
// with a delivery stream of its own. A Process judges its deliveries
// against its History, so it is attached (History.Attach) before the
// first Add.
type Process struct {
	Node  wire.NodeID
	Name  string
	Inc   int
	Start wire.Instant
	End   wire.Instant // 0 while alive at the end of the run
	// Delivered counts every delivery.
	Delivered uint64
	// Installs lists the regular configurations the process installed,
	// in order, with their instants.
	Installs []Install

	h *History
	// configs are the configurations delivered (regular and
	// transitional), in order: what reports and the liveness check read.
	configs []Delivery

	// Integrity: where the last regular configuration is in configs (+1;
	// 0 before any), and the first finding. A transitional configuration
	// not yet followed by a regular one is the last of configs.
	regular   int
	integFail string

	// Total order: the position of the last message or regular
	// configuration delivered, and what it was.
	last     pos
	lastID   uint64
	haveLast bool
	// ringIdx caches the history's index of the ring last seen on a
	// message, which is nearly always the ring of the next one.
	ringRef RingRef
	ringIdx int32

	// Gaps: the regular configuration whose messages are being counted,
	// the last position delivered in it, and the first finding.
	gapRing    RingRef
	gapLast    uint32
	gapPart    uint16
	gapRegular bool
	gapFail    string

	// Virtual synchrony: the workload messages delivered since the last
	// regular configuration, as a count and two digests.
	seg segment
}

// Install is one regular configuration a process installed.
type Install struct {
	Ring RingRef
	At   wire.Instant
}

// segment is what a process delivered while in one regular configuration:
// from installing it to installing the next (transitional part included).
// The messages are judged by digests (ordered changes with their order,
// unordered only with their set); the ids themselves are kept too while
// the segment is short (segIDs at most), so that a finding can name the
// messages that differ.
type segment struct {
	from     RingRef
	trans    []wire.NodeID
	n        uint64
	ordered  uint64
	set      uint64
	lastID   uint64
	ids      []uint64
	overflow bool // more than segIDs messages: ids dropped
}

// segIDs is the most message ids a segment keeps; keptIDs the most that
// the first witnesses of all moves keep together (8 MiB; a variable for
// the tests). Past either, a finding gives counts instead of names.
const segIDs = 4096

var keptIDs = 1 << 20

// mix is splitmix64's finaliser: a message id spread over 64 bits, so that
// two different sets of ids are very unlikely to sum to the same digest.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

func (s *segment) add(id uint64) {
	m := mix(id)
	s.n++
	s.ordered = mix(s.ordered ^ m)
	s.set += m
	s.lastID = id
	switch {
	case s.overflow:
	case len(s.ids) < segIDs:
		s.ids = append(s.ids, id)
	default:
		s.overflow, s.ids = true, s.ids[:0]
	}
}

// names says whether the segment still knows its messages' ids.
func (s *segment) names() bool { return !s.overflow }

// Configs returns the configurations the process delivered, regular and
// transitional, in order. The slice is the process's; callers only read it.
func (p *Process) Configs() []Delivery { return p.configs }

func (p *Process) String() string { return fmt.Sprintf("%s#%d", p.Name, p.Inc) }

// Add takes the process's next delivery and judges it.
func (p *Process) Add(d Delivery) {
	h := p.h
	if h == nil {
		panic(fmt.Sprintf("check: %s: Add before History.Attach", p))
	}
	p.Delivered++
	switch d.Kind {
	case KindRegular:
		p.addRegular(d)
	case KindTrans:
		p.addTrans(d)
	case KindMsg:
		p.addMsg(d)
	}
}

func (p *Process) integrity(f string, args ...any) {
	if p.integFail == "" {
		p.integFail = fmt.Sprintf(f, args...)
	}
}

// LastRegular returns the last regular configuration delivered, if any.
func (p *Process) LastRegular() (Delivery, bool) {
	if p.regular == 0 {
		return Delivery{}, false
	}
	return p.configs[p.regular-1], true
}

func (p *Process) addRegular(d Delivery) {
	h := p.h
	if !slices.Contains(d.Members, p.Node) {
		p.integrity("self-inclusion: %s delivered regular configuration %s %v without itself", p, d.Ring, d.Members)
	}
	if old, ok := p.LastRegular(); ok && d.Ring.Seq <= old.Ring.Seq {
		p.integrity("ring id monotonicity: %s installed ring %s after %s", p, d.Ring, old.Ring)
	}
	if n := len(p.configs); n > 0 && p.configs[n-1].Kind == KindTrans {
		trans := p.configs[n-1].Members
		for _, m := range trans {
			if !slices.Contains(d.Members, m) {
				p.integrity("transitional configuration: %s's transitional %v is not inside the new ring %s %v", p, trans, d.Ring, d.Members)
				break
			}
		}
	}
	var spare []uint64
	if p.regular != 0 { // a move from the last regular configuration
		spare = h.move(p, d.Ring)
	}
	p.configs = append(p.configs, d)
	p.regular = len(p.configs)
	h.agree(p, d)
	p.order(pos{ring: d.Ring}, 0)
	p.seg = segment{from: d.Ring, ids: spare[:0]}
	p.gapRing, p.gapLast, p.gapPart, p.gapRegular = d.Ring, 0, 0, true
	p.Installs = append(p.Installs, Install{d.Ring, d.At})
}

func (p *Process) addTrans(d Delivery) {
	p.configs = append(p.configs, d)
	if !slices.Contains(d.Members, p.Node) {
		p.integrity("self-inclusion: %s delivered transitional configuration %s %v without itself", p, d.Ring, d.Members)
	}
	if old, ok := p.LastRegular(); ok {
		for _, m := range d.Members {
			if !slices.Contains(old.Members, m) {
				p.integrity("transitional configuration: %s's transitional %s lists %d, not in its old ring %v", p, d.Ring, m, old.Members)
				break
			}
		}
	}
	p.seg.trans = d.Members
	p.gapRegular = false
}

func (p *Process) addMsg(d Delivery) {
	h := p.h
	if p.gapRegular && d.Ring == p.gapRing {
		// The next position is the next part of the same Totem message,
		// or the first part of the next one. A packed message's last
		// part is not known here: a process that skips the tail of one
		// delivers a set that differs from its peers', which virtual
		// synchrony finds.
		var next bool
		switch {
		case p.gapLast == 0:
			next = d.Part == 0
		case d.Part == 0:
			next = d.Seq == p.gapLast+1
		default:
			next = d.Seq == p.gapLast && d.Part == p.gapPart+1
		}
		if !next && p.gapFail == "" {
			p.gapFail = fmt.Sprintf("gap: %s delivered %s after %s on ring %s", p, place(d.Seq, d.Part), place(p.gapLast, p.gapPart), p.gapRing)
		}
		p.gapLast, p.gapPart = d.Seq, d.Part
	}
	if d.ID == 0 {
		return // other agreed traffic: judged by the gap check alone
	}
	if p.haveLast && p.lastID == d.ID && d.Ring == p.last.ring && d.Seq == p.last.seq && d.Part == p.last.part {
		p.integrity("no duplication: %s delivered message %s twice (ring %s %s)", p, h.msgName(d.ID), d.Ring, place(d.Seq, d.Part))
	}
	if d.Ring != p.ringRef || p.ringIdx == 0 {
		p.ringRef, p.ringIdx = d.Ring, h.ringIndex(d.Ring)
	}
	h.sequenced(p, d, p.ringIdx)
	p.order(pos{ring: d.Ring, msg: true, seq: d.Seq, part: d.Part}, d.ID)
	if p.regular != 0 {
		p.seg.add(d.ID)
	}
}

// order checks that the process's next message or regular configuration
// (id 0) comes after the last one. An immediate second delivery of one
// message is integrity's finding, not this one's.
func (p *Process) order(at pos, id uint64) {
	if p.haveLast && !p.last.less(at) && !(id != 0 && id == p.lastID && at == p.last) && p.h.orderFail == "" {
		p.h.orderFail = fmt.Sprintf("total order: %s delivered %s after %s; every process delivers in ring and sequence order",
			p, p.h.itemName(id, at), p.h.itemName(p.lastID, p.last))
	}
	p.last, p.lastID, p.haveLast = at, id, true
}

// SentMsg is what the workload multicast: by whom and when.
type SentMsg struct {
	Proc *Process
	At   wire.Instant
}

// History is the whole run's delivery record, judged as it grows.
type History struct {
	Procs []*Process
	Sent  SentLog // workload id -> sender
	// Name prints a message id in findings; nil prints a simulator
	// workload id, origin node:counter.
	Name func(id uint64) string

	// rings is every ring a configuration or a message named; ringIdx
	// its index + 1, which is what a sent message's slot keeps.
	rings   []ringInfo
	ringIdx map[RingRef]int32
	// moves is, for each pair of consecutive regular configurations,
	// the first process that moved between them and what it delivered.
	moves map[[2]RingRef]witness
	// early is the workload messages delivered before their multicast
	// was recorded (a recording's clocks may say so): judged by
	// CheckIntegrity against the Sent log as it stands then.
	early map[uint64]*earlyDelivery

	// kept counts the message ids the moves' first witnesses keep.
	kept int

	orderFail, agreeFail, dupFail, vsFail string
}

// ringInfo is what the checks know of a ring: the member list of its
// first install, and who installed it first.
type ringInfo struct {
	ref       RingRef
	installed bool
	members   []wire.NodeID
	by        *Process
}

type witness struct {
	p   *Process
	seg segment
}

// earlyDelivery is a message delivered before its multicast was recorded:
// where the first delivery placed it, and every process that delivered it
// then.
type earlyDelivery struct {
	by   []*Process
	ring int32
	seq  uint32
	part uint16
}

// Attach adds process p, whose deliveries are judged with this history's.
func (h *History) Attach(p *Process) {
	p.h = h
	h.Procs = append(h.Procs, p)
}

func (h *History) ringIndex(r RingRef) int32 {
	if i, ok := h.ringIdx[r]; ok {
		return i
	}
	if h.ringIdx == nil {
		h.ringIdx = make(map[RingRef]int32)
	}
	h.rings = append(h.rings, ringInfo{ref: r})
	i := int32(len(h.rings))
	h.ringIdx[r] = i
	return i
}

// agree: all processes that install regular ring R install it with the
// same member list.
func (h *History) agree(p *Process, d Delivery) {
	ri := &h.rings[h.ringIndex(d.Ring)-1]
	if !ri.installed {
		ri.installed, ri.members, ri.by = true, d.Members, p
		return
	}
	if !slices.Equal(ri.members, d.Members) && h.agreeFail == "" {
		h.agreeFail = fmt.Sprintf("membership agreement: ring %s installed as %v by %s and as %v by %s", d.Ring, ri.members, ri.by, d.Members, p)
	}
}

// sequenced checks that every delivery of a workload message names the
// ring and sequence number the first one named, and notes a sender's own
// delivery for the self-delivery check.
func (h *History) sequenced(p *Process, d Delivery, ring int32) {
	s := h.Sent.slot(d.ID)
	if s == nil && h.Sent.released(d.ID) {
		if h.dupFail == "" {
			h.dupFail = fmt.Sprintf("no duplication: %s delivered message %s (ring %s %s) after as many deliveries of it as its ring has members (or a counter its origin never multicast)",
				p, h.msgName(d.ID), d.Ring, place(d.Seq, d.Part))
		}
		return
	}
	if s == nil {
		if e, ok := h.early[d.ID]; ok {
			h.sameSlot(p, d, ring, e.ring, e.seq, e.part)
			e.by = append(e.by, p)
			return
		}
		if h.early == nil {
			h.early = make(map[uint64]*earlyDelivery)
		}
		h.early[d.ID] = &earlyDelivery{by: []*Process{p}, ring: ring, seq: d.Seq, part: d.Part}
		return
	}
	if s.Proc == p {
		s.own = true
	}
	if s.count < math.MaxUint16 {
		s.count++
	}
	if s.ring == 0 {
		s.ring, s.seq, s.part = ring, d.Seq, d.Part
	} else {
		h.sameSlot(p, d, ring, s.ring, s.seq, s.part)
	}
	h.Sent.release(d.ID, h.done)
}

// done says whether the checks need a message's slot no more: as many
// processes delivered it as the ring it was sequenced on has members (only
// members deliver a ring's messages, each once: a delivery more is a
// duplicate, whatever order the processes' deliveries are added in), its
// sender among them. A counter the workload skipped (a refused multicast)
// holds nothing. The messages a member never delivers (it crashed, or left
// the ring first) stay, and move to the log's map once the origin has
// releaseLag messages behind them.
func (h *History) done(s *sentSlot) bool {
	if !s.ok {
		return true
	}
	return s.own && s.ring != 0 && int(s.count) >= len(h.rings[s.ring-1].members)
}

func (h *History) sameSlot(p *Process, d Delivery, ring int32, firstRing int32, firstSeq uint32, firstPart uint16) {
	if (ring != firstRing || d.Seq != firstSeq || d.Part != firstPart) && h.dupFail == "" {
		h.dupFail = fmt.Sprintf("no duplication: message %s was delivered at ring %s %s, and by %s at ring %s %s: sequenced twice",
			h.msgName(d.ID), h.rings[firstRing-1].ref, place(firstSeq, firstPart), p, d.Ring, place(d.Seq, d.Part))
	}
}

// move compares what process p delivered in its last regular
// configuration, now that it installs the next one (to), with the first
// process that made the same move. It returns the segment's id buffer
// when the history does not keep it, for the next segment.
func (h *History) move(p *Process, to RingRef) (spare []uint64) {
	s := p.seg
	m := [2]RingRef{s.from, to}
	w, ok := h.moves[m]
	if !ok {
		if h.moves == nil {
			h.moves = make(map[[2]RingRef]witness)
		}
		// The witness keeps an exact copy of the ids (or none); the
		// buffer goes on to the process's next segment.
		spare = s.ids
		switch {
		case s.overflow:
			s.ids = nil
		case h.kept+len(s.ids) > keptIDs:
			s.overflow, s.ids = true, nil
		default:
			h.kept += len(s.ids)
			s.ids = slices.Clone(s.ids)
		}
		h.moves[m] = witness{p, s}
		return spare
	}
	if h.vsFail == "" {
		h.vsFail = h.vsFinding(w, p, s, m)
	}
	return s.ids
}

// vsFinding compares two processes' segments of one move; "" if they agree.
func (h *History) vsFinding(w witness, p *Process, s segment, m [2]RingRef) string {
	switch {
	case !slices.Equal(w.seg.trans, s.trans):
		return fmt.Sprintf("virtual synchrony: %s and %s moved from ring %s to %s with transitional configurations %v and %v", w.p, p, m[0], m[1], w.seg.trans, s.trans)
	case w.seg.n == s.n && w.seg.set == s.set && w.seg.ordered != s.ordered:
		return fmt.Sprintf("virtual synchrony: %s and %s moved from ring %s to %s and delivered the same messages in %s in different orders",
			w.p, p, m[0], m[1], m[0])
	case w.seg.n == s.n && w.seg.set == s.set:
		return ""
	}
	if w.seg.names() && s.names() {
		a, b := slices.Sorted(slices.Values(w.seg.ids)), slices.Sorted(slices.Values(s.ids))
		onlyA, onlyB := diff(a, b)
		return fmt.Sprintf("virtual synchrony: %s and %s moved from ring %s to %s but delivered different messages in %s: only %s: %s; only %s: %s",
			w.p, p, m[0], m[1], m[0], w.p, h.names(onlyA), p, h.names(onlyB))
	}
	return fmt.Sprintf("virtual synchrony: %s and %s moved from ring %s to %s but delivered different messages in %s: %s delivered %s, %s delivered %s",
		w.p, p, m[0], m[1], m[0], w.p, h.segText(w.seg), p, h.segText(s))
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

// names prints up to five message ids, and how many more.
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

func (h *History) segText(s segment) string {
	switch s.n {
	case 0:
		return "none"
	case 1:
		return "1 message, " + h.msgName(s.lastID)
	}
	return fmt.Sprintf("%d messages, the last %s", s.n, h.msgName(s.lastID))
}

// itemName prints a message or regular configuration with its position.
func (h *History) itemName(id uint64, at pos) string {
	if at.msg {
		return fmt.Sprintf("message %s (ring %s %s)", h.msgName(id), at.ring, place(at.seq, at.part))
	}
	return "the configuration of ring " + at.ring.String()
}

// CheckResult is one checker's verdict with its first counterexample.
type CheckResult struct {
	OK     bool
	Detail string
}

func Pass() CheckResult { return CheckResult{OK: true} }

func Fail(f string, args ...any) CheckResult { return CheckResult{Detail: fmt.Sprintf(f, args...)} }

func result(detail string) CheckResult {
	if detail == "" {
		return Pass()
	}
	return CheckResult{Detail: detail}
}

// CheckIntegrity: no creation (every delivered workload message was sent),
// no duplication (a message is sequenced once: every delivery of it names
// one ring and sequence number, and no process delivers it twice),
// self-inclusion (every configuration a process delivers contains it),
// strictly increasing ring ids, transitional ⊆ old ∩ new.
func CheckIntegrity(h *History) CheckResult {
	for _, id := range slices.Sorted(func(yield func(uint64) bool) {
		for id := range h.early {
			if !yield(id) {
				return
			}
		}
	}) {
		e := h.early[id]
		s := h.Sent.slot(id)
		if s == nil {
			return Fail("no creation: %s delivered message %s that nobody sent", e.by[0], h.msgName(id))
		}
		if s.ring != 0 && (s.ring != e.ring || s.seq != e.seq || s.part != e.part) {
			return Fail("no duplication: message %s was delivered at ring %s %s, and by %s at ring %s %s: sequenced twice",
				h.msgName(id), h.rings[s.ring-1].ref, place(s.seq, s.part), e.by[0], h.rings[e.ring-1].ref, place(e.seq, e.part))
		}
	}
	for _, p := range h.Procs {
		if p.integFail != "" {
			return CheckResult{Detail: p.integFail}
		}
	}
	return result(h.dupFail)
}

// CheckAgreement: all processes that install regular ring R install it with
// the same member list.
func CheckAgreement(h *History) CheckResult { return result(h.agreeFail) }

// CheckTotalOrder: any two processes deliver the messages and regular
// configurations they both deliver in the same relative order (see the
// comment at the top of this file for how).
func CheckTotalOrder(h *History) CheckResult { return result(h.orderFail) }

// CheckVirtualSynchrony: processes that move together from configuration C
// to the same next configuration C' delivered the same messages in C, in
// the same order, and the same transitional configuration.
func CheckVirtualSynchrony(h *History) CheckResult { return result(h.vsFail) }

// CheckGaps: within a regular configuration, before its transitional
// configuration, agreed delivery never skips a sequence number, workload
// or not; this reports the first process's first finding.
func CheckGaps(h *History) CheckResult {
	for _, p := range h.Procs {
		if p.gapFail != "" {
			return CheckResult{Detail: p.gapFail}
		}
	}
	return Pass()
}

// CheckSelfDelivery: a process that stays alive to the end delivers every
// workload message it multicast before the settle instant. The first
// message in id order is named.
func CheckSelfDelivery(h *History, settle wire.Instant) CheckResult {
	var bad uint64
	var badSlot sentSlot
	found := false
	h.Sent.each(func(id uint64, s *sentSlot) {
		if s.own || s.Proc == nil || s.Proc.End != 0 || s.At > settle {
			return
		}
		if e, ok := h.early[id]; ok && slices.Contains(e.by, s.Proc) {
			return
		}
		if !found || id < bad {
			bad, badSlot, found = id, *s, true
		}
	})
	if found {
		return Fail("self-delivery: %s multicast message %s at %v and never delivered it", badSlot.Proc, h.msgName(bad), badSlot.At)
	}
	return Pass()
}

// msgName prints a message id for a finding.
func (h *History) msgName(id uint64) string {
	if h.Name != nil {
		return h.Name(id)
	}
	return fmt.Sprintf("%d:%d", id>>40, id&(1<<40-1))
}
