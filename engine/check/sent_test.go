package check

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestSentLogAgainstMap records random ids (origins' counters in order,
// with gaps, going back, far ahead, repeated) in a SentLog and a map and
// compares every lookup, the count and the ids it holds.
func TestSentLogAgainstMap(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var l SentLog
		want := map[uint64]SentMsg{}
		next := map[uint64]uint64{}
		for op := 0; op < 3000; op++ {
			origin := uint64(rng.IntN(6))
			c := next[origin]
			switch k := rng.IntN(20); {
			case k < 14:
				c++
			case k < 16:
				c += uint64(rng.IntN(3000))
			case k < 18 && c > 0:
				c -= uint64(rng.IntN(int(min(c, 50))))
			default:
				c = uint64(rng.IntN(5000))
			}
			next[origin] = max(next[origin], c)
			id := origin<<40 | c
			m := SentMsg{At: wire.Instant(op)}
			l.Add(id, m)
			want[id] = m
			probe := uint64(rng.IntN(6))<<40 | uint64(rng.IntN(6000))
			for _, q := range []uint64{id, probe} {
				g, ok := l.Get(q)
				w, wok := want[q]
				if ok != wok || g != w {
					t.Fatalf("seed %d op %d: Get(%x) = %v %v, want %v %v", seed, op, q, g, ok, w, wok)
				}
			}
			if l.Len() != len(want) {
				t.Fatalf("seed %d op %d: Len %d, want %d", seed, op, l.Len(), len(want))
			}
		}
		ids := make([]uint64, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		var got []uint64
		l.each(func(id uint64, _ *sentSlot) { got = append(got, id) })
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Fatalf("seed %d: IDs differ (%d, want %d)", seed, len(got), len(ids))
		}
	}
}

// TestSentLogReleaseKeepsWhatIsNeeded records ids of three origins in
// counter order with gaps and releases now and then, the checks being done
// with a random two thirds of them: every message not done is still found
// with what was recorded for it (in its slice or moved to the map, through
// the slices' compaction), every message found is the one recorded, and
// the log holds no more than the messages not done plus a lag per origin.
func TestSentLogReleaseKeepsWhatIsNeeded(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		var l SentLog
		recorded := map[uint64]wire.Instant{}
		byAt := map[wire.Instant]uint64{}
		done := map[uint64]bool{}
		next := map[uint64]uint64{}
		notDone, most := 0, 0
		isDone := func(s *sentSlot) bool { return !s.ok || done[byAt[s.At]] }
		for op := 1; op <= 20000; op++ {
			origin := uint64(rng.IntN(3))
			next[origin] += 1 + uint64(rng.IntN(2)) // a gap now and then
			id := origin<<40 | next[origin]
			at := wire.Instant(op)
			l.Add(id, SentMsg{At: at})
			recorded[id], byAt[at] = at, id
			done[id] = rng.IntN(3) > 0
			if !done[id] {
				notDone++
			}
			if rng.IntN(2) == 0 {
				l.release(id, isDone)
			}
			most = max(most, l.Held())
		}
		for id, at := range recorded {
			s := l.slot(id)
			if !done[id] && s == nil {
				t.Fatalf("seed %d: message %x is not done and was dropped", seed, id)
			}
			if s != nil && s.At != at {
				t.Fatalf("seed %d: message %x found with %v, recorded at %v", seed, id, s.At, at)
			}
			if s == nil && !l.released(id) {
				t.Fatalf("seed %d: message %x is neither held nor released", seed, id)
			}
		}
		if limit := notDone + 3*(releaseLag+2); most > limit {
			t.Fatalf("seed %d: the log held up to %d messages, want at most %d", seed, most, limit)
		}
	}
}
