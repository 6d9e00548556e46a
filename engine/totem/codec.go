package totem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/quorate/quorate/engine/wire"
)

// The wire encoding is this package's own compact big-endian layout of the
// six totem message types (spec §2); it is not corosync's C layout.
//
//	header:  magic u16 (0xC070) | version u8 (4) | type u8 | encapsulated u8 (1 yes, 2 no, 3 no and packed) | sender u32
//	ring id: rep u32 | seq u64
//	lists:   count u16 | count × u32 nodeid (strictly ascending, non-zero)
const (
	// Magic is the first two bytes of every totem message (corosync TOTEM_MH_MAGIC).
	Magic = 0xC070
	// Version is the header version: corosync's TOTEM_MH_VERSION is 3,
	// and 4 since Quorate packs messages (pack.go). An agent of an older
	// release would take a packed frame for a malformed one and ask for
	// it again for ever; with the version bumped, it refuses every message
	// of a newer agent at once (and the newer one its), so the two never
	// share a ring: a cluster is upgraded as a whole.
	Version = 4

	headerLen = 9
	ringIDLen = 12

	encapYes    = 1
	encapNo     = 2
	encapPacked = 3 // not encapsulated; the payload packs several messages (pack.go)
)

// MsgType is the totem message type of spec §2.
type MsgType uint8

// The six message types, numbered as in corosync.
const (
	MsgOrfToken MsgType = iota
	MsgMcast
	MsgMergeDetect
	MsgJoin
	MsgCommitToken
	MsgTokenHoldCancel
	msgTypes
)

var msgTypeNames = [...]string{
	MsgOrfToken:        "ORF_TOKEN",
	MsgMcast:           "MCAST",
	MsgMergeDetect:     "MERGE_DETECT",
	MsgJoin:            "JOIN",
	MsgCommitToken:     "COMMIT_TOKEN",
	MsgTokenHoldCancel: "TOKEN_HOLD_CANCEL",
}

// String returns the type's corosync name.
func (t MsgType) String() string {
	if t < msgTypes {
		return msgTypeNames[t]
	}
	return "MsgType(" + strconv.Itoa(int(t)) + ")"
}

// Message is one decoded totem message: *Token, *Mcast, *MergeDetect,
// *Join, *CommitToken or *HoldCancel.
type Message interface {
	// Type returns the message type.
	Type() MsgType
	// From returns the header sender nodeid (0 for a LEAVE join).
	From() wire.NodeID
	appendBody(b []byte) []byte
	decodeBody(r *reader)
}

// RTRItem is one retransmission request on the token.
type RTRItem struct {
	RingID RingID
	Seq    uint32
}

// Token is the regular (ORF) token, spec §2.1.
type Token struct {
	Sender     wire.NodeID
	RingID     RingID
	Seq        uint32
	TokenSeq   uint32
	Aru        uint32
	AruAddr    wire.NodeID
	Backlog    uint32
	FCC        uint32
	RetransFlg bool
	RTR        []RTRItem
}

// Mcast is an ordered data message. When Encapsulated, Payload holds the
// encoding of the recovered old-ring Mcast (spec §7.3); when Packed, it
// holds several application messages in the packing of pack.go, each
// delivered on its own.
type Mcast struct {
	Sender       wire.NodeID // header nodeid: the originator (retransmissions keep it)
	Encapsulated bool
	Packed       bool   // never with Encapsulated
	RingID       RingID // ring the message was sequenced on
	Origin       wire.NodeID
	Seq          uint32
	ThisSeqno    uint32
	Guarantee    uint8
	Payload      []byte
	// frame, for a message queued by MulticastFramed, is the buffer whose
	// last bytes are Payload and whose first McastHeadroom bytes are free
	// for the header: the message is encoded in it, without copying
	// Payload. Never encoded, never decoded.
	frame []byte
}

// McastHeadroom is the length of an Mcast's encoding before its payload
// (the common header and the Mcast's fixed fields): the room
// MulticastFramed needs in front of a payload.
const McastHeadroom = headerLen + ringIDLen + 4 + 4 + 4 + 1 + 4

// appendMcastHeader appends the encoding of m up to its payload: Append
// for *Mcast, called on the concrete type so that m does not escape.
func appendMcastHeader(dst []byte, m *Mcast) []byte {
	encap := mcastEncap(m)
	dst = binary.BigEndian.AppendUint16(dst, Magic)
	dst = append(dst, Version, byte(MsgMcast), encap)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.Sender))
	dst = appendRingID(dst, m.RingID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.Origin))
	dst = binary.BigEndian.AppendUint32(dst, m.Seq)
	dst = binary.BigEndian.AppendUint32(dst, m.ThisSeqno)
	dst = append(dst, m.Guarantee)
	return binary.BigEndian.AppendUint32(dst, uint32(len(m.Payload)))
}

// encodeMcast returns a new encoding of m (the same bytes as Append): in
// m's frame when it has one, which it then gives up, else in a buffer of
// exactly the right size.
func encodeMcast(m *Mcast) []byte {
	if f := m.frame; f != nil && len(f) == McastHeadroom+len(m.Payload) {
		m.frame = nil
		h := appendMcastHeader(f[:0], m)
		assert(len(h) == McastHeadroom, "an Mcast header is McastHeadroom bytes")
		return f
	}
	m.frame = nil
	return append(appendMcastHeader(make([]byte, 0, McastHeadroom+len(m.Payload)), m), m.Payload...)
}

// mcastEncap is the header's encapsulation byte for m.
func mcastEncap(m *Mcast) byte {
	switch {
	case m.Encapsulated:
		return encapYes
	case m.Packed:
		return encapPacked
	}
	return encapNo
}

// MergeDetect is multicast by an idle ring's representative (spec §4.5).
type MergeDetect struct {
	Sender wire.NodeID
	RingID RingID
}

// Join is a membership join; Sender 0 marks a LEAVE (spec §2, §6.3).
type Join struct {
	Sender     wire.NodeID
	Origin     wire.NodeID // system_from
	ProcList   []wire.NodeID
	FailedList []wire.NodeID
	RingSeq    uint64
}

// CommitEntry is a member's slot in the commit token (spec §7.1).
type CommitEntry struct {
	OldRingID     RingID
	Aru           uint32
	HighDelivered uint32
	ReceivedFlg   bool
}

// CommitToken installs a new ring (spec §7.1, §7.2).
type CommitToken struct {
	Sender     wire.NodeID
	TokenSeq   uint32
	RingID     RingID
	RetransFlg bool
	MembIndex  uint32
	Addr       []wire.NodeID
	Entries    []CommitEntry // len(Entries) == len(Addr)
}

// HoldCancel asks the rep to release a held token (spec §4.5).
type HoldCancel struct {
	Sender wire.NodeID
	RingID RingID
}

// Type implements Message.
func (*Token) Type() MsgType { return MsgOrfToken }

// Type implements Message.
func (*Mcast) Type() MsgType { return MsgMcast }

// Type implements Message.
func (*MergeDetect) Type() MsgType { return MsgMergeDetect }

// Type implements Message.
func (*Join) Type() MsgType { return MsgJoin }

// Type implements Message.
func (*CommitToken) Type() MsgType { return MsgCommitToken }

// Type implements Message.
func (*HoldCancel) Type() MsgType { return MsgTokenHoldCancel }

// From implements Message.
func (m *Token) From() wire.NodeID { return m.Sender }

// From implements Message.
func (m *Mcast) From() wire.NodeID { return m.Sender }

// From implements Message.
func (m *MergeDetect) From() wire.NodeID { return m.Sender }

// From implements Message.
func (m *Join) From() wire.NodeID { return m.Sender }

// From implements Message.
func (m *CommitToken) From() wire.NodeID { return m.Sender }

// From implements Message.
func (m *HoldCancel) From() wire.NodeID { return m.Sender }

// Append appends the encoding of m to dst and returns the extended slice.
func Append(dst []byte, m Message) []byte {
	encap := byte(encapNo)
	if mc, ok := m.(*Mcast); ok {
		encap = mcastEncap(mc)
	}
	dst = binary.BigEndian.AppendUint16(dst, Magic)
	dst = append(dst, Version, byte(m.Type()), encap)
	dst = binary.BigEndian.AppendUint32(dst, uint32(m.From()))
	return m.appendBody(dst)
}

// Errors returned by Decode.
var (
	ErrShort      = errors.New("totem: message too short")
	ErrBadMagic   = errors.New("totem: bad magic number")
	ErrBadVersion = errors.New("totem: unsupported version")
	ErrBadType    = errors.New("totem: unknown message type")
	ErrBadField   = errors.New("totem: invalid field")
	ErrTrailing   = errors.New("totem: trailing bytes")
)

// Decode parses one totem message. It never panics; it rejects anything
// that Append would not produce (so decode∘encode is the identity). Byte
// slices in the result (Mcast.Payload) alias b.
func Decode(b []byte) (Message, error) { return decode(b, nil) }

// decodeScratch holds the structs a ring decodes its received tokens and
// multicasts into, instead of new ones per datagram: the ring handles a
// received message before the next one and keeps nothing of it by pointer
// (a multicast is filed by value, a token forwarded as a new encoding).
type decodeScratch struct {
	tok Token
	mc  Mcast
	// jn is a received JOIN; its lists are decoded into the arrays of the
	// one before (a JOIN of 128 nodes carries up to 256 ids, and during a
	// formation every node receives thousands of them). handleJoin keeps
	// no list of a JOIN: what it merges, setUnion copies.
	jn Join
	// jnLists is the encoding of jn's two lists when jn holds them
	// decoded, empty when it does not (an encoding is never empty: each
	// list starts with its count). A JOIN whose lists are the same bytes
	// is not decoded again (jnSame): once a formation's views agree,
	// nearly every JOIN a node receives, from any sender, names the same
	// sets, and a 384-node formation decoded 768 ids per JOIN.
	jnLists []byte
	jnSame  bool
	// jnChecked: jn's lists name configured nodes only (the ring's
	// checkSender found so, and its nodelist has not changed since).
	jnChecked bool
}

// decodeJoin is Join.decodeBody into s.jn, whose lists stay as they are
// when the new ones are the same bytes.
func (s *decodeScratch) decodeJoin(r *reader) {
	m := &s.jn
	m.Origin = r.node()
	m.RingSeq = r.U64()
	lists := r.B
	if r.Err == nil && len(s.jnLists) > 0 && bytes.Equal(lists, s.jnLists) {
		r.B = lists[len(lists):]
		s.jnSame = true
		return
	}
	s.jnLists, s.jnSame, s.jnChecked = s.jnLists[:0], false, false
	m.ProcList = r.nodesInto(m.ProcList)
	m.FailedList = r.nodesInto(m.FailedList)
	if r.Err == nil && len(r.B) == 0 {
		s.jnLists = append(s.jnLists, lists...)
	}
}

// decode is Decode, into s's structs for a token or a multicast when s is
// not nil (the result is then valid until the next decode into s).
func decode(b []byte, s *decodeScratch) (Message, error) {
	if len(b) < headerLen {
		return nil, ErrShort
	}
	if binary.BigEndian.Uint16(b) != Magic {
		return nil, ErrBadMagic
	}
	if b[2] != Version {
		return nil, ErrBadVersion
	}
	var m Message
	sender := wire.NodeID(binary.BigEndian.Uint32(b[5:]))
	encap := b[4]
	switch MsgType(b[3]) {
	case MsgOrfToken:
		if s != nil {
			s.tok = Token{Sender: sender, RTR: s.tok.RTR[:0]}
			m = &s.tok
		} else {
			m = &Token{Sender: sender}
		}
	case MsgMcast:
		if s != nil {
			s.mc = Mcast{Sender: sender, Encapsulated: encap == encapYes, Packed: encap == encapPacked}
			m = &s.mc
		} else {
			m = &Mcast{Sender: sender, Encapsulated: encap == encapYes, Packed: encap == encapPacked}
		}
	case MsgMergeDetect:
		m = &MergeDetect{Sender: sender}
	case MsgJoin:
		if s != nil {
			s.jn = Join{Sender: sender, ProcList: s.jn.ProcList, FailedList: s.jn.FailedList}
			m = &s.jn
		} else {
			m = &Join{Sender: sender}
		}
	case MsgCommitToken:
		m = &CommitToken{Sender: sender}
	case MsgTokenHoldCancel:
		m = &HoldCancel{Sender: sender}
	default:
		return nil, ErrBadType
	}
	if encap != encapNo && (encap != encapYes && encap != encapPacked || m.Type() != MsgMcast) {
		return nil, ErrBadField
	}
	r := reader{wire.NewReader(b[headerLen:], ErrShort)}
	// Called on the concrete types, so that the reader stays on the stack
	// (through the interface it would escape: one allocation per message).
	switch m := m.(type) {
	case *Token:
		m.decodeBody(&r)
	case *Mcast:
		m.decodeBody(&r)
	case *MergeDetect:
		m.decodeBody(&r)
	case *Join:
		if s != nil {
			s.decodeJoin(&r)
		} else {
			m.decodeBody(&r)
		}
	case *CommitToken:
		m.decodeBody(&r)
	case *HoldCancel:
		m.decodeBody(&r)
	}
	if r.Err != nil {
		return nil, r.Err
	}
	if len(r.B) != 0 {
		return nil, ErrTrailing
	}
	return m, nil
}

// reader is the shared field reader with this package's own helpers.
type reader struct{ wire.Reader }

func (r *reader) fail() {
	if r.Err == nil {
		r.Err = ErrBadField
	}
}

func (r *reader) flag() bool {
	switch r.U8() {
	case 0:
		return false
	case 1:
		return true
	}
	r.fail()
	return false
}

func (r *reader) node() wire.NodeID { return wire.NodeID(r.U32()) }

func (r *reader) ringID() RingID { return RingID{Rep: r.node(), Seq: r.U64()} }

// nodes reads a strictly ascending list of non-zero nodeids.
func (r *reader) nodes() []wire.NodeID { return r.nodesInto(nil) }

// nodesInto is nodes decoded into dst's array when it has room (nil
// allocates as nodes does). An empty list is dst[:0].
func (r *reader) nodesInto(dst []wire.NodeID) []wire.NodeID {
	n := int(r.U16())
	if n > MaxProcessors {
		r.fail()
	}
	if r.Err != nil {
		return nil
	}
	if n == 0 {
		return dst[:0]
	}
	if len(r.B) < 4*n {
		r.Err = ErrShort
		return nil
	}
	out := dst[:0]
	if cap(out) >= n {
		out = out[:n]
	} else {
		out = make([]wire.NodeID, n)
	}
	// The length is checked above, so the ids are read straight from the
	// bytes: a JOIN of a 384-node formation carries two lists of up to
	// 384 ids, and every node decodes every JOIN; a read through the
	// Reader per id was a fifth of such a formation.
	b := r.B[:4*n]
	prev := wire.NodeID(0)
	for i := range out {
		id := wire.NodeID(binary.BigEndian.Uint32(b[4*i:]))
		if id <= prev { // 0, or not above the one before
			r.fail()
			return nil
		}
		out[i], prev = id, id
	}
	r.B = r.B[4*n:]
	return out
}

func appendFlag(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendRingID(b []byte, id RingID) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(id.Rep))
	return binary.BigEndian.AppendUint64(b, id.Seq)
}

func appendNodes(b []byte, ids []wire.NodeID) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(ids)))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint32(b, uint32(id))
	}
	return b
}
