package totem

import (
	"encoding/binary"

	"github.com/quorate/quorate/engine/wire"
)

// Packing (corosync's totempg, spec §5): the messages a node queues
// between two visits of the token travel in one Totem message. corosync
// keeps an open frame that each new message is copied into and closes it
// when the token arrives in OPERATIONAL (callback_token_received_fn), so
// that a token visit sends whatever was queued since the last one in as
// few frames as fit. With knet its frames are up to 64 KiB (net_mtu is
// KNET_MAX_PACKET_SIZE); here PackLimit keeps a packed frame within one
// link-layer fragment. A message alone in its frame is sent as it is,
// unpacked; max_messages counts frames, as in corosync.
//
// A packed payload is
//
//	count u16 (2 or more) | count × (length u32 | bytes)
//
// and its Mcast's header says so (encapsulated byte 3). Every part is
// delivered on its own, at the frame's sequence number, with Part its
// place in the frame.

// PackLimit is the largest packed payload: a packed frame never needs
// the link layer's fragmentation.
const PackLimit = wire.FragmentSize - McastHeadroom

const (
	packCountLen = 2
	packLenLen   = 4
	// packSlack is the room a new packed frame has beyond its first two
	// parts: allocated memory is cleared, so a frame twice its size cost
	// more clearing than the rare third large part saves in copying.
	packSlack = 512
)

// validPack reports whether p is a well-formed packed payload.
func validPack(p []byte) bool {
	if len(p) < packCountLen {
		return false
	}
	n := int(binary.BigEndian.Uint16(p))
	if n < 2 {
		return false
	}
	off := packCountLen
	for range n {
		if len(p)-off < packLenLen {
			return false
		}
		l := binary.BigEndian.Uint32(p[off:])
		off += packLenLen
		if uint64(l) > uint64(len(p)-off) {
			return false
		}
		off += int(l)
	}
	return off == len(p)
}

// packParts returns how many parts the packed payload p holds (validated
// when it was decoded or packed).
func packParts(p []byte) int { return int(binary.BigEndian.Uint16(p)) }

// packPart returns the part at offset off of a packed payload and the
// offset of the next; the first is at packCountLen.
func packPart(p []byte, off int) (part []byte, next int) {
	l := int(binary.BigEndian.Uint32(p[off:]))
	off += packLenLen
	return p[off : off+l : off+l], off + l
}

// packRoom is the packed size m's payload would have with one more part
// of n bytes.
func packRoom(m *Mcast, n int) int {
	size := len(m.Payload) + packLenLen + n
	if !m.Packed {
		size += packCountLen + packLenLen
	}
	return size
}

// enqueue adds m, a new local message, to the pending-send queue: into
// the open frame at its tail when there is one and m fits, else as a
// frame of its own, which is then the open one.
func (r *Ring) enqueue(m Mcast) {
	if k := len(r.pending); r.packOpen && k > 0 && packRoom(&r.pending[k-1], len(m.Payload)) <= PackLimit {
		r.pack(&r.pending[k-1], m.Payload)
		return
	}
	r.pending = append(r.pending, m)
	r.packOpen = true
}

// pack appends part to the frame m, first turning a single message into
// a packed frame of one part. The packed frame is the ring's own buffer,
// with McastHeadroom in front for the header; a frame that is packed is
// never sent before it is closed, so it is appended to in place.
func (r *Ring) pack(m *Mcast, part []byte) {
	if !m.Packed {
		first := m.Payload
		size := McastHeadroom + packCountLen + 2*packLenLen + len(first) + len(part)
		// Room for a few more small parts; a large third part grows it.
		buf := make([]byte, McastHeadroom, min(size+packSlack, McastHeadroom+PackLimit))
		buf = binary.BigEndian.AppendUint16(buf, 1)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(first)))
		buf = append(buf, first...)
		m.frame, m.Packed = buf, true
	}
	f := binary.BigEndian.AppendUint32(m.frame, uint32(len(part)))
	f = append(f, part...)
	cnt := f[McastHeadroom:]
	binary.BigEndian.PutUint16(cnt, binary.BigEndian.Uint16(cnt)+1)
	m.frame, m.Payload = f, f[McastHeadroom:]
}
