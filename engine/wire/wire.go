// Package wire holds what crosses the boundaries of the engine: node ids,
// link numbers, instants, datagrams, the events a node reports, and the
// binary codecs of the link-layer frames.
//
// Everything here is plain data with no behaviour that depends on a clock or
// a socket, so both drivers (the simulator and the real agent) share it.
package wire

import (
	"strconv"
	"time"
)

// Instant is a point in time in nanoseconds on the driver's monotonic clock.
// The simulator starts at 0; the real agent counts from its start.
type Instant int64

// Add returns the instant d after i.
func (i Instant) Add(d time.Duration) Instant { return i + Instant(d) }

// Sub returns the span from j to i.
func (i Instant) Sub(j Instant) time.Duration { return time.Duration(i - j) }

// Millis returns the instant in (fractional) milliseconds, for reports.
func (i Instant) Millis() float64 { return float64(i) / 1e6 }

// String prints the instant as a duration since the clock's origin.
func (i Instant) String() string { return time.Duration(i).String() }

// NodeID is a corosync nodeid: a positive 32-bit integer; 0 is reserved.
type NodeID uint32

// String prints the id in decimal.
func (id NodeID) String() string { return strconv.FormatUint(uint64(id), 10) }

// LinkNo is a knet link number (corosync linknumber, the X of ringX_addr), 0..7.
type LinkNo uint8

// MaxLinks is knet's limit of links per host pair (KNET_MAX_LINK).
const MaxLinks = 8

// NoLink marks "no usable link" where a link number is expected.
const NoLink = -1

// Datagram is one UDP packet between two nodes on one link.
//
// The engine fills From, To and Link. The datagram's bytes are Header
// followed by Payload: the link layer writes each frame's header apart
// and shares the payload (one encoding of a Totem message) between the
// datagrams to every peer instead of copying it into each; Header is nil
// when Payload holds every byte. Both are immutable once the datagram has
// been returned in a Ready batch: the engine never writes to them again
// and may share them with other datagrams and its own state; the driver
// may keep them as long as it likes and must never modify them. Len and
// AppendTo give the bytes on the wire.
type Datagram struct {
	From    NodeID
	To      NodeID
	Link    LinkNo
	Header  []byte
	Payload []byte
}

// Len is the number of bytes the datagram carries (Header and Payload).
func (d Datagram) Len() int { return len(d.Header) + len(d.Payload) }

// AppendTo appends the datagram's bytes, Header then Payload, to dst.
func (d Datagram) AppendTo(dst []byte) []byte {
	return append(append(dst, d.Header...), d.Payload...)
}

// Bytes returns the datagram's bytes in one slice: Payload itself when
// there is no Header, else a new slice holding both.
func (d Datagram) Bytes() []byte {
	if len(d.Header) == 0 {
		return d.Payload
	}
	return d.AppendTo(make([]byte, 0, d.Len()))
}
