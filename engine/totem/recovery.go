package totem

import (
	"fmt"

	"github.com/quorate/quorate/engine/wire"
)

// enterRecovery is memb_state_recovery_enter (spec §7.2, §7.3): forward the
// commit token on its second rotation, compute the transitional membership
// and queue the old-ring messages the others may lack.
func (r *Ring) enterRecovery(ct *CommitToken) {
	r.recoveryQ.reset(0)
	r.retransQ = r.retransQ[:0]
	r.commit = ct
	r.stats.RecoveryEntered++
	r.setState(StateRecovery, "ring "+r.ringID.String())
	r.commitTokenSend() // second rotation (memb_state_commit_token_send_recovery)
	r.myTokenSeq = ^uint32(0)

	// Transitional membership: new members that were in my old ring and
	// report the same old ring id (memb_set_and_with_ring_id).
	r.transMemb = r.transMemb[:0]
	for i, id := range ct.Addr {
		if setHas(r.memb, id) && ct.Entries[i].OldRingID == r.oldRingID {
			r.transMemb = append(r.transMemb, id)
		}
	}
	// corosync leaves deliver_memb stale when nothing needs recovering; it
	// is then unused, so always setting it is equivalent.
	r.deliverMemb = append(r.deliverMemb[:0], r.transMemb...)
	allReceived := true
	for i, id := range ct.Addr {
		if setHas(r.transMemb, id) && !ct.Entries[i].ReceivedFlg {
			allReceived = false
			break
		}
	}
	if !allReceived {
		r.originateRecovered(ct)
	}
	r.aru, r.highSeqRecv, r.installSeq = 0, 0, 0
	r.aruCount, r.seqUnchanged = 0, 0
	r.retransFlgCount, r.rotation = 0, 0
	r.setRetransFlg = false
	r.arm(timerTokenLoss, r.tm.Token)
	r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
}

// originateRecovered copies every old-ring message above the lowest aru of
// the transitional members into the retransmit queue, each encapsulated in
// a new-ring MCAST (spec §7.3 step 3).
func (r *Ring) originateRecovered(ct *CommitToken) {
	low := r.oldHighSeqRecv
	for i, id := range ct.Addr {
		e := ct.Entries[i]
		if setHas(r.deliverMemb, id) && e.OldRingID == r.oldRingID && seqLT(e.Aru, low) {
			low = e.Aru
		}
	}
	n := r.oldHighSeqRecv - low
	if n >= QueueSize {
		return // cannot happen with a sane old ring; refuse rather than loop
	}
	for s := low + 1; seqLTE(s, r.oldHighSeqRecv); s++ {
		it := r.regularQ.get(s)
		if it == nil {
			continue
		}
		r.retransQ = append(r.retransQ, Mcast{
			Sender: r.self, Origin: r.self, Encapsulated: true, Payload: it.raw,
		})
	}
}

// recoveryToken is the RECOVERY bookkeeping of message_handler_orf_token
// (spec §7.3); after two rotations with everything recovered it enters
// OPERATIONAL.
func (r *Ring) recoveryToken(t *Token) {
	if len(r.retransQ) > 0 {
		if !t.RetransFlg {
			t.RetransFlg = true
			r.setRetransFlg = true
		}
	} else if t.RetransFlg && r.setRetransFlg {
		t.RetransFlg = false
		r.setRetransFlg = false
	}
	if !t.RetransFlg {
		r.retransFlgCount++
	} else {
		r.retransFlgCount = 0
	}
	if r.retransFlgCount == 2 {
		r.installSeq = t.Seq
	}
	if r.retransFlgCount >= 2 && !r.receivedFlg && seqLTE(r.installSeq, r.aru) {
		r.receivedFlg = true
		r.deliverMemb = append(r.deliverMemb[:0], r.transMemb...)
	}
	if r.retransFlgCount >= 3 && seqLTE(r.installSeq, t.Aru) {
		r.rotation++
	} else {
		r.rotation = 0
	}
	if r.rotation == 2 {
		r.enterOperational()
		r.rotation, r.retransFlgCount = 0, 0
	}
}

// sendInitialToken is orf_token_send_initial: the rep starts the new ring.
func (r *Ring) sendInitialToken() {
	t := &Token{
		RingID:     r.ringID,
		Aru:        ^uint32(0),
		AruAddr:    r.self,
		RetransFlg: len(r.retransQ) > 0,
	}
	r.setRetransFlg = t.RetransFlg
	r.tokenSend(t, true)
}

// enterOperational is memb_state_operational_enter (spec §7.4): deliver the
// old ring's messages, the transitional configuration, the recovered
// messages of the transitional members, then the regular configuration.
func (r *Ring) enterOperational() {
	r.consensus = r.consensus[:0]
	r.oldSaved = false
	r.recoveredToRegular()

	aruSave := r.aru
	r.aru = r.oldAru
	r.deliverToApp(false, r.oldHighSeqRecv)

	left := setMinus(r.memb, r.transMemb)
	joined := setMinus(r.newMemb, r.transMemb)
	r.memb = append(r.memb[:0:0], r.newMemb...)
	trans := append([]wire.NodeID(nil), r.transMemb...)
	if !r.bugNoTrans {
		r.deliverConf(DeliverTransitional, trans, left, nil)
	}
	r.deliverToApp(true, r.oldHighSeqRecv)
	r.aru = aruSave
	r.regular = append([]wire.NodeID(nil), r.newMemb...)
	r.deliverConf(DeliverRegular, r.regular, nil, joined)

	// The recovery queue becomes the regular queue of the new ring; its
	// (encapsulated) contents were delivered above through the old ring.
	r.regularQ.swap(&r.recoveryQ)
	r.recoveryQ.reset(0)
	r.lastAru = 0
	r.procList = append([]wire.NodeID(nil), r.newMemb...)
	r.failedList = nil
	r.highDelivered = r.highSeqRecv
	for r.highDelivered != 0 && !r.regularQ.has(r.highDelivered) {
		r.highDelivered--
	}
	r.regularQ.release(r.highDelivered)
	r.setRetransFlg = false
	r.receivedFlg = true
	r.oldRingID = r.ringID
	r.stats.OperationalEnter++
	r.setState(StateOperational, "ring "+r.ringID.String())
	r.event(EventMembership, fmt.Sprintf("A new membership (%s) was formed. Members joined: %v left: %v", r.ringID, joined, left), r.regular)
}

// recoveredToRegular unwraps the recovered messages that were sequenced on
// my old ring into the regular queue (deliver_messages_from_recovery_to_regular).
func (r *Ring) recoveredToRegular() {
	for s := uint32(1); seqLTE(s, r.aru) && s < QueueSize; s++ {
		it := r.recoveryQ.get(s)
		if it == nil || !it.m.Encapsulated {
			continue
		}
		inner, err := Decode(it.m.Payload)
		mc, ok := inner.(*Mcast)
		if err != nil || !ok || mc.Encapsulated || mc.RingID != r.oldRingID {
			continue
		}
		if r.regularQ.has(mc.Seq) || !r.regularQ.inRange(mc.Seq) {
			continue
		}
		r.regularQ.add(mc.Seq, &item{m: *mc, raw: it.m.Payload})
		if seqLT(r.oldHighSeqRecv, mc.Seq) {
			r.oldHighSeqRecv = mc.Seq
		}
	}
}

func (r *Ring) deliverConf(k DeliveryKind, members, left, joined []wire.NodeID) {
	r.rd.Deliver = append(r.rd.Deliver, Delivery{
		Kind: k, RingID: r.ringID, Members: members, Left: left, Joined: joined,
	})
}
