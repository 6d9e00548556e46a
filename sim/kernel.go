package sim

import "github.com/quorate/quorate/engine/wire"

// EventKind tells the runner what a kernel event is for.
type EventKind uint8

// Event is what the kernel schedules: a small value, never an interface or a
// closure, so that queueing it allocates nothing and the heap stays compact.
// The meaning of Node, Arg and Ref depends on Kind and is the runner's.
type Event struct {
	Kind EventKind
	Node int32  // host index
	Arg  uint32 // e.g. a generation for wake-ups
	Ref  int32  // e.g. a slot in the in-flight packet table
}

type item struct {
	at  wire.Instant
	seq uint64
	ev  Event
}

// Timer identifies a scheduled event so it can be cancelled.
type Timer uint64

// Kernel is the discrete-event core: a virtual clock and a binary heap of
// events ordered by (time, insertion sequence), beside a FIFO for events
// scheduled in order (ScheduleInOrder). Two events at the same
// instant run in the order they were scheduled; nothing else (pointers, map
// order, goroutines) ever breaks a tie. A Kernel is used by one goroutine.
type Kernel struct {
	now       wire.Instant
	seq       uint64
	heap      []item
	cancelled map[uint64]struct{}
	popped    uint64
	// lane holds events scheduled with ScheduleInOrder from head on: their
	// instants never decrease, so a FIFO keeps them in (time, seq) order
	// and Next takes from whichever of it and the heap is earlier. A kv
	// workload's timeouts (each 5 s after its operation, about 5,000
	// pending at 1,000 operations a second) lived in the heap, where
	// every event taken moved a far-future leaf to the root and sifted it
	// down the whole height.
	lane     []item
	laneHead int
	// taken: heap[0] is the event Next returned last, still in place.
	// It is removed lazily, so that an event scheduling one follow-up (a
	// wake-up rearmed, a delivery deferred to a busy node's free instant)
	// puts it at the root and sifts it down, usually a level or two as it
	// is due soon, instead of moving the last leaf to the root, sifting
	// that down the whole height and sifting the new event up again. The
	// events popped and their order are the same: (time, seq) is a total
	// order, so any valid heap yields the same sequence.
	taken bool
}

// NewKernel returns a kernel at time 0 with room for capacity events.
func NewKernel(capacity int) *Kernel {
	return &Kernel{heap: make([]item, 0, capacity)}
}

// Now is the virtual time of the event being processed.
func (k *Kernel) Now() wire.Instant { return k.now }

// Processed is the number of events taken from the queue so far.
func (k *Kernel) Processed() uint64 { return k.popped }

// Seq is the sequence number of the event scheduled last: it moves with
// every Schedule, so a caller can tell whether anything was scheduled since.
func (k *Kernel) Seq() uint64 { return k.seq }

// AddProcessed counts n events the caller ran as part of the one it took,
// which stood for them (the runner's groups of deferred deliveries).
func (k *Kernel) AddProcessed(n uint64) { k.popped += n }

// Len is the number of queued events, cancelled ones included.
func (k *Kernel) Len() int {
	n := len(k.heap) + len(k.lane) - k.laneHead
	if k.taken {
		n--
	}
	return n
}

// Schedule queues ev at instant at, which is clamped to now: the past
// cannot be scheduled.
func (k *Kernel) Schedule(at wire.Instant, ev Event) Timer {
	if at < k.now {
		at = k.now
	}
	k.seq++
	if k.taken {
		// at >= now, the time of the root: replacing the root and
		// sifting it down keeps the heap ordered.
		k.taken = false
		k.heap[0] = item{at: at, seq: k.seq, ev: ev}
		k.down(0)
		return Timer(k.seq)
	}
	k.heap = append(k.heap, item{at: at, seq: k.seq, ev: ev})
	k.up(len(k.heap) - 1)
	return Timer(k.seq)
}

// ScheduleInOrder queues ev at instant at, as Schedule does, for a caller
// whose instants never decrease from one call to the next (a timeout a
// fixed time after each of a stream of operations): such events wait in a
// FIFO instead of the heap, and run in the same order as if scheduled with
// Schedule. An instant before the last one queued this way goes to the
// heap.
func (k *Kernel) ScheduleInOrder(at wire.Instant, ev Event) Timer {
	if at < k.now {
		at = k.now
	}
	if n := len(k.lane); n > k.laneHead && at < k.lane[n-1].at {
		return k.Schedule(at, ev)
	}
	k.seq++
	if k.laneHead > 0 && k.laneHead >= len(k.lane)/2 {
		k.lane = k.lane[:copy(k.lane, k.lane[k.laneHead:])]
		k.laneHead = 0
	}
	k.lane = append(k.lane, item{at: at, seq: k.seq, ev: ev})
	return Timer(k.seq)
}

// removeTop removes heap[0].
func (k *Kernel) removeTop() {
	k.taken = false
	last := len(k.heap) - 1
	k.heap[0] = k.heap[last]
	k.heap = k.heap[:last]
	if last > 0 {
		k.down(0)
	}
}

// Cancel stops a scheduled event that has not run yet. Cancelled events
// are discarded when they reach the head of the queue; cancelling an event
// that already ran is the caller's mistake and leaves a stale mark behind.
func (k *Kernel) Cancel(t Timer) {
	if uint64(t) == 0 || uint64(t) > k.seq {
		return
	}
	if k.cancelled == nil {
		k.cancelled = make(map[uint64]struct{})
	}
	k.cancelled[uint64(t)] = struct{}{}
}

// Next removes the earliest event, advances the clock to it and returns it;
// ok is false when the queue is empty.
func (k *Kernel) Next() (ev Event, ok bool) {
	if k.taken {
		k.removeTop()
	}
	for {
		fromLane := k.laneHead < len(k.lane) && (len(k.heap) == 0 || less(&k.lane[k.laneHead], &k.heap[0]))
		var top item
		switch {
		case fromLane:
			top = k.lane[k.laneHead] // items hold no pointers: nothing to clear
			k.laneHead++
		case len(k.heap) > 0:
			top = k.heap[0]
		default:
			return Event{}, false
		}
		if len(k.cancelled) > 0 {
			if _, c := k.cancelled[top.seq]; c {
				delete(k.cancelled, top.seq)
				if !fromLane {
					k.removeTop()
				}
				continue
			}
		}
		k.taken = !fromLane
		k.now = top.at
		k.popped++
		return top.ev, true
	}
}

// PeekTime returns the instant of the earliest queued event (cancelled ones
// included) and whether there is one.
func (k *Kernel) PeekTime() (wire.Instant, bool) {
	if k.taken {
		k.removeTop()
	}
	switch {
	case k.laneHead < len(k.lane) && (len(k.heap) == 0 || less(&k.lane[k.laneHead], &k.heap[0])):
		return k.lane[k.laneHead].at, true
	case len(k.heap) > 0:
		return k.heap[0].at, true
	}
	return 0, false
}

func less(a, b *item) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

func (k *Kernel) up(i int) {
	h := k.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (k *Kernel) down(i int) {
	h := k.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
