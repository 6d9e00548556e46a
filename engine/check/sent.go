package check

// SentLog is the workload messages multicast during a run, by id: what
// the no-creation, sequencing and self-delivery checks look up, each held
// until the checks need it no more (History.done). A simulator workload
// id is its origin in the top 24 bits and the origin's counter below
// (one more per message), so the log keeps one slice per origin indexed
// by counter instead of a map entry per message: a loaded run records a
// message per millisecond, and the map's inserts (probing, and rehashing
// as it grew) were a few percent of the run. An id that does not follow
// its origin's counter closely (another numbering, a counter going back)
// goes to a map. The zero value is an empty log.
type SentLog struct {
	origins map[uint64]int // origin -> index in runs
	runs    []sentRun
	other   map[uint64]*sentSlot
	n       int
	// last is the index in runs of the origin looked up last: deliveries
	// come in runs of one sender's messages more often than not.
	last int
}

// sentRun is the messages of one origin from counter first on; a slot
// not ok is a counter never recorded (a gap). The counters from base to
// first were released: the checks needed them no more.
type sentRun struct {
	origin uint64
	base   uint64
	first  uint64
	msgs   []sentSlot
	// buf is msgs's array from its start: release slices msgs from the
	// front, and push moves what is left back to the front of buf
	// instead of allocating a new array when msgs runs out of room.
	buf []sentSlot
}

// push appends s. When msgs has no room left but at most half of its
// array is still held, the held slots move to the array's front: a loaded
// run releases as fast as it records, and reuses one array instead of
// allocating one every few dozen messages.
func (r *sentRun) push(s sentSlot) {
	if len(r.msgs) == cap(r.msgs) {
		if r.buf != nil && len(r.msgs) <= cap(r.buf)/2 {
			r.msgs = r.buf[:copy(r.buf[:len(r.msgs)], r.msgs)]
		} else {
			r.msgs = append(r.msgs, s)
			r.buf = r.msgs[:0]
			return
		}
	}
	r.msgs = append(r.msgs, s)
}

// sentSlot is one message: who multicast it and when, and what the
// ordering checks learnt of it as it was delivered: the ring (the
// history's index + 1; 0 before any delivery) and sequence number every
// delivery must name, how many deliveries there were, and whether its
// sender delivered it.
type sentSlot struct {
	SentMsg
	ring  int32
	seq   uint32
	part  uint16
	count uint16 // deliveries so far
	ok    bool
	own   bool
}

// SentSlotBytes is what one recorded message costs in a SentLog's slices
// (the size of a slot, which a test holds to unsafe.Sizeof), before the
// slices' spare capacity. It is all the ordering checks keep per message,
// whatever the number of nodes that deliver it.
const SentSlotBytes = 32

const (
	sentCounterBits = 40
	sentCounterMask = 1<<sentCounterBits - 1
	// sentMaxGap is the most counters a run skips (filled with slots not
	// ok) before an id goes to the map instead.
	sentMaxGap = 1024
)

// Add records message id; a second Add of the same id replaces the first,
// as a map assignment does.
func (l *SentLog) Add(id uint64, m SentMsg) {
	origin, c := id>>sentCounterBits, id&sentCounterMask
	i, ok := l.runIndex(origin)
	if !ok {
		if l.origins == nil {
			l.origins = make(map[uint64]int)
		}
		i = len(l.runs)
		l.origins[origin] = i
		l.runs = append(l.runs, sentRun{origin: origin, base: c, first: c})
	}
	r := &l.runs[i]
	if c >= r.first && c-r.first < uint64(len(r.msgs)) {
		s := &r.msgs[c-r.first]
		if !s.ok {
			if o, dup := l.other[id]; dup { // recorded before the run reached it
				o.SentMsg = m
				return
			}
			l.n++
		}
		s.SentMsg, s.ok = m, true
		return
	}
	if _, dup := l.other[id]; c >= r.first && c-r.first-uint64(len(r.msgs)) <= sentMaxGap && !dup {
		for uint64(len(r.msgs)) < c-r.first {
			r.push(sentSlot{})
		}
		r.push(sentSlot{SentMsg: m, ok: true})
		l.n++
		return
	}
	if l.other == nil {
		l.other = make(map[uint64]*sentSlot)
	}
	if o, dup := l.other[id]; dup {
		o.SentMsg = m
		return
	}
	l.n++
	l.other[id] = &sentSlot{SentMsg: m, ok: true}
}

// Get returns message id and whether the log holds it (recorded, and not
// released).
func (l *SentLog) Get(id uint64) (SentMsg, bool) {
	if s := l.slot(id); s != nil {
		return s.SentMsg, true
	}
	return SentMsg{}, false
}

// slot returns message id's slot, nil when it was not recorded. The
// pointer is valid until the next Add.
func (l *SentLog) slot(id uint64) *sentSlot {
	c := id & sentCounterMask
	if i, ok := l.runIndex(id >> sentCounterBits); ok {
		r := &l.runs[i]
		if c >= r.first && c-r.first < uint64(len(r.msgs)) {
			if s := &r.msgs[c-r.first]; s.ok {
				return s
			}
		}
	}
	return l.other[id]
}

// each calls f with every recorded message, in no particular order.
func (l *SentLog) each(f func(id uint64, s *sentSlot)) {
	for _, r := range l.runs {
		for k := range r.msgs {
			if s := &r.msgs[k]; s.ok {
				f(r.origin<<sentCounterBits|(r.first+uint64(k)), s)
			}
		}
	}
	for id, s := range l.other {
		f(id, s)
	}
}

// releaseLag is how many of an origin's messages the log keeps in its
// slice behind one it still needs: beyond it, that one moves to the map,
// so that a message nobody will ever deliver (multicast just before its
// sender crashed) does not hold every later one of its origin.
const releaseLag = 4096

// release drops, from the front of message id's origin, the messages the
// checks need no more (done), so that what the log holds stays flat while
// a loaded run goes on.
func (l *SentLog) release(id uint64, done func(*sentSlot) bool) {
	i, ok := l.runIndex(id >> sentCounterBits)
	if !ok {
		return
	}
	r := &l.runs[i]
	for len(r.msgs) > 0 {
		s := &r.msgs[0]
		if !done(s) {
			if len(r.msgs) <= releaseLag {
				return
			}
			if s.ok {
				moved := *s
				if l.other == nil {
					l.other = make(map[uint64]*sentSlot)
				}
				l.other[r.origin<<sentCounterBits|r.first] = &moved
			}
		}
		r.msgs = r.msgs[1:]
		r.first++
	}
}

// released says whether message id was recorded and then released.
func (l *SentLog) released(id uint64) bool {
	i, ok := l.runIndex(id >> sentCounterBits)
	if !ok {
		return false
	}
	r := &l.runs[i]
	c := id & sentCounterMask
	if c < r.base || c >= r.first {
		return false
	}
	_, kept := l.other[id]
	return !kept
}

func (l *SentLog) runIndex(origin uint64) (int, bool) {
	if l.last < len(l.runs) && l.runs[l.last].origin == origin {
		return l.last, true
	}
	i, ok := l.origins[origin]
	if ok {
		l.last = i
	}
	return i, ok
}

// Held is the number of messages the log holds now: recorded and not
// released.
func (l *SentLog) Held() int {
	n := len(l.other)
	for _, r := range l.runs {
		n += len(r.msgs)
	}
	return n
}

// Len is the number of messages recorded.
func (l *SentLog) Len() int { return l.n }
