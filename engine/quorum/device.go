package quorum

import (
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// connState is the qdevice client's connection state (qdevice_net_instance
// states, reduced).
type connState uint8

const (
	connDown    connState = iota // no stream; maybe waiting to redial
	connDialing                  // Dial issued, waiting for ArbiterConnected
	connInit                     // DevInit sent, waiting for DevInitReply
	connReady                    // WAITING_VOTEQUORUM_CMAP_EVENTS: lists sent, votes flowing
)

// client models corosync-qdevice with model net on one node: it registers
// with votequorum, talks to qnetd over a stream the driver carries, and
// polls votequorum with its cast-vote decision (qdevice-net-*.c).
type client struct {
	q          *Quorum
	cfg        DeviceConfig
	self       wire.NodeID
	nodes      []wire.NodeID // config node list
	wfa        bool          // quorum.wait_for_all, for the lms rules
	heartbeat  time.Duration // qdevice → qnetd echo interval
	castEvery  time.Duration // votequorum poll interval
	connectTO  time.Duration
	redialWait time.Duration

	isRegistered bool
	state        connState
	dialDeadline wire.Instant
	redialAt     wire.Instant
	seq          uint32

	haveRing  bool
	ring      RingID
	members   []wire.NodeID
	quorate   bool
	sentRing  RingID // last_sent_ring_id
	sentValid bool

	vote     Vote // cast_vote_timer_vote
	polling  bool // the cast vote timer runs
	nextPoll wire.Instant

	nextEcho     wire.Instant
	echoExpected uint32
	echoReceived uint32

	stopped bool // the daemon is not running
}

// newClient derives the qdevice timers from quorum.device.timeout
// (qdevice_net_instance_init_from_cmap): poll every timeout×0.5, heartbeat
// timeout×0.8 clamped to 1 s..2 min, connect timeout = heartbeat.
func newClient(q *Quorum, cfg DeviceConfig, self wire.NodeID, nodes []wire.NodeID, wfa bool) *client {
	hb := min(max(cfg.Timeout*8/10, time.Second), 2*time.Minute)
	c := &client{q: q, cfg: cfg, self: self, nodes: nodes, wfa: wfa,
		heartbeat: hb, castEvery: cfg.Timeout / 2, connectTO: hb, vote: VoteAskLater}
	// qdevice sleeps random() % (0.9 × poll interval) before reconnecting;
	// the engine has no randomness, so it waits the mean of that draw.
	c.redialWait = c.castEvery * 45 / 100
	return c
}

// register asks votequorum to register the device (qdevice_votequorum_init).
func (c *client) register(now wire.Instant) { c.q.deviceRegister(DefaultDeviceName) }

// registered: the registration was delivered; set master_wins and, once a
// ring is known, connect to qnetd.
func (c *client) registered(now wire.Instant) {
	c.isRegistered = true
	if c.cfg.MasterWins {
		c.q.deviceMasterWins(true)
	}
	if c.haveRing && c.state == connDown && c.redialAt == 0 {
		c.dial(now)
	}
}

// deadline is the earliest pending client timer.
func (c *client) deadline() wire.Instant {
	var d wire.Instant
	if c.stopped {
		return 0
	}
	if c.polling {
		d = earliest(d, c.nextPoll)
	}
	if c.state == connReady {
		d = earliest(d, c.nextEcho)
	}
	if c.state == connDialing || c.state == connInit {
		d = earliest(d, c.dialDeadline)
	}
	if c.state == connDown {
		d = earliest(d, c.redialAt)
	}
	return d
}

// advance fires one client timer due at now; Quorum.Advance calls it with
// the client's earliest deadline until none is due, so timers fire in
// deadline order (ties: redial, connect timeout, echo, poll).
func (c *client) advance(now wire.Instant) {
	switch {
	case c.state == connDown && c.redialAt != 0 && c.redialAt <= now:
		c.redialAt = 0
		c.dial(now)
	case (c.state == connDialing || c.state == connInit) && c.dialDeadline <= now:
		c.disconnect(now, "connect timeout")
	case c.state == connReady && c.nextEcho <= now:
		c.nextEcho = now.Add(c.heartbeat)
		c.echoTimer(now)
	case c.polling && c.nextPoll <= now:
		c.nextPoll = now.Add(c.castEvery)
		c.poll(now)
	}
}

// poll is qdevice_net_cast_vote_timer_callback → votequorum_qdevice_poll.
// An old ring id is refused by votequorum and only logged by qdevice.
func (c *client) poll(now wire.Instant) {
	_ = c.q.devicePoll(now, c.ring, c.vote == VoteACK)
}

// updateVote is qdevice_net_cast_vote_timer_update.
func (c *client) updateVote(now wire.Instant, v Vote) {
	switch v {
	case VoteACK, VoteNACK:
		c.vote = v
		if !c.polling {
			c.polling = true
			c.nextPoll = now.Add(c.castEvery)
		}
		c.poll(now)
	case VoteAskLater, VoteWaitForReply:
		c.vote = v
		c.polling = false
	}
}

// send queues one message on the stream.
func (c *client) send(m DevMsg) {
	c.q.rd.Arbiter = append(c.q.rd.Arbiter, StreamOp{Payload: AppendDevMsg(nil, m)})
}

func (c *client) nextSeq() uint32 {
	c.seq++
	return c.seq
}

// dial opens a stream to qnetd.
func (c *client) dial(now wire.Instant) {
	c.q.rd.Arbiter = append(c.q.rd.Arbiter, StreamOp{Dial: true})
	c.state = connDialing
	c.dialDeadline = now.Add(c.connectTO)
}

// disconnect gives up the stream (reported only if it had been
// established, not for every failed dial); the algorithm decides what to vote
// meanwhile (qdevice_net_algo_*_disconnected): ffsplit votes NACK at once
// so two partitions never hold the vote; lms keeps its vote only if quorate
// with wait_for_all.
func (c *client) disconnect(now wire.Instant, why string) {
	wasConnected := c.state == connInit || c.state == connReady
	c.q.rd.Arbiter = append(c.q.rd.Arbiter, StreamOp{Hangup: true})
	c.state = connDown
	c.sentValid = false
	if wasConnected {
		c.q.event(now, Event{Kind: EventArbiterDown, Detail: why})
	}
	if c.cfg.Algorithm == AlgorithmFFSplit || !c.quorate || !c.wfa {
		c.updateVote(now, VoteNACK)
	}
	c.redialAt = now
	if wasConnected {
		c.redialAt = now.Add(c.redialWait)
	}
}

// echoTimer is qdevice_net_echo_request_timer_callback.
func (c *client) echoTimer(now wire.Instant) {
	if c.echoReceived != c.echoExpected {
		if c.cfg.Algorithm == AlgorithmLMS && c.quorate && c.wfa {
			return // lms: keep going while quorate with wait_for_all
		}
		c.disconnect(now, "no echo reply from qnetd")
		return
	}
	c.echoExpected = c.nextSeq()
	c.send(DevMsg{Kind: DevEcho, Seq: c.echoExpected})
}

// nodeList is votequorum's node list notification at sync
// (qdevice_model_net_votequorum_node_list_notify and the heuristics notify
// that follows at once, heuristics being off).
func (c *client) nodeList(now wire.Instant, ring RingID, members []wire.NodeID) {
	c.ring, c.members, c.haveRing = ring, slices.Clone(members), true
	if c.stopped {
		return
	}
	if c.state == connReady {
		c.sendMembership()
		c.updateVote(now, VoteWaitForReply)
	} else if c.vote == VoteACK {
		c.updateVote(now, VoteNACK)
	}
	if c.isRegistered && c.state == connDown && c.redialAt == 0 {
		c.dial(now)
	}
}

func (c *client) sendMembership() {
	c.sentRing, c.sentValid = c.ring, true
	c.send(DevMsg{Kind: DevMembership, Seq: c.nextSeq(), Ring: c.ring, Nodes: c.members})
}

// quorumNotify is votequorum's quorum notification.
func (c *client) quorumNotify(now wire.Instant, quorate bool, members []wire.NodeID) {
	c.quorate = quorate
	if c.state == connReady && !c.stopped {
		c.send(DevMsg{Kind: DevQuorum, Seq: c.nextSeq(), Quorate: quorate, Nodes: slices.Clone(members)})
	}
}

// configChanged: the nodelist was reloaded.
func (c *client) configChanged(now wire.Instant, nodes []wire.NodeID) {
	if slices.Equal(nodes, c.nodes) {
		return
	}
	c.nodes = slices.Clone(nodes)
	if c.state == connReady && !c.stopped {
		c.send(DevMsg{Kind: DevInit, Seq: c.nextSeq(), NodeID: c.self, Algorithm: c.cfg.Algorithm,
			TieBreaker: c.cfg.TieBreaker, Heartbeat: c.heartbeat, Ring: c.ring, Nodes: c.nodes})
	}
}

// ArbiterConnected tells the node's qdevice that the stream it dialed is
// established. Ignored unless a dial is pending.
func (q *Quorum) ArbiterConnected(now wire.Instant) {
	c := q.client
	if c == nil || c.stopped || c.state != connDialing {
		return
	}
	c.state = connInit
	c.send(DevMsg{Kind: DevInit, Seq: c.nextSeq(), NodeID: c.self, Algorithm: c.cfg.Algorithm,
		TieBreaker: c.cfg.TieBreaker, Heartbeat: c.heartbeat, Ring: c.ring, Nodes: c.nodes})
}

// ArbiterClosed tells the node's qdevice that its stream broke (the peer
// reset or closed it). A silently dead arbiter is noticed by the client
// itself through missing echo replies.
func (q *Quorum) ArbiterClosed(now wire.Instant) {
	if c := q.client; c != nil && !c.stopped && c.state != connDown {
		c.disconnect(now, "connection closed")
	}
}

// ArbiterReceive hands the node's qdevice one message from the arbiter.
// Odd input is dropped, counted and reported.
func (q *Quorum) ArbiterReceive(now wire.Instant, payload []byte) {
	c := q.client
	if c == nil || c.stopped || c.state == connDown || c.state == connDialing {
		q.drop(now, 0, "arbiter message without a connection")
		return
	}
	m, err := DecodeDevMsg(payload)
	if err != nil {
		q.drop(now, 0, "arbiter: decode: "+err.Error())
		return
	}
	if c.state == connInit && m.Kind != DevInitReply {
		q.drop(now, 0, "arbiter: "+m.Kind.String()+" before init reply")
		return
	}
	switch m.Kind {
	case DevInitReply:
		if c.state != connInit {
			q.drop(now, 0, "arbiter: unexpected init reply")
			return
		}
		if m.Error != InitOK {
			c.disconnect(now, "init refused: "+m.Error.String())
			return
		}
		c.state = connReady
		c.echoExpected, c.echoReceived = 0, 0
		c.nextEcho = now.Add(c.heartbeat)
		q.event(now, Event{Kind: EventArbiterUp})
		if c.haveRing {
			c.sendMembership()
			c.send(DevMsg{Kind: DevQuorum, Seq: c.nextSeq(), Quorate: c.quorate, Nodes: slices.Clone(c.members)})
		}
	case DevReply, DevVoteInfo:
		v := m.Vote
		if !c.sentValid || m.Ring != c.sentRing {
			v = VoteNoChange // the algorithms ignore votes for an old ring id
		}
		c.updateVote(now, v)
		if m.Kind == DevVoteInfo {
			c.send(DevMsg{Kind: DevVoteInfoReply, Seq: m.Seq})
		}
	case DevEchoReply:
		if m.Seq != c.echoExpected {
			c.disconnect(now, "unexpected echo reply")
			return
		}
		c.echoReceived = m.Seq
	default:
		q.drop(now, 0, "arbiter: unexpected "+m.Kind.String())
	}
}

// StopDevice kills this node's qdevice daemon without unregistering it:
// its stream to the arbiter closes and its polls stop, so votequorum
// declares the device dead after quorum.device.timeout (the node then
// shows NA,NV). No-op without a quorum device.
func (q *Quorum) StopDevice(now wire.Instant) {
	c := q.client
	if c == nil || c.stopped {
		return
	}
	if c.state != connDown {
		q.rd.Arbiter = append(q.rd.Arbiter, StreamOp{Hangup: true})
		q.event(now, Event{Kind: EventArbiterDown, Detail: "qdevice stopped"})
	}
	c.stopped = true
}

// StartDevice restarts a stopped qdevice daemon with fresh state: it
// registers again (immediately, as the device is still registered under
// the same name), connects to the arbiter and votes once it decided.
func (q *Quorum) StartDevice(now wire.Instant) {
	old := q.client
	if old == nil || !old.stopped {
		return
	}
	c := newClient(q, old.cfg, old.self, old.nodes, old.wfa)
	c.ring, c.members, c.haveRing, c.quorate = old.ring, old.members, old.haveRing, q.quorate
	q.client = c
	if q.us().flags&FlagQdeviceRegistered != 0 {
		c.registered(now)
		return
	}
	c.register(now)
}
