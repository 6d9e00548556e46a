package store

import (
	"github.com/quorate/quorate/engine/invariant"

	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Configuration hands the store a configuration Totem delivered, in agreed
// order with the messages: every transitional and every regular one, with
// its ring and members (this node included).
//
// A transitional configuration ends the old ring's business: the
// configuration stops being writable, the operations held back are
// dropped, and every one of this node's operations not yet applied fails
// with ErrAborted (all members refuse the old ring's last messages, §
// "Agreeing on quorum" in doc.go).
//
// A regular configuration starts a sync (pmxcfs.md §3.3): every member
// multicasts its State (epoch, version, digest); when all are in, the
// leader is chosen, and if some member differs from it the leader
// multicasts its snapshot. Operations this node applied that not every
// member of the old ring confirmed end with ErrIndeterminate.
func (s *Store) Configuration(now wire.Instant, kind ConfigKind, ring RingRef, members []wire.NodeID) {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if !slices.Contains(ms, s.cfg.Self) || slices.Contains(ms, 0) {
		s.drop(0, DropStale, "configuration without this node")
		return
	}
	switch kind {
	case ConfigTransitional:
		if s.phase != PhaseStart {
			s.enterTransitional()
		}
	case ConfigRegular:
		if !s.ring.Less(ring) {
			s.drop(0, DropStale, "regular configuration of ring "+ring.String()+" is not newer")
			return
		}
		s.enterRegular(ring, ms)
	default:
		s.drop(0, DropStale, "unknown configuration kind")
	}
}

func (s *Store) enterTransitional() {
	s.phase = PhaseTransitional
	s.setWritable(false, "transitional configuration")
	s.local, s.told = verdictUnknown, verdictUnknown
	s.deferred = nil
	s.failPending(false)
}

func (s *Store) enterRegular(ring RingRef, ms []wire.NodeID) {
	s.setWritable(false, "new configuration")
	s.failPending(true)
	n := len(ms)
	s.phase, s.ring, s.members = PhaseSync, ring, ms
	s.verdicts = make([]verdict, n)
	s.local, s.told = verdictUnknown, verdictUnknown
	s.states, s.leader = make([]memberState, n), -1
	s.lagging, s.broken, s.pieces, s.count, s.transfer = false, false, 0, 0, nil
	s.deferred = nil
	s.confirmed, s.stable, s.hasAnnc = make([]uint64, n), 0, false
	clear(s.unlocking)
	s.event(Event{Kind: EventSyncStart, Nodes: slices.Clone(ms)})
	s.send(Message{Kind: MsgState, Ring: ring, Epoch: s.st.epoch, Version: s.st.version, Digest: s.st.digest()})
}

// SetQuorate tells the store this node's votequorum verdict for the
// current regular configuration. Call it once votequorum's sync for that
// configuration has ended (quorum.EventSync: the verdict then is Status
// Quorate) and on every later change; repeating a value is harmless.
// The verdict is forgotten at every configuration change, so a verdict of
// an earlier ring is never carried into a new one; before the first
// regular configuration and in a transitional one it is ignored.
//
// The verdict gates this node's client calls at once (ErrReadOnly) and is
// multicast, so that the members agree on the configuration's verdict.
func (s *Store) SetQuorate(now wire.Instant, quorate bool) {
	if s.phase != PhaseSync && s.phase != PhaseSynced {
		return
	}
	s.local = verdictOf(quorate)
	if s.local != s.told {
		s.told = s.local
		s.send(Message{Kind: MsgQuorate, Ring: s.ring, Quorate: quorate})
	}
}

// onQuorate records a member's verdict for this ring.
func (s *Store) onQuorate(now wire.Instant, from wire.NodeID, m Message) {
	if m.Ring != s.ring || s.phase == PhaseTransitional {
		s.drop(from, DropStale, "verdict of another ring")
		return
	}
	s.verdicts[s.memberIndex(from)] = verdictOf(m.Quorate)
	s.evaluate(now)
}

func (s *Store) verdictsKnown() bool { return !slices.Contains(s.verdicts, verdictUnknown) }

// writableRule is the agreed quorum rule: a synced configuration is
// writable when every member has said, through the total order, that it is
// quorate in this ring. Any member in doubt makes it read-only.
func writableRule(verdicts []verdict) bool {
	for _, v := range verdicts {
		if v != verdictYes {
			return false
		}
	}
	return len(verdicts) > 0
}

// evaluate re-decides writability in a synced configuration once every
// verdict is known, then decides the operations held back, in order.
func (s *Store) evaluate(now wire.Instant) {
	if s.phase != PhaseSynced || !s.verdictsKnown() {
		return
	}
	if writableRule(s.verdicts) {
		if !s.writable {
			s.writable = true
			if s.st.epoch != s.ring {
				// This state now belongs to the quorate configuration
				// s.ring: the epoch that ranks it in later syncs.
				s.st.epoch, s.dirty = s.ring, true
			}
			s.event(Event{Kind: EventWritable})
		}
	} else {
		i := slices.IndexFunc(s.verdicts, func(v verdict) bool { return v != verdictYes })
		s.setWritable(false, fmt.Sprintf("member %d is not quorate", s.members[i]))
	}
	ds := s.deferred
	s.deferred = nil
	for _, d := range ds {
		s.execute(now, d.from, d.m)
	}
}

func (s *Store) setWritable(w bool, why string) {
	if s.writable == w {
		return
	}
	s.writable = w
	s.event(Event{Kind: EventReadOnly, Detail: why})
}

// onState records a member's State; with the last one the leader is chosen.
func (s *Store) onState(now wire.Instant, from wire.NodeID, m Message) {
	if m.Ring != s.ring || s.phase != PhaseSync || s.leader >= 0 {
		s.drop(from, DropStale, "state of another ring or phase")
		return
	}
	i := s.memberIndex(from)
	if s.states[i].have {
		s.drop(from, DropDuplicate, "second state")
		return
	}
	s.states[i] = memberState{have: true, epoch: m.Epoch, version: m.Version, digest: m.Digest}
	if slices.ContainsFunc(s.states, func(ms memberState) bool { return !ms.have }) {
		return
	}
	s.leader = chooseLeader(s.states)
	l := s.states[s.leader]
	var lag []wire.NodeID
	for j, ms := range s.states {
		if ms.version != l.version || ms.digest != l.digest {
			lag = append(lag, s.members[j])
		}
	}
	s.lagging = slices.Contains(lag, s.cfg.Self)
	if len(lag) == 0 {
		s.event(Event{Kind: EventLeader, Node: s.members[s.leader], Detail: "all data is up to date"})
		s.syncDone(now)
		return
	}
	s.event(Event{Kind: EventLeader, Node: s.members[s.leader], Nodes: lag, Detail: "sending snapshot"})
	if s.members[s.leader] == s.cfg.Self {
		assert(s.st.version == l.version && s.st.digest() == l.digest, "the leader's state does not change during sync")
		s.sendSnapshot()
	}
}

// chooseLeader picks the member whose state every member adopts: the
// highest epoch (ring of the last quorate configuration the state comes
// from), then the highest version, then the lowest node id (the first in
// member order). pmxcfs.md §3.3 step 5 ranks by version, then mtime, then
// node id; the epoch comes first here so that a state that applied writes
// in a later quorate configuration beats one with more writes from an
// earlier configuration that were never confirmed (doc.go, "Choosing the
// newest state").
func chooseLeader(states []memberState) int {
	best := 0
	for i := 1; i < len(states); i++ {
		a, b := states[i], states[best]
		if b.epoch.Less(a.epoch) || (a.epoch == b.epoch && a.version > b.version) {
			best = i
		}
	}
	return best
}

// sendSnapshot multicasts this node's state in ChunkSize pieces.
func (s *Store) sendSnapshot() {
	b := AppendSnapshot(nil, s.st.snapshot())
	count := (len(b) + ChunkSize - 1) / ChunkSize
	for i := range count {
		piece := b[i*ChunkSize : min((i+1)*ChunkSize, len(b))]
		s.send(Message{Kind: MsgSnapshot, Ring: s.ring, Index: uint32(i), Count: uint32(count), Value: piece})
	}
}

// onPiece collects the leader's snapshot; its last piece ends the sync for
// every member at the same place of the order.
func (s *Store) onPiece(now wire.Instant, from wire.NodeID, m Message) {
	switch {
	case m.Ring != s.ring || s.phase != PhaseSync || s.leader < 0:
		s.drop(from, DropStale, "snapshot of another ring or phase")
		return
	case from != s.members[s.leader]:
		s.drop(from, DropForged, "snapshot not from the leader")
		return
	case m.Index != s.pieces || (s.pieces > 0 && m.Count != s.count):
		s.drop(from, DropTransfer, fmt.Sprintf("piece %d/%d out of order", m.Index, m.Count))
		return
	}
	if s.pieces == 0 {
		s.count = m.Count
	}
	s.pieces++
	if s.lagging && !s.broken {
		s.transfer = append(s.transfer, m.Value...)
	}
	if s.pieces < s.count || s.broken {
		return
	}
	if s.lagging && !s.install(now) {
		s.broken = true
		s.stats.Dropped[DropTransfer]++
		s.event(Event{Kind: EventTransferFailed, Node: from})
		return
	}
	s.syncDone(now)
}

// install replaces the local state with the leader's snapshot if it is
// exactly the state the leader announced (pmxcfs.md §3.3 step 8 verifies
// the reloaded index the same way).
func (s *Store) install(now wire.Instant) bool {
	snap, err := DecodeSnapshot(s.transfer)
	s.transfer = nil
	l := s.states[s.leader]
	if err != nil || snap.Epoch != l.epoch || snap.Version != l.version {
		return false
	}
	st := stateOf(snap)
	if st.digest() != l.digest {
		return false
	}
	s.st, s.dirty = st, true
	s.stats.Transfers++
	s.refreshTimers(now)
	s.event(Event{Kind: EventTransfer, Node: s.members[s.leader], Detail: fmt.Sprintf("version %d", snap.Version)})
	return true
}

// syncDone: every member now holds the leader's data; the ones that had it
// already take the leader's epoch too (same data, so the same standing).
func (s *Store) syncDone(now wire.Instant) {
	s.phase = PhaseSynced
	s.stats.Syncs++
	if l := s.states[s.leader]; s.st.epoch != l.epoch {
		s.st.epoch, s.dirty = l.epoch, true
	}
	if s.onSynced != nil {
		s.onSynced(s.members[s.leader], s.st.version)
	}
	s.event(Event{Kind: EventSynced})
	s.evaluate(now)
}

// assert panics with the engine's invariant.Violation (style.md §5).
func assert(cond bool, what string) { invariant.Assert(cond, "store", what) }
