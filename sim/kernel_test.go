package sim

import (
	"container/heap"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

func TestKernelOrder(t *testing.T) {
	k := NewKernel(0)
	// Same instant: scheduling order; earlier instants first.
	k.Schedule(20, Event{Ref: 1})
	k.Schedule(10, Event{Ref: 2})
	k.Schedule(20, Event{Ref: 3})
	k.Schedule(10, Event{Ref: 4})
	c := k.Schedule(15, Event{Ref: 5})
	k.Schedule(30, Event{Ref: 6})
	k.Cancel(c)
	var got []int32
	var times []wire.Instant
	for {
		ev, ok := k.Next()
		if !ok {
			break
		}
		got = append(got, ev.Ref)
		times = append(times, k.Now())
		if ev.Ref == 3 {
			// Scheduling in the past lands at now, after what is queued.
			k.Schedule(5, Event{Ref: 7})
		}
	}
	want := []int32{2, 4, 1, 3, 7, 6}
	if len(got) != len(want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
	if times[4] != 20 {
		t.Fatalf("event scheduled in the past ran at %v, want 20", times[4])
	}
	if k.Processed() != 6 {
		t.Fatalf("processed %d, want 6 (the cancelled one does not count)", k.Processed())
	}
}

func TestKernelMatchesReferenceHeap(t *testing.T) {
	// A property test against container/heap: random schedules, some in
	// order (a fixed delay, or now and then an earlier instant that must
	// go to the heap) and some cancelled, pop in (time, seq) order.
	r := NewStreams(9).Rand("kernel")
	k := NewKernel(0)
	ref := &refHeap{}
	cancelled := map[uint64]bool{}
	var live []Timer
	var seq uint64
	var laned int
	for range 40000 {
		switch x := r.IntN(12); {
		case x < 5 || ref.Len() == 0:
			at := k.Now() + wire.Instant(r.IntN(1000))
			seq++
			live = append(live, k.Schedule(at, Event{Arg: uint32(seq)}))
			heap.Push(ref, item{at: at, seq: seq})
			continue
		case x < 8:
			at := k.Now() + 700
			if r.IntN(10) == 0 {
				at = k.Now() + wire.Instant(r.IntN(700))
			}
			seq++
			live = append(live, k.ScheduleInOrder(at, Event{Arg: uint32(seq)}))
			heap.Push(ref, item{at: at, seq: seq})
			laned++
			continue
		case x == 8 && len(live) > 0:
			i := r.IntN(len(live))
			k.Cancel(live[i])
			cancelled[uint64(live[i])] = true
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			continue
		}
		for ref.Len() > 0 && cancelled[(*ref)[0].seq] {
			heap.Pop(ref)
		}
		ev, ok := k.Next()
		if ref.Len() == 0 {
			if ok {
				t.Fatalf("kernel popped seq %d, reference is empty", ev.Arg)
			}
			continue
		}
		want := heap.Pop(ref).(item)
		if !ok || uint64(ev.Arg) != want.seq || k.Now() != want.at {
			t.Fatalf("kernel popped seq %d at %v, reference %d at %v", ev.Arg, k.Now(), want.seq, want.at)
		}
		if k.Len() != ref.Len() {
			t.Fatalf("kernel holds %d events, reference %d", k.Len(), ref.Len())
		}
		if r.IntN(4) == 0 {
			// Cancelled events count until Next discards them.
			if at, ok := k.PeekTime(); ref.Len() > 0 && (!ok || at != (*ref)[0].at) {
				t.Fatalf("kernel's next event at %v (%v), reference %v", at, ok, (*ref)[0].at)
			}
		}
	}
	if laned < 5000 || len(cancelled) < 1000 {
		t.Fatalf("%d events in order, %d cancelled: the test does not exercise them", laned, len(cancelled))
	}
}

type refHeap []item

func (h refHeap) Len() int           { return len(h) }
func (h refHeap) Less(i, j int) bool { return less(&h[i], &h[j]) }
func (h refHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *refHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *refHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func TestStreamsIndependent(t *testing.T) {
	a := NewStreams(1).Rand("node/1").Uint64()
	if b := NewStreams(1).Rand("node/1").Uint64(); a != b {
		t.Fatal("same seed and label gave different streams")
	}
	if b := NewStreams(1).Rand("node/2").Uint64(); a == b {
		t.Fatal("different labels gave the same stream")
	}
	if b := NewStreams(2).Rand("node/1").Uint64(); a == b {
		t.Fatal("different seeds gave the same stream")
	}
}

func TestTraceJSONStrings(t *testing.T) {
	got := string(appendJSONString(nil, "a\"b\\c\n\x01é\xff"))
	want := `"a\"b\\c\n\u0001é\ufffd"`
	if got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
