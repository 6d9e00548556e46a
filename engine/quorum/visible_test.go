package quorum

import (
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestVerdictVisibleAfterSync: while a configuration synchronises,
// votequorum recalculates from the NODEINFO it receives, but the verdict
// reaches the quorum service (corosync-quorumtool's "Quorate:", the log's
// "Members[N]") only when the synchronisation activates. A ring whose
// barriers never all arrive (a lossy link, the token lost) therefore never
// shows its members as quorate, however many NODEINFO got through, and a
// node keeps showing the verdict of the last ring that did complete.
func TestVerdictVisibleAfterSync(t *testing.T) {
	ids := []wire.NodeID{1, 2, 3}
	var nodes []NodeConfig
	for _, id := range ids {
		nodes = append(nodes, NodeConfig{ID: id})
	}
	qs := map[wire.NodeID]*Quorum{}
	for _, id := range ids {
		q, err := New(Config{Self: id, Nodes: nodes}, 0)
		if err != nil {
			t.Fatal(err)
		}
		qs[id] = q
	}
	ring := RingID{Rep: 1, Seq: 8}
	for _, q := range qs {
		q.Ready()
		q.Ack()
		q.SyncInit(0, ring, ids)
		q.SyncProcess(0)
	}
	// Every NODEINFO is delivered everywhere; the barriers are kept back.
	barriers := map[wire.NodeID][][]byte{}
	for _, from := range ids {
		rd := qs[from].Ready()
		qs[from].Ack()
		for _, m := range rd.Multicast {
			msg, err := DecodeMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := msg.(SyncBarrier); ok {
				barriers[from] = append(barriers[from], m)
				continue
			}
			for _, to := range ids {
				qs[to].Deliver(0, from, m)
			}
		}
	}
	n1 := qs[1]
	st := n1.Status()
	if !st.Syncing || !containsFlag(st.Flags, "Quorate") {
		t.Fatalf("after every NODEINFO votequorum itself should count 3 of 3 while syncing: %+v", st)
	}
	if st.Quorate {
		t.Fatalf("quorate shown before the synchronisation completed: %+v", st)
	}
	// Two of three barriers: still syncing, still not shown.
	for _, from := range ids[:2] {
		for _, m := range barriers[from] {
			n1.Deliver(0, from, m)
		}
	}
	if st := n1.Status(); st.Quorate || !st.Syncing {
		t.Fatalf("shown quorate with a barrier missing: %+v", st)
	}
	for _, m := range barriers[3] {
		n1.Deliver(0, 3, m)
	}
	if st := n1.Status(); !st.Quorate || st.Syncing {
		t.Fatalf("not quorate after every barrier: %+v", st)
	}
	// The next configuration (a ring of one) keeps showing the last
	// verdict until its own synchronisation completes.
	n1.Ready()
	n1.Ack()
	n1.SyncInit(0, RingID{Rep: 1, Seq: 12}, ids[:1])
	if st := n1.Status(); !st.Quorate {
		t.Fatalf("the last completed verdict is no longer shown during the next sync: %+v", st)
	}
	n1.SyncProcess(0)
	rd := n1.Ready()
	n1.Ack()
	for _, m := range rd.Multicast {
		n1.Deliver(0, 1, m)
	}
	if st := n1.Status(); st.Quorate || st.Syncing {
		t.Fatalf("a completed ring of one of three still quorate: %+v", st)
	}
}

func containsFlag(flags []string, f string) bool {
	for _, x := range flags {
		if x == f {
			return true
		}
	}
	return false
}
