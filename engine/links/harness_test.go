package links

import (
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// net is a tiny deterministic network for link-layer tests: every layer,
// constant latency, and per-link cuts. It is a test double, not the
// simulator: it exists so that link timing can be tested without sim/.
type net struct {
	t       *testing.T
	now     wire.Instant
	layers  []*Layer
	latency time.Duration
	cut     [wire.MaxLinks]bool
	queue   []flight
	events  []stamped
	data    []stamped // data payloads received
}

type flight struct {
	at wire.Instant
	d  wire.Datagram
}

type stamped struct {
	at   wire.Instant
	node wire.NodeID
	ev   wire.Event
	data string
}

func newNet(t *testing.T, n int, cfg Config, latency time.Duration) *net {
	nt := &net{t: t, latency: latency}
	for i := 1; i <= n; i++ {
		c := cfg
		c.Self = wire.NodeID(i)
		c.Peers = nil
		for j := 1; j <= n; j++ {
			if j != i {
				c.Peers = append(c.Peers, wire.NodeID(j))
			}
		}
		// Stagger the heartbeat threads as real nodes would be.
		l, err := New(c, 0, uint64(i)*7919, time.Duration(i*37)*time.Millisecond%TimerRes)
		if err != nil {
			t.Fatal(err)
		}
		nt.layers = append(nt.layers, l)
	}
	return nt
}

func (nt *net) layer(id wire.NodeID) *Layer { return nt.layers[id-1] }

// collect moves every layer's output into the network.
func (nt *net) collect() {
	for _, l := range nt.layers {
		for _, d := range l.Outbox() {
			if !nt.cut[d.Link] {
				nt.queue = append(nt.queue, flight{at: nt.now.Add(nt.latency), d: d})
			}
		}
		for _, e := range l.Events() {
			nt.events = append(nt.events, stamped{at: nt.now, node: l.cfg.Self, ev: e})
		}
		l.Clear()
	}
	slices.SortStableFunc(nt.queue, func(a, b flight) int { return int(a.at - b.at) })
}

// runUntil advances the network to instant end.
func (nt *net) runUntil(end wire.Instant) {
	for {
		next := end
		for _, l := range nt.layers {
			next = min(next, l.Deadline())
		}
		if len(nt.queue) > 0 {
			next = min(next, nt.queue[0].at)
		}
		nt.now = next
		if len(nt.queue) > 0 && nt.queue[0].at == next {
			f := nt.queue[0]
			nt.queue = nt.queue[1:]
			// A packet in flight on a link cut meanwhile is lost.
			if !nt.cut[f.d.Link] {
				l := nt.layer(f.d.To)
				l.Advance(nt.now)
				if p, ok := l.ReceiveDatagram(nt.now, f.d); ok {
					nt.data = append(nt.data, stamped{at: nt.now, node: f.d.To, data: string(p)})
				}
			}
		} else {
			for _, l := range nt.layers {
				l.Advance(nt.now)
			}
		}
		nt.collect()
		if next == end && (len(nt.queue) == 0 || nt.queue[0].at > end) {
			done := true
			for _, l := range nt.layers {
				if l.Deadline() <= end {
					done = false
				}
			}
			if done {
				return
			}
		}
	}
}

// find returns the first event of kind at node about peer and link at or
// after instant from.
func (nt *net) find(from wire.Instant, node, peer wire.NodeID, kind wire.EventKind, link wire.LinkNo) (wire.Instant, bool) {
	for _, s := range nt.events {
		if s.at >= from && s.node == node && s.ev.Kind == kind && s.ev.Peer == peer && (kind == wire.EventActiveLink || s.ev.Link == link) {
			return s.at, true
		}
	}
	return 0, false
}

func at(d time.Duration) wire.Instant { return wire.Instant(d) }
