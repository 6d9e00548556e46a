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
type sortQueue struct {
	base  uint32
	items map[uint32]*item
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
	clear(q.items)
	clear(q.miss)
	if q.items == nil {
		q.items = make(map[uint32]*item)
		q.miss = make(map[uint32]int)
	}
}

func (q *sortQueue) inRange(seq uint32) bool { return seq-q.base-1 < QueueSize }

func (q *sortQueue) get(seq uint32) *item { return q.items[seq] }

func (q *sortQueue) has(seq uint32) bool { _, ok := q.items[seq]; return ok }

func (q *sortQueue) add(seq uint32, it *item) {
	q.items[seq] = it
	delete(q.miss, seq)
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
		clear(q.items)
		clear(q.miss)
		q.base = to
		return
	}
	for s := q.base + 1; seqLTE(s, to); s++ {
		if it := q.items[s]; it != nil && q.free != nil && len(*q.free) < maxFreeItems {
			*it = item{}
			*q.free = append(*q.free, it)
		}
		delete(q.items, s)
		delete(q.miss, s)
	}
	q.base = to
}

// swap exchanges the contents of two queues.
func (q *sortQueue) swap(o *sortQueue) { *q, *o = *o, *q }
