package udp

import (
	"fmt"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

type unreach struct {
	link wire.LinkNo
	peer wire.NodeID
}

// TestPortUnreachableReported: once a peer's sockets are closed (its
// process killed), the kernel answers the next datagram to it with ICMP
// port unreachable; the transport reports it for that peer and link, and
// only for that one.
func TestPortUnreachableReported(t *testing.T) {
	skipShort(t)
	got := make(chan unreach, 64)
	nodes := cluster(t, 3, testKey(1), func(i int, cfg *Config, _ *hooks) {
		if i == 0 {
			cfg.Unreachable = func(l wire.LinkNo, p wire.NodeID) { got <- unreach{l, p} }
		}
	})
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.Send(dgram(1, 2, 0, "hello"))
	a.Send(dgram(1, 3, 0, "hello"))
	if m := c.recvMsg(t); m.payload != "hello" {
		t.Fatalf("node 3 got %+v", m)
	}
	if m := b.recvMsg(t); m.payload != "hello" {
		t.Fatalf("node 2 got %+v", m)
	}
	select {
	case u := <-got:
		t.Fatalf("error %+v while every peer listens", u)
	default:
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(waitTimeout)
	for link := wire.LinkNo(0); link < 2; link++ {
		// The error of one send comes back on the socket and is read by
		// the reader; keep sending until it is reported (the first
		// packet may race the close).
		tick := time.NewTicker(20 * time.Millisecond)
	wait:
		for {
			a.Send(dgram(1, 2, link, "anyone?"))
			a.Send(dgram(1, 3, link, "still there"))
			select {
			case u := <-got:
				if u != (unreach{link, 2}) {
					t.Fatalf("reported %+v, want link %d node 2", u, link)
				}
				break wait
			case <-tick.C:
			case <-deadline:
				t.Fatalf("no ICMP error reported for link %d of the closed peer", link)
			}
		}
		tick.Stop()
	}
	if s := a.Stats(); s.ICMPErrors < 2 {
		t.Errorf("ICMPErrors %d, want at least 2", s.ICMPErrors)
	}
	// The live peer still gets its datagrams.
	for c.drain(); ; {
		a.Send(dgram(1, 3, 0, "still there"))
		select {
		case m := <-c.in:
			if m.from != 1 || m.payload != "still there" {
				t.Fatalf("node 3 got %+v", m)
			}
			return
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatal("node 3 gets nothing after node 2 closed")
		}
	}
}

func (n *node) drain() {
	for {
		select {
		case <-n.in:
		default:
			return
		}
	}
}

// TestLivePeerKeepsItsPacketsBesideADeadOne: while a dead peer's port
// answers every datagram with ICMP, the pending error comes back on the
// socket's next send, whichever peer it is for, and that send puts nothing
// on the wire. The transport reads the error and sends again, so a live
// peer loses nothing to its dead neighbour (on loopback nothing else is
// lost): without the retry every other packet to node 3 below was lost,
// its tokens and JOINs among them in a real cluster.
func TestLivePeerKeepsItsPacketsBesideADeadOne(t *testing.T) {
	skipShort(t)
	nodes := cluster(t, 3, testKey(1), func(i int, cfg *Config, _ *hooks) {
		if i == 0 {
			cfg.Unreachable = func(wire.LinkNo, wire.NodeID) {}
		}
	})
	a, b, c := nodes[0], nodes[1], nodes[2]
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	const n = 40
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := range n {
		// On loopback the ICMP answer is back before the first send
		// returns, so the second send meets the pending error.
		a.Send(dgram(1, 2, 0, "anyone?"))
		a.Send(dgram(1, 3, 0, fmt.Sprintf("m%d", i)))
		<-tick.C
	}
	seen := map[string]bool{}
	deadline := time.After(waitTimeout)
	for len(seen) < n {
		select {
		case m := <-c.in:
			seen[m.payload] = true
		case <-deadline:
			t.Fatalf("node 3 got %d of %d datagrams sent beside a dead peer (send errors %d, ICMP errors %d)",
				len(seen), n, a.Stats().SendErrors, a.Stats().ICMPErrors)
		}
	}
	if s := a.Stats(); s.ICMPErrors == 0 {
		t.Errorf("no ICMP error was seen: the test did not exercise the pending-error path")
	}
}
