package wire

import "strconv"

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event. New kinds are appended; the numbering is part of no
// wire format, but the names appear in traces and reports.
const (
	// EventLinkUp: the heartbeat declared link Link to Peer up.
	EventLinkUp EventKind = iota + 1
	// EventLinkDown: the heartbeat declared link Link to Peer down.
	EventLinkDown
	// EventActiveLink: the link(s) carrying traffic to Peer changed. Active
	// holds the link in use (passive) or the lowest usable one (active, rr),
	// or NoLink when the peer has become unreachable.
	EventActiveLink
	// EventPacketRejected: a datagram from Peer on Link could not be
	// decoded and was dropped; Detail says why.
	EventPacketRejected
	// EventMembership: Totem installed a new ring; Nodes are its members,
	// Detail names the ring.
	EventMembership
	// EventTotem: any other Totem event (state change, token loss,
	// consensus timeout, retransmit list, dropped message); Detail says
	// which, Peer is the sender for a dropped message.
	EventTotem
	// EventQuorum: votequorum's view changed (quorate, the votes, a
	// configuration synced); Detail has the numbers.
	EventQuorum
	// EventQuorumInfo: any other votequorum or qdevice event.
	EventQuorumInfo
	// EventStore: the replicated store synced, chose a leader, refused or
	// dropped something; Detail says what.
	EventStore
	// EventSync: the service synchronisation after a regular
	// configuration completed, was aborted, or found a difference; Nodes
	// are the configuration's members.
	EventSync
)

var eventKindNames = [...]string{
	EventLinkUp:         "link_up",
	EventLinkDown:       "link_down",
	EventActiveLink:     "active_link",
	EventPacketRejected: "packet_rejected",
	EventMembership:     "membership",
	EventTotem:          "totem",
	EventQuorum:         "quorum",
	EventQuorumInfo:     "quorum_info",
	EventStore:          "store",
	EventSync:           "sync",
}

// String returns the event's name as it appears in traces.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "event_" + NodeID(k).String()
}

// Event is something externally visible that happened inside a node: the
// driver traces it, checks it and reports it. The engine logs through events
// only; it has no logger of its own.
type Event struct {
	Kind   EventKind
	Peer   NodeID
	Link   LinkNo
	Active int8 // EventActiveLink: link in use, or NoLink
	Nodes  []NodeID
	Detail string

	// Sub is the reporting layer's own name for the event (Totem's
	// "token_lost", votequorum's "inquorate", ...), so that a driver acts
	// on it or records it without reading Detail back.
	Sub string
	// Ring is the ring the event is about: the new ring of an
	// EventMembership, votequorum's ring of an EventQuorum; zero otherwise.
	Ring RingRef
	// Quorate is votequorum's verdict in an EventQuorum.
	Quorate bool
	// State is the Totem membership state a "state" EventTotem entered,
	// lower case (gather, commit, recovery, operational); "" otherwise.
	State string
}

// RingRef names a Totem ring: its representative and sequence number.
type RingRef struct {
	Rep NodeID
	Seq uint64
}

// IsZero reports whether r names no ring.
func (r RingRef) IsZero() bool { return r == RingRef{} }

// String prints the ring id as corosync does ("%x.%lx", e.g. "1.1a8").
func (r RingRef) String() string {
	return strconv.FormatUint(uint64(r.Rep), 16) + "." + strconv.FormatUint(r.Seq, 16)
}
