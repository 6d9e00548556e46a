package engine

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/links"
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
}

// State is what a node keeps on disk across restarts: the highest ring
// sequence number it has committed to (corosync's ringid_<nodeid> file), so
// that ring ids keep growing after a crash (totem.md §8).
type State struct {
	RingSeq uint64
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

// Ready is the work a node has for its driver, in the order to perform it.
type Ready struct {
	// Persist, when set, must be written durably before anything in
	// Outbox is sent.
	Persist *State
	// Outbox holds datagrams to send, in order. The driver owns them.
	Outbox []wire.Datagram
	// Deliver is the node's totally ordered output: agreed messages and
	// configuration changes, in extended-virtual-synchrony order.
	Deliver []totem.Delivery
	// Events reports what happened, in order: for traces, checks, reports.
	Events []wire.Event
	// Deadline is when Advance is due at the latest; 0 means no timer.
	Deadline Instant
}

// Node is one cluster node's engine: the knet-style link layer with Totem
// on top of it.
type Node struct {
	cfg   Config
	links *links.Layer
	ring  *totem.Ring
	peers []wire.NodeID

	persist *State
	deliver []totem.Delivery
	events  []wire.Event
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
	interval, timeout, _ := cfg.PingTimers()
	// corosync derives each interface's timers from its own pong count
	// when the interface sets one (totem_calc_knet_ping_timers).
	lcs := slices.Clone(cfg.Links)
	for i := range lcs {
		if lcs[i].PongCount == 0 {
			continue
		}
		di, dt := links.PingTimers(tm.Token, lcs[i].PongCount)
		lcs[i].PingInterval = cmp.Or(lcs[i].PingInterval, cfg.PingInterval, di)
		lcs[i].PingTimeout = cmp.Or(lcs[i].PingTimeout, cfg.PingTimeout, dt)
	}
	incarnation := rnd.Uint64()
	phase := time.Duration(rnd.Uint64() % uint64(links.TimerRes))
	l, err := links.New(links.Config{
		Self:         cfg.NodeID,
		Peers:        peers,
		Links:        lcs,
		Mode:         cfg.LinkMode,
		PingInterval: interval,
		PingTimeout:  timeout,
		PongCount:    cfg.PongCount,
	}, now, incarnation, phase)
	if err != nil {
		return nil, err
	}
	r, err := totem.New(cfg.totemConfig(), now, persisted.RingSeq, rnd)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, links: l, ring: r, peers: peers}
	n.collect()
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() wire.NodeID { return n.cfg.NodeID }

// Step hands the node a datagram that arrived on link from node `from`.
// Malformed or unexpected input is dropped and reported as an event.
func (n *Node) Step(now Instant, link wire.LinkNo, from wire.NodeID, b []byte) {
	n.links.Advance(now)
	if payload, ok := n.links.Receive(now, link, from, b); ok {
		n.ring.Step(now, from, payload)
	}
	n.collect()
}

// Advance fires every timer whose deadline is at or before now.
func (n *Node) Advance(now Instant) {
	n.links.Advance(now)
	n.ring.Advance(now)
	n.collect()
}

// Multicast queues an application message for agreed delivery to every
// member of the ring, this node included.
func (n *Node) Multicast(now Instant, payload []byte) error {
	err := n.ring.Multicast(now, payload)
	n.collect()
	return err
}

// collect takes Totem's output: its sends go to the link layer (a multicast
// is one unicast to every other configured node, as knet does), its
// deliveries and events join the node's Ready.
func (n *Node) collect() {
	rd := n.ring.Ready()
	if rd.PersistRingSeq != 0 {
		n.persist = &State{RingSeq: rd.PersistRingSeq}
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
	n.deliver = append(n.deliver, rd.Deliver...)
	for _, e := range rd.Events {
		n.events = append(n.events, totemEvent(e))
	}
	n.ring.Ack()
}

// totemEvent maps a Totem event onto the engine's event type.
func totemEvent(e totem.Event) wire.Event {
	k := wire.EventTotem
	if e.Kind == totem.EventMembership {
		k = wire.EventMembership
	}
	return wire.Event{Kind: k, Peer: e.From, Nodes: e.Nodes, Detail: e.Kind.String() + " " + e.Detail}
}

// Ready collects the node's outstanding work. Calling it twice without Ack
// returns the same work again.
func (n *Node) Ready() Ready {
	// Link events come before Totem's: the link layer acts first on every
	// input.
	events := append(slices.Clip(n.links.Events()), n.events...)
	return Ready{
		Persist:  n.persist,
		Outbox:   n.links.Outbox(),
		Deliver:  n.deliver,
		Events:   events,
		Deadline: n.deadline(),
	}
}

func (n *Node) deadline() Instant {
	d := n.links.Deadline()
	if rd := n.ring.Ready().Deadline; rd != 0 && rd < d {
		d = rd
	}
	return d
}

// Ack tells the node the driver has performed everything in rd.
func (n *Node) Ack(rd Ready) {
	n.links.Clear()
	n.persist = nil
	clear(n.deliver)
	n.deliver = n.deliver[:0]
	n.events = n.events[:0]
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
