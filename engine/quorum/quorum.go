package quorum

import (
	"github.com/quorate/quorate/engine/invariant"

	"fmt"
	"slices"
	"strconv"

	"github.com/quorate/quorate/engine/wire"
)

// NodeState is votequorum's view of a node (NODESTATE_*).
type NodeState uint8

// The node states.
const (
	NodeMember NodeState = iota + 1
	NodeDead
	NodeLeaving
)

// String returns the state's name as corosync-quorumtool prints it.
func (s NodeState) String() string {
	switch s {
	case NodeMember:
		return "Member"
	case NodeDead:
		return "Dead"
	case NodeLeaving:
		return "Leaving"
	}
	return "NodeState(" + strconv.Itoa(int(s)) + ")"
}

// node is votequorum's cluster_node.
type node struct {
	id       wire.NodeID
	state    NodeState
	votes    int
	expected int
	flags    NodeFlags
}

// StreamOp is one thing to do on the qdevice's stream to the arbiter.
type StreamOp struct {
	// Dial opens a new stream, replacing any old one (whose bytes must no
	// longer be delivered); Hangup closes the stream; otherwise Payload is
	// one message to write.
	Dial, Hangup bool
	Payload      []byte
}

// Ready is the work a Quorum has for its driver, in the order to perform it.
// The driver owns the slices once returned.
type Ready struct {
	// Multicast holds votequorum messages to send through Totem in agreed
	// order, in this order. Each is delivered back to every member of the
	// configuration, this node included, through Deliver.
	Multicast [][]byte
	// Arbiter holds the qdevice's operations on its stream to the arbiter,
	// in order (nil without a quorum device).
	Arbiter []StreamOp
	// Events reports what happened, in order.
	Events []Event
	// Deadline is when Advance is due at the latest; 0 means no timer.
	Deadline wire.Instant
}

// Stats counts a node's inputs.
type Stats struct {
	Delivered uint64 // votequorum messages accepted
	Dropped   uint64 // messages and stream input dropped as odd
	Sent      uint64 // messages multicast
}

// canaryKnobs plant known bugs for the canary tests; always zero in use.
type canaryKnobs struct {
	// skipDeadMarking: sync_init forgets to mark departed members DEAD,
	// so their votes keep counting.
	skipDeadMarking bool
}

// Quorum is one node's votequorum: a deterministic state machine driven
// by configuration changes, agreed messages and time. See the package
// documentation for the driver loop.
type Quorum struct {
	cfg Config // the configuration currently loaded (for reloads)
	s   settings

	nodes []node // every node heard of, sorted by id (cluster_members_list)
	dev   node   // the quorum device pseudo-node (nodeid 0)

	quorum     int
	quorate    bool
	wfaStatus  bool
	lowest     wire.NodeID
	highest    wire.NodeID
	reportedEV int  // expected votes last reported in an event
	reportedQ  bool // quorate state last reported in an event

	haveRing    bool
	ring        RingID
	members     []wire.NodeID // quorum_members
	prevMembers []wire.NodeID // previous_quorum_members

	syncing bool
	// syncHeld: SyncInit ran, votequorum's turn in the node's service
	// synchronisation has not come yet (SyncProcess).
	syncHeld         bool
	syncNodeinfoSent bool
	syncWaitPoll     bool
	barrierSent      bool
	barriers         []wire.NodeID

	lmsDeadline wire.Instant
	devDeadline wire.Instant

	devName       string
	devCanOperate bool
	masterWins    bool
	regPending    bool
	client        *client

	rd     Ready
	stats  Stats
	canary canaryKnobs
}

// assert panics with the engine's invariant.Violation (style.md §5).
func assert(cond bool, what string) { invariant.Assert(cond, "quorum", what) }

// New validates cfg and returns the votequorum of node cfg.Self started at
// now (votequorum_exec_init_fn): it announces itself with a NODEINFO in
// the first Ready and, with a quorum device, registers the device. Bad
// configuration is an error; New never panics on it.
func New(cfg Config, now wire.Instant) (*Quorum, error) {
	s, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	q := &Quorum{cfg: cfg, s: s, devCanOperate: true}
	q.nodes = []node{{id: s.self, state: NodeMember, votes: s.init.Votes, expected: s.init.ExpectedVotes, flags: FlagFirst}}
	q.dev.votes = s.init.DeviceVotes
	q.reportedEV = s.init.ExpectedVotes
	if s.wfa {
		q.setWFAStatus(true)
	}
	for _, w := range s.warnings {
		q.event(now, Event{Kind: EventConfigWarning, Detail: w})
	}
	q.recalculate(now, false, false)
	q.sendNodeInfo(s.self)
	if s.device != nil {
		q.client = newClient(q, *s.device, s.self, nodeIDs(s.nodes), s.wfa)
		q.client.register(now)
	}
	return q, nil
}

// ID returns this node's id.
func (q *Quorum) ID() wire.NodeID { return q.s.self }

// Stats returns the node's counters.
func (q *Quorum) Stats() Stats { return q.stats }

// find returns the node entry for id, or nil (find_node_by_nodeid; id 0
// is the quorum device).
func (q *Quorum) find(id wire.NodeID) *node {
	if id == 0 {
		return &q.dev
	}
	i, ok := slices.BinarySearchFunc(q.nodes, id, func(n node, id wire.NodeID) int { return cmpID(n.id, id) })
	if !ok {
		return nil
	}
	return &q.nodes[i]
}

// allocate adds a node entry for id in id order (allocate_node).
func (q *Quorum) allocate(id wire.NodeID) *node {
	i, ok := slices.BinarySearchFunc(q.nodes, id, func(n node, id wire.NodeID) int { return cmpID(n.id, id) })
	assert(!ok && id != 0, "allocate an existing node")
	q.nodes = slices.Insert(q.nodes, i, node{id: id, state: NodeDead})
	return &q.nodes[i]
}

func cmpID(a, b wire.NodeID) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// us returns this node's own entry.
func (q *Quorum) us() *node {
	n := q.find(q.s.self)
	assert(n != nil, "own node entry exists")
	return n
}

func nodeIDs(ns []NodeConfig) []wire.NodeID {
	ids := make([]wire.NodeID, len(ns))
	for i, n := range ns {
		ids[i] = n.ID
	}
	return ids
}

// multicast queues m for Totem.
func (q *Quorum) multicast(m Message) {
	q.rd.Multicast = append(q.rd.Multicast, AppendMessage(nil, m))
	q.stats.Sent++
}

// event records e with the node's current numbers.
func (q *Quorum) event(now wire.Instant, e Event) {
	e.At = now
	e.Ring = q.ring
	e.Quorate = q.quorate
	e.ExpectedVotes = q.us().expected
	e.HighestExpected, e.TotalVotes = q.highestAndTotal()
	e.Quorum = q.quorum
	q.rd.Events = append(q.rd.Events, e)
}

// drop counts and reports an odd input.
func (q *Quorum) drop(now wire.Instant, from wire.NodeID, why string) {
	q.stats.Dropped++
	q.event(now, Event{Kind: EventDropped, Node: from, Detail: why})
}

// sendNodeInfo multicasts NODEINFO for this node or the device
// (votequorum_exec_send_nodeinfo).
func (q *Quorum) sendNodeInfo(id wire.NodeID) {
	n := q.find(id)
	q.multicast(NodeInfo{NodeID: id, Votes: uint32(n.votes), ExpectedVotes: uint32(n.expected), Flags: n.flags})
}

// setWFAStatus is update_wait_for_all_status.
func (q *Quorum) setWFAStatus(on bool) {
	q.wfaStatus = on
	if on {
		q.us().flags |= FlagWFAStatus
	} else {
		q.us().flags &^= FlagWFAStatus
	}
}

// Ready returns the outstanding work. Calling it again without Ack
// returns the same work plus anything new.
func (q *Quorum) Ready() Ready {
	q.rd.Deadline = q.deadline()
	return q.rd
}

// Deadline is Ready().Deadline without the rest of the batch: the next
// timer, 0 for none.
func (q *Quorum) Deadline() wire.Instant { return q.deadline() }

// Ack tells the node the driver has performed everything Ready returned.
func (q *Quorum) Ack() { q.rd = Ready{} }

// Pending reports whether Ready has anything besides its Deadline: most
// inputs leave votequorum with no output, and the node asks after every
// one.
func (q *Quorum) Pending() bool {
	return len(q.rd.Multicast) > 0 || len(q.rd.Arbiter) > 0 || len(q.rd.Events) > 0
}

// deadline is the earliest pending timer.
func (q *Quorum) deadline() wire.Instant {
	d := earliest(q.lmsDeadline, q.devDeadline)
	if q.client != nil {
		d = earliest(d, q.client.deadline())
	}
	return d
}

// earliest returns the earlier non-zero instant (0 when both are 0).
func earliest(a, b wire.Instant) wire.Instant {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// Advance fires every timer whose deadline is at or before now, in
// deadline order: the last_man_standing window, the qdevice poll timeout,
// and the qdevice client's poll, heartbeat and connect timers.
func (q *Quorum) Advance(now wire.Instant) {
	for guard := 0; ; guard++ {
		assert(guard < 1<<16, "timers make progress")
		d := q.deadline()
		if d == 0 || d > now {
			return
		}
		switch {
		case q.lmsDeadline != 0 && q.lmsDeadline == d:
			q.lmsDeadline = 0
			q.lastManStandingTimer(d)
		case q.devDeadline != 0 && q.devDeadline == d:
			q.devDeadline = 0
			q.qdeviceTimer(d)
		default:
			q.client.advance(d)
		}
	}
}

// lastManStandingTimer is votequorum_last_man_standing_timer_fn: when
// still quorate, lower expected votes to the current member count.
func (q *Quorum) lastManStandingTimer(now wire.Instant) {
	if !q.quorate {
		return
	}
	q.recalculate(now, true, true)
	q.reportedEV = q.us().expected
	q.event(now, Event{Kind: EventLastManStanding})
}

// String prints a one-line summary for traces.
func (q *Quorum) String() string {
	st := q.Status()
	return fmt.Sprintf("node %d: %v", q.s.self, st)
}
