package totem

import (
	"github.com/quorate/quorate/engine/invariant"
	"strconv"

	"slices"
)

// handleMcast is message_handler_mcast: foreign messages start a merge
// (spec §6.1); messages of my ring go into the sort queue and, in
// OPERATIONAL, are delivered in agreed order (spec §5).
func (r *Ring) handleMcast(m *Mcast, raw []byte) {
	if m.RingID != r.ringID {
		r.foreign(m.Origin, "foreign message")
		return
	}
	q := &r.regularQ
	if m.Encapsulated {
		// Simplification: corosync also files encapsulated messages that
		// arrive in COMMIT (the recovery queue is reset on entering
		// RECOVERY anyway) or late in OPERATIONAL (never needed, spec §7.3).
		if r.state != StateRecovery {
			r.drop(DropWrongState, m.Sender, "recovery message outside recovery")
			return
		}
		q = &r.recoveryQ
	}
	if !q.inRange(m.Seq) || q.has(m.Seq) {
		r.drop(DropDuplicate, m.Sender, "")
		return
	}
	if !r.rawShared {
		raw = slices.Clone(raw) // the caller may reuse its buffer (Step)
	}
	stored := *m
	if len(m.Payload) > 0 {
		stored.Payload = raw[len(raw)-len(m.Payload):]
	}
	q.add(m.Seq, newItem(&r.freeItems, stored, raw))
	r.stats.McastRx++
	if seqLT(r.highSeqRecv, m.Seq) {
		r.highSeqRecv = m.Seq
	}
	r.updateAru()
	if r.state == StateOperational {
		r.deliverToApp(false, r.highSeqRecv)
	}
}

// deliverToApp delivers regular-queue messages after my_high_delivered up
// to end in order (messages_deliver_to_app). Without skip it stops at the
// first gap (agreed delivery); with skip it passes over gaps and delivers
// only messages whose originator is in deliver_memb (spec §7.4 step 6).
func (r *Ring) deliverToApp(skip bool, end uint32) {
	start := r.highDelivered
	n := end - start
	if n >= QueueSize {
		return
	}
	for i := uint32(1); i <= n; i++ {
		s := start + i
		if !r.regularQ.inRange(s) {
			break
		}
		it := r.regularQ.get(s)
		if it == nil && !skip && !r.bugDeliverGap {
			break
		}
		r.highDelivered = s
		if it == nil {
			continue
		}
		if skip && !setHas(r.deliverMemb, it.m.Origin) {
			continue
		}
		if it.m.RingID == r.delivRing && !seqLT(r.delivSeq, s) {
			invariant.Fail("totem", "agreed delivery follows the sequence numbers of a ring",
				"ring "+it.m.RingID.String()+": seq "+strconv.FormatUint(uint64(s), 10)+
					" after "+strconv.FormatUint(uint64(r.delivSeq), 10))
		}
		r.delivRing, r.delivSeq = it.m.RingID, s
		if !it.m.Packed {
			r.deliverMessage(&it.m, s, 0, it.m.Payload)
			continue
		}
		p, off := it.m.Payload, packCountLen
		for part := range packParts(p) {
			var b []byte
			b, off = packPart(p, off)
			r.deliverMessage(&it.m, s, uint16(part), b)
		}
	}
}

// deliverMessage hands the application one message of m, sequenced at
// seq: the whole payload, or one part of a packed one.
func (r *Ring) deliverMessage(m *Mcast, seq uint32, part uint16, payload []byte) {
	r.stats.Delivered++
	r.rd.Deliver = append(r.rd.Deliver, Delivery{
		Kind: DeliverMessage, RingID: m.RingID, Sender: m.Origin, Seq: seq, Part: part, Payload: payload,
	})
}

// messagesFree releases messages every member is known to have had at two
// consecutive token visits (messages_free, spec §4.1 step 5).
func (r *Ring) messagesFree(tokenAru uint32) {
	to := tokenAru
	if seqLT(r.lastAru, to) {
		to = r.lastAru
	}
	if seqLT(r.highDelivered, to) {
		to = r.highDelivered
	}
	if seqLTE(to, r.regularQ.base) {
		return
	}
	r.regularQ.release(to)
}
