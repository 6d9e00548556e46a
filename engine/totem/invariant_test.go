package totem

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/invariant"
	"github.com/quorate/quorate/engine/wire"
)

// violation runs f and returns the Violation it panics with (nil when it
// does not panic; any other panic is re-raised).
func violation(f func()) (v *invariant.Violation) {
	defer func() {
		if p := recover(); p != nil {
			var ok bool
			if v, ok = p.(*invariant.Violation); !ok {
				panic(p)
			}
		}
	}()
	f()
	return nil
}

func oneRing(t *testing.T) *Ring {
	t.Helper()
	r, err := New(Config{Self: 1, Nodes: []wire.NodeID{1, 2, 3}, Token: 200e6}, 0, 8, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestStateTransitionsAsserted: the transitions Totem takes pass, the
// others are a Violation naming both states.
func TestStateTransitionsAsserted(t *testing.T) {
	all := []State{StateGather, StateCommit, StateRecovery, StateOperational}
	ok := map[[2]State]bool{}
	for to, froms := range stateFrom {
		for _, from := range froms {
			ok[[2]State{from, State(to)}] = true
		}
	}
	bad := 0
	for _, from := range all {
		for _, to := range all {
			r := oneRing(t)
			r.state = from
			v := violation(func() { r.setState(to, "test") })
			switch {
			case ok[[2]State{from, to}] && v != nil:
				t.Errorf("%s -> %s is a Totem transition, yet: %v", from, to, v)
			case !ok[[2]State{from, to}] && v == nil:
				t.Errorf("%s -> %s passed the assertion", from, to)
			case v != nil:
				bad++
				if v.Layer != "totem" || !strings.Contains(v.Detail, from.String()+" -> "+to.String()) {
					t.Errorf("violation %v does not name the transition", v)
				}
			}
		}
	}
	if bad != 6 {
		t.Fatalf("%d transitions refused, want 6: RECOVERY from all but COMMIT, OPERATIONAL from all but RECOVERY", bad)
	}
}

// TestRingIDGrowthAsserted: a commit token that does not raise the ring
// sequence number is a Violation, as a ring id reused would let two
// rings' messages mix.
func TestRingIDGrowthAsserted(t *testing.T) {
	r := oneRing(t)
	old := r.ringID
	ct := &CommitToken{RingID: RingID{Rep: 1, Seq: old.Seq}, Addr: []wire.NodeID{1}, Entries: make([]CommitEntry, 1)}
	v := violation(func() { r.enterCommit(ct) })
	if v == nil || !strings.Contains(v.What, "ring id grows") {
		t.Fatalf("a commit token of ring %s on ring %s gave %v", ct.RingID, old, v)
	}
}

// TestDeliveryOrderAsserted: delivering a ring's seq again is a Violation.
func TestDeliveryOrderAsserted(t *testing.T) {
	r := oneRing(t)
	id := RingID{Rep: 1, Seq: 12}
	r.regularQ.reset(0)
	r.regularQ.add(1, &item{m: Mcast{RingID: id, Origin: 1, Seq: 1}})
	r.delivRing, r.delivSeq = id, 1
	v := violation(func() { r.deliverToApp(false, 1) })
	if v == nil || !strings.Contains(v.What, "agreed delivery") {
		t.Fatalf("seq 1 delivered twice in ring %s gave %v", id, v)
	}
}
