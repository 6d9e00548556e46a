package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// memNet connects loops in memory: Send hands the datagram straight to
// the destination loop's receive callback, as the UDP readers do.
type memNet struct {
	mu sync.Mutex
	up map[wire.NodeID]*loop
	// cut nodes neither send nor receive, though their loops run.
	cut map[wire.NodeID]bool
}

// memTransport is one loop's side of a memNet.
type memTransport struct{ net *memNet }

func (m memTransport) Send(d wire.Datagram) {
	m.net.mu.Lock()
	dst := m.net.up[d.To]
	if m.net.cut[d.From] || m.net.cut[d.To] {
		dst = nil
	}
	m.net.mu.Unlock()
	if dst != nil {
		dst.receive(d.Link, d.From, d.AppendTo(nil))
	}
}

func (m memTransport) Stats() udp.Stats { return udp.Stats{} }

func (m memTransport) SendBatch(ds []wire.Datagram) {
	for _, d := range ds {
		m.Send(d)
	}
}

// Recycle scribbles over a received payload the loop hands back, so that
// a node that kept it would see garbage.
func (m memTransport) Recycle(payload []byte) { scribble(payload) }

// scribble overwrites b.
func scribble(b []byte) {
	for i := range b {
		b[i] = 0xa5
	}
}

// memNode is one loop of the in-memory cluster with its persisted state.
type memNode struct {
	name   string
	l      *loop
	disk   engine.State
	cancel context.CancelFunc
	done   chan error
	log    *syncBuffer
}

// startMem builds and runs the loop of node name on net, from its disk;
// tweak, if set, changes the loop before it runs.
func startMem(t *testing.T, conf *corosyncconf.Config, net *memNet, n *memNode, seed uint64, tweak func(*loop)) {
	t.Helper()
	self := conf.NodeByName(n.name)
	ecfg, err := engineConfig(conf, self)
	if err != nil {
		t.Fatal(err)
	}
	tcfg, err := transportConfig(context.Background(), conf, self, nil)
	if err != nil {
		t.Fatal(err)
	}
	node, err := engine.New(ecfg, 0, n.disk, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		t.Fatal(err)
	}
	n.l = &loop{
		log:  slog.New(slog.NewTextHandler(n.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		node: node, tr: memTransport{net}, start: time.Now(), cl: newCluster(conf, self, tcfg),
		in: make(chan inbound, inboxLen), calls: make(chan call),
		persist: func(st engine.State) error { n.disk = st; return nil }, disk: n.disk,
	}
	if tweak != nil {
		tweak(n.l)
	}
	net.mu.Lock()
	net.up[n.l.cl.selfID] = n.l
	net.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel, n.done = cancel, make(chan error, 1)
	go func() { n.done <- n.l.run(ctx) }()
}

// stopMem crashes a node: it leaves the network and its loop stops.
func stopMem(net *memNet, n *memNode) error {
	net.mu.Lock()
	delete(net.up, n.l.cl.selfID)
	net.mu.Unlock()
	n.cancel()
	return <-n.done
}

// request asks a loop as the admin socket does.
func request(n *memNode, req Request) Response {
	c := call{req: req, reply: make(chan Response, 1)}
	n.l.calls <- c
	return <-c.reply
}

// eventually polls cond on the bubble's clock for up to a virtual minute.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var state string
	for range 600 {
		var ok bool
		if ok, state = cond(); ok {
			return
		}
		<-tick.C
	}
	t.Fatalf("no %s within a virtual minute; last state: %s", what, state)
}

// quorateWith is a condition: n is quorate with exactly members members
// and expected votes e.
func quorateWith(n *memNode, members, e int) func() (bool, string) {
	return func() (bool, string) {
		q := request(n, Request{Cmd: CmdStatus}).Status.Quorum
		return q.Quorate && len(q.Members) == members && q.ExpectedVotes == e && !q.Syncing, q.String()
	}
}

// startMemCluster starts the test nodes on one in-memory network with
// seeds seed, seed+1, ..., each tweaked by tweak (may be nil), and logs
// their logs when the test fails.
func startMemCluster(t *testing.T, seed uint64, tweak func(n *memNode, conf *corosyncconf.Config, l *loop)) (*corosyncconf.Config, *memNet, []*memNode) {
	t.Helper()
	conf, err := corosyncconf.Parse("mem.conf", []byte(confText("/nonexistent", 25405)))
	if err != nil {
		t.Fatal(err)
	}
	net := &memNet{up: map[wire.NodeID]*loop{}, cut: map[wire.NodeID]bool{}}
	var nodes []*memNode
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range nodes {
				t.Logf("log of %s:\n%s", n.name, n.log.String())
			}
		}
	})
	for i, name := range testNodes {
		n := &memNode{name: name, log: &syncBuffer{}}
		var tw func(*loop)
		if tweak != nil {
			tw = func(l *loop) { tweak(n, conf, l) }
		}
		startMem(t, conf, net, n, seed+uint64(i), tw)
		nodes = append(nodes, n)
	}
	return conf, net, nodes
}

// TestLoopInMemory drives three loops over an in-memory network on
// synctest's fake clock: the ring forms, a crashed node's peers re-form,
// the node restarts from its persisted ring sequence, and a delnode of a
// running node removes it from the nodelist and stops its loop, as
// corosync-cfgtool -k would.
func TestLoopInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf, net, nodes := startMemCluster(t, 1, nil)
		alpha, bravo, charlie := nodes[0], nodes[1], nodes[2]
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3", quorateWith(n, 3, 3))
		}

		if err := stopMem(net, charlie); err != nil {
			t.Fatal(err)
		}
		seq := charlie.disk.RingSeq
		eventually(t, "alpha quorate with 2", quorateWith(alpha, 2, 3))
		startMem(t, conf, net, charlie, 33, nil)
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3 again", quorateWith(n, 3, 3))
		}
		if charlie.disk.RingSeq <= seq {
			t.Errorf("charlie's ring seq %d did not grow past %d", charlie.disk.RingSeq, seq)
		}

		if resp := request(bravo, Request{Cmd: CmdDelnode, Node: "charlie"}); !resp.OK {
			t.Fatalf("delnode charlie: %+v", resp)
		}
		if err := <-charlie.done; err != nil {
			t.Fatalf("charlie's loop after delnode: %v", err)
		}
		if charlie.l.killedBy != 2 {
			t.Errorf("charlie killed by %d, want bravo (2)", charlie.l.killedBy)
		}
		net.mu.Lock()
		delete(net.up, 3)
		net.mu.Unlock()
		eventually(t, "alpha quorate with 2 of 2", quorateWith(alpha, 2, 2))
		if v := request(alpha, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != 4 {
			t.Errorf("config version %d after delnode, want 4", v)
		}
		if resp := request(alpha, Request{Cmd: "bogus"}); resp.OK || !resp.BadRequest {
			t.Errorf("unknown command: %+v", resp)
		}
		if resp := request(alpha, Request{Cmd: CmdExpected, Votes: 0}); resp.OK || !resp.BadRequest {
			t.Errorf("expected 0: %+v", resp)
		}
		for _, n := range []*memNode{alpha, bravo} {
			if err := stopMem(net, n); err != nil {
				t.Errorf("%s: %v", n.name, err)
			}
		}
	})
}

// TestPersistFailureStops: a node that cannot write its state stops
// before it sends anything of the batch that asked for the write.
func TestPersistFailureStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf, err := corosyncconf.Parse("mem.conf", []byte(confText("/nonexistent", 25405)))
		if err != nil {
			t.Fatal(err)
		}
		net := &memNet{up: map[wire.NodeID]*loop{}}
		n := &memNode{name: "alpha", log: &syncBuffer{}}
		diskFull := errors.New("no space left on device")
		sent, sentBefore := 0, -1
		startMem(t, conf, net, n, 7, func(l *loop) {
			l.persist = func(engine.State) error { sentBefore = sent; return diskFull }
			l.tr = countingTransport{&sent}
		})
		select {
		case err := <-n.done:
			if !errors.Is(err, diskFull) {
				t.Fatalf("run: %v, want the persist error", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the loop kept running without its state")
		}
		if sentBefore < 0 || sent != sentBefore {
			t.Errorf("%d datagrams sent after the failed write (persist called: %v)", sent-sentBefore, sentBefore >= 0)
		}
	})
}

// countingTransport counts sends and delivers nothing.
type countingTransport struct{ n *int }

func (c countingTransport) Send(wire.Datagram) { *c.n++ }
func (c countingTransport) Stats() udp.Stats   { return udp.Stats{} }
func (c countingTransport) Recycle([]byte)     {}
func (c countingTransport) SendBatch(ds []wire.Datagram) {
	for _, d := range ds {
		c.Send(d)
	}
}
