package totem

import (
	"github.com/quorate/quorate/engine/invariant"

	"strconv"
	"strings"
)

// handleToken is message_handler_orf_token (spec §4.1).
func (r *Ring) handleToken(t *Token) {
	if r.state == StateGather {
		r.drop(DropForeignToken, t.Sender, "token while gathering")
		return
	}
	// Idle detection and merge-detect timer (step 2).
	if t.Seq == r.lastSeq {
		if r.deadline[timerMerge] == 0 {
			r.arm(timerMerge, r.tm.Merge)
		}
		r.seqUnchanged++
	} else {
		r.disarm(timerMerge, timerHold)
		r.seqUnchanged = 0
	}
	r.lastSeq = t.Seq
	// Hold decision (step 4): only the rep actually stops forwarding.
	rep := r.ringID.Rep == r.self
	r.tokenHeld = (rep && r.seqUnchanged > r.tm.SeqnoUnchangedConst) ||
		(!rep && r.seqUnchanged >= r.tm.SeqnoUnchangedConst)
	forward := !(rep && r.tokenHeld)

	switch {
	case r.state == StateCommit:
		r.drop(DropForeignToken, t.Sender, "token in commit")
		return
	case t.RingID != r.ringID:
		r.drop(DropForeignToken, t.Sender, "token of ring "+t.RingID.String())
		return
	case seqLTE(t.TokenSeq, r.myTokenSeq):
		r.drop(DropStaleToken, t.Sender, "")
		return
	}
	r.stats.TokensReceived++
	r.lastTokenRx = r.now
	if r.state == StateOperational {
		r.messagesFree(t.Aru)
		// totempg's token-received callback: what was queued since the
		// last visit is sent now, in the frames it was packed into.
		r.packOpen = false
	}
	lastAru := r.lastAru
	r.lastAru = t.Aru

	allowed := r.fccCalculate(t)
	retx := r.tokenRTR(t, &allowed)
	r.fccRTRLimit(t, &allowed)
	sent := r.tokenMcast(t, allowed)
	r.fccTokenUpdate(t, retx+sent)

	// aru / aru_addr rule (spec §4.3).
	if seqLT(r.aru, t.Aru) || t.AruAddr == r.self || t.AruAddr == 0 {
		t.Aru = r.aru
		if t.Aru == t.Seq {
			t.AruAddr = 0
		} else {
			t.AruAddr = r.self
		}
	}
	if t.Aru == lastAru && t.AruAddr != 0 {
		r.aruCount++
	} else {
		r.aruCount = 0
	}
	// Failure to receive (spec §6.4): corosync marks itself failed.
	if r.aruCount > r.tm.FailRecvConst && t.AruAddr == r.self {
		r.stats.FailedToReceive++
		r.event(EventFailedToReceive, "FAILED TO RECEIVE", nil)
		r.failedToRcv = true
		r.failedList = setAdd(r.failedList, r.self)
		r.enterGather("failed to receive")
		return
	}
	r.myTokenSeq = t.TokenSeq
	t.TokenSeq++
	if r.state == StateRecovery {
		r.recoveryToken(t)
	}
	r.tokenSend(t, forward)
	if r.state == StateOperational {
		r.deliverToApp(false, r.highSeqRecv)
	}
	r.arm(timerTokenLoss, r.tm.Token)
	r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
	if rep && r.tokenHeld {
		r.arm(timerHold, r.tm.Hold)
	}
}

// tokenSend keeps a copy of the token and forwards it to the successor
// unless the rep is holding it (token_send).
func (r *Ring) tokenSend(t *Token, forward bool) {
	t.Sender = r.self
	raw := r.encode(t)
	r.lastToken, r.lastTokenTo = raw, r.next
	if forward {
		r.stats.TokensSent++
		r.unicast(r.next, raw)
	}
}

// tokenRetransmitExpired re-sends the saved token or commit token
// (timer_function_token_retransmit_timeout).
func (r *Ring) tokenRetransmitExpired() {
	if r.state == StateGather || r.lastToken == nil {
		return
	}
	r.stats.TokenRetransmits++
	r.unicast(r.lastTokenTo, r.lastToken)
	r.arm(timerTokenRetransmit, r.tm.TokenRetransmit)
}

// holdExpired releases a held token (timer_function_token_hold_retransmit_timeout).
func (r *Ring) holdExpired() {
	if (r.state == StateOperational || r.state == StateRecovery) && r.lastToken != nil {
		r.stats.TokensSent++
		r.unicast(r.lastTokenTo, r.lastToken)
	}
}

// holdCancelSend multicasts TOKEN_HOLD_CANCEL when this node considers the
// token held and the application has something to send (token_hold_cancel_send).
func (r *Ring) holdCancelSend() {
	if !r.tokenHeld {
		return
	}
	r.tokenHeld = false
	r.stats.HoldCancelSent++
	m := &HoldCancel{Sender: r.self, RingID: r.ringID}
	r.multicast(r.encode(m), m)
}

// handleHoldCancel is message_handler_token_hold_cancel.
func (r *Ring) handleHoldCancel(m *HoldCancel) {
	if m.RingID != r.ringID {
		return
	}
	r.seqUnchanged = 0
	if r.ringID.Rep == r.self {
		r.tokenRetransmitExpired()
	}
}

// fccCalculate is the send allowance of spec §4.4 (fcc_calculate).
func (r *Ring) fccCalculate(t *Token) int {
	w := r.tm.WindowSize
	allowed := min(r.tm.MaxMessages, max(0, w-int(t.FCC)))
	r.cbl = uint32(r.backlog())
	if d := int64(t.Backlog) + int64(r.cbl) - int64(r.pbl); d > 0 {
		b := int(int64(w) * int64(r.pbl) / d)
		if b > 0 && allowed > b {
			allowed = b
		}
	}
	return allowed
}

func (r *Ring) backlog() int {
	if r.state == StateRecovery {
		return len(r.retransQ)
	}
	return len(r.pending)
}

// fccRTRLimit keeps the sort queue from overflowing (fcc_rtr_limit).
func (r *Ring) fccRTRLimit(t *Token, allowed *int) {
	base := r.regularQ.base
	if r.state == StateRecovery {
		base = r.recoveryQ.base
	}
	if seqLT(base+QueueSize-uint32(*allowed)-uint32(r.tm.WindowSize), t.Seq) {
		*allowed = 0
	}
}

// fccTokenUpdate replaces my previous contribution to fcc and backlog.
func (r *Ring) fccTokenUpdate(t *Token, sent int) {
	t.FCC += uint32(sent) - r.trc
	t.Backlog += r.cbl - r.pbl
	r.trc = uint32(sent)
	r.pbl = r.cbl
}

func (r *Ring) queue() *sortQueue {
	if r.state == StateRecovery {
		return &r.recoveryQ
	}
	return &r.regularQ
}

// tokenRTR serves retransmission requests, then adds my own gaps that have
// been missing for miss_count_const visits (spec §4.2, orf_token_rtr).
func (r *Ring) tokenRTR(t *Token, allowed *int) int {
	q := r.queue()
	if len(t.RTR) > 0 {
		r.event(EventRetransmitList, rtrString(t.RTR), nil)
	}
	done := 0
	for i := 0; done < *allowed && i < len(t.RTR); {
		it := t.RTR[i]
		var stored *item
		if it.RingID == r.ringID {
			stored = q.get(it.Seq)
		}
		if stored == nil {
			i++
			continue
		}
		r.multicast(stored.raw, nil)
		t.RTR = append(t.RTR[:i], t.RTR[i+1:]...)
		r.stats.McastRetx++
		done++
	}
	*allowed -= done

	n := t.Seq - r.aru
	for i := uint32(1); len(t.RTR) < MaxRetransmitEntries && i <= n && i <= QueueSize; i++ {
		s := r.aru + i
		if !q.inRange(s) {
			break
		}
		if q.has(s) || q.missCount(s) < r.tm.MissCountConst {
			continue
		}
		if !rtrHas(t.RTR, s) {
			t.RTR = append(t.RTR, RTRItem{RingID: r.ringID, Seq: s})
		}
	}
	return done
}

func rtrHas(l []RTRItem, s uint32) bool {
	for _, it := range l {
		if it.Seq == s {
			return true
		}
	}
	return false
}

func rtrString(l []RTRItem) string {
	var b strings.Builder
	b.WriteString("Retransmit List:")
	for _, it := range l {
		b.WriteString(" ")
		b.WriteString(strconv.FormatUint(uint64(it.Seq), 16))
	}
	return b.String()
}

// tokenMcast multicasts up to allowed queued messages, each stamped with
// ++token.seq and stored for retransmission (orf_token_mcast).
func (r *Ring) tokenMcast(t *Token, allowed int) int {
	src := &r.pending
	if r.state == StateRecovery {
		src = &r.retransQ
	}
	q := r.queue()
	// A queue emptied here is reset to the start of its array, so that the
	// next Multicast appends in place: slicing past the sent messages
	// alone used the array up from the front, and a loaded ring, which
	// empties its queue at nearly every visit, allocated a new one for
	// nearly every message.
	whole := *src
	n := 0
	for ; n < allowed && len(*src) > 0; n++ {
		m := (*src)[0]
		(*src)[0] = Mcast{}
		*src = (*src)[1:]
		t.Seq++
		m.Seq = t.Seq
		m.ThisSeqno = r.globalSeqno
		r.globalSeqno++
		m.RingID = r.ringID
		raw := encodeMcast(&m)
		if len(m.Payload) > 0 {
			m.Payload = raw[len(raw)-len(m.Payload):] // the same bytes, in raw
		}
		q.add(m.Seq, newItem(&r.freeItems, m, raw))
		r.multicast(raw, nil)
		r.stats.McastTx++
		r.highSeqRecv = t.Seq
	}
	if len(*src) == 0 {
		*src = whole[:0]
	}
	r.updateAru()
	return n
}

// updateAru advances my_aru over contiguously received seqs (update_aru).
func (r *Ring) updateAru() {
	q := r.queue()
	for r.aru != r.highSeqRecv && q.has(r.aru+1) {
		r.aru++
	}
	if !seqLTE(r.aru, r.highSeqRecv) {
		invariant.Fail("totem", "my aru never passes the highest sequence number received",
			"aru "+strconv.FormatUint(uint64(r.aru), 10)+", high "+strconv.FormatUint(uint64(r.highSeqRecv), 10))
	}
}
