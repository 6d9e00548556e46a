package sim

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/quorate/quorate/engine/wire"
)

// TraceFormat is the version of the trace.jsonl layout and of what its hash
// covers. A change of either changes every hash, so it is bumped on purpose,
// never by accident. Format 3: the hash covers the binary record of each
// line instead of its JSON text (the lines themselves are format 2's).
// Format 4: sent and received packets and delivered messages have compact
// records of their own (see Send), a third of the bytes to hash. Format 5:
// Totem packs the messages a node queues between two token visits into
// one frame, so a delivered message's position is its sequence number and
// its part in the frame ("part", when not 0; its record has it after the
// sequence number).
const TraceFormat = 5

// Trace records every externally visible event and every packet fate of a
// run, and keeps a running SHA-256 over them. The hash is the run's
// fingerprint: same scenario, same seed, same hash, on any GOMAXPROCS.
//
// The hash is taken over a compact binary encoding of each line (see
// binary below), not over its JSON text: a run under load traces every
// packet, and formatting decimal JSON for each and hashing twice the bytes
// cost about a fifth of a run's CPU. The JSON lines (trace.jsonl) are built
// only when someone reads them: a writer (--out) or a replay comparing them.
// Both encodings are made from the same calls, so a JSON line and its binary
// record say the same thing, and the hash of a run does not depend on
// whether its trace was written.
//
// Lines are built by hand with strconv appends (no reflection, no maps) so
// that recording every packet stays cheap, and so that key order is fixed.
type Trace struct {
	h     hash.Hash
	w     *bufio.Writer // nil: hash only
	text  bool          // build the JSON lines: w or verify is set
	buf   []byte        // the JSON line being built, when text
	lines uint64
	// lastAt is the previous line's instant and lastID the previous
	// packet's id: the compact records carry their distance from them.
	lastAt wire.Instant
	lastID uint64
	// verify, when set, is called with every finished line (for replay).
	verify func(line []byte)
	// bin[:bn] are binary records not hashed yet. An array with an index,
	// not a slice appended to: storing a slice header into the heap
	// object costs a write barrier per field while the collector runs.
	bn  int
	bin [hashChunk]byte
}

// The binary record of a line, what the hash covers: the kind as a string,
// the instant as a zig-zag varint, then each field as a type byte, its key
// as a string and its value (varint, zig-zag varint, one byte for a bool, a
// string, or two varints for a hex pair), and a zero byte ending the line.
// Strings are a varint length and the bytes. The encoding is a prefix code,
// so two different traces never hash the same bytes.
const (
	binEnd byte = iota
	binInt
	binUint
	binBool
	binStr
	binHexPair
)

// hashChunk is how many bytes of binary records are gathered before they
// are hashed: one call to the hash per chunk instead of one per line. The
// hash is a stream, so where the chunks end does not change it.
const hashChunk = 16 << 10

// NewTrace returns a trace that writes to w (nil: only hash).
func NewTrace(w io.Writer) *Trace {
	t := &Trace{h: sha256.New()}
	if w != nil {
		t.w = bufio.NewWriterSize(w, 1<<16)
		t.text = true
		t.buf = make([]byte, 0, 256)
	}
	return t
}

// setVerify makes the trace call fn with every finished JSON line.
func (t *Trace) setVerify(fn func(line []byte)) {
	t.verify = fn
	if fn != nil && !t.text {
		t.text = true
		t.buf = make([]byte, 0, 256)
	}
}

// Lines is the number of lines hashed so far.
func (t *Trace) Lines() uint64 { return t.lines }

// Sum returns the hex SHA-256 of every line's binary record so far.
func (t *Trace) Sum() string {
	t.hashPending()
	return hex.EncodeToString(t.h.Sum(nil))
}

func (t *Trace) hashPending() {
	if t.bn > 0 {
		t.h.Write(t.bin[:t.bn])
		t.bn = 0
	}
}

// room makes sure n more bytes fit in bin.
func (t *Trace) room(n int) {
	if t.bn+n > len(t.bin) {
		t.hashPending()
	}
}

func (t *Trace) binByte(b byte) {
	t.room(1)
	t.bin[t.bn] = b
	t.bn++
}

func (t *Trace) binUvarint(v uint64) {
	t.room(binary.MaxVarintLen64)
	t.bn += binary.PutUvarint(t.bin[t.bn:], v)
}

func (t *Trace) binVarint(v int64) {
	t.room(binary.MaxVarintLen64)
	t.bn += binary.PutVarint(t.bin[t.bn:], v)
}

func (t *Trace) binString(s string) {
	t.binUvarint(uint64(len(s)))
	if len(s) > len(t.bin)/2 {
		// A long string (the header's scenario source) goes to the
		// hash directly, after what is pending.
		t.hashPending()
		io.WriteString(t.h, s)
		return
	}
	t.room(len(s))
	t.bn += copy(t.bin[t.bn:], s)
}

func (t *Trace) binKey(typ byte, key string) {
	t.binByte(typ)
	t.binString(key)
}

// field writes a field's type byte and key, and leaves room for two
// varints after them: one bounds check per field on the path every packet
// takes. A key is a literal; under 128 bytes its length is one varint byte.
func (t *Trace) field(typ byte, key string) {
	if len(key) >= 0x80 {
		t.binKey(typ, key)
		t.room(2 * binary.MaxVarintLen64)
		return
	}
	if t.bn+2+len(key)+2*binary.MaxVarintLen64 > len(t.bin) {
		t.hashPending()
	}
	t.bin[t.bn] = typ
	t.bin[t.bn+1] = byte(len(key))
	t.bn += 2 + copy(t.bin[t.bn+2:], key)
}

// Begin starts a line for an event of kind k at instant at.
func (t *Trace) Begin(at wire.Instant, k string) *Trace {
	t.binString(k)
	t.binVarint(int64(at))
	t.lastAt = at
	if t.text {
		t.jsonLine(at, k)
	}
	return t
}

// Int adds an integer field.
func (t *Trace) Int(key string, v int64) *Trace {
	t.field(binInt, key)
	t.bn += binary.PutVarint(t.bin[t.bn:], v)
	if t.text {
		t.key(key)
		t.buf = strconv.AppendInt(t.buf, v, 10)
	}
	return t
}

// Uint adds an unsigned integer field.
func (t *Trace) Uint(key string, v uint64) *Trace {
	t.field(binUint, key)
	t.bn += binary.PutUvarint(t.bin[t.bn:], v)
	if t.text {
		t.key(key)
		t.buf = strconv.AppendUint(t.buf, v, 10)
	}
	return t
}

// Bool adds a boolean field.
func (t *Trace) Bool(key string, v bool) *Trace {
	t.binKey(binBool, key)
	b := byte(0)
	if v {
		b = 1
	}
	t.binByte(b)
	if t.text {
		t.key(key)
		t.buf = strconv.AppendBool(t.buf, v)
	}
	return t
}

// Str adds a string field.
func (t *Trace) Str(key, v string) *Trace {
	t.binKey(binStr, key)
	t.binString(v)
	if t.text {
		t.key(key)
		t.buf = appendJSONString(t.buf, v)
	}
	return t
}

// HexPair adds a string field "a.b" with both numbers in lower-case hex,
// as a ring id prints (the same bytes as Str with fmt's %x.%x, without
// fmt: one goes into the trace with every delivery).
func (t *Trace) HexPair(key string, a, b uint64) *Trace {
	t.field(binHexPair, key)
	t.bn += binary.PutUvarint(t.bin[t.bn:], a)
	t.bn += binary.PutUvarint(t.bin[t.bn:], b)
	if t.text {
		t.key(key)
		t.buf = append(t.buf, '"')
		t.buf = strconv.AppendUint(t.buf, a, 16)
		t.buf = append(t.buf, '.')
		t.buf = strconv.AppendUint(t.buf, b, 16)
		t.buf = append(t.buf, '"')
	}
	return t
}

// End finishes the line, hashes it and writes it.
func (t *Trace) End() {
	t.binByte(binEnd)
	t.lines++
	if t.text {
		t.jsonEnd()
	}
}

func (t *Trace) key(k string) {
	t.buf = append(t.buf, ',', '"')
	t.buf = append(t.buf, k...)
	t.buf = append(t.buf, '"', ':')
}

// Close writes the unhashed end line carrying the final hash and flushes.
func (t *Trace) Close(at wire.Instant) error {
	if t.w == nil {
		return nil
	}
	b := append([]byte(`{"t":`), strconv.AppendInt(nil, int64(at), 10)...)
	b = append(b, `,"k":"end","lines":`...)
	b = strconv.AppendUint(b, t.lines, 10)
	b = append(b, `,"sha256":"`...)
	b = append(b, t.Sum()...)
	b = append(b, "\"}\n"...)
	t.w.Write(b)
	return t.w.Flush()
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 is replaced so
// that every trace line is valid JSON.
func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// The three lines a run under load writes for nearly every event, a sent
// packet, a received one and an ordered delivery, have their own compact
// binary records (format 4), written in one pass: a zero byte (a general
// record starts with its kind's length, never 0), a byte naming the line
// ('s', 'r', 'd'), the instant as a zig-zag varint of its distance from
// the previous line's, and the values in a fixed order without keys (see
// Send, Recv, DeliverMsg). About a third of the bytes of the general
// record, so a third of the hashing. The JSON line is the general one.
// recordRoom bounds each record: two bytes, the instant, eight varints and
// a name of at most 32 bytes with its length.
const recordRoom = 2 + 10*binary.MaxVarintLen64 + 1 + maxFastName

// maxFastName is the longest node name a delivery's compact record
// carries in the one bounds check; a longer one takes the general path of
// room checks (the bytes are the same).
const maxFastName = 32

// begin makes room for a compact record of kind c at instant at and
// returns it started, at the end of what is pending, with the capacity of
// the rest of bin.
func (t *Trace) begin(c byte, at wire.Instant) []byte {
	if t.bn+recordRoom > len(t.bin) {
		t.hashPending()
	}
	b := append(t.bin[t.bn:t.bn], 0, c)
	b = binary.AppendVarint(b, int64(at)-int64(t.lastAt))
	t.lastAt = at
	return b
}

// finish ends a compact record written into b (from begin).
func (t *Trace) finish(b []byte) {
	t.bn += len(b)
	t.lines++
}

// jsonLine starts the JSON text of a line, when text is built.
func (t *Trace) jsonLine(at wire.Instant, k string) {
	t.buf = append(t.buf[:0], `{"t":`...)
	t.buf = strconv.AppendInt(t.buf, int64(at), 10)
	t.buf = append(t.buf, `,"k":"`...)
	t.buf = append(t.buf, k...)
	t.buf = append(t.buf, '"')
}

func (t *Trace) jsonUint(key string, v uint64) {
	t.key(key)
	t.buf = strconv.AppendUint(t.buf, v, 10)
}

// jsonEnd finishes the JSON text of a line and writes it.
func (t *Trace) jsonEnd() {
	t.buf = append(t.buf, '}', '\n')
	if t.w != nil {
		t.w.Write(t.buf)
	}
	if t.verify != nil {
		t.verify(t.buf)
	}
}

// Send traces a packet handed to the network: the JSON line
// {"t":…,"k":"send","id":…,"from":…,"to":…,"l":…,"len":…,"crc":…}. Its
// record: 0, 's', the instant, then id as a zig-zag varint of its
// distance from the previous packet's id (sent or received), from, to and
// l as varints, len as a zig-zag varint, crc as a varint.
func (t *Trace) Send(at wire.Instant, id, from, to, link uint64, n int64, crc uint64) {
	b := t.begin('s', at)
	b = binary.AppendVarint(b, int64(id-t.lastID))
	t.lastID = id
	b = binary.AppendUvarint(b, from)
	b = binary.AppendUvarint(b, to)
	b = binary.AppendUvarint(b, link)
	b = binary.AppendVarint(b, n)
	b = binary.AppendUvarint(b, crc)
	t.finish(b)
	if t.text {
		t.jsonLine(at, "send")
		t.jsonUint("id", id)
		t.jsonUint("from", from)
		t.jsonUint("to", to)
		t.jsonUint("l", link)
		t.key("len")
		t.buf = strconv.AppendInt(t.buf, n, 10)
		t.jsonUint("crc", crc)
		t.jsonEnd()
	}
}

// Recv traces a packet handed to its node: the JSON line
// {"t":…,"k":"recv","id":…}. Its record: 0, 'r', the instant and id as
// in Send.
func (t *Trace) Recv(at wire.Instant, id uint64) {
	b := t.begin('r', at)
	b = binary.AppendVarint(b, int64(id-t.lastID))
	t.lastID = id
	t.finish(b)
	if t.text {
		t.jsonLine(at, "recv")
		t.jsonUint("id", id)
		t.jsonEnd()
	}
}

// DeliverMsg traces an ordered delivery of a message: the JSON line
// {"t":…,"k":"deliver","node":…,"ring":"rep.seq" (hex),"seq":…,"from":…,
// "svc":…} with "part":… after seq when part is not 0 and "id":… after
// svc when id is not 0. Its record: 0, 'd', the instant, node as a
// string, rep, seq, mseq, part, from, svc and id as varints (part and id
// 0 included).
func (t *Trace) DeliverMsg(at wire.Instant, node string, rep, seq, mseq, part, from, svc, id uint64) {
	b := t.begin('d', at)
	if len(node) <= maxFastName {
		b = append(b, byte(len(node)))
		b = append(b, node...)
	} else {
		t.bn += len(b)
		t.binString(node)
		t.room(recordRoom)
		b = t.bin[t.bn:t.bn]
	}
	b = binary.AppendUvarint(b, rep)
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendUvarint(b, mseq)
	b = binary.AppendUvarint(b, part)
	b = binary.AppendUvarint(b, from)
	b = binary.AppendUvarint(b, svc)
	b = binary.AppendUvarint(b, id)
	t.finish(b)
	if t.text {
		t.jsonLine(at, "deliver")
		t.key("node")
		t.buf = appendJSONString(t.buf, node)
		t.key("ring")
		t.buf = append(t.buf, '"')
		t.buf = strconv.AppendUint(t.buf, rep, 16)
		t.buf = append(t.buf, '.')
		t.buf = strconv.AppendUint(t.buf, seq, 16)
		t.buf = append(t.buf, '"')
		t.jsonUint("seq", mseq)
		if part != 0 {
			t.jsonUint("part", part)
		}
		t.jsonUint("from", from)
		t.jsonUint("svc", svc)
		if id != 0 {
			t.jsonUint("id", id)
		}
		t.jsonEnd()
	}
}
