package store

import (
	"fmt"
	"github.com/quorate/quorate/engine/invariant"

	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Deliver hands the store one store message in agreed order, with its
// Totem sender (the payload without the engine's service byte); the
// store's own messages come back this way too. Anything that does not
// decode, comes from a non-member, belongs to another ring or makes no
// sense now is dropped, counted in Stats and reported as an Event: it is
// never an error and never a panic.
//
// The store keeps slices of payload (the values it carries) without
// copying them: payload must never change afterwards, as Totem's
// deliveries never do (engine.Ready).
func (s *Store) Deliver(now wire.Instant, from wire.NodeID, payload []byte) {
	m, err := decodeMessage(payload, true, s.st.keys)
	switch {
	case err != nil:
		s.drop(from, DropMalformed, err.Error())
		return
	case s.phase == PhaseStart:
		s.drop(from, DropStale, "before the first configuration")
		return
	case s.memberIndex(from) < 0:
		s.drop(from, DropForged, "sender is not a member")
		return
	}
	switch m.Kind {
	case MsgState:
		s.onState(now, from, m)
	case MsgQuorate:
		s.onQuorate(now, from, m)
	case MsgApplied:
		s.onApplied(from, m)
	case MsgSnapshot:
		s.onPiece(now, from, m)
	default:
		s.onOp(now, from, m)
	}
}

// onOp decides one operation at its place in the total order. Every input
// to the decision is agreed: the message, the configuration (ring,
// members, phase) and the quorum verdicts the members multicast, so every
// member of a configuration decides the same (see doc.go, "Agreeing on
// quorum").
func (s *Store) onOp(now wire.Instant, from wire.NodeID, m Message) {
	if m.Kind == MsgUnlock && from != s.members[0] {
		s.drop(from, DropForged, "unlock not from the lowest member")
		return
	}
	switch {
	case m.Ring != s.ring || s.phase == PhaseTransitional:
		// One of the old ring's last messages, delivered in the
		// transitional configuration: Totem delivers those skipping gaps
		// (totem.md §7.4 step 6), so applying them would break the rule
		// that the states of one epoch are prefixes of one sequence. Or
		// sent in an earlier ring (Totem queued it across the change):
		// its sender's quorum check was for that ring. Refused either
		// way; the origin already answered at the transitional
		// configuration (failPending), so err reaches no client.
		s.refuse(from, m, ErrAborted)
	case s.phase == PhaseSync || !s.verdictsKnown():
		// pmxcfs.md §3.4: normal messages are queued while not SYNCED.
		// Queued here until the sync is done and every member's verdict
		// for this ring is in; decided then, in delivery order.
		if len(s.deferred) >= MaxDeferred {
			s.refuse(from, m, ErrAborted)
			return
		}
		s.stats.Deferred++
		s.deferred = append(s.deferred, deferredOp{from: from, m: m})
	default:
		s.execute(now, from, m)
	}
}

// execute applies an operation in a synced configuration whose verdicts
// are all known, or refuses it if that configuration is not quorate
// (pmxcfs.md §2 step 5: "received write while not quorate"). Reads are
// refused the same way: that is what keeps them linearizable.
func (s *Store) execute(now wire.Instant, from wire.NodeID, m Message) {
	writable := s.writable
	if s.bugLocalVerdict {
		writable = s.local == verdictYes
	}
	if !writable && !s.bugApplyInquorate {
		s.refuse(from, m, ErrReadOnly)
		return
	}
	if s.phase != PhaseSynced {
		invariant.Fail("store", "operations execute only in a synced configuration", "phase "+s.phase.String())
	}
	before := s.st.version
	out := s.st.apply(m)
	if out.changed != (s.st.version == before+1) || (!out.changed && s.st.version != before) {
		invariant.Fail("store", "the store's version grows by one with every change and only then",
			fmt.Sprintf("version %d -> %d, changed %v", before, s.st.version, out.changed))
	}
	if out.changed {
		s.stats.Applied++
		s.dirty = true
		s.touchTimer(now, m.Key)
		if s.onApply != nil {
			s.onApply(s.st.version, from, m)
		}
	}
	if from != s.cfg.Self || m.Kind == MsgUnlock {
		return
	}
	i, p := s.findPending(m.Op, m.Ring)
	if p == nil || p.stage != stageSent {
		return
	}
	p.stage, p.need = stageApplied, s.st.version
	p.res = Result{Err: out.err, Found: out.found, Version: out.entry.Version, Revision: s.st.version}
	switch {
	case out.changed && m.Kind == MsgDelete:
		p.res.Found, p.res.Version = false, s.st.version
	case m.Kind == MsgRead:
		p.res.Value = out.entry.Value // immutable, shared (see Ready)
	}
	if s.bugAckOnApply && out.changed {
		s.finish(i, p.res)
		return
	}
	s.release()
}

// refuse records an operation refused at delivery; its origin reports err.
func (s *Store) refuse(from wire.NodeID, m Message, err error) {
	s.stats.Refused++
	if from != s.cfg.Self {
		return
	}
	if m.Kind == MsgUnlock {
		// Ask again once the configuration allows it.
		if v, ok := s.unlocking[m.Key]; ok && v == m.Version && m.Ring == s.ring {
			delete(s.unlocking, m.Key)
		}
		return
	}
	if i, p := s.findPending(m.Op, m.Ring); p != nil && p.stage == stageSent {
		s.finish(i, Result{Err: err})
	}
}

// onApplied records a member's confirmation that it has durably applied
// the state up to m.Version in this ring. Confirmations of the old ring
// delivered in its transitional configuration still count: they are true
// statements about that ring's members.
func (s *Store) onApplied(from wire.NodeID, m Message) {
	if m.Ring != s.ring {
		s.drop(from, DropStale, "confirmation of another ring")
		return
	}
	i := s.memberIndex(from)
	s.confirmed[i] = max(s.confirmed[i], m.Version)
	s.stable = slices.Min(s.confirmed)
	s.release()
}

// release completes every applied operation whose state every member of
// the configuration has confirmed: only then can no later sync lose it
// (doc.go, "When a result is released").
func (s *Store) release() {
	for i := 0; i < len(s.pending); {
		if p := s.pending[i]; p.stage == stageApplied && p.need <= s.stable {
			s.finish(i, p.res)
			continue
		}
		i++
	}
}
