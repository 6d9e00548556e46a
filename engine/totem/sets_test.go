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
