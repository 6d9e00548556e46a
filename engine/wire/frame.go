package wire

import (
	"encoding/binary"
	"errors"
)

// Link-layer frames. Every datagram between two nodes starts with the same
// header; the link layer answers pings, consumes pongs and hands data frames
// to the layer above. In real mode the whole frame is sealed by an AEAD
// before it leaves the node, so these bytes are only ever parsed after
// authentication; the decoder is still written for hostile input.
//
//	offset size field
//	0      2    magic 0x51 0x4b ("QK")
//	2      1    version (1)
//	3      1    frame type
//	4      1    link number the sender used
//	5      1    data: fragment index; otherwise zero
//	6      1    data: fragment count (0: not fragmented); otherwise zero
//	7      1    reserved, zero
//	8      4    sender node id
//	12     4    destination node id
//	16     8    sender incarnation (random per process start)
//	24     8    ping: sender timestamp; pong: echoed timestamp; data: sequence
//	32     ...  data: payload
const (
	frameMagic0    = 0x51
	frameMagic1    = 0x4b
	frameVersion   = 1
	FrameHeaderLen = 32
	// MaxFrame is the largest frame accepted (knet's 64 KiB packet limit).
	MaxFrame = 64 << 10
	// FragmentSize is the largest payload one data frame carries. A larger
	// packet is sent as fragments of this size, as knet fragments what
	// exceeds its MTU, so that every frame fits a UDP datagram after
	// sealing (65,507 bytes less the AEAD's header and tag; netmodel/udp
	// checks it) and a Totem message of up to 1 MiB -- a pmxcfs-sized
	// store value -- still crosses the network.
	FragmentSize = 60 << 10
	// MaxPacket is the largest data packet a peer may reassemble from
	// fragments, and MaxFragments the most fragments it may be cut into.
	MaxPacket    = 2 << 20
	MaxFragments = (MaxPacket + FragmentSize - 1) / FragmentSize
)

// FrameType is the kind of a link-layer frame.
type FrameType uint8

// Frame types.
const (
	FramePing FrameType = iota + 1
	FramePong
	FrameData
)

// Frame is a decoded link-layer frame.
type Frame struct {
	Type        FrameType
	Link        LinkNo
	From, To    NodeID
	Incarnation uint64
	// Stamp is the ping timestamp (ping, pong) or the per-peer sequence
	// number (data; every fragment of a packet carries the packet's).
	Stamp uint64
	// FragIndex and FragCount place a data frame's payload in its packet:
	// FragCount 0 for a whole packet, else 2..MaxFragments pieces.
	FragIndex, FragCount uint8
	Payload              []byte // data only; aliases the decoded buffer
}

// Decoding errors. They are reported in events, never returned to a user.
var (
	ErrShortFrame   = errors.New("wire: frame shorter than its header")
	ErrLongFrame    = errors.New("wire: frame longer than 64 KiB")
	ErrBadMagic     = errors.New("wire: bad magic number")
	ErrBadVersion   = errors.New("wire: unsupported version")
	ErrBadFrameType = errors.New("wire: unknown frame type")
	ErrBadLink      = errors.New("wire: link number out of range")
	ErrTrailing     = errors.New("wire: control frame with trailing bytes")
	ErrReserved     = errors.New("wire: reserved bytes not zero")
	ErrBadFragment  = errors.New("wire: fragment index or count out of range")
)

// AppendFrame appends the encoding of f to dst and returns the result.
func AppendFrame(dst []byte, f Frame) []byte {
	var h [FrameHeaderLen]byte
	PutFrameHeader(h[:], f)
	dst = append(dst, h[:]...)
	if f.Type == FrameData {
		dst = append(dst, f.Payload...)
	}
	return dst
}

// PutFrameHeader writes f's header into h[:FrameHeaderLen], for a driver
// that sends the header and the payload from separate buffers (a payload
// shared by the frames to every peer). f.Payload is not read.
func PutFrameHeader(h []byte, f Frame) {
	_ = h[FrameHeaderLen-1]
	h[0], h[1], h[2], h[3], h[4] = frameMagic0, frameMagic1, frameVersion, byte(f.Type), byte(f.Link)
	h[5], h[6], h[7] = 0, 0, 0
	if f.Type == FrameData {
		h[5], h[6] = f.FragIndex, f.FragCount
	}
	binary.BigEndian.PutUint32(h[8:], uint32(f.From))
	binary.BigEndian.PutUint32(h[12:], uint32(f.To))
	binary.BigEndian.PutUint64(h[16:], f.Incarnation)
	binary.BigEndian.PutUint64(h[24:], f.Stamp)
}

// DecodeFrame parses b. The returned Payload aliases b.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < FrameHeaderLen {
		return Frame{}, ErrShortFrame
	}
	return decodeFrame(b[:FrameHeaderLen], b[FrameHeaderLen:])
}

// DecodeDatagram parses the frame d carries: d.Header followed by
// d.Payload, without joining them when the header is exactly a frame
// header (as the link layer sends it). The returned Payload aliases
// d.Payload (or, for a datagram cut elsewhere, a copy of its bytes).
func DecodeDatagram(d Datagram) (Frame, error) {
	switch len(d.Header) {
	case 0:
		return DecodeFrame(d.Payload)
	case FrameHeaderLen:
		return decodeFrame(d.Header, d.Payload)
	}
	return DecodeFrame(d.Bytes())
}

// decodeFrame parses a frame whose header is h (FrameHeaderLen bytes) and
// whose payload, if any, is rest.
func decodeFrame(b, rest []byte) (Frame, error) {
	var f Frame
	if FrameHeaderLen+len(rest) > MaxFrame {
		return f, ErrLongFrame
	}
	if b[0] != frameMagic0 || b[1] != frameMagic1 {
		return f, ErrBadMagic
	}
	if b[2] != frameVersion {
		return f, ErrBadVersion
	}
	f.Type = FrameType(b[3])
	if f.Type < FramePing || f.Type > FrameData {
		return f, ErrBadFrameType
	}
	if b[7] != 0 || (f.Type != FrameData && b[5]|b[6] != 0) {
		return f, ErrReserved
	}
	if f.Type == FrameData {
		f.FragIndex, f.FragCount = b[5], b[6]
		if (f.FragCount == 0 && f.FragIndex != 0) || f.FragCount == 1 ||
			f.FragCount > MaxFragments || (f.FragCount > 0 && f.FragIndex >= f.FragCount) ||
			(f.FragCount > 0 && len(rest) > FragmentSize) {
			return f, ErrBadFragment
		}
	}
	if b[4] >= MaxLinks {
		return f, ErrBadLink
	}
	f.Link = LinkNo(b[4])
	f.From = NodeID(binary.BigEndian.Uint32(b[8:]))
	f.To = NodeID(binary.BigEndian.Uint32(b[12:]))
	f.Incarnation = binary.BigEndian.Uint64(b[16:])
	f.Stamp = binary.BigEndian.Uint64(b[24:])
	if f.Type == FrameData {
		f.Payload = rest
	} else if len(rest) != 0 {
		return f, ErrTrailing
	}
	return f, nil
}
