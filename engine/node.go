package engine

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/links"
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

	// Token and TokenCoefficient are totem's `token` and
	// `token_coefficient`; they set the effective token timeout.
	Token            time.Duration
	TokenCoefficient time.Duration
}

// Config errors.
var (
	ErrSelfMissing = errors.New("engine: node id is not in the nodelist")
	ErrToken       = errors.New("engine: token timeout must be at least 30ms")
)

// EffectiveToken is corosync's effective token timeout: token plus
// token_coefficient for each configured node beyond two
// (corosync/corosync exec/totemconfig.c; spec totem.md §9).
func EffectiveToken(token, coefficient time.Duration, nodes int) time.Duration {
	if nodes <= 2 {
		return token
	}
	return token + time.Duration(nodes-2)*coefficient
}

// PingTimers returns the heartbeat interval and timeout the node uses: the
// configured values, or for each one left at zero the derivation from the
// effective token.
func (c Config) PingTimers() (interval, timeout time.Duration) {
	di, dt := links.PingTimers(EffectiveToken(c.Token, c.TokenCoefficient, len(c.Nodes)), c.PongCount)
	interval, timeout = c.PingInterval, c.PingTimeout
	if interval == 0 {
		interval = di
	}
	if timeout == 0 {
		timeout = dt
	}
	return interval, timeout
}

// Ready is the work a node has for its driver, in the order to perform it.
type Ready struct {
	// Outbox holds datagrams to send, in order. The driver owns them.
	Outbox []wire.Datagram
	// Events reports what happened, in order: for traces, checks, reports.
	Events []wire.Event
	// Deadline is when Advance is due at the latest; 0 means no timer.
	Deadline Instant
}

// Node is one cluster node's engine.
type Node struct {
	cfg   Config
	links *links.Layer
	rd    Ready
}

// New validates cfg and returns a node started at now. It never panics on
// bad configuration.
func New(cfg Config, now Instant, rnd Rand) (*Node, error) {
	if !slices.Contains(cfg.Nodes, cfg.NodeID) {
		return nil, fmt.Errorf("%w (node %d)", ErrSelfMissing, cfg.NodeID)
	}
	if cfg.Token < 30*time.Millisecond {
		return nil, ErrToken
	}
	peers := make([]wire.NodeID, 0, len(cfg.Nodes)-1)
	for _, id := range cfg.Nodes {
		if id != cfg.NodeID {
			peers = append(peers, id)
		}
	}
	slices.Sort(peers)
	interval, timeout := cfg.PingTimers()
	// corosync derives each interface's timers from its own pong count
	// when the interface sets one (totem_calc_knet_ping_timers).
	eff := EffectiveToken(cfg.Token, cfg.TokenCoefficient, len(cfg.Nodes))
	lcs := slices.Clone(cfg.Links)
	for i := range lcs {
		if lcs[i].PongCount == 0 {
			continue
		}
		di, dt := links.PingTimers(eff, lcs[i].PongCount)
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
	return &Node{cfg: cfg, links: l}, nil
}

// ID returns the node's id.
func (n *Node) ID() wire.NodeID { return n.cfg.NodeID }

// Step hands the node a datagram that arrived on link from node `from`.
// Malformed or unexpected input is dropped and reported as an event.
func (n *Node) Step(now Instant, link wire.LinkNo, from wire.NodeID, b []byte) {
	n.links.Advance(now)
	// No protocol above the link layer consumes data frames yet.
	n.links.Receive(now, link, from, b)
}

// Advance fires every timer whose deadline is at or before now.
func (n *Node) Advance(now Instant) { n.links.Advance(now) }

// Ready collects the node's outstanding work. Calling it twice without Ack
// returns the same work again.
func (n *Node) Ready() Ready {
	n.rd.Outbox = n.links.Outbox()
	n.rd.Events = n.links.Events()
	n.rd.Deadline = n.links.Deadline()
	return n.rd
}

// Ack tells the node the driver has performed everything in rd.
func (n *Node) Ack(rd Ready) {
	n.links.Clear()
	n.rd = Ready{}
}

// LinkStatus returns the node's knet view of peer.
func (n *Node) LinkStatus(peer wire.NodeID) (links.PeerStatus, bool) { return n.links.Status(peer) }

// LinkStats returns the link layer's counters.
func (n *Node) LinkStats() links.Stats { return n.links.Stats() }
