package links

import (
	"errors"
	"fmt"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Mode is knet's link policy (corosync `link_mode`).
type Mode uint8

// Link modes (kronosnet libknet.h, knet_host_set_policy).
const (
	// ModePassive sends on the one usable link with the highest priority;
	// ties go to the lower link number.
	ModePassive Mode = iota
	// ModeActive sends every packet on every usable link; the receiver
	// discards the copies by sequence number.
	ModeActive
	// ModeRR sends each packet on the next usable link in turn.
	ModeRR
)

// String returns the corosync.conf spelling.
func (m Mode) String() string {
	switch m {
	case ModePassive:
		return "passive"
	case ModeActive:
		return "active"
	case ModeRR:
		return "rr"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// ParseMode reads a corosync.conf link_mode value.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "passive", "":
		return ModePassive, nil
	case "active":
		return ModeActive, nil
	case "rr":
		return ModeRR, nil
	}
	return 0, fmt.Errorf("links: unknown link_mode %q (want passive, active or rr)", s)
}

// Knet constants that corosync does not expose as options.
const (
	// TimerRes is how often knet's heartbeat thread wakes
	// (KNET_THREADS_TIMER_RES, 200 ms); every link timing is quantised to it.
	TimerRes = 200 * time.Millisecond
	// PongTimeoutBackoff is the multiplier a link's pong timeout starts at
	// when the link is created or goes down (KNET_LINK_PONG_TIMEOUT_BACKOFF).
	PongTimeoutBackoff = 10
	// PongTimeoutLatMul weights the mean latency in the adjusted pong timeout
	// (KNET_LINK_PONG_TIMEOUT_LAT_MUL).
	PongTimeoutLatMul = 2
	// DefaultPongCount is corosync's knet_pong_count default.
	DefaultPongCount = 2
	// DefaultPrecision is corosync's knet_ping_precision default.
	DefaultPrecision = 2048
	// DefaultPriority is corosync's knet_link_priority default.
	DefaultPriority = 1
	// dedupWindow is how many data sequence numbers per peer the receiver
	// remembers to discard duplicates (active mode, network duplication).
	dedupWindow = 1024
)

// LinkConfig is one configured link (a corosync `interface` section).
type LinkConfig struct {
	Number   wire.LinkNo
	Priority int // knet_link_priority 0..255; 0 behaves as 1 (corosync)
	// Per-interface heartbeat overrides (knet_ping_interval,
	// knet_ping_timeout, knet_pong_count); zero takes the layer's value.
	PingInterval time.Duration
	PingTimeout  time.Duration
	PongCount    int
}

// Config configures the link layer of one node.
type Config struct {
	Self  wire.NodeID
	Peers []wire.NodeID // every other configured node
	Links []LinkConfig  // at least one; numbers unique
	Mode  Mode
	// PingInterval and PingTimeout are knet_ping_interval and
	// knet_ping_timeout; see PingTimers for corosync's derivation.
	PingInterval time.Duration
	PingTimeout  time.Duration
	PongCount    int // knet_pong_count; 0 means DefaultPongCount
	Precision    int // knet_ping_precision; 0 means DefaultPrecision
}

// LinkUpBound is how long after a node starts its links to a peer can take
// to come up when both answer: pong_count+1 pongs, one per ping interval
// (knet counts a pong towards the link only from the second), at the
// heartbeat thread's resolution, taken here at the default pong_count 2.
func LinkUpBound(pingInterval time.Duration) time.Duration {
	return 3*pingInterval + 2*TimerRes
}

// PingTimers derives knet's ping interval and timeout from the effective
// token timeout as corosync does when the interface section leaves them out:
// timeout = token / pong_count, interval = token / (pong_count * 2), in whole
// milliseconds (corosync/corosync exec/totemconfig.c,
// totem_calc_knet_ping_timers).
func PingTimers(effectiveToken time.Duration, pongCount int) (interval, timeout time.Duration) {
	if pongCount <= 0 {
		pongCount = DefaultPongCount
	}
	ms := int64(effectiveToken / time.Millisecond)
	timeout = time.Duration(ms/int64(pongCount)) * time.Millisecond
	interval = time.Duration(ms/int64(pongCount*2)) * time.Millisecond
	return interval, timeout
}

// Config errors.
var (
	ErrNoLinks     = errors.New("links: no links configured")
	ErrSelfID      = errors.New("links: node id 0 is reserved")
	ErrDuplicate   = errors.New("links: duplicate link number")
	ErrLinkNumber  = errors.New("links: link number must be 0..7")
	ErrPriority    = errors.New("links: link priority must be 0..255")
	ErrPingTimers  = errors.New("links: ping interval and timeout must be at least 200ms")
	ErrPeer        = errors.New("links: peer id 0, duplicate peer, or self among peers")
	ErrUnknownPeer = errors.New("links: unknown peer")
	ErrPongCount   = errors.New("links: pong count must be 1..255")
	ErrPrecision   = errors.New("links: ping precision must be positive")
)

func (c *Config) validate() error {
	if c.Self == 0 {
		return ErrSelfID
	}
	if len(c.Links) == 0 {
		return ErrNoLinks
	}
	var seen [wire.MaxLinks]bool
	for _, l := range c.Links {
		if l.Number >= wire.MaxLinks {
			return ErrLinkNumber
		}
		if seen[l.Number] {
			return ErrDuplicate
		}
		seen[l.Number] = true
		if l.Priority < 0 || l.Priority > 255 {
			return ErrPriority
		}
		if (l.PingInterval != 0 && l.PingInterval < TimerRes) || (l.PingTimeout != 0 && l.PingTimeout < TimerRes) {
			return ErrPingTimers
		}
		if l.PongCount < 0 || l.PongCount > 255 {
			return ErrPongCount
		}
	}
	// knet_link_set_ping_timers rejects values below its timer resolution;
	// the layer's own timers matter only to a link that leaves one of its
	// own at zero.
	for _, l := range c.Links {
		if (l.PingInterval == 0 && c.PingInterval < TimerRes) || (l.PingTimeout == 0 && c.PingTimeout < TimerRes) {
			return ErrPingTimers
		}
	}
	if c.PongCount < 0 || c.PongCount > 255 {
		return ErrPongCount
	}
	if c.Precision < 0 {
		return ErrPrecision
	}
	peers := map[wire.NodeID]bool{}
	for _, p := range c.Peers {
		if p == 0 || p == c.Self || peers[p] {
			return ErrPeer
		}
		peers[p] = true
	}
	return nil
}

// Validate reports whether New would accept c, so that a caller applying
// several changes at once can check them all before changing anything.
func (c Config) Validate() error { return c.validate() }
