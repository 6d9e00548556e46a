package sim

import (
	"cmp"
	"math"
	"slices"

	"github.com/quorate/quorate/engine/check"
	"github.com/quorate/quorate/engine/wire"
)

// The kv history as the run goes on. A simulated hour at 1,000 operations
// a second is millions of operations; kept whole for a check at the end
// they held most of a run's memory. The simulator's own workload invokes
// operations in time order, so each key's history can be cut at its
// quiescent points (see the comment at the top of linear.go) as soon as
// the run has passed them: when an operation is invoked, every earlier
// operation of its key that has a final limit below that instant, the
// last one's outcome fixing the key's state, closes a segment. Closed
// segments wait in a batch, are checked together across GOMAXPROCS
// workers, and are released; a key keeps only its open segment and the
// last linLookback operations before it, for the report of a failure.
//
// A cut needs final limits. A known outcome's limit is its return; an
// unknown one's is final once the run has shown when its ring ended
// everywhere (finalLimit), or the origin's late answer bounds it while the
// ring still runs. Every cut made this way is one the check at the end
// could make with the whole history in hand, and segments between
// quiescent points are checked exactly as the whole history would be, so
// the verdict is the same (TestOnlineHistoryMatchesOffline). Histories
// read from a recording arrive in any order and are cut at the end only.

// linLookback is how many operations of a key before a failing segment
// the search for a stale read looks at.
const linLookback = 200

// linBatch is how many operations of closed segments wait before they are
// checked together and released: enough for the workers to share, small
// against a run's memory. A variable for the tests.
var linBatch = 1 << 14

// kvSeg is a run of one key's operations, in invocation order and all in
// the history, checked from the state start.
type kvSeg struct {
	key   uint32
	start uint64
	ops   []*kvOp
}

// kvKeyLog is what the history holds of one key.
type kvKeyLog struct {
	open  []*kvOp // the open segment: operations since the last cut, in invocation order
	start uint64  // the state the open segment starts from
	// Over open[:resolved], whose limits are final: the largest limit,
	// the largest before the last operation in the history among them,
	// and that operation's index (-1: none).
	resolved        int
	maxAll, maxPrev wire.Instant
	last            int
	back            []*kvOp // up to linLookback operations before the batch's
	acks            ackTrack
}

// kvHistory holds the kv operations the checks still need.
type kvHistory struct {
	// online: operations arrive in invocation order, and finalLimit tells
	// when an operation's limit is final.
	online     bool
	finalLimit func(op *kvOp) (wire.Instant, bool)
	keys       []kvKeyLog
	batch      []kvSeg // closed segments not yet checked, in closing order
	batchOps   int
	batchBuf   []*kvOp     // the batch's operations, which its segments slice
	fail       *linVerdict // the first failing segment found during the run
	segments   int         // segments closed during the run
	lat, latW  []float64   // completed operations' latencies (ms): all, writes
	finished   bool
	final      linVerdict
}

func newKVHistory(keys int, online bool, finalLimit func(*kvOp) (wire.Instant, bool)) kvHistory {
	h := kvHistory{online: online, finalLimit: finalLimit, keys: make([]kvKeyLog, keys)}
	for i := range h.keys {
		h.keys[i].reset(0)
	}
	return h
}

func (k *kvKeyLog) reset(start uint64) {
	clear(k.open)
	k.open, k.start = k.open[:0], start
	k.resolved, k.last = 0, -1
	k.maxAll, k.maxPrev = math.MinInt64, math.MinInt64
}

// add records an operation at its invocation (or, from a recording, as it
// is read); the history keeps the pointer and reads its outcome later.
func (h *kvHistory) add(op *kvOp) {
	if h.online {
		h.cut(op.key, op.call)
	}
	k := &h.keys[op.key]
	k.open = append(k.open, op)
}

// completed records a completed operation's latency for the statistics.
func (h *kvHistory) completed(op *kvOp) {
	if !op.done || !op.ok || op.local || op.kind == 0 {
		return
	}
	ms := op.ret.Sub(op.call).Seconds() * 1e3
	h.lat = append(h.lat, ms)
	if op.kind == kvWrite {
		h.latW = append(h.latW, ms)
	}
}

// held is how many operations the history holds now.
func (h *kvHistory) held() int {
	n := h.batchOps
	for i := range h.keys {
		n += len(h.keys[i].open) + len(h.keys[i].back)
	}
	return n
}

// cut closes key's open segment when the instant now, an invocation of
// the key, is a quiescent point after it.
func (h *kvHistory) cut(key uint32, now wire.Instant) {
	k := &h.keys[key]
	for k.resolved < len(k.open) {
		op := k.open[k.resolved]
		if op.kind != 0 { // 0: refused or aborted, left out of the history
			lim, ok := h.finalLimit(op)
			if !ok {
				return
			}
			op.limit = lim
			k.maxPrev, k.maxAll, k.last = k.maxAll, max(k.maxAll, lim), k.resolved
		}
		k.resolved++
	}
	if k.last < 0 || k.maxAll >= now {
		return
	}
	last := k.open[k.last]
	state, ok := endState(last)
	if !ok || last.call <= k.maxPrev {
		return
	}
	n := len(h.batchBuf)
	h.batchBuf = inHistory(k.open, h.batchBuf)
	seg := kvSeg{key: key, start: k.start, ops: h.batchBuf[n:len(h.batchBuf):len(h.batchBuf)]}
	for _, op := range seg.ops {
		k.acks.retire(op)
	}
	k.acks.prune(now)
	k.reset(state)
	h.segments++
	h.batch = append(h.batch, seg)
	h.batchOps += len(seg.ops)
	if h.batchOps >= linBatch {
		h.checkBatch()
	}
}

// inHistory appends the operations of ops that are in the history to out.
func inHistory(ops, out []*kvOp) []*kvOp {
	for _, op := range ops {
		if op.kind != 0 {
			out = append(out, op)
		}
	}
	return out
}

// checkBatch checks the closed segments and releases them, keeping each
// key's last operations for a later failure's report.
func (h *kvHistory) checkBatch() {
	if h.fail == nil {
		if i := checkSegs(h.batch); i >= 0 {
			v := h.verdictAt(h.batch, i)
			h.fail = &v
		}
	}
	for _, s := range h.batch {
		k := &h.keys[s.key]
		k.back = lastN(append(k.back, s.ops...), linLookback)
	}
	clear(h.batch)
	clear(h.batchBuf)
	h.batch, h.batchOps, h.batchBuf = h.batch[:0], 0, h.batchBuf[:0]
}

// lastN keeps the last n elements of s, in its own array.
func lastN(s []*kvOp, n int) []*kvOp {
	if len(s) <= n {
		return s
	}
	m := copy(s, s[len(s)-n:])
	clear(s[m:])
	return s[:m]
}

// verdictAt is the failing verdict for segs[i]: the operations before it
// are the key's kept ones and those of its earlier segments in segs.
func (h *kvHistory) verdictAt(segs []kvSeg, i int) linVerdict {
	s := segs[i]
	before := slices.Clone(h.keys[s.key].back)
	for _, e := range segs[:i] {
		if e.key == s.key {
			before = lastN(append(before, e.ops...), linLookback)
		}
	}
	s.ops = slices.Clone(s.ops) // the batch's buffer is reused
	return linVerdict{ok: false, seg: s, before: before}
}

// finish ends the history: operations still open are unknown, bound sets
// the limits of every operation not yet cut, and whatever is left is cut
// and checked with the batch. The first failing segment in time is the
// verdict.
func (h *kvHistory) finish(bound func([]*kvOp)) linVerdict {
	if h.finished {
		return h.final
	}
	h.finished = true
	perKey := make([][]*kvOp, len(h.keys))
	var rest []*kvOp
	for i := range h.keys {
		ops := inHistory(h.keys[i].open, nil)
		for _, op := range ops {
			if !op.done {
				op.unknown = true // still open at the end of the run
			}
		}
		if !h.online {
			// A recording's operations come in any order.
			slices.SortStableFunc(ops, func(a, b *kvOp) int { return cmp.Compare(a.call, b.call) })
		}
		perKey[i], rest = ops, append(rest, ops...)
	}
	bound(rest)
	segs := h.batch
	for i, ops := range perKey {
		for _, op := range ops {
			h.keys[i].acks.retire(op)
		}
		segs = segmentKey(uint32(i), ops, h.keys[i].start, segs)
	}
	v := linVerdict{ok: true}
	if h.fail != nil {
		v = *h.fail
	} else if i := checkSegs(segs); i >= 0 {
		v = h.verdictAt(segs, i)
	}
	v.segments = h.segments + len(segs) - len(h.batch)
	h.final = v
	h.batch, h.batchOps, h.batchBuf = nil, 0, nil
	return v
}

// ackTrack follows, for one key, the last acknowledged write and the
// writes that may be ordered after it, for ackedWritesLost.
type ackTrack struct {
	last struct {
		call, ret wire.Instant
		value     uint64
		ok        bool
	}
	cands []writeCand
	mark  int // len(cands) after the last prune
}

// writeCand is a write that may be ordered after the last acknowledged
// one: its return (math.MaxInt64 when unknown) and its value.
type writeCand struct {
	ret   wire.Instant
	value uint64
}

// isWrite: a write or cas that took effect or may have.
func isWrite(op *kvOp) bool {
	return (op.kind == kvWrite || op.kind == kvCAS) && (!op.done || op.ok || op.unknown)
}

// retire takes an operation whose outcome is final, in invocation order.
func (a *ackTrack) retire(op *kvOp) {
	if !isWrite(op) {
		return
	}
	ret := op.ret
	if op.unknown || !op.done {
		ret = math.MaxInt64
	} else if !a.last.ok || op.ret > a.last.ret {
		a.last.call, a.last.ret, a.last.value, a.last.ok = op.call, op.ret, op.value, true
	}
	a.cands = append(a.cands, writeCand{ret, op.value})
}

// prune drops the writes that cannot be ordered after the last
// acknowledged write at the end of the run, once every operation of the
// key invoked before next has been retired: that write is the last one
// now, or one retired later, whose invocation is at next or after; a
// write that returned before both cannot follow it.
func (a *ackTrack) prune(next wire.Instant) {
	if len(a.cands) < 2*a.mark+64 {
		return
	}
	floor := next
	if a.last.ok {
		floor = min(floor, a.last.call)
	}
	a.cands = slices.DeleteFunc(a.cands, func(c writeCand) bool { return c.ret <= floor })
	a.mark = len(a.cands)
}

// lost reports whether the key's final value fin is none an acknowledged
// write could have left: the last acknowledged write's, or that of a
// write that may be ordered after it.
func (a *ackTrack) lost(fin uint64) bool {
	if !a.last.ok || a.last.value == fin {
		return false
	}
	for _, c := range a.cands {
		if c.ret > a.last.call && c.value == fin {
			return false
		}
	}
	return true
}

// finalLimit is op's limit once nothing later in the run can change it:
// the return of a known outcome; for an unknown one, as boundUnknown sets
// it, once the run has shown when the ring of its call ended everywhere,
// or the origin's late answer came while some member was still in it.
func (r *run) finalLimit(op *kvOp) (wire.Instant, bool) {
	if !op.done {
		return 0, false
	}
	if !op.unknown {
		return op.ret, true
	}
	const open = wire.Instant(math.MaxInt64)
	if op.ring.Seq == 0 {
		// Nothing bounds it but a late answer.
		return unknownLimit(op, open), op.late != 0
	}
	end, inRing, final := r.ringEnd(op.ring)
	switch {
	case inRing && op.late != 0:
		// The ring ends after now, so after the late answer.
		return unknownLimit(op, open), true
	case final:
		return unknownLimit(op, end), true
	}
	return 0, false
}

// unknownLimit is the limit of an unknown outcome whose ring ended
// everywhere at end (math.MaxInt64: not known): the earlier of that and
// the origin's late answer, never before the call.
func unknownLimit(op *kvOp, end wire.Instant) wire.Instant {
	if op.late != 0 {
		end = min(end, op.late)
	}
	return max(end, op.call)
}

// ringEnd is when ring ended everywhere, as boundUnknown computes it at the
// end of the run (the latest instant a process that installed it installed
// its next ring or died); inRing: a process that installed it has not left
// it yet; final: no process can install it any more, so the figure stands.
func (r *run) ringEnd(ring check.RingRef) (end wire.Instant, inRing, final bool) {
	var members []wire.NodeID
	// A process's installs and configurations are in increasing ring
	// order (the ordering check holds them to it).
	for _, p := range r.hist.Procs {
		i, found := slices.BinarySearchFunc(p.Installs, ring.Seq, func(in check.Install, s uint64) int { return cmp.Compare(in.Ring.Seq, s) })
		if !found || p.Installs[i].Ring != ring {
			continue
		}
		switch {
		case i+1 < len(p.Installs):
			end = max(end, p.Installs[i+1].At)
		case p.End != 0:
			end = max(end, p.End)
		default:
			return 0, true, false
		}
		if members == nil {
			cs := p.Configs()
			j, _ := slices.BinarySearchFunc(cs, ring.Seq, func(c check.Delivery, s uint64) int { return cmp.Compare(c.Ring.Seq, s) })
			for ; j < len(cs) && cs[j].Ring.Seq == ring.Seq; j++ {
				if cs[j].Kind == check.KindRegular && cs[j].Ring == ring {
					members = cs[j].Members
					break
				}
			}
		}
	}
	if members == nil {
		return 0, false, false
	}
	// A member whose process is alive and has not installed a later ring
	// could still install this one.
	for _, id := range members {
		j, ok := r.byID[id]
		if !ok {
			return 0, false, false
		}
		p := r.hosts[j].proc
		if p == nil || p.End != 0 {
			continue
		}
		if n := len(p.Installs); n == 0 || p.Installs[n-1].Ring.Seq <= ring.Seq {
			return 0, false, false
		}
	}
	return end, false, true
}
