package totem

import (
	"encoding/binary"
	"slices"
)

func (m *Token) appendBody(b []byte) []byte {
	b = appendRingID(b, m.RingID)
	b = binary.BigEndian.AppendUint32(b, m.Seq)
	b = binary.BigEndian.AppendUint32(b, m.TokenSeq)
	b = binary.BigEndian.AppendUint32(b, m.Aru)
	b = binary.BigEndian.AppendUint32(b, uint32(m.AruAddr))
	b = binary.BigEndian.AppendUint32(b, m.Backlog)
	b = binary.BigEndian.AppendUint32(b, m.FCC)
	b = appendFlag(b, m.RetransFlg)
	b = append(b, byte(len(m.RTR)))
	for _, it := range m.RTR {
		b = appendRingID(b, it.RingID)
		b = binary.BigEndian.AppendUint32(b, it.Seq)
	}
	return b
}

func (m *Token) decodeBody(r *reader) {
	m.RingID = r.ringID()
	m.Seq = r.U32()
	m.TokenSeq = r.U32()
	m.Aru = r.U32()
	m.AruAddr = r.node()
	m.Backlog = r.U32()
	m.FCC = r.U32()
	m.RetransFlg = r.flag()
	n := int(r.U8())
	if n > MaxRetransmitEntries {
		r.fail()
	}
	if r.Err != nil || n == 0 {
		return
	}
	if len(r.B) < n*(ringIDLen+4) {
		r.Err = ErrShort
		return
	}
	m.RTR = slices.Grow(m.RTR[:0], n)[:n] // new, or a reused decode's
	for i := range m.RTR {
		m.RTR[i] = RTRItem{RingID: r.ringID(), Seq: r.U32()}
	}
}

func (m *Mcast) appendBody(b []byte) []byte {
	b = appendRingID(b, m.RingID)
	b = binary.BigEndian.AppendUint32(b, uint32(m.Origin))
	b = binary.BigEndian.AppendUint32(b, m.Seq)
	b = binary.BigEndian.AppendUint32(b, m.ThisSeqno)
	b = append(b, m.Guarantee)
	b = binary.BigEndian.AppendUint32(b, uint32(len(m.Payload)))
	return append(b, m.Payload...)
}

func (m *Mcast) decodeBody(r *reader) {
	m.RingID = r.ringID()
	m.Origin = r.node()
	m.Seq = r.U32()
	m.ThisSeqno = r.U32()
	m.Guarantee = r.U8()
	n := r.U32()
	if n > 2*MaxPayload {
		r.fail()
		return
	}
	if n > 0 {
		m.Payload = r.Take(int(n))
	}
	if m.Packed && r.Err == nil && !validPack(m.Payload) {
		r.fail()
	}
}

func (m *MergeDetect) appendBody(b []byte) []byte { return appendRingID(b, m.RingID) }

func (m *MergeDetect) decodeBody(r *reader) { m.RingID = r.ringID() }

func (m *HoldCancel) appendBody(b []byte) []byte { return appendRingID(b, m.RingID) }

func (m *HoldCancel) decodeBody(r *reader) { m.RingID = r.ringID() }

func (m *Join) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(m.Origin))
	b = binary.BigEndian.AppendUint64(b, m.RingSeq)
	b = appendNodes(b, m.ProcList)
	return appendNodes(b, m.FailedList)
}

func (m *Join) decodeBody(r *reader) {
	m.Origin = r.node()
	m.RingSeq = r.U64()
	m.ProcList = r.nodesInto(m.ProcList)
	m.FailedList = r.nodesInto(m.FailedList)
}

func (m *CommitToken) appendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, m.TokenSeq)
	b = appendRingID(b, m.RingID)
	b = appendFlag(b, m.RetransFlg)
	b = binary.BigEndian.AppendUint32(b, m.MembIndex)
	b = appendNodes(b, m.Addr)
	for _, e := range m.Entries {
		b = appendRingID(b, e.OldRingID)
		b = binary.BigEndian.AppendUint32(b, e.Aru)
		b = binary.BigEndian.AppendUint32(b, e.HighDelivered)
		b = appendFlag(b, e.ReceivedFlg)
	}
	return b
}

// commitEntryLen is the encoded size of one CommitEntry.
const commitEntryLen = ringIDLen + 4 + 4 + 1

func (m *CommitToken) decodeBody(r *reader) {
	m.TokenSeq = r.U32()
	m.RingID = r.ringID()
	m.RetransFlg = r.flag()
	m.MembIndex = r.U32()
	m.Addr = r.nodes()
	if r.Err != nil {
		return
	}
	if len(m.Addr) == 0 || m.MembIndex > uint32(len(m.Addr)) {
		r.fail()
		return
	}
	if len(r.B) < len(m.Addr)*commitEntryLen {
		r.Err = ErrShort
		return
	}
	m.Entries = make([]CommitEntry, len(m.Addr))
	for i := range m.Entries {
		m.Entries[i] = CommitEntry{OldRingID: r.ringID(), Aru: r.U32(), HighDelivered: r.U32(), ReceivedFlg: r.flag()}
	}
}
