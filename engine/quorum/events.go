package quorum

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event. Names appear in traces and golden files.
const (
	// EventQuorate: the node became quorate outside sync
	// ("This node is within the primary component").
	EventQuorate EventKind = iota + 1
	// EventInquorate: the node lost quorum outside sync ("... within the
	// non-primary component and will NOT provide any services").
	EventInquorate
	// EventSync: votequorum's sync finished for Ring (sync_activate); the
	// event carries the final result and Members.
	EventSync
	// EventExpectedVotes: this node's expected votes changed.
	EventExpectedVotes
	// EventLastManStanding: the last_man_standing window expired while
	// quorate and expected votes were lowered to the member count.
	EventLastManStanding
	// EventDeviceLost: no qdevice poll within the timeout; the device is
	// no longer alive and its vote is withdrawn ("lost contact with quorum device").
	EventDeviceLost
	// EventDeviceVote: this node's qdevice started or stopped casting its
	// vote (Detail: "cast" or "no_cast").
	EventDeviceVote
	// EventArbiterUp and EventArbiterDown: the qdevice's connection to
	// qnetd was established or given up (Detail: why).
	EventArbiterUp
	EventArbiterDown
	// EventDropped: an input was not acceptable and was dropped (Detail: why).
	EventDropped
	// EventConfigWarning: the configuration was adjusted as corosync does
	// with a CRIT log (Detail: what).
	EventConfigWarning
	// EventArbiterVote: the arbiter sent a decision to a client (Node).
	EventArbiterVote
	// EventArbiterClient: the arbiter accepted or dropped a client (Detail).
	EventArbiterClient
	// EventDeviceSetup: a configuration reload added the quorum device
	// (the node's corosync-qdevice started) or removed it (stopped); Detail
	// says which.
	EventDeviceSetup
)

var eventKindNames = [...]string{
	EventQuorate:         "quorate",
	EventInquorate:       "inquorate",
	EventSync:            "sync",
	EventExpectedVotes:   "expected_votes",
	EventLastManStanding: "last_man_standing",
	EventDeviceLost:      "qdevice_lost",
	EventDeviceVote:      "qdevice_vote",
	EventArbiterUp:       "arbiter_up",
	EventArbiterDown:     "arbiter_down",
	EventDropped:         "dropped",
	EventConfigWarning:   "config_warning",
	EventArbiterVote:     "arbiter_vote",
	EventArbiterClient:   "arbiter_client",
	EventDeviceSetup:     "qdevice_setup",
}

// String returns the event's name as it appears in traces.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something a node or an arbiter reports for traces, checks and
// reports. The numbers are this node's view right after the change.
type Event struct {
	At   wire.Instant
	Kind EventKind
	// Node is the node concerned: the sender of a dropped message, the
	// client an arbiter decided for; 0 when it is the reporting node itself.
	Node wire.NodeID
	Ring RingID

	// Quorate and the numbers are the reporting node's view right after
	// the change (zero in an arbiter's events).
	Quorate bool

	ExpectedVotes, HighestExpected, TotalVotes, Quorum int

	// Members is EventSync's configuration.
	Members []wire.NodeID
	// Vote is EventArbiterVote's decision.
	Vote Vote
	// Detail says what or why, in words.
	Detail string
}

// String prints a compact one-line form for traces and golden files.
func (e Event) String() string {
	var sb strings.Builder
	sb.WriteString(e.Kind.String())
	if e.Node != 0 {
		fmt.Fprintf(&sb, " node=%d", e.Node)
	}
	switch e.Kind {
	case EventQuorate, EventInquorate, EventSync, EventExpectedVotes, EventLastManStanding, EventDeviceLost:
		fmt.Fprintf(&sb, " ring=%v quorate=%v E=%d H=%d T=%d Q=%d", e.Ring, yesNo(e.Quorate),
			e.ExpectedVotes, e.HighestExpected, e.TotalVotes, e.Quorum)
		if e.Kind == EventSync {
			fmt.Fprintf(&sb, " members=%s", idList(e.Members))
		}
	case EventArbiterVote:
		fmt.Fprintf(&sb, " ring=%v vote=%v", e.Ring, e.Vote)
	}
	if e.Detail != "" {
		sb.WriteString(" " + e.Detail)
	}
	return sb.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// idList prints ids as "1,2,3" ("-" when empty).
func idList(ids []wire.NodeID) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return strings.Join(parts, ",")
}
