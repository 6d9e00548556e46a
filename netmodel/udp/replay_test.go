package udp

import (
	"math/rand/v2"
	"testing"
)

// TestWindowModel checks the replay window against a naive model that
// remembers every counter ever accepted, on random traffic: runs of
// increasing counters with reordering, duplicates, old replays and epoch
// changes.
func TestWindowModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for run := range 200 {
		var w window
		type key struct {
			epoch uint32
			c     uint64
		}
		seen := map[key]bool{}
		var valid bool
		var epoch uint32
		var top uint64
		next := uint64(1 << 40)
		for step := range 3000 {
			e, c := epoch, next
			switch r := rnd.IntN(100); {
			case r < 60: // in order
				next++
			case r < 75: // reordered a little
				c = next - uint64(rnd.IntN(40))
			case r < 85: // old, perhaps beyond the window
				c = next - uint64(rnd.IntN(3*WindowSize))
			case r < 90: // big jump forward
				next += uint64(rnd.IntN(5 * WindowSize))
				c = next
			case r < 95: // a new incarnation: new epoch, later counter
				e = rnd.Uint32()
				next += uint64(rnd.IntN(1000)) + 1
				c = next
			default: // an old epoch replayed
				e = epoch ^ 1
				c = next - 1 - uint64(rnd.IntN(100))
			}
			// model: the rule written out the slow way
			want := !valid || c > top ||
				(e == epoch && c>>6+windowWords > top>>6 && !seen[key{e, c}])
			if got := w.check(e, c); got != want {
				t.Fatalf("run %d step %d: check(%d, %d) = %v, want %v (epoch %d top %d)",
					run, step, e, c, got, want, epoch, top)
			}
			if want {
				w.commit(e, c)
				if !valid || e != epoch {
					seen = map[key]bool{} // a new incarnation starts afresh
					top = c
				}
				valid, epoch, top, seen[key{e, c}] = true, e, max(top, c), true
			}
		}
	}
}

func TestWindowEpochs(t *testing.T) {
	var w window
	accept := func(e uint32, c uint64) bool {
		if !w.check(e, c) {
			return false
		}
		w.commit(e, c)
		return true
	}
	steps := []struct {
		epoch uint32
		c     uint64
		want  bool
	}{
		{1, 100, true},
		{1, 100, false},             // duplicate
		{1, 99, true},               // reordered
		{1, 100 + WindowSize, true}, // slide
		{1, 99, false},              // slid out
		{2, 50, false},              // another epoch, older counter: old incarnation
		{2, 5000, true},             // newer incarnation
		{1, 4000, false},            // the previous incarnation's late packets
		{1, 5001, true},             // previous epoch with a higher counter: accepted (clock order)
		{2, 5000, false},            // ... and the window was reset to it
	}
	for i, s := range steps {
		if got := accept(s.epoch, s.c); got != s.want {
			t.Fatalf("step %d: accept(%d, %d) = %v, want %v", i, s.epoch, s.c, got, s.want)
		}
	}
}
