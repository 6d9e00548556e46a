package engine

import (
	"github.com/quorate/quorate/engine/internal/slab"
	"github.com/quorate/quorate/engine/invariant"

	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/clusterlog"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// Instant is a point on the driver's monotonic clock, in nanoseconds.
type Instant = wire.Instant

// Rand is a node's own random stream. The simulator derives it from the
// scenario seed; the real agent seeds it from the OS and logs the seed.
type Rand interface{ Uint64() uint64 }

// Config configures one node.
type Config struct {
	NodeID wire.NodeID
	Nodes  []wire.NodeID // the nodelist, including NodeID

	Links    []links.LinkConfig
	LinkMode links.Mode
	// Knet heartbeat; zero values are derived from the effective token as
	// corosync derives them (links.PingTimers).
	PingInterval time.Duration
	PingTimeout  time.Duration
	PongCount    int

	// Totem holds the totem section; Self and Nodes are filled from the
	// fields above.
	Totem totem.Config
	// Quorum holds the quorum section and the nodelist's votes; Self is
	// filled from NodeID.
	Quorum quorum.Config
	// ConfigVersion is totem.config_version (0: none), checked against the
	// cluster's when the node first joins a ring of several members.
	ConfigVersion uint64
	// Addrs are the nodelist's addresses per node and link (empty when
	// the driver owns the addressing, as the simulator without a
	// corosync.conf does): a reload that changes them asks the driver to
	// rebind (Ready.Rebind).
	Addrs []NodeAddr
}

// Services share Totem's total order; the first byte of every payload says
// which one a message belongs to (as corosync's service handlers do).
const (
	ServiceQuorum byte = 1 // votequorum
	ServiceApp    byte = 2 // application messages (CPG-like)
	ServiceStore  byte = 3 // the replicated configuration store
	// ServiceLog carries cluster log entries (package clusterlog,
	// pmxcfs's .clusterlog); 4 and 5 are ServiceConfig and ServiceSync.
	ServiceLog byte = 6
)

// Delivery is one item of the node's total order: a Totem delivery with
// the service of a message and its payload without the service byte.
type Delivery struct {
	totem.Delivery
	Service byte
}

// State is what a node keeps on disk across restarts: the highest ring
// sequence number it has committed to (corosync's ringid_<nodeid> file), so
// that ring ids keep growing after a crash (totem.md §8).
type State struct {
	RingSeq uint64
	// Store is the replicated store's applied state (pmxcfs's config.db).
	Store store.Snapshot
}

// Config errors.
var (
	ErrSelfMissing = errors.New("engine: node id is not in the nodelist")
)

func (c Config) totemConfig() totem.Config {
	t := c.Totem
	t.Self = c.NodeID
	t.Nodes = slices.Clone(c.Nodes)
	slices.Sort(t.Nodes)
	return t
}

// Timers returns the effective totem timers of the configuration.
func (c Config) Timers() (totem.Timers, error) { return totem.Derive(c.totemConfig()) }

// PingTimers returns the heartbeat interval and timeout the node uses: the
// configured values, or for each one left at zero the derivation from the
// effective token.
func (c Config) PingTimers() (interval, timeout time.Duration, err error) {
	tm, err := c.Timers()
	if err != nil {
		return 0, 0, err
	}
	di, dt := links.PingTimers(tm.Token, c.PongCount)
	return cmp.Or(c.PingInterval, di), cmp.Or(c.PingTimeout, dt), nil
}

// Validate reports whether New would accept the configuration: the
// effective timers, and the link layer's configuration with the heartbeat
// timers derived from them (a token so short that the derived ping
// interval falls below knet's timer resolution is refused here, as New
// refuses it, rather than when the node starts).
func (c Config) Validate() error {
	if !slices.Contains(c.Nodes, c.NodeID) {
		return fmt.Errorf("%w (node %d)", ErrSelfMissing, c.NodeID)
	}
	tm, err := c.Timers()
	if err != nil {
		return err
	}
	var peers []wire.NodeID
	for _, id := range c.Nodes {
		if id != c.NodeID {
			peers = append(peers, id)
		}
	}
	slices.Sort(peers)
	return c.linkConfig(tm, peers).Validate()
}

// linkConfig is the link layer's configuration for the effective timers
// tm: the heartbeat timers configured, or derived from the effective token
// as corosync derives them, for the layer and for every interface that
// sets its own pong count (totem_calc_knet_ping_timers).
func (c Config) linkConfig(tm totem.Timers, peers []wire.NodeID) links.Config {
	di, dt := links.PingTimers(tm.Token, c.PongCount)
	lcs := slices.Clone(c.Links)
	for i := range lcs {
		if lcs[i].PongCount == 0 {
			continue
		}
		di, dt := links.PingTimers(tm.Token, lcs[i].PongCount)
		lcs[i].PingInterval = cmp.Or(lcs[i].PingInterval, c.PingInterval, di)
		lcs[i].PingTimeout = cmp.Or(lcs[i].PingTimeout, c.PingTimeout, dt)
	}
	return links.Config{
		Self:         c.NodeID,
		Peers:        slices.Clone(peers), // the node edits its own list in place
		Links:        lcs,
		Mode:         c.LinkMode,
		PingInterval: cmp.Or(c.PingInterval, di),
		PingTimeout:  cmp.Or(c.PingTimeout, dt),
		PongCount:    c.PongCount,
	}
}

// Ready is the work a node has for its driver, in the order to perform it.
//
// Who owns what, and until when (as etcd-io/raft documents its Ready):
//
//   - The slices of Ready themselves (Outbox, Deliver, Events, Results,
//     Arbiter) belong to the node and are reused after Ack: the driver
//     reads them between Ready and Ack and copies what it keeps.
//   - The bytes a datagram or a delivery points at (Outbox[i].Payload,
//     Deliver[i].Payload) are immutable: the node never writes to them
//     again once they appear in a Ready, and may share them with its own
//     state (a multicast's bytes stay in Totem's queues for retransmission)
//     and between several datagrams. The driver may keep them as long as it
//     likes, without copying, but must never modify them; a transport that
//     needs to change bytes in place (sealing, padding) works on its own
//     copy.
//   - The bytes a driver passes to Step belong to the driver again when
//     Step returns; with StepShared they are handed over for good and the
//     driver must never modify or reuse them.
type Ready struct {
	// Persist, when set, must be written durably before anything in
	// Outbox is sent.
	Persist *State
	// Rebind, when set, asks the driver to bind its sockets and peer
	// addresses to the reloaded configuration's before it sends Outbox
	// (see Rebind).
	Rebind *Rebind
	// Outbox holds datagrams to send, in order. The slice is the node's
	// until Ack; each datagram's bytes are immutable and the driver may
	// keep them (see above).
	Outbox []wire.Datagram
	// Deliver is the node's totally ordered output: agreed messages of
	// every service and configuration changes, in extended-virtual-synchrony
	// order. A delivery's Payload (and Members) are shared with the node's
	// state: read-only for the driver, valid for as long as it keeps them.
	Deliver []Delivery
	// Arbiter holds the qdevice's operations on its stream to the qnetd
	// arbiter, in order (empty without a quorum device).
	Arbiter []quorum.StreamOp
	// Events reports what happened, in order: for traces, checks, reports.
	Events []wire.Event
	// Results are the completions of this node's store operations. They
	// may be reported to clients only after Persist is written.
	Results []store.Result
	// QuorumChanged says votequorum may have changed its numbers: read
	// Quorum() for the new status.
	QuorumChanged bool
	// Stop, when set, asks the driver to end the node's process after
	// performing this Ready, as corosync exits (see StopReason).
	Stop *Stop
	// Restart, when set, asks the driver to restart the node's engine
	// with a newer configuration after performing this Ready: the node's
	// turn in a rolling restart has come (see Apply).
	Restart *Restart
	// Device, when set, asks the driver to start or stop the node's
	// qdevice daemon, before it performs Arbiter: a configuration reload
	// added or removed the quorum device (see DeviceChange).
	Device *DeviceChange
	// Deadline is when Advance is due at the latest; 0 means no timer.
	Deadline Instant
}

// Node is one cluster node's engine: the knet-style link layer with Totem
// on top of it.
type Node struct {
	cfg   Config
	links *links.Layer
	ring  *totem.Ring
	q     *quorum.Quorum
	st    *store.Store
	peers []wire.NodeID
	disk  State // what the driver has been asked to persist so far

	persist *State
	deliver []Delivery
	arbiter []quorum.StreamOp
	results []store.Result
	events  []wire.Event
	qdirty  bool
	cc      confCheck
	stop    *Stop
	sync    syncer
	// syncSent: the syncer (or votequorum, drained during a delivery)
	// multicast something in this pass of collect.
	syncSent bool
	// planned is a restart for a newer configuration waiting for its
	// turn, restart the one Ready asks for, reloadAt the reload that ends
	// a rolling restart (restart.go).
	planned  *plannedRestart
	restart  *Restart
	device   *DeviceChange
	rebind   *Rebind
	reloadAt Instant
	// frames is where submit's message buffers are carved from.
	frames slab.Slab[byte]
}

// New validates cfg and returns a node started at now from its persisted
// state. It never panics on bad configuration.
func New(cfg Config, now Instant, persisted State, rnd Rand) (*Node, error) {
	if !slices.Contains(cfg.Nodes, cfg.NodeID) {
		return nil, fmt.Errorf("%w (node %d)", ErrSelfMissing, cfg.NodeID)
	}
	tm, err := cfg.Timers()
	if err != nil {
		return nil, err
	}
	peers := make([]wire.NodeID, 0, len(cfg.Nodes)-1)
	for _, id := range cfg.Nodes {
		if id != cfg.NodeID {
			peers = append(peers, id)
		}
	}
	slices.Sort(peers)
	incarnation := rnd.Uint64()
	phase := time.Duration(rnd.Uint64() % uint64(links.TimerRes))
	l, err := links.New(cfg.linkConfig(tm, peers), now, incarnation, phase)
	if err != nil {
		return nil, err
	}
	r, err := totem.New(cfg.totemConfig(), now, persisted.RingSeq, rnd)
	if err != nil {
		return nil, err
	}
	qc := cfg.Quorum
	qc.Self = cfg.NodeID
	q, err := quorum.New(qc, now)
	if err != nil {
		return nil, err
	}
	st, err := store.New(store.Config{Self: cfg.NodeID, Nodes: slices.Sorted(slices.Values(cfg.Nodes)),
		Headroom: storeHeadroom}, now, persisted.Store)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, links: l, ring: r, q: q, st: st, peers: peers, disk: persisted,
		frames: slab.New[byte](frameChunk, frameChunkMax)}
	n.sync.version = cfg.ConfigVersion
	n.collect(now)
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() wire.NodeID { return n.cfg.NodeID }

// Step hands the node a datagram that arrived on link from node `from`.
// Malformed or unexpected input is dropped and reported as an event. The
// node does not keep b once Step returns (what it files it copies), so a
// driver may read the next datagram into the same buffer.
func (n *Node) Step(now Instant, link wire.LinkNo, from wire.NodeID, b []byte) {
	n.links.Advance(now)
	if payload, ok := n.links.Receive(now, link, from, b); ok {
		n.ring.Step(now, from, payload)
	}
	n.collect(now)
}

// StepShared hands the node a datagram as another node's Ready put it in
// its Outbox (a header and a payload apart, see wire.Datagram), arrived
// on d.Link from d.From, whose bytes the driver never modifies again and
// does not reuse: the node may keep them, or parts of them, for as long as
// it likes (Totem files a multicast as received, and its payload comes out
// in Ready.Deliver), saving a copy of every message. The simulator's
// packets in flight are such buffers; a driver that reads into a reused
// buffer must call Step.
func (n *Node) StepShared(now Instant, d wire.Datagram) {
	n.links.Advance(now)
	if payload, ok := n.links.ReceiveDatagram(now, d); ok {
		n.ring.StepShared(now, d.From, payload)
	}
	n.collect(now)
}

// Advance fires every timer whose deadline is at or before now.
func (n *Node) Advance(now Instant) {
	n.links.Advance(now)
	n.ring.Advance(now)
	if d := n.q.Deadline(); d != 0 && d <= now {
		n.qdirty = true
	}
	n.q.Advance(now)
	n.st.Advance(now)
	n.restartTimers(now)
	n.collect(now)
}

// Multicast queues an application message for agreed delivery to every
// member of the ring, this node included.
func (n *Node) Multicast(now Instant, payload []byte) error {
	err := n.submit(now, ServiceApp, payload)
	n.collect(now)
	return err
}

// storeHeadroom is the room the store leaves in front of each message it
// multicasts: Totem's header and the engine's service byte.
const storeHeadroom = totem.McastHeadroom + 1

// submit queues body for agreed delivery as a message of service svc:
// one buffer with room for Totem's header, the service byte and a copy of
// body, handed to Totem, which encodes the message in it (no further copy).
func (n *Node) submit(now Instant, svc byte, body []byte) error {
	buf := n.frames.Make(totem.McastHeadroom + 1 + len(body))
	buf[totem.McastHeadroom] = svc
	copy(buf[totem.McastHeadroom+1:], body)
	return n.ring.MulticastFramed(now, buf)
}

// frameChunk is the size of the chunks submit's buffers are carved from,
// and frameChunkMax the longest buffer carved (a longer one has its own
// allocation, so that a chunk holds several). One allocation per message
// was the largest share of a loaded run's allocation cost. Totem writes
// its header into a buffer's headroom once and never changes it after;
// messages are released in about the order they were submitted, so a
// chunk holds little beyond its own messages' life.
const (
	frameChunk    = 32 << 10
	frameChunkMax = frameChunk / 4
)

// LogCluster multicasts a cluster log entry: every member, this node
// included, delivers it (Service ServiceLog, the payload clusterlog's
// encoding) at the same place of the total order, to append to its
// clusterlog.Log. It fails for an entry that does not validate, or when
// Totem's queue is full.
func (n *Node) LogCluster(now Instant, e clusterlog.Entry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	err := n.submit(now, ServiceLog, e.Encode())
	n.collect(now)
	return err
}

// Backlog returns how many frames of this node's messages (application,
// votequorum and store; the small ones queued between two token visits
// share a frame) wait in Totem's pending-send queue for the token.
func (n *Node) Backlog() int { return n.ring.Backlog() }

// collect moves output between the layers until it settles: Totem's sends
// go to the link layer (a multicast is one unicast to every other
// configured node, as knet does); its deliveries feed votequorum and join
// the node's Ready; votequorum's messages go back into Totem.
func (n *Node) collect(now Instant) {
	for round := 0; ; round++ {
		n.syncSent = false
		rd := n.ring.Output()
		n.ring.Ack()
		if rd.PersistRingSeq != 0 {
			n.disk.RingSeq = rd.PersistRingSeq
			n.persist = &n.disk
		}
		for _, s := range rd.Sends {
			if s.To == 0 {
				for _, p := range n.peers {
					n.links.Send(p, s.Payload)
				}
			} else {
				n.links.Send(s.To, s.Payload)
			}
		}
		for _, e := range rd.Events {
			n.events = append(n.events, n.totemEvent(e))
		}
		for _, d := range rd.Deliver {
			n.route(now, d)
		}
		qsent := n.drainQuorum(now)
		if n.qdirty {
			// The store must hear votequorum's verdict for the current
			// ring; a ring still in votequorum's sync is not quorate yet.
			n.st.SetQuorate(now, n.q.Quorate() && !n.q.Syncing())
		}
		// The store is idle for most steps: its Ready is built only
		// when it has something to hand over.
		stSent := false
		if n.st.Pending() {
			sr := n.st.Ready()
			n.st.Ack()
			if sr.Persist != nil {
				n.disk.Store = *sr.Persist
				n.persist = &n.disk
			}
			n.results = append(n.results, sr.Results...)
			for _, e := range sr.Events {
				n.events = append(n.events, wire.Event{Kind: wire.EventStore, Peer: e.Node, Detail: e.String(), Sub: e.Kind.String()})
			}
			for _, m := range sr.Multicast {
				// Store messages stay under Totem's limit (values are
				// capped). Each comes with the room for Totem's header
				// and the service byte in front: multicast as it is.
				m[totem.McastHeadroom] = ServiceStore
				_ = n.ring.MulticastFramed(now, m)
			}
			stSent = len(sr.Multicast) > 0
		}
		if !qsent && !stSent && !n.syncSent {
			return
		}
		// Bounded: votequorum answers a delivery with at most a few
		// messages, and Multicast only queues them.
		assert(round < 16, "the layers stop producing output within 16 rounds")
	}
}

// drainQuorum moves votequorum's output to the node: arbiter operations,
// events, and its messages into Totem; when its sync activated for the
// ring being synchronised, the synchronisation completes here, in the
// total order (before any later delivery of the same batch reaches the
// store). It reports whether votequorum multicast anything.
func (n *Node) drainQuorum(now Instant) bool {
	if !n.q.Pending() {
		return false // nothing below would act
	}
	qr := n.q.Ready()
	n.q.Ack()
	n.arbiter = append(n.arbiter, qr.Arbiter...)
	completed := false
	for _, e := range qr.Events {
		n.events = append(n.events, quorumEvent(e))
		completed = completed || e.Kind == quorum.EventSync
	}
	// votequorum's activation (its Members[N]) comes before
	// "Completed service synchronization", as in corosync's log.
	if completed && n.sync.votequorumDone(n.q.RingID(), n) {
		n.syncCompleted(now)
	}
	for _, m := range qr.Multicast {
		// A refusal (oversize, closed) cannot happen for votequorum's
		// small messages; Totem counts it if it does.
		_ = n.submit(now, ServiceQuorum, m)
	}
	if len(qr.Multicast) > 0 {
		n.syncSent = true // Totem has new output: collect goes round again
	}
	return len(qr.Multicast) > 0
}

// route hands one Totem delivery to its service and to the node's output.
func (n *Node) route(now Instant, d totem.Delivery) {
	out := Delivery{Delivery: d}
	switch d.Kind {
	case totem.DeliverMessage:
		if len(d.Payload) == 0 {
			return
		}
		out.Service, out.Payload = d.Payload[0], d.Payload[1:]
		if out.Service == ServiceQuorum {
			n.q.Deliver(now, d.Sender, out.Payload)
			n.qdirty = true
			if n.sync.state == syncProcess && !n.q.Syncing() {
				// votequorum's barrier may have completed the
				// synchronisation at this point of the total order.
				n.drainQuorum(now)
			}
			if m, err := quorum.DecodeMessage(out.Payload); err == nil {
				if del, ok := m.(quorum.NodelistDel); ok {
					if del.NodeID != n.cfg.NodeID {
						n.dropNode(del.NodeID)
					} else if n.stop == nil {
						n.stop = &Stop{Reason: StopRemoved, From: d.Sender}
					}
				}
			}
		}
		if out.Service == ServiceStore {
			n.st.Deliver(now, d.Sender, out.Payload)
		}
		if out.Service == ServiceConfig {
			n.configVersionMessage(d, out.Payload)
		}
		if out.Service == ServiceSync {
			m, err := DecodeSyncMessage(out.Payload)
			if err != nil {
				n.events = append(n.events, wire.Event{Kind: wire.EventSync, Peer: d.Sender, Detail: "dropped: " + err.Error()})
				break
			}
			if n.sync.deliver(now, n, d.Sender, m) == int(syncVotequorum) {
				n.q.SyncProcess(now)
				n.qdirty = true
			}
		}
	case totem.DeliverTransitional:
		// confchg_fn: a configuration change during a synchronisation
		// aborts it (sync_abort), then the transitional members are saved.
		if n.sync.state != syncIdle {
			n.q.SyncAbort()
			n.sync.abort(n)
		}
		n.sync.transitional(d.Members)
		n.st.Configuration(now, store.ConfigTransitional, store.RingRef{Rep: d.RingID.Rep, Seq: d.RingID.Seq}, d.Members)
	case totem.DeliverRegular:
		// sync_start: every service's sync_init runs now (votequorum's
		// keeps the configuration Syncing); the services then take their
		// turns through Totem and the store hears of the configuration
		// only once the last one completed (syncCompleted).
		n.q.SyncInit(now, quorum.RingID{Rep: d.RingID.Rep, Seq: d.RingID.Seq}, d.Members)
		n.sync.start(now, n, d.RingID, d.Members)
		n.qdirty = true
		n.configChange(now, d.RingID, d.Members)
	}
	n.deliver = append(n.deliver, out)
}

// syncMulticast sends one synchronisation message through Totem.
func (n *Node) syncMulticast(now Instant, m SyncMessage) {
	_ = n.submit(now, ServiceSync, m.Encode())
	n.syncSent = true
}

// syncEvent reports a step of the service synchronisation.
func (n *Node) syncEvent(detail string, nodes []wire.NodeID) {
	n.events = append(n.events, wire.Event{Kind: wire.EventSync, Nodes: slices.Clone(nodes), Detail: detail})
}

// syncCompleted is corosync_sync_completed: the configuration is in
// service. The store, a client of the ring (pmxcfs over CPG), starts its
// own state exchange for it now.
func (n *Node) syncCompleted(now Instant) {
	r := n.sync.ring
	n.st.Configuration(now, store.ConfigRegular, store.RingRef{Rep: r.Rep, Seq: r.Seq}, n.sync.members)
	n.st.SetQuorate(now, n.q.Quorate() && !n.q.Syncing())
	n.qdirty = true
}

// dropNode applies the nodelist change every member makes when a node is
// deleted (the new corosync.conf is distributed and reloaded): Totem's
// timers follow the smaller nodelist, and the link layer forgets the node.
// votequorum has applied the same message itself.
func (n *Node) dropNode(id wire.NodeID) {
	if !slices.Contains(n.cfg.Nodes, id) {
		return
	}
	n.cfg.Nodes = slices.DeleteFunc(slices.Clone(n.cfg.Nodes), func(x wire.NodeID) bool { return x == id })
	n.peers = slices.DeleteFunc(n.peers, func(x wire.NodeID) bool { return x == id })
	if err := n.ring.Reload(n.cfg.totemConfig()); err != nil {
		n.events = append(n.events, wire.Event{Kind: wire.EventTotem, Detail: "reload after delnode refused: " + err.Error()})
	}
	n.links.RemovePeer(id)
}

// assert panics with the engine's invariant.Violation (style.md §5).
func assert(cond bool, what string) { invariant.Assert(cond, "engine", what) }

// quorumEvent maps a votequorum event onto the engine's event type.
func quorumEvent(e quorum.Event) wire.Event {
	k := wire.EventQuorumInfo
	switch e.Kind {
	case quorum.EventQuorate, quorum.EventInquorate, quorum.EventSync, quorum.EventExpectedVotes, quorum.EventLastManStanding, quorum.EventDeviceLost:
		k = wire.EventQuorum
	}
	return wire.Event{Kind: k, Peer: e.Node, Detail: e.String(), Sub: e.Kind.String(),
		Ring: wire.RingRef{Rep: e.Ring.Rep, Seq: e.Ring.Seq}, Quorate: e.Quorate}
}

// totemEvent maps a Totem event onto the engine's event type. A membership
// event is collected right after Totem installed its ring, so the ring's
// current id is the new ring's.
func (n *Node) totemEvent(e totem.Event) wire.Event {
	k := wire.EventTotem
	var ring wire.RingRef
	if e.Kind == totem.EventMembership {
		k = wire.EventMembership
		id := n.ring.RingID()
		ring = wire.RingRef{Rep: id.Rep, Seq: id.Seq}
	}
	var state string
	if e.Kind == totem.EventState {
		state = strings.ToLower(e.State.String())
	}
	return wire.Event{Kind: k, Peer: e.From, Nodes: e.Nodes, Detail: e.Kind.String() + " " + e.Detail, Sub: e.Kind.String(), Ring: ring, State: state}
}

// Ready collects the node's outstanding work. Calling it twice without Ack
// returns the same work again.
func (n *Node) Ready() Ready {
	// Link events come before Totem's: the link layer acts first on every
	// input.
	events := append(slices.Clip(n.links.Events()), n.events...)
	return Ready{
		Persist:       n.persist,
		Outbox:        n.links.Outbox(),
		Deliver:       n.deliver,
		Arbiter:       n.arbiter,
		Results:       n.results,
		Events:        events,
		QuorumChanged: n.qdirty,
		Stop:          n.stop,
		Restart:       n.restart,
		Device:        n.device,
		Rebind:        n.rebind,
		Deadline:      n.deadline(),
	}
}

func (n *Node) deadline() Instant {
	d := n.links.Deadline()
	// The store's Deadline queues the node's stability confirmation as a
	// side effect, as its Ready does, which later batches send.
	for _, t := range [...]Instant{n.ring.Deadline(), n.q.Deadline(), n.st.Deadline(), n.restartDeadline()} {
		if t != 0 && t < d {
			d = t
		}
	}
	return d
}

// Ack tells the node the driver has performed everything in rd.
func (n *Node) Ack(rd Ready) {
	n.links.Clear()
	n.persist = nil
	clear(n.deliver)
	n.deliver = n.deliver[:0]
	n.arbiter = nil
	n.results = nil
	n.events = n.events[:0]
	n.qdirty = false
	n.restart = nil
	n.device = nil
	n.rebind = nil
}

// Put writes key through the total order; the result comes in Ready.Results.
// A node without quorum refuses at once with store.ErrReadOnly.
func (n *Node) Put(now Instant, key string, value []byte) (store.OpID, error) {
	id, err := n.st.Put(now, key, value)
	n.collect(now)
	return id, err
}

// Rename moves key's value to newKey in one operation of the total order
// (pmxcfs's rename, as `mv` in /etc/pve).
func (n *Node) Rename(now Instant, key, newKey string) (store.OpID, error) {
	id, err := n.st.Rename(now, key, newKey)
	n.collect(now)
	return id, err
}

// Delete removes key through the total order.
func (n *Node) Delete(now Instant, key string) (store.OpID, error) {
	id, err := n.st.Delete(now, key)
	n.collect(now)
	return id, err
}

// CompareAndSet writes key if its version is still oldVersion.
func (n *Node) CompareAndSet(now Instant, key string, oldVersion uint64, value []byte) (store.OpID, error) {
	id, err := n.st.CompareAndSet(now, key, oldVersion, value)
	n.collect(now)
	return id, err
}

// Lock takes or renews the lock key for holder for ttl (pmxcfs's lock
// directories); Delete releases it.
func (n *Node) Lock(now Instant, key, holder string, ttl time.Duration) (store.OpID, error) {
	id, err := n.st.Lock(now, key, holder, ttl)
	n.collect(now)
	return id, err
}

// ReadOrdered reads key through the total order (linearizable).
func (n *Node) ReadOrdered(now Instant, key string) (store.OpID, error) {
	id, err := n.st.ReadOrdered(now, key)
	n.collect(now)
	return id, err
}

// ReadLocal reads the local replica at once, as pmxcfs does: fast, and
// possibly stale.
func (n *Node) ReadLocal(key string) (store.Entry, bool) { return n.st.ReadLocal(key) }

// StoreDigest is a hash of the local replica, to compare replicas.
func (n *Node) StoreDigest() uint64 { return n.st.Digest() }

// Quorum returns votequorum's status, as `pvecm status` prints it.
func (n *Node) Quorum() quorum.Status { return n.q.Status() }

// QuorumNumbers is Quorum's verdict and figures alone, for a driver that
// reads them whenever Ready.QuorumChanged says they may have moved.
func (n *Node) QuorumNumbers() quorum.Numbers { return n.q.Numbers() }

// StoreStatus returns the replicated store's phase and configuration.
func (n *Node) StoreStatus() store.Status { return n.st.Status() }

// SetExpected is `pvecm expected N` on this node.
func (n *Node) SetExpected(now Instant, votes int) error {
	err := n.q.SetExpected(now, votes)
	n.qdirty = true
	n.collect(now)
	return err
}

// RemoveNode is `pvecm delnode` of node id, run on this node.
func (n *Node) RemoveNode(now Instant, id wire.NodeID) error {
	err := n.q.RemoveNode(now, id)
	n.qdirty = true
	n.collect(now)
	return err
}

// ArbiterConnected tells the qdevice its stream to the arbiter is open.
func (n *Node) ArbiterConnected(now Instant) {
	n.q.ArbiterConnected(now)
	n.qdirty = true
	n.collect(now)
}

// ArbiterReceive hands the qdevice one message from the arbiter.
func (n *Node) ArbiterReceive(now Instant, b []byte) {
	n.q.ArbiterReceive(now, b)
	n.qdirty = true
	n.collect(now)
}

// ArbiterClosed tells the qdevice its stream to the arbiter broke.
func (n *Node) ArbiterClosed(now Instant) {
	n.q.ArbiterClosed(now)
	n.qdirty = true
	n.collect(now)
}

// LinkStatus returns the node's knet view of peer.
func (n *Node) LinkStatus(peer wire.NodeID) (links.PeerStatus, bool) { return n.links.Status(peer) }

// LinkStats returns the link layer's counters.
func (n *Node) LinkStats() links.Stats { return n.links.Stats() }

// Ring returns Totem's state, ring id and the members of the last regular
// configuration.
func (n *Node) Ring() (totem.State, totem.RingID, []wire.NodeID) {
	return n.ring.State(), n.ring.RingID(), n.ring.Members()
}

// TotemStats returns Totem's counters.
func (n *Node) TotemStats() totem.Stats { return n.ring.Stats() }
