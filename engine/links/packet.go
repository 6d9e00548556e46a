package links

import (
	"math/bits"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Send queues payload for peer `to` on the link(s) the mode selects. With no
// usable link the packet is dropped and counted, as knet drops it: the layers
// above recover through their own retransmission. It returns the number of
// datagrams queued.
func (l *Layer) Send(to wire.NodeID, payload []byte) int {
	i, ok := l.index.get(to)
	if !ok {
		l.stats.DataNoLink++
		return 0
	}
	p := &l.peers[i]
	if p.active == wire.NoLink {
		l.stats.DataNoLink++
		return 0
	}
	if len(payload) > wire.MaxPacket {
		// Nothing above sends this much (Totem's messages are at most
		// 1 MiB); counted rather than cut into more fragments than a
		// receiver reassembles.
		l.stats.DataTooLarge++
		return 0
	}
	p.txSeq++
	sends, n := 0, 0
	switch l.cfg.Mode {
	case ModePassive:
		n += l.emitData(to, wire.LinkNo(p.active), p.txSeq, payload)
		sends = 1
	case ModeActive:
		for j := range p.links {
			if p.links[j].connected {
				n += l.emitData(to, p.links[j].number, p.txSeq, payload)
				sends++
			}
		}
	case ModeRR:
		// knet rotates the list of usable links after each send
		// (threads_tx.c); walking from rrNext gives the same sequence.
		for k := 0; k < len(p.links); k++ {
			j := (p.rrNext + k) % len(p.links)
			if p.links[j].connected {
				n += l.emitData(to, p.links[j].number, p.txSeq, payload)
				p.rrNext = (j + 1) % len(p.links)
				sends = 1
				break
			}
		}
	}
	l.stats.DataSent += uint64(sends)
	return n
}

// Receive handles one datagram that arrived on link n claiming to come from
// `from`. Pings are answered, pongs feed the heartbeat, and the payload of a
// data frame is returned for the layer above (ok true) unless it is a
// duplicate. Anything malformed or inconsistent is dropped, counted and
// reported as an EventPacketRejected; it is never an error.
//
// The returned payload aliases b, or is a buffer of the layer's own that
// it never uses again (a reassembled packet): it is the caller's.
func (l *Layer) Receive(now wire.Instant, n wire.LinkNo, from wire.NodeID, b []byte) (payload []byte, ok bool) {
	f, err := wire.DecodeFrame(b)
	return l.receive(now, n, from, f, err)
}

// ReceiveDatagram is Receive for a datagram as the link layer sends it,
// a header and a payload apart (wire.DecodeDatagram): d arrived on d.Link
// claiming to come from d.From. The returned payload aliases d.Payload, or
// is a reassembled packet that is the caller's.
func (l *Layer) ReceiveDatagram(now wire.Instant, d wire.Datagram) (payload []byte, ok bool) {
	f, err := wire.DecodeDatagram(d)
	return l.receive(now, d.Link, d.From, f, err)
}

func (l *Layer) receive(now wire.Instant, n wire.LinkNo, from wire.NodeID, f wire.Frame, err error) (payload []byte, ok bool) {
	if err != nil {
		l.reject(from, n, err.Error())
		return nil, false
	}
	switch {
	case f.From != from:
		l.reject(from, n, "frame sender "+f.From.String()+" does not match the packet's source")
		return nil, false
	case f.To != l.cfg.Self:
		l.reject(from, n, "frame addressed to node "+f.To.String())
		return nil, false
	case f.Link != n:
		l.reject(from, n, "frame link number does not match the link it arrived on")
		return nil, false
	}
	i, known := l.index.get(from)
	if !known {
		l.reject(from, n, "sender is not in the nodelist")
		return nil, false
	}
	p := &l.peers[i]
	slot := l.slots.at(n)
	if slot < 0 {
		l.reject(from, n, "link is not configured")
		return nil, false
	}
	switch f.Type {
	case wire.FramePing:
		// A ping is answered at once on the link it came in on, whatever
		// our own view of that link (threads_heartbeat.c, process_ping).
		l.emit(from, n, wire.FramePong, f.Stamp, nil)
		l.stats.PongsSent++
	case wire.FramePong:
		l.pong(now, p, &p.links[slot], f.Stamp)
	case wire.FrameData:
		// knet discards data from a host it has no usable link to yet
		// (threads_rx.c: "Source host not reachable yet. Discarding
		// packet."), so a peer's traffic counts only once the heartbeat
		// has brought a link up. This is knet 1.25's rule, the version the
		// reference measurements ran; later releases also let data bring a
		// link up early once a pong has been seen.
		if p.active == wire.NoLink {
			l.stats.DataUnreachable++
			return nil, false
		}
		payload := f.Payload
		if f.FragCount > 0 {
			var done bool
			if payload, done = p.reassemble(f, &l.stats); !done {
				return nil, false
			}
		}
		if !p.accept(f.Incarnation, f.Stamp) {
			l.stats.DataDuplicates++
			return nil, false
		}
		l.stats.DataReceived++
		return payload, true
	}
	return nil, false
}

// pong is knet's process_pong: record the arrival, sample the round trip
// latency, and count good pongs towards bringing a down link up.
func (l *Layer) pong(now wire.Instant, p *peer, lk *link, stamp uint64) {
	if stamp > uint64(now) || !lk.pinged || stamp > uint64(lk.pingLast) {
		l.reject(p.id, lk.number, "pong echoes a timestamp this node never sent")
		return
	}
	l.stats.PongsReceived++
	lk.hasPong, lk.pongLast = true, now
	latency := now.Sub(wire.Instant(stamp))
	if latency > lk.pingTimeout {
		l.stats.PongsDiscarded++
		return
	}
	// Running mean over at most `precision` samples, as knet computes it.
	if lk.samples < l.cfg.Precision {
		lk.samples++
	}
	lk.latencyAve = (lk.latencyAve*time.Duration(lk.samples-1) + latency) / time.Duration(lk.samples)
	if lk.latencyAve < lk.timeoutAdj && !lk.connected {
		if lk.receivedPong >= lk.pongCount {
			l.linkUp(p, lk)
		} else {
			lk.receivedPong++
		}
	}
}

func (l *Layer) reject(from wire.NodeID, n wire.LinkNo, why string) {
	l.stats.Rejected++
	l.events = append(l.events, wire.Event{Kind: wire.EventPacketRejected, Peer: from, Link: n, Detail: why})
}

func (p *peer) linkByNumber(n wire.LinkNo) *link {
	for j := range p.links {
		if p.links[j].number == n {
			return &p.links[j]
		}
	}
	return nil
}

// accept runs the receiver's duplicate filter over data sequence numbers: a
// sliding window of the last dedupWindow numbers per peer, restarted when
// the peer's incarnation changes (the peer restarted and counts from 1).
func (p *peer) accept(inc, seq uint64) bool {
	if inc != p.rxInc {
		p.rxInc, p.rxHigh, p.rxSeen = inc, 0, [dedupWindow / 64]uint64{}
	}
	if seq == 0 {
		return false
	}
	if seq > p.rxHigh {
		shift := seq - p.rxHigh
		if shift >= dedupWindow {
			p.rxSeen = [dedupWindow / 64]uint64{}
		} else {
			for s := p.rxHigh + 1; s < seq; s++ {
				p.rxSeen[(s%dedupWindow)/64] &^= 1 << (s % 64)
			}
		}
		p.rxHigh = seq
		p.rxSeen[(seq%dedupWindow)/64] |= 1 << (seq % 64)
		return true
	}
	if p.rxHigh-seq >= dedupWindow {
		return false // too old to tell: knet drops it as well
	}
	w, bit := (seq%dedupWindow)/64, uint64(1)<<(seq%64)
	if p.rxSeen[w]&bit != 0 {
		return false
	}
	p.rxSeen[w] |= bit
	return true
}

// reassemble files one fragment of a packet and returns the whole packet
// once its last fragment is in. Fragments may come in any order, on any
// link, and twice; the packet's sequence number then goes through the
// duplicate filter like any other.
func (p *peer) reassemble(f wire.Frame, st *Stats) ([]byte, bool) {
	idx, count := int(f.FragIndex), int(f.FragCount)
	if idx < count-1 && len(f.Payload) != wire.FragmentSize {
		st.FragmentsDiscarded++ // only the last fragment may be short
		return nil, false
	}
	k := -1
	for i := range p.frags {
		if p.frags[i].inc == f.Incarnation && p.frags[i].seq == f.Stamp {
			k = i
			break
		}
	}
	if k < 0 {
		if len(p.frags) == maxAssemblies {
			st.FragmentsEvicted += uint64(bits.OnesCount64(p.frags[0].have))
			p.frags = append(p.frags[:0], p.frags[1:]...)
		}
		p.frags = append(p.frags, assembly{inc: f.Incarnation, seq: f.Stamp, count: count,
			buf: make([]byte, count*wire.FragmentSize)})
		k = len(p.frags) - 1
	}
	a := &p.frags[k]
	if a.count != count || a.have&(1<<idx) != 0 {
		st.FragmentsDiscarded++ // a duplicate, or a count that disagrees
		return nil, false
	}
	copy(a.buf[idx*wire.FragmentSize:], f.Payload)
	a.have |= 1 << idx
	a.size += len(f.Payload)
	if bits.OnesCount64(a.have) < a.count {
		return nil, false
	}
	whole := a.buf[:a.size]
	p.frags = append(p.frags[:k], p.frags[k+1:]...)
	st.DataReassembled++
	return whole, true
}
