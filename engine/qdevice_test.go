package engine

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// arbiterNet drives a quorum.Arbiter beside a testNet: the nodes' stream
// operations reach it, and its answers the nodes, once per tick.
type arbiterNet struct {
	tn  *testNet
	arb *quorum.Arbiter
	ops []arbOp
}

type arbOp struct {
	id wire.NodeID
	op quorum.StreamOp
}

// run advances the network by d in ticks of 10 ms, carrying the streams.
func (an *arbiterNet) run(d time.Duration) {
	for end := an.tn.now.Add(d); an.tn.now < end; {
		an.tn.run(10 * time.Millisecond)
		now := an.tn.now
		ops := an.ops
		an.ops = nil
		for _, o := range ops {
			n := an.tn.nodes[o.id]
			switch {
			case o.op.Dial:
				an.arb.Connect(now, o.id)
				n.ArbiterConnected(now)
			case o.op.Hangup:
				an.arb.Disconnect(now, o.id)
			default:
				an.arb.Receive(now, o.id, o.op.Payload)
			}
		}
		an.arb.Advance(now)
		rd := an.arb.Ready()
		an.arb.Ack()
		for _, o := range rd.Out {
			if o.Close {
				an.tn.nodes[o.To].ArbiterClosed(now)
			} else {
				an.tn.nodes[o.To].ArbiterReceive(now, o.Payload)
			}
		}
		an.tn.flush()
	}
}

// A quorum device set up and removed on a running four-node cluster by a
// reload, as pvecm qdevice setup and remove do on corosync 3: no
// membership change, no node ever inquorate; with the device every node
// counts 5 votes of 5 expected (quorum 3), after its removal 4 of 4; each
// node's Ready asks the driver once to start the device's daemon (with the
// bundle the store holds) and once to stop it.
func TestReloadQdeviceLive(t *testing.T) {
	tn := newTestNet(t)
	an := &arbiterNet{tn: tn, arb: quorum.NewArbiter()}
	ids := []wire.NodeID{1, 2, 3, 4}
	for _, id := range ids {
		tn.start(testConfig(id, ids...))
	}
	an.run(10 * time.Second)
	bundle := []byte("bundle bytes")
	if _, err := tn.nodes[1].Put(tn.now, QdeviceBundleKey, bundle); err != nil {
		t.Fatal(err)
	}
	tn.flush()
	an.run(2 * time.Second)

	step := "setup"
	starts, stops := map[wire.NodeID]int{}, map[wire.NodeID]int{}
	tn.onReady = func(id wire.NodeID, rd Ready) {
		for _, e := range rd.Events {
			if e.Kind == wire.EventMembership {
				t.Errorf("%s: node %d: membership event %v", step, id, e)
			}
		}
		if q := tn.nodes[id].Quorum(); !q.Quorate {
			t.Errorf("%s: node %d inquorate: %v", step, id, q)
		}
		if dc := rd.Device; dc != nil {
			if dc.Start {
				starts[id]++
				if string(dc.Bundle) != string(bundle) {
					t.Errorf("node %d: device started with bundle %q, want the store's", id, dc.Bundle)
				}
			} else {
				stops[id]++
			}
		}
		for _, op := range rd.Arbiter {
			an.ops = append(an.ops, arbOp{id, op})
		}
	}
	check := func(total, expected, quorum int, voting bool) {
		t.Helper()
		for _, id := range ids {
			q := tn.nodes[id].Quorum()
			if _, _, m := tn.nodes[id].Ring(); !slices.Equal(m, ids) || q.TotalVotes != total || q.ExpectedVotes != expected ||
				q.Quorum != quorum || q.Device.Voting != voting {
				t.Fatalf("%s: node %d: members %v, %v; want total %d, expected %d, quorum %d, device voting %v",
					step, id, m, q, total, expected, quorum, voting)
			}
		}
	}
	check(4, 4, 3, false)
	for _, id := range ids {
		cfg := testConfig(id, ids...)
		cfg.ConfigVersion = 2
		cfg.Quorum.Device = &quorum.DeviceConfig{Algorithm: quorum.AlgorithmFFSplit, Votes: 1}
		if err := tn.nodes[id].CanReload(cfg); err != nil {
			t.Fatalf("node %d: CanReload: %v", id, err)
		}
		if restart, err := tn.nodes[id].Apply(tn.now, cfg); err != nil || restart {
			t.Fatalf("node %d: Apply: restart %v, %v", id, restart, err)
		}
	}
	tn.flush()
	an.run(5 * time.Second)
	check(5, 5, 3, true)
	if got := an.arb.Clients(); len(got) != len(ids) {
		t.Fatalf("arbiter clients %v after the setup", got)
	}

	step = "remove"
	for _, id := range ids {
		cfg := testConfig(id, ids...)
		cfg.ConfigVersion = 3
		if err := tn.nodes[id].Reload(tn.now, cfg); err != nil {
			t.Fatalf("node %d: Reload: %v", id, err)
		}
	}
	tn.flush()
	an.run(5 * time.Second)
	check(4, 4, 3, false)
	if got := an.arb.Clients(); len(got) != 0 {
		t.Errorf("arbiter clients %v after the removal", got)
	}
	for _, id := range ids {
		if starts[id] != 1 || stops[id] != 1 {
			t.Errorf("node %d: %d device starts and %d stops in Ready, want 1 and 1", id, starts[id], stops[id])
		}
	}
}

// A device a running node cannot take is refused by CanReload and Reload
// with votequorum's reason, as at startup, and changes nothing.
func TestReloadQdeviceRefused(t *testing.T) {
	r := splitmix(1)
	base := testConfig(1, 1, 2)
	base.Quorum.TwoNode = true
	n, err := New(base, 0, State{}, &r)
	if err != nil {
		t.Fatal(err)
	}
	n.Ack(n.Ready())
	cfg := base
	cfg.Quorum.Device = &quorum.DeviceConfig{Votes: 1}
	for name, err := range map[string]error{"CanReload": n.CanReload(cfg), "Reload": n.Reload(0, cfg)} {
		if !errors.Is(err, quorum.ErrTwoNodeDevice) {
			t.Errorf("%s of two_node with a device: %v, want %v", name, err, quorum.ErrTwoNodeDevice)
		}
	}
	if rd := n.Ready(); rd.Device != nil || n.cfg.Quorum.Device != nil {
		t.Errorf("a refused device changed the node: %+v", rd.Device)
	}
}
