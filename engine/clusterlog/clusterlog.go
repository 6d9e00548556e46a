// Package clusterlog is the cluster log of a quorate node: pmxcfs's
// /etc/pve/.clusterlog (pve-cluster src/pmxcfs/logger.c), short lines that
// any node adds (a task started, quorum lost) and every node shows, newest
// first, in a bounded buffer.
//
// pmxcfs broadcasts each entry unordered and sorts by the sender's clock,
// merging the members' buffers after every membership change. Here an
// entry travels through Totem's total order (the engine's ServiceLog), so
// every member that delivers a set of entries appends them in one order
// and shows the same log; the sender's time is carried for display only
// and never decides the order. A node keeps only what it delivered: an
// entry written while it was cut off or down is not shown there (pmxcfs
// would merge it at the next sync).
//
// Log is a pure value: no clock, no I/O. The driver encodes an Entry with
// Encode, multicasts it, and hands every delivered one to Append.
package clusterlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of one entry, as pmxcfs's clog_pack: node, user and tag are cut
// at 255 bytes, and a whole entry at CLOG_MAX_ENTRY_SIZE (4096 bytes).
const (
	MaxField = 255
	MaxEntry = 4096
	// MaxPriority is syslog's LOG_DEBUG; 0 is LOG_EMERG.
	MaxPriority = 7
	// DefaultBytes bounds a Log's entries (pmxcfs's CLOG_DEFAULT_SIZE,
	// 128 KiB): appending beyond it drops the oldest entries.
	DefaultBytes = 128 << 10
	// DumpEntries is how many entries .clusterlog shows (pmxcfs's
	// create_dot_clusterlog_cb asks for 50).
	DumpEntries = 50
)

// Errors of Decode and Entry.Validate.
var (
	ErrShort    = errors.New("clusterlog: truncated entry")
	ErrVersion  = errors.New("clusterlog: unknown entry version")
	ErrTooLarge = errors.New("clusterlog: entry too large")
	ErrPriority = errors.New("clusterlog: priority above 7")
	ErrEncoding = errors.New("clusterlog: not UTF-8")
	ErrEmpty    = errors.New("clusterlog: empty message")
)

// Entry is one line of the cluster log: pmxcfs's clog_entry_t.
type Entry struct {
	// UID numbers the sender's entries from 1 (pmxcfs's uid_counter); with
	// Node it identifies an entry.
	UID uint32 `json:"uid"`
	// Time is the sender's wall clock in Unix seconds, for display.
	Time int64 `json:"time"`
	// Pri is the syslog priority, 0 (emerg) to 7 (debug).
	Pri uint8 `json:"pri"`
	// Tag names the subsystem ("cluster", "quorum", a task type).
	Tag string `json:"tag"`
	// PID is the writing process on the sender (0: the agent itself).
	PID uint32 `json:"pid"`
	// Node is the sender's nodelist name.
	Node string `json:"node"`
	// User is who caused the entry ("root@pam" in Proxmox).
	User string `json:"user"`
	// Msg is the line itself.
	Msg string `json:"msg"`
}

// entryVersion is the first byte of an encoded entry.
const entryVersion = 1

// fixedLen is the encoded size of an entry with empty strings: version,
// uid, time, pri, pid, three one-byte lengths and a two-byte one.
const fixedLen = 1 + 4 + 8 + 1 + 4 + 3 + 2

// size is what the entry costs in a Log and on the wire.
func (e Entry) size() int { return fixedLen + len(e.Node) + len(e.User) + len(e.Tag) + len(e.Msg) }

// Validate reports why e cannot be logged: a priority above 7, a string
// that is not UTF-8, a field over MaxField, an empty message or an entry
// over MaxEntry.
func (e Entry) Validate() error {
	if e.Pri > MaxPriority {
		return fmt.Errorf("%w: %d", ErrPriority, e.Pri)
	}
	for _, f := range []struct{ name, s string }{{"node", e.Node}, {"user", e.User}, {"tag", e.Tag}, {"msg", e.Msg}} {
		if !utf8.ValidString(f.s) {
			return fmt.Errorf("%w: %s", ErrEncoding, f.name)
		}
		if f.name != "msg" && len(f.s) > MaxField {
			return fmt.Errorf("%w: %s has %d bytes, at most %d", ErrTooLarge, f.name, len(f.s), MaxField)
		}
	}
	if strings.TrimSpace(e.Msg) == "" {
		return ErrEmpty
	}
	if e.size() > MaxEntry {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, e.size(), MaxEntry)
	}
	return nil
}

// Encode returns the entry's wire form. It does not validate: call
// Validate first.
func (e Entry) Encode() []byte {
	b := make([]byte, 0, e.size())
	b = append(b, entryVersion)
	b = binary.BigEndian.AppendUint32(b, e.UID)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	b = append(b, e.Pri)
	b = binary.BigEndian.AppendUint32(b, e.PID)
	for _, s := range []string{e.Node, e.User, e.Tag} {
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(e.Msg)))
	return append(b, e.Msg...)
}

// Decode parses an entry from the wire and validates it. Bytes from the
// network may be anything: it never panics.
func Decode(b []byte) (Entry, error) {
	var e Entry
	if len(b) < 1 {
		return e, ErrShort
	}
	if b[0] != entryVersion {
		return e, fmt.Errorf("%w %d", ErrVersion, b[0])
	}
	if len(b) > MaxEntry {
		return e, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(b))
	}
	if len(b) < fixedLen {
		return e, ErrShort
	}
	e.UID = binary.BigEndian.Uint32(b[1:])
	e.Time = int64(binary.BigEndian.Uint64(b[5:]))
	e.Pri = b[13]
	e.PID = binary.BigEndian.Uint32(b[14:])
	rest := b[18:]
	var fields [3]string
	for i := range fields {
		if len(rest) < 1 || len(rest) < 1+int(rest[0]) {
			return Entry{}, ErrShort
		}
		n := int(rest[0])
		fields[i], rest = string(rest[1:1+n]), rest[1+n:]
	}
	e.Node, e.User, e.Tag = fields[0], fields[1], fields[2]
	if len(rest) < 2 {
		return Entry{}, ErrShort
	}
	n := int(binary.BigEndian.Uint16(rest))
	if len(rest) != 2+n {
		return Entry{}, ErrShort
	}
	e.Msg = string(rest[2:])
	if err := e.Validate(); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// Log is a node's cluster log: the entries it delivered, oldest first,
// at most MaxBytes of them (the oldest are dropped).
type Log struct {
	// MaxBytes bounds the entries' total size; 0 means DefaultBytes.
	MaxBytes int
	entries  []Entry
	bytes    int
	dropped  uint64
}

// Append adds a delivered entry at the end, dropping the oldest entries
// while the log is over its bound.
func (l *Log) Append(e Entry) {
	limit := l.MaxBytes
	if limit <= 0 {
		limit = DefaultBytes
	}
	l.entries = append(l.entries, e)
	l.bytes += e.size()
	drop := 0
	for l.bytes > limit && drop < len(l.entries)-1 {
		l.bytes -= l.entries[drop].size()
		drop++
	}
	if drop > 0 {
		l.dropped += uint64(drop)
		l.entries = append(l.entries[:0:0], l.entries[drop:]...)
	}
}

// Len returns the number of entries kept.
func (l *Log) Len() int { return len(l.entries) }

// Dropped returns how many entries the bound has dropped.
func (l *Log) Dropped() uint64 { return l.dropped }

// Newest returns up to max entries, newest first (all with max <= 0).
// The slice is the caller's.
func (l *Log) Newest(max int) []Entry {
	n := len(l.entries)
	if max > 0 && max < n {
		n = max
	}
	out := make([]Entry, 0, n)
	for i := len(l.entries) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, l.entries[i])
	}
	return out
}

// JSON renders entries (newest first, as Newest returns them) in
// pmxcfs's .clusterlog layout (logger.c clog_dump_json): one object with a
// "data" array, one entry per line.
func JSON(entries []Entry) []byte {
	var b strings.Builder
	b.WriteString("{\n\"data\": [\n")
	for i, e := range entries {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"uid": %d, "time": %d, "pri": %d, "tag": %s, "pid": %d, "node": %s, "user": %s, "msg": %s}`,
			e.UID, e.Time, e.Pri, quote(e.Tag), e.PID, quote(e.Node), quote(e.User), quote(e.Msg))
	}
	if len(entries) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("]\n}\n")
	return []byte(b.String())
}

// quote writes s as a JSON string; pmxcfs escapes its entries to ASCII
// when it stores them, here the dump escapes what JSON needs.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r > 0x7e:
			if r > 0xffff {
				r1, r2 := surrogates(r)
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				b.WriteString(`\u` + leftPad(strconv.FormatInt(int64(r), 16)))
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func leftPad(h string) string { return strings.Repeat("0", 4-len(h)) + h }

// surrogates splits a rune above U+FFFF into its UTF-16 pair.
func surrogates(r rune) (rune, rune) {
	r -= 0x10000
	return 0xd800 + (r>>10)&0x3ff, 0xdc00 + r&0x3ff
}
