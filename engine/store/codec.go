package store

import (
	"encoding/binary"
	"errors"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// ProtocolVersion is the store protocol spoken here (pmxcfs: DCDB protocol
// version 1, pve_dcdb_v1). A message of another version is dropped.
const ProtocolVersion = 1

// MsgKind says what a store message is.
type MsgKind uint8

// The message kinds. Client operations (put … read) and Unlock are the
// DCDB normal messages of pmxcfs.md §2; State, Quorate, Applied and Snapshot
// are the DFSM state messages of §3.2 plus this package's quorum agreement
// and stability confirmations.
const (
	MsgPut      MsgKind = iota + 1 // Ring, Op, Key, Value
	MsgDelete                      // Ring, Op, Key
	MsgCAS                         // Ring, Op, Key, Version (the expected one), Value
	MsgLock                        // Ring, Op, Key, Holder, TTL
	MsgRead                        // Ring, Op, Key
	MsgUnlock                      // Ring, Key, Version (of the expired lock entry)
	MsgState                       // Ring, Epoch, Version, Digest
	MsgQuorate                     // Ring, Quorate
	MsgApplied                     // Ring, Version
	MsgSnapshot                    // Ring, Index, Count, Value (one piece of the leader's snapshot)
	MsgRename                      // Ring, Op, Key, To
	msgKinds
)

var msgKindNames = [...]string{
	MsgPut: "put", MsgDelete: "delete", MsgCAS: "cas", MsgLock: "lock", MsgRead: "read",
	MsgUnlock: "unlock", MsgState: "state", MsgQuorate: "quorate", MsgApplied: "applied", MsgSnapshot: "snapshot",
	MsgRename: "rename",
}

// String returns the kind's name.
func (k MsgKind) String() string {
	if k > 0 && k < msgKinds {
		return msgKindNames[k]
	}
	return "MsgKind(" + strconv.Itoa(int(k)) + ")"
}

// isOp reports whether the kind changes or reads the replicated state at
// its place in the total order.
func (k MsgKind) isOp() bool { return k >= MsgPut && k <= MsgUnlock || k == MsgRename }

// Message is one store message. Only the fields its Kind lists (see the
// constants) are encoded; the others must be zero for a canonical round trip.
type Message struct {
	Kind    MsgKind
	Ring    RingRef // the ring the sender was in when it sent the message
	Op      OpID
	Key     string
	To      string // the new key of a rename
	Value   []byte
	Version uint64
	Holder  string
	TTL     time.Duration
	Epoch   RingRef
	Digest  uint64
	Quorate bool
	Index   uint32
	Count   uint32
}

// errMalformed is wrapped by every decoding error.
var errMalformed = errors.New("store: malformed message")

func malformed(what string) error { return errors.Join(errMalformed, errors.New(what)) }

// errTruncated is what a read past the end of a message records.
var errTruncated = malformed("truncated")

// AppendMessage appends the encoding of m to b: the protocol version, the
// kind, then the kind's fields, big-endian, strings and byte slices with a
// length prefix.
func AppendMessage(b []byte, m Message) []byte {
	b = append(b, ProtocolVersion, byte(m.Kind))
	b = appendRing(b, m.Ring)
	switch m.Kind {
	case MsgPut:
		b = binary.BigEndian.AppendUint64(b, uint64(m.Op))
		b = appendString(b, m.Key)
		b = appendBytes(b, m.Value)
	case MsgDelete, MsgRead:
		b = binary.BigEndian.AppendUint64(b, uint64(m.Op))
		b = appendString(b, m.Key)
	case MsgRename:
		b = binary.BigEndian.AppendUint64(b, uint64(m.Op))
		b = appendString(b, m.Key)
		b = appendString(b, m.To)
	case MsgCAS:
		b = binary.BigEndian.AppendUint64(b, uint64(m.Op))
		b = appendString(b, m.Key)
		b = binary.BigEndian.AppendUint64(b, m.Version)
		b = appendBytes(b, m.Value)
	case MsgLock:
		b = binary.BigEndian.AppendUint64(b, uint64(m.Op))
		b = appendString(b, m.Key)
		b = appendString(b, m.Holder)
		b = binary.BigEndian.AppendUint64(b, uint64(m.TTL))
	case MsgUnlock:
		b = appendString(b, m.Key)
		b = binary.BigEndian.AppendUint64(b, m.Version)
	case MsgState:
		b = appendRing(b, m.Epoch)
		b = binary.BigEndian.AppendUint64(b, m.Version)
		b = binary.BigEndian.AppendUint64(b, m.Digest)
	case MsgQuorate:
		b = appendBool(b, m.Quorate)
	case MsgApplied:
		b = binary.BigEndian.AppendUint64(b, m.Version)
	case MsgSnapshot:
		b = binary.BigEndian.AppendUint32(b, m.Index)
		b = binary.BigEndian.AppendUint32(b, m.Count)
		b = appendBytes(b, m.Value)
	}
	return b
}

// appliedSize is the length of an Applied message: version, kind, ring,
// version.
const appliedSize = 2 + 12 + 8

// messageSize is the length of AppendMessage's encoding of m, so that a
// message is encoded into a buffer of the right size in one allocation.
func messageSize(m Message) int {
	const ring, u64, u32, length = 12, 8, 4, 4
	n := 2 + ring
	switch m.Kind {
	case MsgPut:
		n += u64 + length + len(m.Key) + length + len(m.Value)
	case MsgDelete, MsgRead:
		n += u64 + length + len(m.Key)
	case MsgRename:
		n += u64 + length + len(m.Key) + length + len(m.To)
	case MsgCAS:
		n += u64 + length + len(m.Key) + u64 + length + len(m.Value)
	case MsgLock:
		n += u64 + length + len(m.Key) + length + len(m.Holder) + u64
	case MsgUnlock:
		n += length + len(m.Key) + u64
	case MsgState:
		n += ring + u64 + u64
	case MsgQuorate:
		n++
	case MsgApplied:
		n += u64
	case MsgSnapshot:
		n += u32 + u32 + length + len(m.Value)
	}
	return n
}

// DecodeMessage decodes one message. It accepts exactly the encodings
// AppendMessage produces for valid messages (so AppendMessage of the result
// gives b back), returns an error for anything else, and never panics. The
// result shares no bytes with b.
func DecodeMessage(b []byte) (Message, error) { return decodeMessage(b, false, nil) }

// decodeMessage is DecodeMessage. With shared, Value is a slice of b
// (which must then never change), and a key equal to one of names (sorted)
// is that string: decoding a delivered write allocates nothing for the
// key the store already holds, nor for its value.
func decodeMessage(b []byte, shared bool, names []string) (Message, error) {
	if len(b) == appliedSize && b[0] == ProtocolVersion && MsgKind(b[1]) == MsgApplied {
		// The most frequent message (every member confirms every
		// change), fixed in size: read in place. A ring without a
		// representative takes the general path, which refuses it.
		m := Message{Kind: MsgApplied, Ring: RingRef{Rep: wire.NodeID(binary.BigEndian.Uint32(b[2:])), Seq: binary.BigEndian.Uint64(b[6:])},
			Version: binary.BigEndian.Uint64(b[14:])}
		if m.Ring.Rep != 0 {
			return m, nil
		}
	}
	r := reader{Reader: wire.NewReader(b, errTruncated), shared: shared, names: names}
	if v := r.U8(); r.Err == nil && v != ProtocolVersion {
		return Message{}, malformed("protocol version " + strconv.Itoa(int(v)))
	}
	m := Message{Kind: MsgKind(r.U8())}
	m.Ring = r.ring()
	if r.Err == nil && m.Ring.Rep == 0 {
		return Message{}, malformed("ring without representative")
	}
	switch m.Kind {
	case MsgPut:
		m.Op, m.Key, m.Value = OpID(r.U64()), r.key(), r.bytes(MaxValueSize)
	case MsgDelete, MsgRead:
		m.Op, m.Key = OpID(r.U64()), r.key()
	case MsgRename:
		m.Op, m.Key, m.To = OpID(r.U64()), r.key(), r.key()
		if r.Err == nil && m.Key == m.To {
			return Message{}, malformed("rename onto itself")
		}
	case MsgCAS:
		m.Op, m.Key, m.Version, m.Value = OpID(r.U64()), r.key(), r.U64(), r.bytes(MaxValueSize)
	case MsgLock:
		m.Op, m.Key, m.Holder, m.TTL = OpID(r.U64()), r.key(), r.str(MaxHolderSize), time.Duration(r.U64())
		if r.Err == nil && (m.Holder == "" || m.TTL <= 0) {
			return Message{}, malformed("lock without holder or ttl")
		}
	case MsgUnlock:
		m.Key, m.Version = r.key(), r.U64()
	case MsgState:
		m.Epoch, m.Version, m.Digest = r.ring(), r.U64(), r.U64()
	case MsgQuorate:
		m.Quorate = r.bool()
	case MsgApplied:
		m.Version = r.U64()
	case MsgSnapshot:
		m.Index, m.Count, m.Value = r.U32(), r.U32(), r.bytes(ChunkSize)
		if r.Err == nil && m.Index >= m.Count {
			return Message{}, malformed("snapshot piece index out of range")
		}
	default:
		if r.Err == nil {
			return Message{}, malformed("unknown kind " + strconv.Itoa(int(m.Kind)))
		}
	}
	if r.Err == nil && m.Kind.isOp() && m.Kind != MsgUnlock && m.Op == 0 {
		return Message{}, malformed("operation id 0")
	}
	if r.Err == nil && len(r.B) != 0 {
		return Message{}, malformed("trailing bytes")
	}
	if r.Err != nil {
		return Message{}, r.Err
	}
	return m, nil
}

func appendRing(b []byte, r RingRef) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(r.Rep))
	return binary.BigEndian.AppendUint64(b, r.Seq)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// reader is the shared field reader with this package's own helpers.
// With shared, byte slices it reads are slices of the input, not copies;
// names are strings (sorted) that key returns instead of a new string.
type reader struct {
	wire.Reader
	shared bool
	names  []string
}

func (r *reader) ring() RingRef {
	rep := r.U32()
	return RingRef{Rep: wire.NodeID(rep), Seq: r.U64()}
}

func (r *reader) bool() bool {
	switch v := r.U8(); {
	case r.Err != nil:
		return false
	case v > 1:
		r.Err = malformed("boolean out of range")
	default:
		return v == 1
	}
	return false
}

// field reads a length-prefixed field of at most max bytes, as a slice of
// the input (nil on error).
func (r *reader) field(max int) []byte {
	n := r.U32()
	if r.Err == nil && n > uint32(max) {
		r.Err = malformed("field too long")
	}
	return r.Take(int(n))
}

// bytes reads a length-prefixed byte slice of at most max bytes; an empty
// one decodes as nil. The result is a copy (the caller may reuse b) unless
// the reader is shared.
func (r *reader) bytes(max int) []byte {
	p := r.field(max)
	switch {
	case len(p) == 0:
		return nil
	case r.shared:
		return p[:len(p):len(p)]
	}
	return append([]byte(nil), p...)
}

func (r *reader) str(max int) string { return string(r.field(max)) }

// key reads a key: 1 to MaxKeySize bytes.
func (r *reader) key() string {
	p := r.field(MaxKeySize)
	if r.Err == nil && len(p) == 0 {
		r.Err = malformed("empty key")
	}
	// A binary search over the names; the comparisons convert p
	// without allocating.
	lo, hi := 0, len(r.names)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); r.names[m] < string(p) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(r.names) && r.names[lo] == string(p) {
		return r.names[lo]
	}
	return string(p)
}
