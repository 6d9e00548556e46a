package totem

import (
	"math/rand/v2"
	"testing"
)

// mapQueue is the sort queue as a map, the reference the ring buffer is
// checked against.
type mapQueue struct {
	base  uint32
	items map[uint32]*item
	miss  map[uint32]int
	freed int
}

func (q *mapQueue) release(to uint32) {
	if to-q.base > QueueSize {
		clear(q.items)
		clear(q.miss)
		q.base = to
		return
	}
	for s := q.base + 1; seqLTE(s, to); s++ {
		if q.items[s] != nil {
			q.freed++
		}
		delete(q.items, s)
		delete(q.miss, s)
	}
	q.base = to
}

// TestSortQueueAgainstMap: random files, lookups, miss counts, releases
// (short, long, past the window, behind base) and resets, around the
// 32-bit wrap and across the ring buffer's growth, give what a map gives.
func TestSortQueueAgainstMap(t *testing.T) {
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 17))
		start := uint32(0)
		if seed%2 == 1 {
			start = 0xffffffff - uint32(rng.IntN(3000))
		}
		var free []*item
		q := sortQueue{free: &free}
		q.reset(start)
		ref := mapQueue{base: start, items: map[uint32]*item{}, miss: map[uint32]int{}}
		for step := range 20000 {
			// Offsets mostly near base, sometimes far into the window
			// (growth) and sometimes out of it.
			var off uint32
			switch rng.IntN(20) {
			case 0:
				off = uint32(rng.IntN(2 * QueueSize))
			case 1:
				off = uint32(rng.IntN(QueueSize)) + 1
			default:
				off = uint32(rng.IntN(200)) + 1
			}
			seq := ref.base + off
			switch op := rng.IntN(10); {
			case op < 4:
				if q.inRange(seq) != (seq-ref.base-1 < QueueSize) {
					t.Fatalf("seed %d step %d: inRange(%d) differs", seed, step, seq)
				}
				if q.inRange(seq) && !q.has(seq) {
					it := &item{m: Mcast{Seq: seq}}
					q.add(seq, it)
					ref.items[seq] = it
					delete(ref.miss, seq)
				}
			case op < 6:
				if got, want := q.get(seq), ref.items[seq]; got != want {
					t.Fatalf("seed %d step %d: get(%d) = %p, want %p", seed, step, seq, got, want)
				}
				if _, want := ref.items[seq]; q.has(seq) != want {
					t.Fatalf("seed %d step %d: has(%d) = %v", seed, step, seq, !want)
				}
			case op < 7:
				ref.miss[seq]++
				if got := q.missCount(seq); got != ref.miss[seq] {
					t.Fatalf("seed %d step %d: missCount(%d) = %d, want %d", seed, step, seq, got, ref.miss[seq])
				}
			case op < 9:
				to := ref.base + uint32(rng.IntN(150))
				switch rng.IntN(40) {
				case 0:
					to = ref.base + QueueSize + 1 + uint32(rng.IntN(10))
				case 1:
					to = ref.base - uint32(rng.IntN(10)) - 1
				}
				q.release(to)
				ref.release(to)
				if len(free) != ref.freed {
					t.Fatalf("seed %d step %d: release(%d) freed %d items, want %d", seed, step, to, len(free), ref.freed)
				}
				free, ref.freed = free[:0], 0
			default:
				if rng.IntN(50) == 0 {
					b := rng.Uint32()
					q.reset(b)
					ref.base = b
					clear(ref.items)
					clear(ref.miss)
				}
			}
			if q.base != ref.base {
				t.Fatalf("seed %d step %d: base %d, want %d", seed, step, q.base, ref.base)
			}
		}
		// Everything the map holds, the queue holds, and nothing else in
		// the window.
		for off := uint32(1); off <= QueueSize; off++ {
			if got, want := q.get(ref.base+off), ref.items[ref.base+off]; got != want {
				t.Fatalf("seed %d: at the end get(base+%d) = %p, want %p", seed, off, got, want)
			}
		}
	}
}
