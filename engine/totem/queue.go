package totem

// item is one message held in a sort queue: the decoded header and the
// encoded datagram it came in (re-multicast unchanged on retransmission).
type item struct {
	m   Mcast
	raw []byte
}

// sortQueue holds the messages of one ring indexed by sequence number
// (corosync's sq). Valid seqs are (base, base+QueueSize]; base is the last
// released seq. Lookups only: iteration always walks seq ranges, never the
// map, so map order cannot leak into behaviour.
//
// The messages are in a ring buffer, not a map: every multicast received is
// filed, looked up and released once, and the map's hashing, probing and
// deleting were 5% of a loaded run. slots has a power-of-two length, grown
// (up to QueueSize) as the highest seq held moves away from base, and seq s
// is at slots[s & (len-1)]: every seq held is in (base, base+len(slots)],
// where no two share a slot.
type sortQueue struct {
	base  uint32
	slots []*item
	miss  map[uint32]int
	// free, when set, is the ring's list of items released for reuse:
	// release returns its items there (cleared), newItem takes them.
	// Nothing keeps an item pointer beyond the queue that holds it.
	free *[]*item
}

// maxFreeItems bounds a ring's list of released items, so that a burst
// leaves no more than this many behind.
const maxFreeItems = 1024

// newItem returns an item holding m and raw: a released one when the
// ring has one, else a new one.
func newItem(free *[]*item, m Mcast, raw []byte) *item {
	if n := len(*free); n > 0 {
		it := (*free)[n-1]
		(*free)[n-1] = nil
		*free = (*free)[:n-1]
		it.m, it.raw = m, raw
		return it
	}
	return &item{m: m, raw: raw}
}

func (q *sortQueue) reset(base uint32) {
	q.base = base
	clear(q.slots)
	clear(q.miss)
	if q.miss == nil {
		q.miss = make(map[uint32]int)
	}
}

func (q *sortQueue) inRange(seq uint32) bool { return seq-q.base-1 < QueueSize }

func (q *sortQueue) get(seq uint32) *item {
	if seq-q.base-1 >= uint32(len(q.slots)) {
		return nil
	}
	return q.slots[seq&uint32(len(q.slots)-1)]
}

func (q *sortQueue) has(seq uint32) bool { return q.get(seq) != nil }

// add files it under seq, which is in range.
func (q *sortQueue) add(seq uint32, it *item) {
	if off := seq - q.base - 1; off >= uint32(len(q.slots)) {
		q.grow(off + 1)
	}
	q.slots[seq&uint32(len(q.slots)-1)] = it
	if len(q.miss) > 0 {
		delete(q.miss, seq)
	}
}

// minSlots is the length of a queue's first ring buffer.
const minSlots = 64

// grow makes room for n seqs after base, moving what is held.
func (q *sortQueue) grow(n uint32) {
	size := uint32(max(len(q.slots), minSlots))
	for size < n {
		size *= 2
	}
	slots := make([]*item, size)
	if old := uint32(len(q.slots)); old > 0 {
		for s, i := q.base+1, uint32(0); i < old; s, i = s+1, i+1 {
			slots[s&(size-1)] = q.slots[s&(old-1)]
		}
	}
	q.slots = slots
}

// missCount increments and returns how often seq was found missing
// (corosync sq_item_miss_count).
func (q *sortQueue) missCount(seq uint32) int {
	q.miss[seq]++
	return q.miss[seq]
}

// release drops every seq in (base, to] and makes to the new base.
func (q *sortQueue) release(to uint32) {
	if to-q.base > QueueSize {
		clear(q.slots)
		clear(q.miss)
		q.base = to
		return
	}
	mask := uint32(len(q.slots) - 1)
	// Only (base, base+len(slots)] can hold anything.
	for s, i := q.base+1, uint32(0); seqLTE(s, to) && i < uint32(len(q.slots)); s, i = s+1, i+1 {
		if it := q.slots[s&mask]; it != nil {
			if q.free != nil && len(*q.free) < maxFreeItems {
				*it = item{}
				*q.free = append(*q.free, it)
			}
			q.slots[s&mask] = nil
		}
	}
	if len(q.miss) > 0 {
		for s := q.base + 1; seqLTE(s, to); s++ {
			delete(q.miss, s)
		}
	}
	q.base = to
}

// swap exchanges the contents of two queues.
func (q *sortQueue) swap(o *sortQueue) { *q, *o = *o, *q }
