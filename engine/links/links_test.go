package links

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

func TestPingTimersFollowCorosync(t *testing.T) {
	// Effective token -> knet_ping_interval / knet_ping_timeout as corosync
	// computes them (spec links.md §4.1; harness results.md cmap values).
	tests := []struct {
		token             time.Duration
		interval, timeout time.Duration
	}{
		{3000 * time.Millisecond, 750 * time.Millisecond, 1500 * time.Millisecond},
		{3650 * time.Millisecond, 912 * time.Millisecond, 1825 * time.Millisecond},
		{4300 * time.Millisecond, 1075 * time.Millisecond, 2150 * time.Millisecond},
		{4950 * time.Millisecond, 1237 * time.Millisecond, 2475 * time.Millisecond},
		{1650 * time.Millisecond, 412 * time.Millisecond, 825 * time.Millisecond},
		{2950 * time.Millisecond, 737 * time.Millisecond, 1475 * time.Millisecond},
		{12100 * time.Millisecond, 3025 * time.Millisecond, 6050 * time.Millisecond},
	}
	for _, tt := range tests {
		i, to := PingTimers(tt.token, 0)
		if i != tt.interval || to != tt.timeout {
			t.Errorf("PingTimers(%v) = %v, %v; want %v, %v", tt.token, i, to, tt.interval, tt.timeout)
		}
	}
}

func TestConfigValidation(t *testing.T) {
	ok := Config{Self: 1, Peers: []wire.NodeID{2}, Links: []LinkConfig{{Number: 0}}, PingInterval: time.Second, PingTimeout: 2 * time.Second}
	tests := []struct {
		name string
		mod  func(*Config)
		want error
	}{
		{"valid", func(*Config) {}, nil},
		{"no links", func(c *Config) { c.Links = nil }, ErrNoLinks},
		{"self zero", func(c *Config) { c.Self = 0 }, ErrSelfID},
		{"link 8", func(c *Config) { c.Links = []LinkConfig{{Number: 8}} }, ErrLinkNumber},
		{"duplicate link", func(c *Config) { c.Links = []LinkConfig{{Number: 1}, {Number: 1}} }, ErrDuplicate},
		{"priority 256", func(c *Config) { c.Links = []LinkConfig{{Number: 0, Priority: 256}} }, ErrPriority},
		{"ping below timer resolution", func(c *Config) { c.PingInterval = 100 * time.Millisecond }, ErrPingTimers},
		{"per-link ping below resolution", func(c *Config) { c.Links = []LinkConfig{{Number: 0, PingTimeout: time.Millisecond}} }, ErrPingTimers},
		{"self among peers", func(c *Config) { c.Peers = []wire.NodeID{1} }, ErrPeer},
		{"duplicate peer", func(c *Config) { c.Peers = []wire.NodeID{2, 2} }, ErrPeer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.mod(&c)
			_, err := New(c, 0, 1, 0)
			if err != tt.want {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"passive", "active", "rr"} {
		m, err := ParseMode(s)
		if err != nil || m.String() != s {
			t.Errorf("ParseMode(%q) = %v, %v", s, m, err)
		}
	}
	if _, err := ParseMode("round-robin"); err == nil {
		t.Error("ParseMode accepted round-robin")
	}
}

// upLayer returns a layer whose links to peer 2 are marked connected, to
// test selection without running heartbeats.
func upLayer(t *testing.T, mode Mode, links []LinkConfig, up ...wire.LinkNo) *Layer {
	t.Helper()
	l, err := New(Config{Self: 1, Peers: []wire.NodeID{2}, Links: links, Mode: mode,
		PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &l.peers[0]
	for _, n := range up {
		l.linkUp(p, p.linkByNumber(n))
	}
	l.Clear()
	return l
}

func TestPassiveSelection(t *testing.T) {
	// Highest priority wins; on a tie the lower link number; 0 counts as 1.
	tests := []struct {
		name   string
		links  []LinkConfig
		up     []wire.LinkNo
		active int8
	}{
		{"higher priority wins", []LinkConfig{{Number: 0, Priority: 10}, {Number: 1, Priority: 20}}, []wire.LinkNo{0, 1}, 1},
		{"tie goes to lower number", []LinkConfig{{Number: 0, Priority: 5}, {Number: 1, Priority: 5}}, []wire.LinkNo{0, 1}, 0},
		{"tie in any configuration order", []LinkConfig{{Number: 3, Priority: 5}, {Number: 1, Priority: 5}}, []wire.LinkNo{1, 3}, 1},
		{"zero ties with one", []LinkConfig{{Number: 0, Priority: 1}, {Number: 1, Priority: 0}}, []wire.LinkNo{0, 1}, 0},
		{"only usable links count", []LinkConfig{{Number: 0, Priority: 10}, {Number: 1, Priority: 20}}, []wire.LinkNo{0}, 0},
		{"nothing usable", []LinkConfig{{Number: 0}, {Number: 1}}, nil, wire.NoLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := upLayer(t, ModePassive, tt.links, tt.up...)
			st, _ := l.Status(2)
			if st.Active != tt.active {
				t.Fatalf("active link %d, want %d", st.Active, tt.active)
			}
			n := l.Send(2, []byte("x"))
			if tt.active == wire.NoLink {
				if n != 0 || l.Stats().DataNoLink != 1 {
					t.Fatalf("sent %d datagrams with no usable link", n)
				}
				return
			}
			if n != 1 || l.Outbox()[0].Link != wire.LinkNo(tt.active) {
				t.Fatalf("sent %d datagrams, first on link %d; want 1 on %d", n, l.Outbox()[0].Link, tt.active)
			}
		})
	}
}

func TestActiveAndRoundRobin(t *testing.T) {
	links := []LinkConfig{{Number: 0}, {Number: 1}, {Number: 2}}
	a := upLayer(t, ModeActive, links, 0, 2)
	if n := a.Send(2, []byte("x")); n != 2 {
		t.Fatalf("active mode sent %d copies, want one per usable link (2)", n)
	}
	if a.Outbox()[0].Link != 0 || a.Outbox()[1].Link != 2 {
		t.Fatalf("active copies on links %d,%d", a.Outbox()[0].Link, a.Outbox()[1].Link)
	}

	r := upLayer(t, ModeRR, links, 0, 1, 2)
	var got []wire.LinkNo
	for range 6 {
		r.Send(2, []byte("x"))
	}
	for _, d := range r.Outbox() {
		got = append(got, d.Link)
	}
	want := []wire.LinkNo{0, 1, 2, 0, 1, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rr links %v, want %v", got, want)
		}
	}
}

func TestDuplicatesDiscarded(t *testing.T) {
	links := []LinkConfig{{Number: 0}, {Number: 1}}
	tx := upLayer(t, ModeActive, links, 0, 1)
	rx, err := New(Config{Self: 2, Peers: []wire.NodeID{1}, Links: links, PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Data from a peer with no usable link is discarded (knet 1.25).
	tx.Send(2, []byte("early"))
	if _, ok := rx.Receive(0, 0, 1, tx.Outbox()[0].Bytes()); ok || rx.Stats().DataUnreachable != 1 {
		t.Fatal("data from an unreachable peer was delivered")
	}
	tx.Clear()
	rx.linkUp(&rx.peers[0], &rx.peers[0].links[0])
	tx.Send(2, []byte("a"))
	tx.Send(2, []byte("b"))
	var got []string
	for _, d := range tx.Outbox() {
		if p, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); ok {
			got = append(got, string(p))
		}
	}
	// Replay one datagram again, as network duplication would.
	d := tx.Outbox()[0]
	if _, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); ok {
		t.Fatal("a duplicated datagram was delivered twice")
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Fatalf("delivered %q, want [a b] once each", got)
	}
	if rx.Stats().DataDuplicates != 3 {
		t.Fatalf("duplicates counted %d, want 3", rx.Stats().DataDuplicates)
	}
	// A restarted sender (new incarnation) counts from 1 again and must
	// not be mistaken for duplicates.
	tx2 := upLayer(t, ModePassive, links, 0)
	tx2.incarnation = 99
	tx2.Send(2, []byte("c"))
	d = tx2.Outbox()[0]
	if p, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); !ok || string(p) != "c" {
		t.Fatal("data from a restarted sender was dropped")
	}
}

func TestRemovePeer(t *testing.T) {
	l, err := New(Config{Self: 1, Peers: []wire.NodeID{2, 3, 4}, Links: []LinkConfig{{Number: 0}},
		PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.RemovePeer(3)
	l.RemovePeer(9) // unknown: nothing happens
	if _, ok := l.Status(3); ok {
		t.Fatal("removed peer still has a status")
	}
	for _, id := range []wire.NodeID{2, 4} {
		if _, ok := l.Status(id); !ok {
			t.Fatalf("peer %d lost with the removal of 3", id)
		}
	}
	l.Advance(0)
	for _, d := range l.Outbox() {
		if d.To == 3 {
			t.Fatal("the removed peer is still pinged")
		}
	}
	if _, ok := l.Receive(0, 0, 3, wire.AppendFrame(nil, wire.Frame{Type: wire.FramePing, From: 3, To: 1})); ok || l.Stats().Rejected != 1 {
		t.Fatal("a datagram from the removed peer was not rejected")
	}
}

func TestAddPeerRefusals(t *testing.T) {
	tests := []struct {
		name string
		id   wire.NodeID
	}{
		{"node id 0", 0},
		{"the local node", 1},
		{"a peer already known", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(Config{Self: 1, Peers: []wire.NodeID{2}, Links: []LinkConfig{{Number: 0}},
				PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.AddPeer(tt.id); !errors.Is(err, ErrPeer) {
				t.Fatalf("AddPeer(%d) = %v, want ErrPeer", tt.id, err)
			}
			if got := l.Peers(); !slices.Equal(got, []wire.NodeID{2}) {
				t.Fatalf("peers %v after a refused AddPeer, want [2]", got)
			}
		})
	}
}

// A peer added at runtime on both sides is pinged, its links come up within
// the heartbeat timing of a peer configured at start, and data flows both
// ways; a removed and re-added peer starts from scratch.
func TestAddPeerLinksComeUp(t *testing.T) {
	cfg := Config{Links: []LinkConfig{{Number: 0}, {Number: 1, Priority: 2}},
		PingInterval: 250 * time.Millisecond, PingTimeout: 500 * time.Millisecond}
	nt := newNet(t, 2, cfg, time.Millisecond)
	nt.runUntil(at(3 * time.Second))
	if st, _ := nt.layer(1).Status(2); st.Active != 1 {
		t.Fatalf("the two start nodes use link %d, want 1", st.Active)
	}
	if _, ok := nt.layer(1).Status(3); ok {
		t.Fatal("node 3 known before it was added")
	}
	c3 := cfg
	c3.Self, c3.Peers = 3, []wire.NodeID{1, 2}
	l3, err := New(c3, nt.now, 3*7919, 0)
	if err != nil {
		t.Fatal(err)
	}
	nt.layers = append(nt.layers, l3)
	for _, id := range []wire.NodeID{1, 2} {
		if err := nt.layer(id).AddPeer(3); err != nil {
			t.Fatal(err)
		}
	}
	added := nt.now
	nt.runUntil(added.Add(3 * time.Second))
	for _, pair := range [][2]wire.NodeID{{1, 3}, {2, 3}, {3, 1}, {3, 2}} {
		st, ok := nt.layer(pair[0]).Status(pair[1])
		if !ok || !st.Up[0] || !st.Up[1] || st.Active != 1 {
			t.Fatalf("node %d's view of %d after AddPeer: %+v", pair[0], pair[1], st)
		}
	}
	if !slices.Equal(nt.layer(1).Peers(), []wire.NodeID{2, 3}) {
		t.Fatalf("peers %v, want [2 3]", nt.layer(1).Peers())
	}
	nt.layer(1).Send(3, []byte("hello 3"))
	l3.Send(1, []byte("hello 1"))
	nt.collect()
	nt.runUntil(nt.now.Add(100 * time.Millisecond))
	var got []string
	for _, d := range nt.data {
		if d.at > added {
			got = append(got, fmt.Sprintf("%d:%s", d.node, d.data))
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"1:hello 1", "3:hello 3"}) {
		t.Fatalf("data after AddPeer: %v", got)
	}

	nt.layer(1).RemovePeer(3)
	if err := nt.layer(1).AddPeer(3); err != nil {
		t.Fatalf("re-adding a removed peer: %v", err)
	}
	if st, _ := nt.layer(1).Status(3); st.Up[0] || st.Up[1] || st.Active != wire.NoLink {
		t.Fatalf("a re-added peer starts with its links up: %+v", st)
	}
}
