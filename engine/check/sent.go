package check

import "slices"

// SentLog is the workload messages multicast during a run, by id: what
// the no-creation and self-delivery checks look up. A simulator workload
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
	other   map[uint64]SentMsg
	n       int
}

// sentRun is the messages of one origin from counter first on; a slot
// not ok is a counter never recorded (a gap).
type sentRun struct {
	origin uint64
	first  uint64
	msgs   []sentSlot
}

type sentSlot struct {
	SentMsg
	ok bool
}

// SentSlotBytes is what one recorded message costs in a SentLog's slices
// (the size of a slot, which a test holds to unsafe.Sizeof), before the
// slices' spare capacity.
const SentSlotBytes = 24

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
	i, ok := l.origins[origin]
	if !ok {
		if l.origins == nil {
			l.origins = make(map[uint64]int)
		}
		i = len(l.runs)
		l.origins[origin] = i
		l.runs = append(l.runs, sentRun{origin: origin, first: c})
	}
	r := &l.runs[i]
	if c >= r.first && c-r.first < uint64(len(r.msgs)) {
		s := &r.msgs[c-r.first]
		if !s.ok {
			if _, dup := l.other[id]; dup { // recorded before the run reached it
				l.other[id] = m
				return
			}
			l.n++
		}
		*s = sentSlot{SentMsg: m, ok: true}
		return
	}
	if _, dup := l.other[id]; c >= r.first && c-r.first-uint64(len(r.msgs)) <= sentMaxGap && !dup {
		for uint64(len(r.msgs)) < c-r.first {
			r.msgs = append(r.msgs, sentSlot{})
		}
		r.msgs = append(r.msgs, sentSlot{SentMsg: m, ok: true})
		l.n++
		return
	}
	if l.other == nil {
		l.other = make(map[uint64]SentMsg)
	}
	if _, dup := l.other[id]; !dup {
		l.n++
	}
	l.other[id] = m
}

// Get returns message id and whether it was recorded.
func (l *SentLog) Get(id uint64) (SentMsg, bool) {
	origin, c := id>>sentCounterBits, id&sentCounterMask
	if i, ok := l.origins[origin]; ok {
		r := &l.runs[i]
		if c >= r.first && c-r.first < uint64(len(r.msgs)) {
			if s := r.msgs[c-r.first]; s.ok {
				return s.SentMsg, true
			}
		}
	}
	m, ok := l.other[id]
	return m, ok
}

// Len is the number of messages recorded.
func (l *SentLog) Len() int { return l.n }

// IDs returns the ids recorded, in increasing order.
func (l *SentLog) IDs() []uint64 {
	ids := make([]uint64, 0, l.n)
	for _, r := range l.runs {
		for k, s := range r.msgs {
			if s.ok {
				ids = append(ids, r.origin<<sentCounterBits|(r.first+uint64(k)))
			}
		}
	}
	for id := range l.other {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
