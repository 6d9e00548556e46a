package udp

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Helpers for the socket tests. Everything binds on 127.0.0.0/8 only, every
// wait has a deadline, and nothing sleeps.

// waitTimeout bounds every wait for a packet or a rejection: generous, so
// that a loaded machine (CI on two busy cores) never fails a test by the
// clock; a wait that passes returns as soon as the packet is there.
const waitTimeout = 60 * time.Second

// skipShort skips socket tests under -short.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
}

// msg is one call of the receive callback.
type msg struct {
	link    wire.LinkNo
	from    wire.NodeID
	payload string
	at      time.Time
}

// node is a Transport under test with its callbacks turned into channels.
type node struct {
	*Transport
	in       chan msg
	rejected chan Reason
}

// loopback returns 127.0.0.1:port.
func loopback(port uint16) netip.AddrPort {
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), port)
}

// reserve returns n free loopback addresses: it binds port 0 n times and
// releases the sockets, so that configs can name each other's ports before
// any Transport exists. Another process may grab a port in between; start
// retries on EADDRINUSE.
func reserve(t testing.TB, n int) []netip.AddrPort {
	t.Helper()
	out := make([]netip.AddrPort, n)
	conns := make([]*net.UDPConn, n)
	for i := range n {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(loopback(0)))
		if err != nil {
			t.Fatalf("reserve: %v", err)
		}
		conns[i] = c
		out[i] = unmap(c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	for _, c := range conns {
		c.Close()
	}
	return out
}

// start listens with cfg and hooks h and registers Close as cleanup.
func start(t testing.TB, cfg Config, h hooks) *node {
	t.Helper()
	n, err := startErr(t, cfg, h)
	if err != nil {
		t.Fatalf("listen node %d: %v", cfg.Self, err)
	}
	return n
}

// startErr is start returning the error of listen.
func startErr(t testing.TB, cfg Config, h hooks) (*node, error) {
	n := &node{in: make(chan msg, 256), rejected: make(chan Reason, 256)}
	h.onReject = func(r Reason) {
		select {
		case n.rejected <- r:
		default:
			t.Errorf("node %d: rejection channel full", cfg.Self)
		}
	}
	tr, err := listen(cfg, func(link wire.LinkNo, from wire.NodeID, b []byte) {
		select {
		case n.in <- msg{link, from, string(b), time.Now()}:
		default:
			t.Errorf("node %d: receive channel full", cfg.Self)
		}
	}, h)
	if err != nil {
		return nil, err
	}
	n.Transport = tr
	t.Cleanup(func() { tr.Close() })
	return n, nil
}

// cluster starts size transports with two links each, every link on its
// own loopback port, all knowing each other (the Peers list includes each
// node itself) and sharing key. adjust, if not nil, may change node i's
// config and hooks before it starts; it must clone Peers before changing it.
func cluster(t testing.TB, size int, key []byte, adjust func(i int, cfg *Config, h *hooks)) []*node {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addrs := reserve(t, 2*size)
		peers := make([]Peer, size)
		for i := range peers {
			peers[i].ID = wire.NodeID(i + 1)
			peers[i].Addrs[0], peers[i].Addrs[1] = addrs[2*i], addrs[2*i+1]
		}
		nodes, err := tryCluster(t, peers, key, adjust)
		if err == nil {
			return nodes
		}
		if !errors.Is(err, syscall.EADDRINUSE) || attempt == 2 {
			t.Fatalf("cluster: %v", err)
		}
	}
}

func tryCluster(t testing.TB, peers []Peer, key []byte, adjust func(int, *Config, *hooks)) ([]*node, error) {
	nodes := make([]*node, 0, len(peers))
	for i, p := range peers {
		cfg, h := Config{Self: p.ID, Local: p.Addrs, Peers: peers, Key: key}, hooks{}
		if adjust != nil {
			adjust(i, &cfg, &h)
		}
		n, err := startErr(t, cfg, h)
		if err != nil {
			for _, n := range nodes {
				n.Close()
			}
			return nil, err
		}
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// recvMsg waits for the next received datagram.
func (n *node) recvMsg(t testing.TB) msg {
	t.Helper()
	select {
	case m := <-n.in:
		return m
	case <-time.After(waitTimeout):
		t.Fatalf("node %d: no datagram within %v", n.cfg.Self, waitTimeout)
		return msg{}
	}
}

// expectReject waits for the next rejection and checks its reason.
func (n *node) expectReject(t testing.TB, want Reason) {
	t.Helper()
	select {
	case r := <-n.rejected:
		if r != want {
			t.Fatalf("node %d: rejected as %v, want %v", n.cfg.Self, r, want)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("node %d: no rejection within %v, want %v", n.cfg.Self, waitTimeout, want)
	}
}

// expectNoMsg fails if a datagram has been handed to the callback. Call it
// after waiting for something that arrived later on the same socket.
func (n *node) expectNoMsg(t testing.TB) {
	t.Helper()
	select {
	case m := <-n.in:
		t.Fatalf("node %d: unexpected datagram %+v", n.cfg.Self, m)
	default:
	}
}

// rawSocket binds a plain UDP socket on ap (port 0 for any) for forging,
// capturing and replaying packets.
func rawSocket(t testing.TB, ap netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatalf("raw socket on %s: %v", ap, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// listenRaw binds a plain UDP socket on ap, returning the error.
func listenRaw(ap netip.AddrPort) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
}

func addrOf(c *net.UDPConn) netip.AddrPort {
	return unmap(c.LocalAddr().(*net.UDPAddr).AddrPort())
}

func sendRaw(t testing.TB, c *net.UDPConn, to netip.AddrPort, pkt []byte) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort(pkt, to); err != nil {
		t.Fatalf("raw send to %s: %v", to, err)
	}
}

// capture reads one packet from c within waitTimeout.
func capture(t testing.TB, c *net.UDPConn) []byte {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	n, _, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		t.Fatalf("capture: %v", err)
	}
	return buf[:n]
}

func dgram(from, to wire.NodeID, link wire.LinkNo, payload string) wire.Datagram {
	return wire.Datagram{From: from, To: to, Link: link, Payload: []byte(payload)}
}
