package totem

import (
	"fmt"
	"strconv"

	"github.com/quorate/quorate/engine/wire"
)

// State is the membership state of a processor (spec §3, corosync memb_state).
type State uint8

// The four membership states.
const (
	StateOperational State = iota + 1
	StateGather
	StateCommit
	StateRecovery
)

var stateNames = [...]string{
	StateOperational: "OPERATIONAL",
	StateGather:      "GATHER",
	StateCommit:      "COMMIT",
	StateRecovery:    "RECOVERY",
}

// String returns the state's name as corosync logs it.
func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// RingID identifies a ring: its representative and a sequence number that
// grows by at least 4 per membership change (spec §8).
type RingID struct {
	Rep wire.NodeID
	Seq uint64
}

// String prints the ring id as corosync does ("%x.%lx", e.g. "1.1a8").
func (id RingID) String() string { return fmt.Sprintf("%x.%x", uint32(id.Rep), id.Seq) }

// DeliveryKind says what a Delivery carries.
type DeliveryKind uint8

// The kinds of Delivery.
const (
	// DeliverMessage is an application message in agreed order.
	DeliverMessage DeliveryKind = iota + 1
	// DeliverTransitional is a transitional configuration (old ∩ new ring).
	DeliverTransitional
	// DeliverRegular is a regular configuration (the new ring).
	DeliverRegular
)

var deliveryKindNames = [...]string{
	DeliverMessage:      "message",
	DeliverTransitional: "transitional",
	DeliverRegular:      "regular",
}

// String returns the kind's name as used in traces.
func (k DeliveryKind) String() string {
	if int(k) < len(deliveryKindNames) && deliveryKindNames[k] != "" {
		return deliveryKindNames[k]
	}
	return "DeliveryKind(" + strconv.Itoa(int(k)) + ")"
}

// Delivery is one item of the totally ordered output stream: a message or a
// configuration change, in extended-virtual-synchrony order (spec §7.4).
//
// For messages, RingID and Seq are the ring the message was sequenced on and
// its sequence number there. For configurations, RingID is the new ring and
// the lists are sorted ascending.
type Delivery struct {
	Kind   DeliveryKind
	RingID RingID
	Sender wire.NodeID
	Seq    uint32
	// Part is the message's place among the messages packed into the
	// Totem message at Seq (pack.go): 0 for the first or only one.
	Part    uint16
	Payload []byte

	Members, Left, Joined []wire.NodeID
}

// String prints a compact one-line form for traces and golden files.
func (d Delivery) String() string {
	switch d.Kind {
	case DeliverMessage:
		if d.Part > 0 {
			return fmt.Sprintf("msg ring=%s seq=%d part=%d from=%d %q", d.RingID, d.Seq, d.Part, d.Sender, d.Payload)
		}
		return fmt.Sprintf("msg ring=%s seq=%d from=%d %q", d.RingID, d.Seq, d.Sender, d.Payload)
	default:
		return fmt.Sprintf("%s ring=%s members=%v left=%v joined=%v", d.Kind, d.RingID, d.Members, d.Left, d.Joined)
	}
}

// Send is one datagram to hand to the link layer. To == 0 means multicast:
// send to every other node of the configured nodelist.
type Send struct {
	To      wire.NodeID
	Payload []byte
}

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event.
const (
	// EventState: the membership state changed (Detail: "GATHER from …").
	EventState EventKind = iota + 1
	// EventTokenLost: the token timer expired (Detail: the state).
	EventTokenLost
	// EventConsensusTimeout: consensus expired; Nodes were moved to the failed list.
	EventConsensusTimeout
	// EventFailedToReceive: this node held the aru down for fail_recv_const visits.
	EventFailedToReceive
	// EventRetransmitList: the token carried retransmission requests (Detail: hex seqs).
	EventRetransmitList
	// EventDropped: a received datagram was discarded (Detail: the reason).
	EventDropped
	// EventMembership: a new ring was installed ("A new membership (…) was formed").
	EventMembership
	// EventMergeDetect: the rep multicast MERGE_DETECT.
	EventMergeDetect
	// EventTokenWarning: corosync's "Token has not been received in X
	// ms" (token_warning, 75% of the token timeout; Detail: the message).
	EventTokenWarning
)

var eventKindNames = [...]string{
	EventState:            "state",
	EventTokenLost:        "token_lost",
	EventConsensusTimeout: "consensus_timeout",
	EventFailedToReceive:  "failed_to_receive",
	EventRetransmitList:   "retransmit_list",
	EventDropped:          "dropped",
	EventMembership:       "membership",
	EventMergeDetect:      "merge_detect",
	EventTokenWarning:     "token_warning",
}

// String returns the kind's name as it appears in traces.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened inside the ring, for traces and checks.
type Event struct {
	Kind   EventKind
	From   wire.NodeID // EventDropped: the sender of the datagram
	Nodes  []wire.NodeID
	Detail string
	// State is EventState's new state, typed, so that a driver acts on
	// it without reading Detail back.
	State State
}

// String prints the event on one line.
func (e Event) String() string {
	s := e.Kind.String()
	if e.From != 0 {
		s += " from=" + e.From.String()
	}
	if e.Nodes != nil {
		s += fmt.Sprintf(" nodes=%v", e.Nodes)
	}
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}

// DropReason classifies discarded input for Stats.
type DropReason uint8

// The reasons a received datagram is discarded.
const (
	DropMalformed    DropReason = iota // does not decode
	DropForged                         // header sender ≠ link sender, unknown node, or self
	DropStaleToken                     // token_seq not newer (retransmitted duplicate)
	DropForeignToken                   // token of another ring or while not accepting tokens
	DropDuplicate                      // message already in the sort queue or out of range
	DropWrongState                     // message meaningless in the current state
	dropReasons
)

var dropReasonNames = [...]string{
	DropMalformed:    "malformed",
	DropForged:       "forged",
	DropStaleToken:   "stale_token",
	DropForeignToken: "foreign_token",
	DropDuplicate:    "duplicate",
	DropWrongState:   "wrong_state",
}

// String returns the reason's name.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) {
		return dropReasonNames[r]
	}
	return "DropReason(" + strconv.Itoa(int(r)) + ")"
}

// Stats are counters for status reports (corosync's totemsrp stats).
type Stats struct {
	TokensReceived   uint64 // accepted regular tokens
	TokensSent       uint64 // regular tokens forwarded or retransmitted
	TokenRetransmits uint64 // token retransmit timer expiries that re-sent
	McastTx          uint64 // new frames multicast (a frame packs the messages queued between two visits)
	McastRetx        uint64 // frames re-multicast on request
	McastRx          uint64 // frames accepted into a sort queue
	Delivered        uint64 // messages delivered to the application (every part of a frame)
	CommitTokensSent uint64
	JoinsSent        uint64
	GatherEntered    uint64
	CommitEntered    uint64
	RecoveryEntered  uint64
	OperationalEnter uint64
	TokenLost        uint64
	ConsensusTimeout uint64
	ContinuousGather uint64
	FailedToReceive  uint64
	HoldCancelSent   uint64
	MergeDetectSent  uint64
	Dropped          [dropReasons]uint64 // indexed by DropReason
}
