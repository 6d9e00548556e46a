package udp

import (
	"strconv"
	"sync/atomic"
)

// Reason is why a received packet was rejected. The reader checks them in
// the order of the constants below and stops at the first that fails; a
// rejected packet is counted once and never parsed further.
type Reason uint8

// Reasons a received packet is rejected.
const (
	// RejectUnknownSource: the source address is not the configured address
	// of any peer on the link the packet arrived on (knet's
	// block_unlisted_ips).
	RejectUnknownSource Reason = iota
	// RejectOversized: longer than MaxPacket.
	RejectOversized
	// RejectBadSize: shorter than Overhead, the header and tag alone.
	RejectBadSize
	// RejectBadHeader: wrong magic number or version, or a link number
	// above 7.
	RejectBadHeader
	// RejectWrongLink: the header's link is not the link of the socket.
	RejectWrongLink
	// RejectSenderMismatch: the header's sender is not the node configured
	// at the source address.
	RejectSenderMismatch
	// RejectWrongDest: the header's destination is not this node.
	RejectWrongDest
	// RejectReplayed: the counter was seen already, has slid out of the
	// replay window, or belongs to an older epoch of the peer (replay.go).
	RejectReplayed
	// RejectAuth: the GCM tag does not verify, so the packet was not sealed
	// with this cluster's key, or was changed on the way.
	RejectAuth

	// NumReasons is the number of reasons, the length of Stats.Rejected.
	NumReasons = iota
)

var reasonNames = [NumReasons]string{
	RejectUnknownSource:  "unknown_source",
	RejectOversized:      "oversized",
	RejectBadSize:        "bad_size",
	RejectBadHeader:      "bad_header",
	RejectWrongLink:      "wrong_link",
	RejectSenderMismatch: "sender_mismatch",
	RejectWrongDest:      "wrong_destination",
	RejectReplayed:       "replayed",
	RejectAuth:           "auth_failed",
}

// String returns the reason's snake_case name, as logs and metrics use it.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Drop is why Send dropped a datagram before it reached a socket.
type Drop uint8

// Reasons Send drops a datagram.
const (
	// DropNoRoute: the destination is not a configured peer, has no address
	// on the datagram's link, the link is not configured here, or d.From is
	// not this node.
	DropNoRoute Drop = iota
	// DropOversized: the payload is longer than MaxPayload.
	DropOversized
	// DropFiltered: Config.DropFilter said so.
	DropFiltered
	// DropQueueFull: the link's send queue was full.
	DropQueueFull
	// DropClosed: Send was called after Close.
	DropClosed

	// NumDrops is the number of drop reasons, the length of Stats.Dropped.
	NumDrops = iota
)

var dropNames = [NumDrops]string{
	DropNoRoute:   "no_route",
	DropOversized: "oversized",
	DropFiltered:  "filtered",
	DropQueueFull: "queue_full",
	DropClosed:    "closed",
}

// String returns the drop reason's snake_case name.
func (d Drop) String() string {
	if int(d) < len(dropNames) {
		return dropNames[d]
	}
	return "drop(" + strconv.Itoa(int(d)) + ")"
}

// Stats is a snapshot of a Transport's counters, all cumulative since
// Listen. A datagram handed to Send ends up in exactly one of Sent,
// SendErrors, Dropped, or is still queued (or was discarded by Close); a
// packet read from a socket ends up in exactly one of Received or Rejected.
type Stats struct {
	// Sent counts packets written to a socket.
	Sent uint64
	// SendErrors counts socket writes that failed.
	SendErrors uint64
	// Dropped counts datagrams Send dropped, by reason.
	Dropped [NumDrops]uint64
	// Received counts packets that passed every check and were handed to
	// the receive callback.
	Received uint64
	// Rejected counts received packets dropped, by reason.
	Rejected [NumReasons]uint64
	// ReadErrors counts failed socket reads (other than by Close and
	// the ICMP errors counted in ICMPErrors).
	ReadErrors uint64
	// ICMPErrors counts the ICMP errors (port, host or network
	// unreachable) reported for a configured peer address.
	ICMPErrors uint64
}

// RejectedTotal returns the sum of Rejected.
func (s Stats) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// DroppedTotal returns the sum of Dropped.
func (s Stats) DroppedTotal() uint64 {
	var n uint64
	for _, v := range s.Dropped {
		n += v
	}
	return n
}

// counters are the live counters behind Stats, updated from Send's caller,
// the writers and the readers.
type counters struct {
	sent, sendErrors, received, readErrors atomic.Uint64
	icmpErrors                             atomic.Uint64
	dropped                                [NumDrops]atomic.Uint64
	rejected                               [NumReasons]atomic.Uint64
}

// snapshot reads every counter. The counters are read one by one, so a
// snapshot taken under traffic may be off by the packets in between.
func (c *counters) snapshot() Stats {
	s := Stats{
		Sent:       c.sent.Load(),
		SendErrors: c.sendErrors.Load(),
		Received:   c.received.Load(),
		ReadErrors: c.readErrors.Load(),
		ICMPErrors: c.icmpErrors.Load(),
	}
	for i := range c.dropped {
		s.Dropped[i] = c.dropped[i].Load()
	}
	for i := range c.rejected {
		s.Rejected[i] = c.rejected[i].Load()
	}
	return s
}
