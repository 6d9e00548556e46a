package sim

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/quorate/quorate/engine/wire"
)

// TraceFormat is the version of the trace.jsonl layout. A change of layout
// changes every hash, so it is bumped on purpose, never by accident.
const TraceFormat = 2

// Trace records every externally visible event and every packet fate of a
// run as JSON lines, and keeps a running SHA-256 over them. The hash is the
// run's fingerprint: same scenario, same seed, same hash, on any GOMAXPROCS.
//
// Lines are built by hand with strconv appends (no reflection, no maps) so
// that recording every packet stays cheap, and so that key order is fixed.
type Trace struct {
	h     hash.Hash
	w     *bufio.Writer // nil: hash only
	buf   []byte
	lines uint64
	// verify, when set, is called with every finished line (for replay).
	verify func(line []byte)
}

// NewTrace returns a trace that writes to w (nil: only hash).
func NewTrace(w io.Writer) *Trace {
	t := &Trace{h: sha256.New(), buf: make([]byte, 0, 256)}
	if w != nil {
		t.w = bufio.NewWriterSize(w, 1<<16)
	}
	return t
}

// Lines is the number of lines hashed so far.
func (t *Trace) Lines() uint64 { return t.lines }

// Sum returns the hex SHA-256 of every line so far.
func (t *Trace) Sum() string { return hex.EncodeToString(t.h.Sum(nil)) }

// Begin starts a line for an event of kind k at instant at.
func (t *Trace) Begin(at wire.Instant, k string) *Trace {
	t.buf = append(t.buf[:0], `{"t":`...)
	t.buf = strconv.AppendInt(t.buf, int64(at), 10)
	t.buf = append(t.buf, `,"k":"`...)
	t.buf = append(t.buf, k...)
	t.buf = append(t.buf, '"')
	return t
}

// Int adds an integer field.
func (t *Trace) Int(key string, v int64) *Trace {
	t.key(key)
	t.buf = strconv.AppendInt(t.buf, v, 10)
	return t
}

// Uint adds an unsigned integer field.
func (t *Trace) Uint(key string, v uint64) *Trace {
	t.key(key)
	t.buf = strconv.AppendUint(t.buf, v, 10)
	return t
}

// Bool adds a boolean field.
func (t *Trace) Bool(key string, v bool) *Trace {
	t.key(key)
	t.buf = strconv.AppendBool(t.buf, v)
	return t
}

// Str adds a string field.
func (t *Trace) Str(key, v string) *Trace {
	t.key(key)
	t.buf = appendJSONString(t.buf, v)
	return t
}

// HexPair adds a string field "a.b" with both numbers in lower-case hex,
// as a ring id prints (the same bytes as Str with fmt's %x.%x, without
// fmt: one goes into the trace with every delivery).
func (t *Trace) HexPair(key string, a, b uint64) *Trace {
	t.key(key)
	t.buf = append(t.buf, '"')
	t.buf = strconv.AppendUint(t.buf, a, 16)
	t.buf = append(t.buf, '.')
	t.buf = strconv.AppendUint(t.buf, b, 16)
	t.buf = append(t.buf, '"')
	return t
}

// End finishes the line, hashes it and writes it.
func (t *Trace) End() {
	t.buf = append(t.buf, '}', '\n')
	t.emit(t.buf)
}

func (t *Trace) emit(line []byte) {
	t.h.Write(line)
	t.lines++
	if t.w != nil {
		t.w.Write(line)
	}
	if t.verify != nil {
		t.verify(line)
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
