package udp

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

func TestDeliveryAcrossLinks(t *testing.T) {
	skipShort(t)
	nodes := cluster(t, 3, testKey(1), nil)
	for i, a := range nodes {
		for j := range nodes {
			if i == j {
				continue
			}
			for link := range wire.LinkNo(2) {
				a.Send(dgram(wire.NodeID(i+1), wire.NodeID(j+1), link, fmt.Sprintf("%d->%d/%d", i+1, j+1, link)))
			}
		}
	}
	for j, b := range nodes {
		seen := map[string]bool{}
		for range 4 {
			m := b.recvMsg(t)
			if want := fmt.Sprintf("%d->%d/%d", m.from, j+1, m.link); m.payload != want || seen[want] {
				t.Fatalf("node %d got %q from %d on link %d (want %q once)", j+1, m.payload, m.from, m.link, want)
			}
			seen[m.payload] = true
		}
	}
	for i, n := range nodes {
		if err := n.Close(); err != nil {
			t.Fatalf("close: %v", err)
		}
		s := n.Stats()
		if s.Sent != 4 || s.Received != 4 || s.RejectedTotal() != 0 || s.DroppedTotal() != 0 || s.SendErrors != 0 {
			t.Errorf("node %d stats %+v", i+1, s)
		}
		if got := n.LocalAddr(0); got != n.cfg.Local[0] {
			t.Errorf("LocalAddr(0) = %v, want %v", got, n.cfg.Local[0])
		}
		if got := n.LocalAddr(2); got.IsValid() {
			t.Errorf("LocalAddr(2) = %v, want zero", got)
		}
	}
}

func TestWrongKeyRejected(t *testing.T) {
	skipShort(t)
	nodes := cluster(t, 2, testKey(1), func(i int, cfg *Config, _ *hooks) {
		if i == 1 {
			cfg.Key = testKey(2)
		}
	})
	a, b := nodes[0], nodes[1]
	for i := range 5 {
		for link := range wire.LinkNo(2) {
			a.Send(dgram(1, 2, link, fmt.Sprint("secret ", i)))
			b.Send(dgram(2, 1, link, fmt.Sprint("secret ", i)))
		}
	}
	for _, n := range nodes {
		for range 10 {
			n.expectReject(t, RejectAuth)
		}
		n.expectNoMsg(t)
		if s := n.Stats(); s.Rejected[RejectAuth] != 10 || s.Received != 0 {
			t.Errorf("node %d stats %+v", n.cfg.Self, s)
		}
	}
}

func TestUnlistedSourceRejected(t *testing.T) {
	skipShort(t)
	key := testKey(1)
	nodes := cluster(t, 2, key, nil)
	b := nodes[1]
	// a genuine node-1 packet, but from an address node 2 does not list
	forger := mustSealer(t, key, 1, nil, 9, uint64(time.Now().UnixNano()))
	raw := rawSocket(t, loopback(0))
	sendRaw(t, raw, b.LocalAddr(0), mustSeal(t, forger, 2, 0, []byte("from a stranger")))
	b.expectReject(t, RejectUnknownSource)
	// right port, other loopback address (all of 127/8 is local on Linux)
	other := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 2}), nodes[0].LocalAddr(1).Port())
	if raw2, err := listenRaw(other); err != nil {
		t.Logf("127.0.0.2 not bindable here, skipping that case: %v", err)
	} else {
		defer raw2.Close()
		sendRaw(t, raw2, b.LocalAddr(1), mustSeal(t, forger, 2, 1, []byte("from a neighbour")))
		b.expectReject(t, RejectUnknownSource)
	}
	// node 1's real packets still arrive
	nodes[0].Send(dgram(1, 2, 0, "genuine"))
	if m := b.recvMsg(t); m.payload != "genuine" {
		t.Fatalf("got %+v", m)
	}
	b.expectNoMsg(t)
}

// TestReplayRejected puts a relay between nodes 1 and 2 on link 0: each
// lists the relay as the other's link-0 address, so the relay captures node
// 1's packets and can deliver each as often and in whatever order it likes.
func TestReplayRejected(t *testing.T) {
	skipShort(t)
	relay := rawSocket(t, loopback(0))
	nodes := cluster(t, 2, testKey(1), func(i int, cfg *Config, _ *hooks) {
		cfg.Peers = slices.Clone(cfg.Peers)
		cfg.Peers[1-i].Addrs[0] = addrOf(relay)
	})
	a, b := nodes[0], nodes[1]
	var pkts [][]byte
	for i := range 3 {
		a.Send(dgram(1, 2, 0, fmt.Sprint("m", i)))
		pkts = append(pkts, capture(t, relay))
	}
	slices.SortFunc(pkts, func(x, y []byte) int { // by counter, should loopback reorder
		hx, _ := ParseHeader(x)
		hy, _ := ParseHeader(y)
		return cmp.Compare(hx.Counter, hy.Counter)
	})
	to := b.LocalAddr(0)
	sendRaw(t, relay, to, pkts[0])
	if m := b.recvMsg(t); m.payload != "m0" || m.from != 1 || m.link != 0 {
		t.Fatalf("got %+v, want m0 from 1 on link 0", m)
	}
	sendRaw(t, relay, to, pkts[0]) // the same bytes again
	b.expectReject(t, RejectReplayed)
	sendRaw(t, relay, to, pkts[2]) // reordered within the window: fine
	if m := b.recvMsg(t); m.payload != "m2" {
		t.Fatalf("got %+v, want m2", m)
	}
	sendRaw(t, relay, to, pkts[1])
	if m := b.recvMsg(t); m.payload != "m1" {
		t.Fatalf("got %+v, want m1", m)
	}
	sendRaw(t, relay, to, pkts[1])
	sendRaw(t, relay, to, pkts[2])
	b.expectReject(t, RejectReplayed)
	b.expectReject(t, RejectReplayed)
	b.expectNoMsg(t)

	// node 1 restarts: its new epoch is adopted, and its previous
	// incarnation's packets stay refused
	cfg := a.cfg
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a2 := start(t, cfg, hooks{})
	a2.Send(dgram(1, 2, 0, "reborn"))
	sendRaw(t, relay, to, capture(t, relay))
	if m := b.recvMsg(t); m.payload != "reborn" {
		t.Fatalf("got %+v, want reborn", m)
	}
	sendRaw(t, relay, to, pkts[2])
	b.expectReject(t, RejectReplayed)
	b.expectNoMsg(t)
	if s := b.Stats(); s.Received != 4 || s.Rejected[RejectReplayed] != 4 || s.RejectedTotal() != 4 {
		t.Errorf("stats %+v", s)
	}
}

func TestMalformedRejected(t *testing.T) {
	skipShort(t)
	key := testKey(1)
	raw := rawSocket(t, loopback(0))
	nodes := cluster(t, 2, key, func(i int, cfg *Config, h *hooks) {
		if i == 1 { // node 2 hears node 1 on link 0 from raw, and caps packets at 512
			cfg.Peers = slices.Clone(cfg.Peers)
			cfg.Peers[0].Addrs[0] = addrOf(raw)
			h.maxPacket = 512
		}
	})
	b := nodes[1]
	now := uint64(time.Now().UnixNano())
	s1 := mustSealer(t, key, 1, nil, 77, now)
	good := mustSeal(t, s1, 2, 0, []byte("good"))
	garbage := make([]byte, 100)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range garbage {
		garbage[i] = byte(rnd.Uint32())
	}
	garbage[0] = ^byte(magic0)
	badLink := bytes.Clone(good)
	badLink[3] = 9
	badTag := bytes.Clone(good)
	badTag[len(badTag)-1] ^= 0x80
	future := bytes.Clone(good) // a forged header far ahead: must not move the window
	future[16] ^= 0x40
	for _, tc := range []struct {
		name string
		pkt  []byte
		want Reason
	}{
		{"truncated below overhead", good[:10], RejectBadSize},
		{"oversized", make([]byte, 513), RejectOversized},
		{"random garbage", garbage, RejectBadHeader},
		{"link out of range", badLink, RejectBadHeader},
		{"sealed for link 1", mustSeal(t, s1, 2, 1, []byte("l1")), RejectWrongLink},
		{"claims node 3", mustSeal(t, mustSealer(t, key, 3, nil, 1, now), 2, 0, nil), RejectSenderMismatch},
		{"for node 9", mustSeal(t, s1, 9, 0, nil), RejectWrongDest},
		{"truncated", good[:len(good)-1], RejectAuth},
		{"bad tag", badTag, RejectAuth},
		{"forged future counter", future, RejectAuth},
	} {
		sendRaw(t, raw, b.LocalAddr(0), tc.pkt)
		select {
		case r := <-b.rejected:
			if r != tc.want {
				t.Errorf("%s: rejected as %v, want %v", tc.name, r, tc.want)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("%s: no rejection within %v", tc.name, waitTimeout)
		}
	}
	b.expectNoMsg(t)
	sendRaw(t, raw, b.LocalAddr(0), good)
	if m := b.recvMsg(t); m.payload != "good" || m.from != 1 {
		t.Fatalf("got %+v", m)
	}
	s := b.Stats()
	if s.Received != 1 || s.Rejected[RejectAuth] != 3 || s.RejectedTotal() != 10 {
		t.Errorf("stats %+v", s)
	}
}

func TestPeerRestart(t *testing.T) {
	skipShort(t)
	key := testKey(1)
	nodes := cluster(t, 2, key, nil)
	a, b := nodes[0], nodes[1]
	exchange := func(b *node) {
		t.Helper()
		for link := range wire.LinkNo(2) {
			a.Send(dgram(1, 2, link, "ping"))
			b.Send(dgram(2, 1, link, "pong"))
			if m := b.recvMsg(t); m.payload != "ping" || m.link != link {
				t.Fatalf("node 2 got %+v", m)
			}
			if m := a.recvMsg(t); m.payload != "pong" || m.link != link {
				t.Fatalf("node 1 got %+v", m)
			}
		}
	}
	exchange(b)
	cfg := b.cfg
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2 := start(t, cfg, hooks{})
	t.Logf("epoch %08x -> %08x", b.Epoch(), b2.Epoch())
	exchange(b2)
	exchange(b2)
	if s := a.Stats(); s.RejectedTotal() != 0 || s.Received != 6 {
		t.Errorf("node 1 stats %+v", s)
	}
}

func TestDelay(t *testing.T) {
	skipShort(t)
	const delay = 20 * time.Millisecond
	nodes := cluster(t, 2, testKey(1), func(i int, cfg *Config, _ *hooks) {
		cfg.Delay = func(link wire.LinkNo) time.Duration {
			if link == 0 {
				return delay
			}
			return 0
		}
	})
	a, b := nodes[0], nodes[1]
	for i := range 5 {
		sent := time.Now()
		a.Send(dgram(1, 2, 0, fmt.Sprint("slow ", i)))
		m := b.recvMsg(t)
		if got := m.at.Sub(sent); got < delay || m.payload != fmt.Sprint("slow ", i) {
			t.Fatalf("packet %d (%q) took %v, want >= %v", i, m.payload, got, delay)
		} else {
			t.Logf("link 0: %v", got)
		}
	}
	sent := time.Now()
	a.Send(dgram(1, 2, 1, "fast"))
	m := b.recvMsg(t)
	t.Logf("link 1 (no delay): %v", m.at.Sub(sent))
}

func TestSendDrops(t *testing.T) {
	skipShort(t)
	nodes := cluster(t, 2, testKey(1), func(i int, cfg *Config, _ *hooks) {
		if i != 0 {
			return
		}
		cfg.Peers = slices.Clone(cfg.Peers)
		cfg.Peers[1].Addrs[1] = netip.AddrPort{} // node 2 unreachable on link 1
		cfg.Delay = func(wire.LinkNo) time.Duration { return time.Hour }
		cfg.DropFilter = func(d wire.Datagram) bool { return string(d.Payload) == "filtered" }
	})
	a := nodes[0]
	a.Send(dgram(1, 3, 0, "unknown node"))
	a.Send(dgram(2, 2, 0, "not from self"))
	a.Send(dgram(1, 2, 5, "unconfigured link"))
	a.Send(dgram(1, 2, 1, "no address on link"))
	a.Send(wire.Datagram{From: 1, To: 2, Payload: make([]byte, MaxPayload+1)})
	a.Send(dgram(1, 2, 0, "filtered"))
	for range queueLen + 2 { // the writer holds the first for an hour
		a.Send(dgram(1, 2, 0, "queued"))
	}
	s := a.Stats()
	if s.Dropped[DropNoRoute] != 4 || s.Dropped[DropOversized] != 1 || s.Dropped[DropFiltered] != 1 {
		t.Errorf("stats %+v", s)
	}
	if q := s.Dropped[DropQueueFull]; q < 1 || q > 2 {
		t.Errorf("queue_full = %d, want 1 or 2", q)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	a.Send(dgram(1, 2, 0, "after close"))
	if s := a.Stats(); s.Dropped[DropClosed] != 1 || s.Sent != 0 {
		t.Errorf("after close: %+v", s)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestListenErrors(t *testing.T) {
	lo := func(port uint16) netip.AddrPort { return loopback(port) }
	base := func() Config {
		return Config{Self: 1, Local: [wire.MaxLinks]netip.AddrPort{lo(40001)}, Key: testKey(1),
			Peers: []Peer{{ID: 2, Addrs: [wire.MaxLinks]netip.AddrPort{lo(40002)}}}}
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   error
	}{
		{"self 0", func(c *Config) { c.Self = 0 }, ErrConfig},
		{"no link", func(c *Config) { c.Local = [wire.MaxLinks]netip.AddrPort{} }, ErrConfig},
		{"short key", func(c *Config) { c.Key = c.Key[:MinKeySize-1] }, ErrKeyTooShort},
		{"peer 0", func(c *Config) { c.Peers[0].ID = 0 }, ErrConfig},
		{"peer twice", func(c *Config) { c.Peers = append(c.Peers, Peer{ID: 2}) }, ErrConfig},
		{"peer on unconfigured link", func(c *Config) { c.Peers[0].Addrs[3] = lo(40003) }, ErrConfig},
		{"families differ", func(c *Config) { c.Peers[0].Addrs[0] = netip.MustParseAddrPort("[::1]:40002") }, ErrConfig},
		{"shared address", func(c *Config) { c.Peers = append(c.Peers, Peer{ID: 3, Addrs: c.Peers[0].Addrs}) }, ErrConfig},
	} {
		cfg := base()
		tc.change(&cfg)
		if _, err := Listen(cfg, func(wire.LinkNo, wire.NodeID, []byte) {}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := Listen(base(), nil); !errors.Is(err, ErrConfig) {
		t.Errorf("nil recv: %v", err)
	}
	if testing.Short() {
		return
	}
	busy := rawSocket(t, loopback(0))
	cfg := base()
	cfg.Local[0] = addrOf(busy)
	_, err := Listen(cfg, func(wire.LinkNo, wire.NodeID, []byte) {})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("port in use: %v", err)
	}
}

// TestRecycle: a payload the receiver hands back through Recycle is read
// into again, overwritten by the next packet with no trace of what it held
// before.
func TestRecycle(t *testing.T) {
	skipShort(t)
	rx := make(chan []byte, 16)
	nodes := cluster(t, 2, testKey(1), nil)
	a, b := nodes[0], nodes[1]
	// b's own receive path, recycling every payload after reading it.
	b.Close()
	tr, err := Listen(b.cfg, func(_ wire.LinkNo, _ wire.NodeID, p []byte) { rx <- p })
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var first *byte
	for i := range 8 {
		p := []byte(strings.Repeat(string(rune('a'+i)), 100-10*i))
		a.Send(wire.Datagram{From: 1, To: 2, Link: 0, Payload: p})
		got := <-rx
		if string(got) != string(p) {
			t.Fatalf("packet %d: got %q, want %q", i, got, p)
		}
		if cap(got) != rxBufferSize {
			t.Fatalf("packet %d read into a buffer of %d bytes, want %d", i, cap(got), rxBufferSize)
		}
		if i == 0 {
			first = &got[:1][0]
		} else if &got[:1][0] != first {
			t.Fatalf("packet %d not read into the buffer handed back", i)
		}
		tr.Recycle(got)
	}
	if s := tr.Stats(); s.Received != 8 {
		t.Fatalf("received %d", s.Received)
	}
}

// TestSendBatch: a batch of datagrams to two peers on two links, runs of
// equal-sized ones interleaved between the peers (as a Totem node's
// messages to each member) and datagrams of other sizes between them (the
// token), reaches every peer complete and in the batch's order, with
// segmented writes and with the kernel's segmentation off (written one by
// one), and with a delay on one link, whose datagrams then wait in its
// queue.
func TestSendBatch(t *testing.T) {
	skipShort(t)
	for _, tc := range []struct {
		name  string
		noGSO bool
		delay bool
		eio   bool
	}{{"segmented", false, false, false}, {"one by one", true, false, false}, {"link 1 delayed", false, true, false},
		{"kernel refuses to segment", false, false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			refused := 0 // segmented writes tried
			nodes := cluster(t, 3, testKey(1), func(i int, cfg *Config, h *hooks) {
				if i != 0 {
					return
				}
				h.writeSegments = func(c *net.UDPConn, b []byte, seg int, ap netip.AddrPort) error {
					refused++
					if tc.eio {
						return syscall.EIO
					}
					return writeSegments(c, b, seg, ap)
				}
				if tc.delay {
					cfg.Delay = func(l wire.LinkNo) time.Duration { return time.Duration(l) * 20 * time.Millisecond }
				}
			})
			a := nodes[0]
			a.noGSO.Store(tc.noGSO)
			var ds []wire.Datagram
			want := map[wire.NodeID][]string{}
			add := func(to wire.NodeID, link wire.LinkNo, size int) {
				p := fmt.Sprintf("%d/%d/%d/", len(ds), to, link)
				p += strings.Repeat("x", size-len(p))
				// A header apart from the payload, as the engine's frames.
				ds = append(ds, wire.Datagram{From: 1, To: to, Link: link, Header: []byte(p[:12]), Payload: []byte(p[12:])})
				want[to] = append(want[to], p)
			}
			for round := range 3 {
				for range 70 { // more than one write's segments
					add(2, 0, 1000)
					add(3, 0, 1000)
				}
				add(2, 1, 1000)
				add(3, 1, 300+round)
				add(2, 0, 100) // the token
			}
			a.SendBatch(ds)
			for _, id := range []wire.NodeID{2, 3} {
				n := nodes[id-1]
				got := map[wire.LinkNo][]string{}
				for range want[id] {
					m := n.recvMsg(t)
					got[m.link] = append(got[m.link], m.payload)
				}
				// In order per link (the links are separate sockets).
				for link, ps := range got {
					var w []string
					for _, p := range want[id] {
						if strings.Contains(p, fmt.Sprintf("/%d/%d/", id, link)) {
							w = append(w, p)
						}
					}
					if !slices.Equal(ps, w) {
						t.Fatalf("node %d link %d: got %d datagrams %.40q..., want %d in the batch's order", id, link, len(ps), ps, len(w))
					}
				}
				n.expectNoMsg(t)
			}
			// A writer counts its packet after the write returns, which may
			// be after the peer has it.
			deadline := time.Now().Add(waitTimeout)
			for a.Stats().Sent != uint64(len(ds)) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if s := a.Stats(); s.Sent != uint64(len(ds)) || s.DroppedTotal() != 0 || s.SendErrors != 0 {
				t.Fatalf("stats %+v, want %d sent", s, len(ds))
			}
			switch {
			case tc.eio && (refused != 1 || !a.noGSO.Load()):
				t.Fatalf("segmented writes tried %d times (segmentation off: %v), want once and off", refused, a.noGSO.Load())
			case !tc.eio && !tc.noGSO && refused < 6:
				// Per round at least two runs of 64 and two of 6.
				t.Fatalf("%d segmented writes, want at least 6", refused)
			case tc.noGSO && refused != 0:
				t.Fatalf("%d segmented writes with segmentation off", refused)
			}
		})
	}
}
