package store

import (
	"fmt"
	"strconv"

	"github.com/quorate/quorate/engine/wire"
)

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event. The log words follow pmxcfs's (dfsm.c) where it has one.
const (
	// EventSyncStart: a regular configuration came; Nodes are its members
	// ("starting data syncronisation").
	EventSyncStart EventKind = iota + 1
	// EventLeader: every member's state is in; Node is the leader
	// ("leader is <nodeid>"), Detail says whether a transfer follows.
	EventLeader
	// EventSynced: every member has the leader's state ("all data is up to date").
	EventSynced
	// EventTransfer: this node installed the leader's snapshot (Node).
	EventTransfer
	// EventTransferFailed: the leader's snapshot did not verify here; this
	// node stays unsynced until the next configuration.
	EventTransferFailed
	// EventWritable: the configuration's agreed quorum verdict became quorate.
	EventWritable
	// EventReadOnly: the configuration is no longer writable (Detail: why).
	EventReadOnly
	// EventUnlockRequest: this node, the lowest member, asked to remove an
	// expired lock (Detail: the key).
	EventUnlockRequest
	// EventDropped: a delivered message was discarded (Node: sender, Detail: reason).
	EventDropped
)

var eventKindNames = [...]string{
	EventSyncStart:      "sync_start",
	EventLeader:         "leader",
	EventSynced:         "synced",
	EventTransfer:       "transfer",
	EventTransferFailed: "transfer_failed",
	EventWritable:       "writable",
	EventReadOnly:       "read_only",
	EventUnlockRequest:  "unlock_request",
	EventDropped:        "dropped",
}

// String returns the kind's name as it appears in traces.
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is something that happened in the store, for traces and checks.
type Event struct {
	Kind   EventKind
	Ring   RingRef
	Node   wire.NodeID
	Nodes  []wire.NodeID
	Detail string
}

// String prints the event on one line.
func (e Event) String() string {
	s := e.Kind.String() + " ring=" + e.Ring.String()
	if e.Node != 0 {
		s += " node=" + e.Node.String()
	}
	if e.Nodes != nil {
		s += fmt.Sprintf(" nodes=%v", e.Nodes)
	}
	if e.Detail != "" {
		s += " " + e.Detail
	}
	return s
}
