package totem

import (
	"github.com/quorate/quorate/engine/internal/slab"
	"github.com/quorate/quorate/engine/invariant"

	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Rand is the node's own random stream (used only for send_join jitter).
type Rand interface{ Uint64() uint64 }

// Errors returned by Multicast.
var (
	ErrTooLarge = errors.New("totem: message too large")
	// ErrNoHeadroom: MulticastFramed was given a buffer shorter than
	// McastHeadroom.
	ErrNoHeadroom = errors.New("totem: no room for the message header")
)

// Ready is the batch of work the ring hands to its driver. Perform it in
// field order: persist, then send, then deliver; then call Ack.
//
// The driver owns the slices once returned, but must not modify Send
// payloads: the ring may keep referring to them for retransmission.
type Ready struct {
	// PersistRingSeq, when non-zero, must be written durably (corosync's
	// ringid_<nodeid> file) before any of Sends go out (spec §7.1).
	PersistRingSeq uint64
	// Sends are datagrams in the order to send them; loss is allowed.
	Sends []Send
	// Deliver is the totally ordered stream of messages and configuration
	// changes, in extended-virtual-synchrony order (spec §7.4).
	Deliver []Delivery
	// Events report state changes and anomalies, for traces only.
	Events []Event
	// Deadline is the next timer: call Advance at or after it. 0 = none.
	Deadline wire.Instant
}

// timer identifies one of the ring's timers; the order breaks ties in Advance.
type timer uint8

const (
	timerTokenLoss timer = iota
	timerTokenRetransmit
	timerHold
	timerJoin
	timerConsensus
	timerMerge
	timerSendJoin
	timerTokenWarning
	timerLoopback
	numTimers
)

// Ring is one processor's Totem single-ring protocol instance. It is a pure
// state machine: all input arrives through Step, Advance and Multicast, and
// all output leaves through Ready.
type Ring struct {
	// lastTokenRx is when this node last accepted a token (for the
	// token warning, warning.go).
	lastTokenRx wire.Instant
	cfg         Config
	tm          Timers
	rnd         Rand
	self        wire.NodeID
	nodes       []wire.NodeID // configured nodelist, sorted
	nodeBits    []uint64      // bitmap of nodes when every id is small (setNodes)
	now         wire.Instant

	state          State
	ringID         RingID // my_ring_id
	oldRingID      RingID // my_old_ring_id
	tokenRingIDSeq uint64 // highest ring seq seen anywhere

	memb        []wire.NodeID // my_memb_list: current ring
	newMemb     []wire.NodeID // ring being installed
	transMemb   []wire.NodeID
	deliverMemb []wire.NodeID
	procList    []wire.NodeID
	failedList  []wire.NodeID
	consensus   []wire.NodeID
	regular     []wire.NodeID // last regular configuration delivered
	failedToRcv bool

	// Old-ring state saved on entering COMMIT (old_ring_state_save).
	oldSaved, receivedFlg     bool
	oldAru, oldHighSeqRecv    uint32
	commit                    *CommitToken
	next                      wire.NodeID // token successor on the ring being installed
	originatedToken           bool
	aru, highSeqRecv          uint32 // my_aru, my_high_seq_received
	highDelivered, lastAru    uint32
	installSeq, lastSeq       uint32
	myTokenSeq, globalSeqno   uint32
	seqUnchanged, aruCount    int
	tokenHeld                 bool
	trc, pbl, cbl             uint32 // flow control (fcc_*)
	setRetransFlg             bool
	retransFlgCount, rotation int

	regularQ, recoveryQ sortQueue
	freeItems           []*item // released by the sort queues, for reuse
	pending             []Mcast // new application messages
	// packOpen: pending's last frame still takes messages (pack.go);
	// closed when the token arrives in OPERATIONAL.
	packOpen bool
	retransQ []Mcast // encapsulated old-ring messages (RECOVERY)

	lastToken   []byte      // copy of the last token sent, for retransmission
	lastTokenTo wire.NodeID // where it went
	deadline    [numTimers]wire.Instant
	selfq       []looped // messages to self (corosync's loopback), in order
	encBuf      []byte
	// slab is where encode carves its results from: one allocation for
	// many tokens instead of one each (see slabSize).
	slab slab.Slab[byte]
	// rawShared: the datagram being stepped is immutable and may be kept
	// (StepShared), so handleMcast files it without a copy.
	rawShared bool
	rd        Ready
	// spare is the batch handed out before the last Ack: its slices are
	// reused for the batch after next (Ready's contract), so a busy ring
	// does not grow new ones for every batch.
	spare Ready
	// scratch is what Step decodes tokens and multicasts into.
	scratch decodeScratch
	// loopFree holds the structs of tokens this node sent to itself and
	// has handled, for the next ones (see unicast).
	loopFree      []*decodeScratch
	stats         Stats
	bugDeliverGap bool // test-only canary: deliver across gaps
	// delivRing and delivSeq are the ring and seq of the last message
	// delivered: the delivery assertion's memory.
	delivRing  RingID
	delivSeq   uint32
	bugNoTrans bool // test-only canary: skip the transitional configuration
}

// New creates the ring of node c.Self. persistedRingSeq is the ring seq the
// driver last persisted (0 if none); the first ring id is {Self,
// persisted+1} (corosync memb_ring_id_create_or_load). Like corosync at
// startup the ring enters GATHER at once, so the first Ready already holds
// a JOIN.
func New(c Config, now wire.Instant, persistedRingSeq uint64, rnd Rand) (*Ring, error) {
	tm, err := Derive(c)
	if err != nil {
		return nil, err
	}
	if rnd == nil && tm.SendJoin > 0 {
		return nil, configErr("send_join needs a random source.")
	}
	r := &Ring{cfg: c, tm: tm, rnd: rnd, self: c.Self, now: now, lastTokenRx: now, bugDeliverGap: canaryDeliverGap,
		slab: slab.New[byte](slabSize, slabMax)}
	r.setNodes(c.Nodes)
	r.ringID = RingID{Rep: c.Self, Seq: persistedRingSeq + 1}
	r.oldRingID = r.ringID
	r.tokenRingIDSeq = r.ringID.Seq
	r.memb = []wire.NodeID{c.Self}
	r.myTokenSeq = ^uint32(0)
	r.regularQ.reset(0)
	r.recoveryQ.reset(0)
	r.regularQ.free, r.recoveryQ.free = &r.freeItems, &r.freeItems
	r.enterGather("startup")
	r.drain()
	return r, nil
}

// Reload applies a configuration reload (corosync-cfgtool -R after the
// nodelist changed, as `pvecm delnode` does): the nodelist and every timer
// derived from its size take effect at once; the current ring stays as it
// is until the next membership change. Datagrams from a node no longer in
// the nodelist are dropped from now on, as knet drops unlisted hosts.
func (r *Ring) Reload(c Config) error {
	if c.Self != r.self {
		return configErr(fmt.Sprintf("reload may not change the node id (%d to %d).", r.self, c.Self))
	}
	tm, err := Derive(c)
	if err != nil {
		return err
	}
	r.cfg, r.tm = c, tm
	r.setNodes(c.Nodes)
	// A node that left the nodelist (delnode) leaves the membership
	// lists too: a JOIN naming it would be dropped as forged by every
	// member that runs the new nodelist, and theirs by this node, so that
	// no round could agree until a consensus timeout failed it. It is
	// gone from the configuration, which is more than failed.
	gone := func(id wire.NodeID) bool { return id != r.self && !setHas(r.nodes, id) }
	r.procList = slices.DeleteFunc(r.procList, gone)
	r.failedList = slices.DeleteFunc(r.failedList, gone)
	return nil
}

// Step processes one datagram received from node from. Malformed, forged or
// out-of-place input is dropped and counted; Step never fails. The ring
// does not keep b: what it files (a multicast for the sort queue) it
// copies, so the caller may reuse b once Step returns.
func (r *Ring) Step(now wire.Instant, from wire.NodeID, b []byte) {
	r.step(now, from, b, false)
}

// StepShared is Step for a buffer the caller never modifies again: the
// ring may keep b, or parts of it, for as long as it likes (a multicast
// stays in the sort queue until every member has it, and its payload goes
// out in Ready.Deliver) instead of copying it. A driver whose buffers are
// immutable once received (the simulator's in-flight packets) saves a copy
// of every message; one that reuses its read buffer must call Step.
func (r *Ring) StepShared(now wire.Instant, from wire.NodeID, b []byte) {
	r.step(now, from, b, true)
}

func (r *Ring) step(now wire.Instant, from wire.NodeID, b []byte, shared bool) {
	r.now = now
	m, err := decode(b, &r.scratch)
	if err != nil {
		r.drop(DropMalformed, from, err.Error())
		return
	}
	if reason := r.checkSender(from, m); reason != "" {
		r.drop(DropForged, from, reason)
		return
	}
	r.rawShared = shared
	r.handle(m, b)
	r.rawShared = false
	r.drain()
}

// checkSender rejects messages whose claimed origin does not match the
// link-layer sender, or that name nodes outside the nodelist.
func (r *Ring) checkSender(from wire.NodeID, m Message) string {
	if from == r.self || !r.configured(from) {
		return "sender not a configured peer"
	}
	switch m := m.(type) {
	case *Mcast:
		// from is a configured peer (above): a sender or origin equal to
		// it, or the origin equal to a known sender, needs no search.
		if (m.Sender != from && !r.configured(m.Sender)) ||
			(m.Origin != from && m.Origin != m.Sender && !r.configured(m.Origin)) {
			return "mcast origin unknown"
		}
		return ""
	case *Join:
		if m.Origin != from || (m.Sender != 0 && m.Sender != from) {
			return "join sender mismatch"
		}
		// The lists of the JOIN before, if they were the same bytes
		// (decodeJoin), were checked against this nodelist already.
		scratch := m == &r.scratch.jn
		if !(scratch && r.scratch.jnSame && r.scratch.jnChecked) &&
			(!r.allConfigured(m.ProcList) || !r.allConfigured(m.FailedList)) {
			return "join names unknown nodes"
		}
		if scratch {
			r.scratch.jnChecked = true
		}
		return ""
	case *CommitToken:
		if !r.allConfigured(m.Addr) {
			return "commit token names unknown nodes"
		}
	}
	if m.From() != from {
		return "header sender mismatch"
	}
	return ""
}

// handle dispatches one decoded message; raw is its encoding (nil for
// loopback).
func (r *Ring) handle(m Message, raw []byte) {
	switch m := m.(type) {
	case *Token:
		r.handleToken(m)
	case *Mcast:
		r.handleMcast(m, raw)
	case *MergeDetect:
		r.handleMergeDetect(m)
	case *Join:
		r.handleJoin(m)
	case *CommitToken:
		r.handleCommitToken(m)
	case *HoldCancel:
		r.handleHoldCancel(m)
	}
}

// drain processes messages this node sent to itself, in order. With a
// loopback delay they are processed by timerLoopback instead.
func (r *Ring) drain() {
	if r.tm.Loopback > 0 {
		return
	}
	for i := 0; i < len(r.selfq); i++ {
		m, s := r.selfq[i].m, r.selfq[i].s
		r.selfq[i] = looped{}
		r.handle(m, nil)
		r.loopDone(s)
	}
	r.selfq = r.selfq[:0]
}

// Advance fires every timer whose deadline is at or before now, earliest
// first (ties in a fixed order).
func (r *Ring) Advance(now wire.Instant) {
	r.now = now
	for {
		t, ok := r.dueTimer(now)
		if !ok {
			return
		}
		r.deadline[t] = 0
		r.fire(t)
		r.drain()
	}
}

func (r *Ring) dueTimer(now wire.Instant) (timer, bool) {
	best, found := timer(0), false
	for t := range numTimers {
		d := r.deadline[t]
		if d != 0 && d <= now && (!found || d < r.deadline[best]) {
			best, found = t, true
		}
	}
	return best, found
}

func (r *Ring) fire(t timer) {
	switch t {
	case timerTokenLoss:
		r.tokenLossExpired()
	case timerTokenRetransmit:
		r.tokenRetransmitExpired()
	case timerHold:
		r.holdExpired()
	case timerJoin:
		r.joinExpired()
	case timerConsensus:
		r.consensusExpired()
	case timerMerge:
		r.mergeExpired()
	case timerSendJoin:
		r.sendJoinNow()
	case timerTokenWarning:
		r.tokenWarningExpired()
	case timerLoopback:
		r.loopbackExpired()
	}
}

func (r *Ring) arm(t timer, d time.Duration) {
	at := r.now.Add(d)
	if at == 0 {
		at = 1 // 0 means disarmed
	}
	r.deadline[t] = at
	if t == timerTokenLoss {
		r.armTokenWarning()
	}
}

func (r *Ring) disarm(ts ...timer) {
	for _, t := range ts {
		r.deadline[t] = 0
		if t == timerTokenLoss {
			r.deadline[timerTokenWarning] = 0
		}
	}
}

// Multicast queues payload for agreed delivery on the ring. It is sent when
// this node next holds the token in OPERATIONAL state, and delivered to
// every member (this node included) in total order. The ring keeps a copy
// of payload; the caller may reuse its buffer.
func (r *Ring) Multicast(now wire.Instant, payload []byte) error {
	r.now = now
	if len(payload) > MaxPayload {
		return ErrTooLarge
	}
	return r.MulticastOwned(now, slices.Clone(payload))
}

// MulticastOwned is Multicast for a payload the caller hands over: the
// ring keeps payload itself, without a copy, and the caller must never
// modify it afterwards (it is sent, retransmitted and delivered as is).
func (r *Ring) MulticastOwned(now wire.Instant, payload []byte) error {
	r.now = now
	if len(payload) > MaxPayload {
		return ErrTooLarge
	}
	r.enqueue(Mcast{Sender: r.self, Origin: r.self, Payload: payload})
	r.holdCancelSend()
	r.drain()
	return nil
}

// MulticastFramed is MulticastOwned for a payload with room in front of
// it: the payload is buf[McastHeadroom:], and the ring writes the
// message's header into buf[:McastHeadroom] when it sends it, so that the
// payload is never copied (buf becomes the message's encoding). The caller
// hands buf over and must never touch it again.
func (r *Ring) MulticastFramed(now wire.Instant, buf []byte) error {
	r.now = now
	if len(buf) < McastHeadroom {
		return ErrNoHeadroom
	}
	if len(buf)-McastHeadroom > MaxPayload {
		return ErrTooLarge
	}
	r.enqueue(Mcast{Sender: r.self, Origin: r.self, Payload: buf[McastHeadroom:], frame: buf})
	r.holdCancelSend()
	r.drain()
	return nil
}

// Backlog returns the number of frames of local messages queued by
// Multicast and not yet sent on the ring (corosync's pending-send queue,
// my_cbl in the flow control of totem.md §4.4): the small messages queued
// between two token visits share a frame (pack.go). Multicast never
// refuses for a long queue, so a driver that generates load bounds this
// itself, as corosync's IPC answers CS_ERR_TRY_AGAIN when its queue is
// full.
func (r *Ring) Backlog() int { return len(r.pending) }

// Ready returns the work accumulated since the last Ack. Calling it twice
// without Ack returns the same batch (plus anything new). Its slices are
// the ring's: valid until the second Ack after this call, reused then;
// the bytes they point at (payloads) are immutable and never reused.
func (r *Ring) Ready() Ready {
	rd := r.rd
	rd.Deadline = r.Deadline()
	return rd
}

// Output is Ready without its Deadline (left 0): the batch alone, for a
// caller that reads the deadline once, later, with Deadline (the node
// drains its layers several times per input and needs the deadline only
// when it hands its own Ready over).
func (r *Ring) Output() Ready { return r.rd }

// Deadline is Ready().Deadline without the rest of the batch: the next
// timer, 0 for none.
func (r *Ring) Deadline() wire.Instant {
	var next wire.Instant
	for _, d := range r.deadline {
		if d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return next
}

// Ack tells the ring the driver has performed the last Ready batch. The
// batch's slices stay valid until the next Ack (a driver may read them
// while the ring fills the next batch); the ring reuses them after that.
func (r *Ring) Ack() {
	// Each slice of the batch is swapped with its spare only when the
	// batch used it: an empty one holds nothing a driver reads, so the
	// ring keeps filling it, and the spare (the last non-empty batch's,
	// still the driver's until the next Ack) stays where it is.
	r.rd.PersistRingSeq = 0
	if len(r.rd.Sends) > 0 {
		clear(r.spare.Sends)
		r.rd.Sends, r.spare.Sends = r.spare.Sends[:0], r.rd.Sends
	}
	if len(r.rd.Deliver) > 0 {
		clear(r.spare.Deliver)
		r.rd.Deliver, r.spare.Deliver = r.spare.Deliver[:0], r.rd.Deliver
	}
	if len(r.rd.Events) > 0 {
		clear(r.spare.Events)
		r.rd.Events, r.spare.Events = r.spare.Events[:0], r.rd.Events
	}
}

// State returns the current membership state.
func (r *Ring) State() State { return r.state }

// RingID returns the ring id of the current (or being installed) ring.
func (r *Ring) RingID() RingID { return r.ringID }

// Members returns the member list of the last regular configuration
// delivered (nil before the first one). The caller must not modify it.
func (r *Ring) Members() []wire.NodeID { return r.regular }

// Stats returns a copy of the counters.
func (r *Ring) Stats() Stats { return r.stats }

// Timers returns the effective timer values in use.
func (r *Ring) Timers() Timers { return r.tm }

// --- output helpers ---

func (r *Ring) event(k EventKind, detail string, nodes []wire.NodeID) {
	r.rd.Events = append(r.rd.Events, Event{Kind: k, Nodes: nodes, Detail: detail})
}

func (r *Ring) drop(reason DropReason, from wire.NodeID, detail string) {
	r.stats.Dropped[reason]++
	if reason == DropMalformed || reason == DropForged {
		r.rd.Events = append(r.rd.Events, Event{Kind: EventDropped, From: from, Detail: reason.String() + ": " + detail})
	}
}

// encode returns a fresh encoding of m (the ring may keep it).
func (r *Ring) encode(m Message) []byte {
	r.encBuf = Append(r.encBuf[:0], m)
	return r.slab.Copy(r.encBuf)
}

// slabSize is the size of the chunks encode's results are carved from,
// and slabMax the longest result carved (a longer one has its own
// allocation, so that a chunk holds many). A ring encodes a token at every
// visit, and one allocation each was most of a loaded run's allocations;
// the ring itself keeps only the last token.
const (
	slabSize = 8 << 10
	slabMax  = slabSize / 8
)

// unicast sends raw to node to; a send to self loops back internally.
//
// The token a ring of one passes to itself at every rotation is decoded
// into a struct taken from loopFree, and the struct goes back there once
// the token is handled: handle keeps nothing of a message by pointer (as
// for the tokens Step decodes into scratch). One allocation per rotation
// was half of a loaded 5-node run's allocations, from the seconds each
// node spends alone before the ring forms.
func (r *Ring) unicast(to wire.NodeID, raw []byte) {
	if to == r.self {
		var s *decodeScratch
		if n := len(r.loopFree); n > 0 {
			s = r.loopFree[n-1]
			r.loopFree = r.loopFree[:n-1]
		} else {
			s = new(decodeScratch)
		}
		m, err := decode(raw, s)
		assert(err == nil, "own encoding decodes")
		r.loopWith(m, s)
		return
	}
	r.rd.Sends = append(r.rd.Sends, Send{To: to, Payload: raw})
}

// multicast sends raw to every other configured node; loop, if non-nil, is
// processed locally as corosync processes its own looped-back multicasts.
func (r *Ring) multicast(raw []byte, loop Message) {
	if len(r.nodes) > 1 {
		r.rd.Sends = append(r.rd.Sends, Send{To: 0, Payload: raw})
	}
	if loop != nil {
		r.loop(loop)
	}
}

// loop queues m for this node itself: at once (drain) without a loopback
// delay, else after it, as knet's loopback link hands a node's own
// datagrams back through its threads and corosync's poll loop.
//
// The delay is drawn uniformly from ±10% around Loopback when the ring has
// a random source: with an exact delay and a constant network latency the
// nodes can lock into a cycle of membership rounds that repeats to the
// microsecond, which no real machine keeps up. The queue stays in order,
// as one socket keeps it.
func (r *Ring) loop(m Message) { r.loopWith(m, nil) }

// loopWith is loop for a message decoded into s (nil: none), which is put
// back in loopFree once the message is handled.
func (r *Ring) loopWith(m Message, s *decodeScratch) {
	var at wire.Instant
	if d := r.tm.Loopback; d > 0 {
		if r.rnd != nil && d >= 5 {
			d = d*9/10 + time.Duration(r.rnd.Uint64()%uint64(d/5))
		}
		at = r.now.Add(d)
		if n := len(r.selfq); n > 0 {
			at = max(at, r.selfq[n-1].at)
		}
		if r.deadline[timerLoopback] == 0 {
			r.deadline[timerLoopback] = at
		}
	}
	r.selfq = append(r.selfq, looped{m: m, at: at, s: s})
}

// looped is a message on its way back to this node and when it arrives
// (0 without a loopback delay: at the next drain).
type looped struct {
	m  Message
	at wire.Instant
	s  *decodeScratch // what m was decoded into, or nil
}

// loopbackExpired processes the looped-back messages that have arrived.
// Those they make this node send to itself arrive later, after the ones
// still queued.
func (r *Ring) loopbackExpired() {
	i := 0
	for ; i < len(r.selfq) && r.selfq[i].at <= r.now; i++ {
		m, s := r.selfq[i].m, r.selfq[i].s
		r.selfq[i].m, r.selfq[i].s = nil, nil
		r.handle(m, nil)
		r.loopDone(s)
	}
	r.selfq = append(r.selfq[:0], r.selfq[i:]...)
	r.deadline[timerLoopback] = 0
	if len(r.selfq) > 0 {
		r.deadline[timerLoopback] = r.selfq[0].at
	}
}

// loopDone puts back the struct a looped message was decoded into, once
// the message is handled.
func (r *Ring) loopDone(s *decodeScratch) {
	if s != nil {
		r.loopFree = append(r.loopFree, s)
	}
}

// stateFrom lists, for each membership state, the states it may be
// entered from (spec §3; corosync's memb_state_*_enter callers): GATHER
// from anywhere, including the start (state 0); COMMIT from GATHER, or
// from the others through memb_join_process when a JOIN completes the
// consensus (a GATHER follows at once there); RECOVERY only from COMMIT;
// OPERATIONAL only from RECOVERY.
var stateFrom = [...][]State{
	StateGather:      {0, StateOperational, StateGather, StateCommit, StateRecovery},
	StateCommit:      {StateGather, StateOperational, StateCommit, StateRecovery},
	StateRecovery:    {StateCommit},
	StateOperational: {StateRecovery},
}

func (r *Ring) setState(s State, why string) {
	if int(s) >= len(stateFrom) || !slices.Contains(stateFrom[s], r.state) {
		invariant.Fail("totem", "a membership state is entered only from the states that lead to it",
			r.state.String()+" -> "+s.String()+" ("+why+")")
	}
	r.state = s
	r.rd.Events = append(r.rd.Events, Event{Kind: EventState, State: s, Detail: s.String() + " " + why})
}

// assert panics with the engine's invariant.Violation (style.md §5).
func assert(cond bool, what string) { invariant.Assert(cond, "totem", what) }
