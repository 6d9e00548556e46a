package quorum

import (
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// ArbiterOut is one thing the arbiter does on a client's stream: write
// Payload (one message) to client To, or Close the stream.
type ArbiterOut struct {
	To      wire.NodeID
	Close   bool
	Payload []byte
}

// ArbiterReady is the arbiter's work for its driver, in order.
type ArbiterReady struct {
	Out      []ArbiterOut
	Events   []Event
	Deadline wire.Instant // 0: no timer
}

// ArbiterStats counts an arbiter's inputs.
type ArbiterStats struct {
	Received uint64
	Dropped  uint64
}

// dpdCoefficient is qnetd's dpd_interval_coefficient: a client that sends
// nothing for 1.5 heartbeat intervals is disconnected.
const dpdCoefficient = 1.5

// Heartbeat bounds qnetd accepts (QNETD_DEFAULT_HEARTBEAT_INTERVAL_MIN/MAX).
const (
	minHeartbeat = time.Second
	maxHeartbeat = 2 * time.Minute
)

// ffClientState is qnetd_algo_ffsplit_client_state.
type ffClientState uint8

const (
	ffWaitingForChange ffClientState = iota
	ffSendingNACK
	ffSendingACK
)

// ffClusterState is qnetd_algo_ffsplit_cluster_state.
type ffClusterState uint8

const (
	ffClusterWaitingForChange ffClusterState = iota
	ffClusterWaitingForStable
	ffClusterSendingNACKs
	ffClusterSendingACKs
)

// arbClient is qnetd's view of one connected qdevice (qnetd_client).
type arbClient struct {
	node      wire.NodeID
	inited    bool
	algo      Algorithm
	tie       TieBreaker
	heartbeat time.Duration
	config    []wire.NodeID // configuration_node_list
	ring      RingID        // last_ring_id
	members   []wire.NodeID // last_membership_node_list
	dpd       wire.Instant

	// ffsplit
	ffState ffClientState
	voteSeq uint32 // vote_info_expected_seq_num

	// lms
	lmsLast   Vote // last_result; VoteUndefined = new
	algoTimer wire.Instant
	algoSeq   uint32
}

// Arbiter is corosync-qnetd serving one cluster: a deterministic state
// machine that takes client streams (Connect, Receive, Disconnect) and
// time (Advance), and answers with messages and decisions in Ready. It
// implements the ffsplit and lms algorithms with the lowest, highest and
// nodeid tie-breakers (qnetd-algo-ffsplit.c, qnetd-algo-lms.c). An arbiter
// that fails silently is simply no longer driven; a restarted one is a new
// Arbiter.
type Arbiter struct {
	clients []*arbClient // connection order (the cluster's client_list)

	ffState          ffClusterState
	quoratePartition []wire.NodeID // the last partition ffsplit chose

	rd    ArbiterReady
	stats ArbiterStats
}

// NewArbiter returns an arbiter with no clients.
func NewArbiter() *Arbiter { return &Arbiter{} }

// Stats returns the arbiter's counters.
func (a *Arbiter) Stats() ArbiterStats { return a.stats }

// Ready returns the outstanding work; calling it again without Ack
// returns the same work plus anything new.
func (a *Arbiter) Ready() ArbiterReady {
	a.rd.Deadline = 0
	for _, c := range a.clients {
		if c.inited {
			a.rd.Deadline = earliest(a.rd.Deadline, c.dpd)
		}
		a.rd.Deadline = earliest(a.rd.Deadline, c.algoTimer)
	}
	return a.rd
}

// Ack tells the arbiter the driver has performed everything Ready returned.
func (a *Arbiter) Ack() { a.rd = ArbiterReady{} }

// Clients lists the connected clients' nodeids in connection order.
func (a *Arbiter) Clients() []wire.NodeID {
	ids := make([]wire.NodeID, len(a.clients))
	for i, c := range a.clients {
		ids[i] = c.node
	}
	return ids
}

func (a *Arbiter) event(now wire.Instant, e Event) {
	e.At = now
	a.rd.Events = append(a.rd.Events, e)
}

func (a *Arbiter) send(to wire.NodeID, m DevMsg) {
	a.rd.Out = append(a.rd.Out, ArbiterOut{To: to, Payload: AppendDevMsg(nil, m)})
}

func (a *Arbiter) client(node wire.NodeID) *arbClient {
	i := slices.IndexFunc(a.clients, func(c *arbClient) bool { return c.node == node })
	if i < 0 {
		return nil
	}
	return a.clients[i]
}

// Connect accepts a new stream from node's qdevice. A client the arbiter
// still holds for that node is dropped first, as its old stream is gone.
func (a *Arbiter) Connect(now wire.Instant, node wire.NodeID) {
	if a.client(node) != nil {
		a.remove(now, node, "replaced by a new connection")
	}
	a.clients = append(a.clients, &arbClient{node: node})
	a.event(now, Event{Kind: EventArbiterClient, Node: node, Detail: "connected"})
}

// Disconnect tells the arbiter node's stream closed.
func (a *Arbiter) Disconnect(now wire.Instant, node wire.NodeID) {
	if a.client(node) != nil {
		a.remove(now, node, "disconnected")
	}
}

// remove drops a client and lets its algorithm react
// (qnetd_algo_*_client_disconnect).
func (a *Arbiter) remove(now wire.Instant, node wire.NodeID, why string) {
	i := slices.IndexFunc(a.clients, func(c *arbClient) bool { return c.node == node })
	c := a.clients[i]
	a.clients = slices.Delete(a.clients, i, i+1)
	a.event(now, Event{Kind: EventArbiterClient, Node: node, Detail: why})
	if c.inited && c.algo == AlgorithmFFSplit && len(a.clients) > 0 {
		a.ffsplitDo(now)
	}
	if len(a.clients) == 0 {
		a.ffState, a.quoratePartition = ffClusterWaitingForChange, nil
	}
}

// drop counts and reports odd input from a client.
func (a *Arbiter) drop(now wire.Instant, node wire.NodeID, why string) {
	a.stats.Dropped++
	a.event(now, Event{Kind: EventDropped, Node: node, Detail: why})
}

// Advance fires every timer due at or before now: dead-peer detection
// (a silent client is disconnected and its stream closed) and the lms
// algorithm's retry timer.
func (a *Arbiter) Advance(now wire.Instant) {
	for guard := 0; ; guard++ {
		assert(guard < 1<<16, "arbiter timers make progress")
		var due *arbClient
		var at wire.Instant
		for _, c := range a.clients {
			if c.inited && c.dpd <= now && (due == nil || c.dpd < at) {
				due, at = c, c.dpd
			}
			if c.algoTimer != 0 && c.algoTimer <= now && (due == nil || c.algoTimer < at) {
				due, at = c, c.algoTimer
			}
		}
		if due == nil {
			return
		}
		if due.inited && due.dpd == at {
			a.rd.Out = append(a.rd.Out, ArbiterOut{To: due.node, Close: true})
			a.remove(at, due.node, fmt.Sprintf("sent nothing for %v", time.Duration(float64(due.heartbeat)*dpdCoefficient)))
			continue
		}
		due.algoTimer = 0
		a.lmsTimer(at, due)
	}
}

// Receive hands the arbiter one message from node's stream. Odd input is
// dropped, counted and reported; Receive never panics.
func (a *Arbiter) Receive(now wire.Instant, node wire.NodeID, payload []byte) {
	c := a.client(node)
	if c == nil {
		a.drop(now, node, "message without a connection")
		return
	}
	m, err := DecodeDevMsg(payload)
	if err != nil {
		a.drop(now, node, "decode: "+err.Error())
		return
	}
	if !c.inited && m.Kind != DevInit {
		a.drop(now, node, m.Kind.String()+" before init")
		return
	}
	a.stats.Received++
	if c.inited {
		c.dpd = now.Add(time.Duration(float64(c.heartbeat) * dpdCoefficient))
	}
	switch m.Kind {
	case DevInit:
		a.onInit(now, c, m)
	case DevMembership:
		if len(m.Nodes) == 0 || !slices.Contains(m.Nodes, c.node) {
			a.drop(now, node, "membership list without the client")
			return
		}
		a.onMembership(now, c, m)
	case DevQuorum:
		vote := VoteNoChange
		if c.algo == AlgorithmLMS {
			vote = a.lmsDo(now, c, c.ring)
		}
		a.send(c.node, DevMsg{Kind: DevReply, Seq: m.Seq, Reply: DevQuorum, Ring: c.ring, Vote: vote})
	case DevVoteInfoReply:
		if c.algo == AlgorithmFFSplit {
			a.ffsplitVoteInfoReply(now, c, m.Seq)
		}
	case DevEcho:
		a.send(c.node, DevMsg{Kind: DevEchoReply, Seq: m.Seq})
	default:
		a.drop(now, node, "unexpected "+m.Kind.String())
	}
}

// onInit registers a client, or takes a changed config node list from a
// registered one.
func (a *Arbiter) onInit(now wire.Instant, c *arbClient, m DevMsg) {
	nodes := slices.Clone(m.Nodes)
	slices.Sort(nodes)
	validList := len(nodes) > 0 && slices.Contains(nodes, c.node) && !slices.Contains(nodes, 0) &&
		len(slices.Compact(slices.Clone(nodes))) == len(nodes)
	if c.inited {
		if m.NodeID != c.node || !validList {
			a.drop(now, c.node, "bad config node list")
			return
		}
		c.config = nodes
		if c.algo == AlgorithmFFSplit && len(c.members) > 0 {
			a.ffsplitDo(now)
		}
		return
	}
	reply := InitOK
	switch {
	case m.NodeID != c.node || !validList:
		reply = InitInvalidNodeList
	case slices.ContainsFunc(a.clients, func(o *arbClient) bool { return o.inited && o.algo != m.Algorithm }):
		reply = InitUnsupportedAlgorithm
	case m.Heartbeat < minHeartbeat || m.Heartbeat > maxHeartbeat:
		reply = InitInvalidNodeList
	}
	a.send(c.node, DevMsg{Kind: DevInitReply, Seq: m.Seq, Error: reply})
	if reply != InitOK {
		a.rd.Out = append(a.rd.Out, ArbiterOut{To: c.node, Close: true})
		a.remove(now, c.node, "init refused: "+reply.String())
		return
	}
	c.inited, c.algo, c.tie, c.heartbeat, c.config = true, m.Algorithm, m.TieBreaker, m.Heartbeat, nodes
	c.ring = m.Ring // qnetd takes the client's ring id from its init message
	c.dpd = now.Add(time.Duration(float64(c.heartbeat) * dpdCoefficient))
	a.event(now, Event{Kind: EventArbiterClient, Node: c.node, Detail: "init " + m.Algorithm.String()})
}

// onMembership takes a client's new ring and member list and runs the
// algorithm; the reply carries the client's vote.
func (a *Arbiter) onMembership(now wire.Instant, c *arbClient, m DevMsg) {
	members := slices.Clone(m.Nodes)
	slices.Sort(members)
	var vote Vote
	switch c.algo {
	case AlgorithmFFSplit:
		c.ring, c.members = m.Ring, members
		vote = a.ffsplitDo(now)
	case AlgorithmLMS:
		// qnetd runs lms with the new ring id but the stored (previous)
		// membership, and stores the new one afterwards.
		vote = a.lmsDo(now, c, m.Ring)
		c.ring, c.members = m.Ring, members
	}
	a.send(c.node, DevMsg{Kind: DevReply, Seq: m.Seq, Reply: DevMembership, Ring: m.Ring, Vote: vote})
}

// sendVote sends a VoteInfo to c and reports it.
func (a *Arbiter) sendVote(now wire.Instant, c *arbClient, seq uint32, v Vote) {
	a.send(c.node, DevMsg{Kind: DevVoteInfo, Seq: seq, Ring: c.ring, Vote: v})
	a.event(now, Event{Kind: EventArbiterVote, Node: c.node, Ring: c.ring, Vote: v})
}
