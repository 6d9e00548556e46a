package totem

import (
	"github.com/quorate/quorate/engine/invariant"

	"slices"
)

// createCommitToken builds the rep's commit token: ring seq = highest seen
// + 4, members = P − F ascending (spec §7.1, memb_state_commit_token_create).
func (r *Ring) createCommitToken() *CommitToken {
	addr := setMinus(r.procList, r.failedList)
	return &CommitToken{
		RingID:  RingID{Rep: r.self, Seq: r.tokenRingIDSeq + 4},
		Addr:    addr,
		Entries: make([]CommitEntry, len(addr)),
	}
}

// enterCommit is memb_state_commit_enter (spec §7.1).
func (r *Ring) enterCommit(ct *CommitToken) {
	if ct.RingID.Seq <= r.ringID.Seq {
		invariant.Fail("totem", "the ring id grows with every membership change",
			"ring "+r.ringID.String()+" -> "+ct.RingID.String())
	}
	r.oldRingSave()
	r.commit = ct
	r.commitTokenUpdate()
	r.next = ct.Addr[int(ct.MembIndex)%len(ct.Addr)]
	r.disarm(timerJoin, timerConsensus, timerSendJoin)
	r.ringID = ct.RingID
	r.rd.PersistRingSeq = ct.RingID.Seq
	r.tokenRingIDSeq = ct.RingID.Seq
	r.stats.CommitEntered++
	r.stats.ContinuousGather = 0
	r.setState(StateCommit, "ring "+ct.RingID.String())
	r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
	r.arm(timerTokenLoss, r.tm.Token)
	r.trc, r.pbl, r.cbl = 0, 0, 0
	r.commitTokenSend()
}

// oldRingSave remembers the old ring's aru and high seq once per
// membership change (old_ring_state_save).
func (r *Ring) oldRingSave() {
	if r.oldSaved {
		return
	}
	r.oldSaved = true
	r.oldRingID = r.ringID
	r.oldAru = r.aru
	r.oldHighSeqRecv = r.highSeqRecv
}

// oldRingRestore undoes RECOVERY's reset of aru/high seq (old_ring_state_restore).
func (r *Ring) oldRingRestore() {
	r.aru = r.oldAru
	r.highSeqRecv = r.oldHighSeqRecv
}

// commitTokenUpdate fills my entry and advances memb_index
// (memb_state_commit_token_update).
func (r *Ring) commitTokenUpdate() {
	ct := r.commit
	r.newMemb = slices.Clone(ct.Addr)
	idx := int(ct.MembIndex)
	me := &ct.Entries[idx]
	me.OldRingID = r.oldRingID
	me.Aru = r.oldAru
	r.receivedFlg = r.aru == r.highSeqRecv
	me.ReceivedFlg = r.receivedFlg
	me.HighDelivered = r.highDelivered
	// Among entries so far from my old ring, anyone below the highest aru
	// has not received everything.
	high := me.Aru
	for i := 0; i <= idx; i++ {
		if ct.Entries[i].OldRingID == me.OldRingID && seqLT(high, ct.Entries[i].Aru) {
			high = ct.Entries[i].Aru
		}
	}
	for i := 0; i <= idx; i++ {
		if ct.Entries[i].OldRingID == me.OldRingID && seqLT(ct.Entries[i].Aru, high) {
			ct.Entries[i].ReceivedFlg = false
			if i == idx {
				r.receivedFlg = false
			}
		}
	}
	ct.Sender = r.self
	ct.MembIndex++
}

// commitTokenSend forwards the commit token and keeps a copy for
// retransmission (memb_state_commit_token_send).
func (r *Ring) commitTokenSend() {
	r.commit.TokenSeq++
	r.commit.Sender = r.self
	raw := r.encode(r.commit)
	r.lastToken, r.lastTokenTo = raw, r.next
	r.stats.CommitTokensSent++
	r.unicast(r.next, raw)
	r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
}

// handleCommitToken is message_handler_memb_commit_token.
func (r *Ring) handleCommitToken(ct *CommitToken) {
	switch r.state {
	case StateGather:
		// Stricter than corosync: the token must also be addressed to my
		// slot, so odd input cannot write another member's entry.
		idx := int(ct.MembIndex)
		if setEqual(ct.Addr, setMinus(r.procList, r.failedList)) && ct.RingID.Seq > r.ringID.Seq &&
			idx < len(ct.Addr) && ct.Addr[idx] == r.self {
			r.enterCommit(ct)
			return
		}
	case StateCommit:
		if ct.RingID == r.ringID && int(ct.MembIndex) == len(ct.Addr) && setEqual(ct.Addr, r.newMemb) {
			r.enterRecovery(ct)
			return
		}
	case StateRecovery:
		// Stricter than corosync: only a commit token of the ring being
		// installed lets the rep originate the first regular token.
		if r.self == r.ringID.Rep && ct.RingID == r.ringID && !r.originatedToken {
			r.originatedToken = true
			r.sendInitialToken()
			r.arm(timerTokenLoss, r.tm.Token)
			r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
			return
		}
	}
	r.drop(DropWrongState, ct.Sender, "commit token")
}
