package totem

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestSetSubset compares setSubset with its definition (every id of a is in
// b) over random sets of every relative size, sorted lists with repeats and
// unsorted lists.
func TestSetSubset(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 60))
	set := func(n, span int) []wire.NodeID {
		var s []wire.NodeID
		for range n {
			s = setAdd(s, wire.NodeID(1+rng.IntN(span)))
		}
		return s
	}
	naive := func(a, b []wire.NodeID) bool {
		for _, id := range a {
			if !slices.Contains(b, id) {
				return false
			}
		}
		return true
	}
	var yes, no int
	for i := range 20000 {
		span := 1 + rng.IntN(300)
		b := set(rng.IntN(200), span)
		var a []wire.NodeID
		switch i % 4 {
		case 0: // a subset of b, so that true answers are common
			for _, id := range b {
				if rng.IntN(4) > 0 {
					a = append(a, id)
				}
			}
		case 1:
			a = set(rng.IntN(200), span)
		case 2: // unsorted, with repeats
			for range rng.IntN(40) {
				if len(b) > 0 && rng.IntN(5) > 0 {
					a = append(a, b[rng.IntN(len(b))])
				} else {
					a = append(a, wire.NodeID(1+rng.IntN(span)))
				}
			}
		case 3: // sorted with repeats
			for _, id := range b {
				for range rng.IntN(3) {
					a = append(a, id)
				}
			}
		}
		want := naive(a, b)
		if got := setSubset(a, b); got != want {
			t.Fatalf("setSubset(%v, %v) = %v, want %v", a, b, got, want)
		}
		if want {
			yes++
		} else {
			no++
		}
	}
	if yes < 1000 || no < 1000 {
		t.Fatalf("the cases were %d subsets and %d not: too few of one kind", yes, no)
	}
}

// TestConfiguredAgainstSets: the ring's bitmap of configured nodes answers
// what setHas and setSubset answer over the sorted nodelist, for small
// ids (the bitmap) and nodelists with an id past maxBitsID (the search),
// with lists in any order and with duplicates.
func TestConfiguredAgainstSets(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for round := range 300 {
		top := uint32(200)
		if round%3 == 0 {
			top = maxBitsID + 100
		}
		var ids []wire.NodeID
		for range rng.IntN(20) + 1 {
			ids = append(ids, wire.NodeID(rng.Uint32N(top)+1))
		}
		ids = slices.Compact(slices.Sorted(slices.Values(ids)))
		rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
		var r Ring
		r.setNodes(ids)
		if (r.nodeBits != nil) != (slices.Max(ids) <= maxBitsID) {
			t.Fatalf("%v: bitmap %v", ids, r.nodeBits != nil)
		}
		for range 50 {
			id := wire.NodeID(rng.Uint32N(top + 70))
			if rng.IntN(2) == 0 {
				id = ids[rng.IntN(len(ids))]
			}
			if got, want := r.configured(id), setHas(r.nodes, id); got != want {
				t.Fatalf("%v: configured(%d) = %v, want %v", ids, id, got, want)
			}
			list := []wire.NodeID{id}
			for range rng.IntN(6) {
				list = append(list, ids[rng.IntN(len(ids))])
			}
			if rng.IntN(2) == 0 {
				slices.Sort(list)
			}
			if got, want := r.allConfigured(list), setSubset(list, r.nodes); got != want {
				t.Fatalf("%v: allConfigured(%v) = %v, want %v", ids, list, got, want)
			}
		}
	}
}

// TestConsensusAgreed compares consensusAgreed's merge pass with its
// definition (every id of P − F is in the consensus set) over random
// sorted sets, with agreement, disagreement and empty sets all common.
func TestConsensusAgreed(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 384))
	naive := func(proc, failed, cons []wire.NodeID) bool {
		for _, id := range proc {
			if !slices.Contains(failed, id) && !slices.Contains(cons, id) {
				return false
			}
		}
		return true
	}
	var yes, no int
	for i := range 20000 {
		span := 1 + rng.IntN(400)
		var r Ring
		for range rng.IntN(100) {
			r.procList = setAdd(r.procList, wire.NodeID(1+rng.IntN(span)))
		}
		for _, id := range r.procList {
			switch rng.IntN(8) {
			case 0:
				r.failedList = setAdd(r.failedList, id)
			case 1: // failed and in the consensus set too
				r.failedList = setAdd(r.failedList, id)
				r.consensus = setAdd(r.consensus, id)
			default:
				if i%3 != 0 || rng.IntN(50) > 0 {
					r.consensus = setAdd(r.consensus, id)
				}
			}
		}
		for range rng.IntN(4) { // ids outside P in F and in the consensus set
			r.failedList = setAdd(r.failedList, wire.NodeID(1+rng.IntN(span+20)))
			r.consensus = setAdd(r.consensus, wire.NodeID(1+rng.IntN(span+20)))
		}
		want := naive(r.procList, r.failedList, r.consensus)
		if got := r.consensusAgreed(); got != want {
			t.Fatalf("P %v F %v C %v: consensusAgreed = %v, want %v", r.procList, r.failedList, r.consensus, got, want)
		}
		if want {
			yes++
		} else {
			no++
		}
	}
	if yes < 1000 || no < 1000 {
		t.Fatalf("the cases were %d agreed and %d not: too few of one kind", yes, no)
	}
}
