package sim

import (
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/quorate/quorate/engine/wire"
)

// The linearizability check runs porcupine over the kv history. Each key is
// a register of its own (its state is its value alone; writes carry unique
// values, so a version the store compares maps to one value). An unknown
// outcome follows the maintainer's recipe: the operation may take effect at
// any point after its invocation, so the model accepts any output for it
// while allowing both its effect and its absence.
//
// A key's history is cut into segments at quiescent points, and each
// segment is checked on its own, in parallel (checkSegmented): a
// quiescent point is an instant at which no operation of the key is in
// flight and the key's state is known, because the last operation before
// it came after every other in real time and its outcome fixes the value
// (a completed read, write or successful cas). Every linearization of the
// whole history puts everything before such a point first and ends that
// part with that operation, so the history is linearizable exactly when
// every segment is, each from the state the previous one ends in. This
// keeps porcupine's work linear in the history's length: checking the
// whole key at once costs it O(n) per visited configuration.
//
// An unknown outcome overlaps everything after its invocation and so
// would keep its key's segment open to the end of the run. It is bounded
// by what the run knows about when it can still take effect (kvOp.limit,
// see boundUnknown): the store applies an operation only in the regular
// configuration of the ring it was sent in, so once every member of that
// ring has left it (installed a later ring, or crashed), the operation has
// taken effect or never will; and when the origin answers an operation its
// client had given up on, it has done one or the other by then.

type kvIn struct {
	kind   kvKind
	key    uint32
	value  uint64 // write, cas: the new value; assume: the state
	expect uint64 // cas: valUnknown when the client did not know the value it compared against
}

type kvOut struct {
	unknown bool
	ok      bool
	value   uint64
}

// kvAssume is a segment's first, synthetic operation: it sets the state
// the previous segment ended in.
const kvAssume kvKind = 100

// kvStep is the register's transition: the states an operation can leave
// behind from state s, none when its output is impossible from s.
func kvStep(s uint64, in kvIn, out kvOut) (next [2]uint64, n int) {
	switch in.kind {
	case kvAssume:
		return [2]uint64{in.value}, 1
	case kvRead:
		if out.unknown || out.value == s {
			return [2]uint64{s}, 1
		}
		return next, 0
	case kvWrite:
		if out.unknown {
			return [2]uint64{s, in.value}, 2
		}
		return [2]uint64{in.value}, 1
	default: // cas
		matches := in.expect == valUnknown || in.expect == s
		switch {
		case out.unknown:
			if matches {
				return [2]uint64{s, in.value}, 2
			}
			return [2]uint64{s}, 1
		case out.ok && matches:
			return [2]uint64{in.value}, 1
		case !out.ok && (in.expect == valUnknown || in.expect != s):
			return [2]uint64{s}, 1
		}
		return next, 0
	}
}

// kvModel is the register for porcupine. partition splits a history by
// key (the plain, whole-history check); name prints value ids.
func kvModel(partition bool, name func(uint64) string) porcupine.Model {
	if name == nil {
		name = func(v uint64) string { return fmt.Sprintf("v%d", v) }
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{uint64(0)} },
		Step: func(state, input, output any) []any {
			next, n := kvStep(state.(uint64), input.(kvIn), output.(kvOut))
			out := make([]any, n)
			for i := range n {
				out[i] = next[i]
			}
			return out
		},
		Equal: func(a, b any) bool { return a.(uint64) == b.(uint64) },
		DescribeOperation: func(input, output any) string {
			in, out := input.(kvIn), output.(kvOut)
			key := fmt.Sprintf("k%d", in.key)
			res := "?"
			if !out.unknown {
				res = fmt.Sprint(out.ok)
			}
			switch in.kind {
			case kvAssume:
				return fmt.Sprintf("%s is %q (the state the previous segment ends in)", key, name(in.value))
			case kvRead:
				if out.unknown {
					return fmt.Sprintf("read %s -> ?", key)
				}
				return fmt.Sprintf("read %s -> %q", key, name(out.value))
			case kvWrite:
				return fmt.Sprintf("write %s = %q -> %s", key, name(in.value), res)
			}
			return fmt.Sprintf("cas %s %q => %q -> %s", key, name(in.expect), name(in.value), res)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%q", name(state.(uint64))) },
	}
	if partition {
		nm.Partition = func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[uint32][]porcupine.Operation{}
			for _, op := range h {
				k := op.Input.(kvIn).key
				by[k] = append(by[k], op)
			}
			keys := make([]uint32, 0, len(by))
			for k := range by {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			out := make([][]porcupine.Operation, 0, len(by))
			for _, k := range keys {
				out = append(out, by[k])
			}
			return out
		}
	}
	return nm.ToModel()
}

// porcupineOp converts one recorded operation; its return is its limit.
func porcupineOp(op *kvOp) porcupine.Operation {
	return porcupine.Operation{
		ClientId: int(op.pid),
		Input:    kvIn{kind: op.kind, key: op.key, value: op.value, expect: op.expect},
		Call:     int64(op.call),
		Output:   kvOut{unknown: op.unknown, ok: op.ok, value: op.out},
		Return:   int64(op.limit),
	}
}

// endState is the key's state after op when op came after every other
// operation before it, and whether op's outcome fixes it.
func endState(op *kvOp) (uint64, bool) {
	switch {
	case op.unknown:
		return 0, false
	case op.kind == kvRead:
		return op.out, true
	case op.kind == kvWrite || (op.kind == kvCAS && op.ok):
		return op.value, true
	}
	return 0, false
}

// segmentKey cuts one key's operations (in invocation order, all in the
// history), which start from state, at its quiescent points.
func segmentKey(key uint32, ops []*kvOp, state uint64, out []kvSeg) []kvSeg {
	lo := 0
	prevMax, curMax := wire.Instant(math.MinInt64), wire.Instant(math.MinInt64)
	for i, op := range ops {
		if i > lo && curMax < op.call {
			last := ops[i-1]
			if s, ok := endState(last); ok && last.call > prevMax {
				out = append(out, kvSeg{key: key, start: state, ops: ops[lo:i]})
				lo, state = i, s
				prevMax, curMax = math.MinInt64, math.MinInt64
			}
		}
		prevMax = curMax
		curMax = max(curMax, op.limit)
	}
	if lo < len(ops) {
		out = append(out, kvSeg{key: key, start: state, ops: ops[lo:]})
	}
	return out
}

// sequential checks a segment whose operations do not overlap at all: its
// only linearization is real-time order, so stepping the register through
// it (with every state an unknown outcome allows) decides it exactly, as
// porcupine would, without its set-up.
func sequential(ops []*kvOp, start uint64) (verdict, isSeq bool) {
	for i, end := 1, ops[0].limit; i < len(ops); i++ {
		if ops[i].call <= end {
			return false, false
		}
		end = max(end, ops[i].limit)
	}
	states := []uint64{start}
	var next []uint64
	for _, op := range ops {
		next = next[:0]
		in, out := kvIn{kind: op.kind, value: op.value, expect: op.expect}, kvOut{unknown: op.unknown, ok: op.ok, value: op.out}
		for _, s := range states {
			ns, n := kvStep(s, in, out)
			for _, x := range ns[:n] {
				if !slices.Contains(next, x) {
					next = append(next, x)
				}
			}
		}
		if len(next) == 0 {
			return false, true
		}
		states, next = next, states
	}
	return true, true
}

// segmentOps is what porcupine checks for one segment: the synthetic
// operation that sets its starting state, then its operations.
func segmentOps(ops []*kvOp, start uint64) []porcupine.Operation {
	first := ops[0]
	h := make([]porcupine.Operation, 0, len(ops)+1)
	h = append(h, porcupine.Operation{ClientId: int(first.pid), Input: kvIn{kind: kvAssume, key: first.key, value: start},
		Call: int64(first.call) - 2, Output: kvOut{ok: true}, Return: int64(first.call) - 1})
	for _, op := range ops {
		h = append(h, porcupineOp(op))
	}
	return h
}

// valPhantom stands for every value a segment writes with an unknown
// outcome and no operation observes (reduceUnknown); writes' values are
// ids counted from 1, and valUnknown is a cas's "did not know".
const valPhantom = valUnknown - 1

// reduceUnknown bounds what operations with unknown outcomes cost the
// search of one segment, without changing its verdict. Porcupine places
// every unknown operation somewhere up to its limit, taking effect or not,
// so k of them that overlap multiply the states it visits by up to 2^k
// (16 nodes cut off one by one left 27 such writes in one segment of
// random store seed 67, and porcupine went past 20 GB). Three rewrites,
// each proved in docs/scenarios.md ("What the linearizability check
// assumes"):
//
//   - An unknown read is dropped: it neither changes the register nor is
//     checked.
//   - An unknown write or cas whose value no read returned and no cas
//     expected is a phantom: which of them took effect cannot be told
//     apart by any operation, so their values become one (valPhantom).
//   - A phantom state is of use only to a known failed cas that expected a
//     real value (it makes the register differ); with K such in the
//     segment, a phantom is dropped when K phantom writes each have a
//     window (invocation to limit) holding its own: one of them is free to
//     take effect where it would have. With K = 0 every phantom is
//     dropped.
//
// part is not modified; the result is a new slice when anything changed.
func reduceUnknown(part []*kvOp) []*kvOp {
	unknown := false
	for _, op := range part {
		if op.unknown {
			unknown = true
			break
		}
	}
	if !unknown {
		return part
	}
	observed := map[uint64]bool{}
	need := 0
	for _, op := range part {
		switch {
		case op.kind == kvRead && !op.unknown:
			observed[op.out] = true
		case op.kind == kvCAS:
			if op.expect != valUnknown {
				observed[op.expect] = true
				if !op.unknown && !op.ok {
					need++
				}
			}
		}
	}
	phantom := func(op *kvOp) bool {
		return op.unknown && op.kind != kvRead && !observed[op.value]
	}
	// The phantom writes that may stand in for others, earliest first.
	var writers []*kvOp
	for _, op := range part {
		if phantom(op) && op.kind == kvWrite {
			writers = append(writers, op)
		}
	}
	covered := func(op *kvOp) bool {
		n := 0
		for _, w := range writers {
			if w != op && w.call <= op.call && w.limit >= op.limit {
				if n++; n >= need {
					return true
				}
			}
		}
		return false
	}
	out := make([]*kvOp, 0, len(part))
	for _, op := range part {
		switch {
		case op.unknown && op.kind == kvRead:
			continue
		case phantom(op):
			if need == 0 || covered(op) {
				continue
			}
			c := *op
			c.value = valPhantom
			out = append(out, &c)
		default:
			out = append(out, op)
		}
	}
	return out
}

// linVerdict is the segmented check's outcome; on failure, the first
// failing segment and up to linLookback operations of its key before it.
type linVerdict struct {
	ok       bool
	segments int
	seg      kvSeg
	before   []*kvOp
}

// checkSegmented checks a whole history at once (every operation, in
// invocation order, with limits set): the check at the end of a run in one
// call, for tests and benchmarks.
func checkSegmented(ops []*kvOp, keys int) linVerdict {
	for _, op := range ops {
		keys = max(keys, int(op.key)+1)
	}
	h := newKVHistory(keys, false, nil)
	for _, op := range ops {
		h.add(op)
	}
	return h.finish(func([]*kvOp) {})
}

// checkSegs checks segments across GOMAXPROCS workers and returns the index
// of the first failing one, -1 when all pass. The answer does not depend on
// the scheduling.
func checkSegs(segs []kvSeg) int {
	failed := make([]bool, len(segs))
	model := kvModel(false, nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	const batch = 256
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for {
				lo := int(next.Add(batch)) - batch
				if lo >= len(segs) {
					return
				}
				for i := lo; i < min(lo+batch, len(segs)); i++ {
					s := segs[i]
					part := reduceUnknown(s.ops)
					if len(part) == 0 {
						continue
					}
					if ok, isSeq := sequential(part, s.start); isSeq {
						failed[i] = !ok
						continue
					}
					failed[i] = !porcupine.CheckOperations(model, segmentOps(part, s.start))
				}
			}
		})
	}
	wg.Wait()
	return slices.Index(failed, true)
}

// boundUnknown sets every operation's limit: its return when its outcome
// is known, otherwise the first instant by which it has taken effect or
// never will (see the package comment above), math.MaxInt64 if none.
func (r *run) boundUnknown(ops []*kvOp) {
	// When each ring ended everywhere: the latest instant a process that
	// installed it installed its next ring or died.
	const open = wire.Instant(math.MaxInt64)
	ends := map[check.RingRef]wire.Instant{}
	for _, p := range r.hist.Procs {
		for i, in := range p.Installs {
			end := open
			switch {
			case i+1 < len(p.Installs):
				end = p.Installs[i+1].At
			case p.End != 0:
				end = p.End
			}
			if e, ok := ends[in.Ring]; !ok || end > e {
				ends[in.Ring] = end
			}
		}
	}
	for _, op := range ops {
		op.limit = op.ret
		if !op.unknown {
			continue
		}
		end := open
		if e, ok := ends[op.ring]; ok && op.ring.Seq != 0 {
			end = e
		}
		op.limit = unknownLimit(op, end)
	}
}

// kvFinish ends the kv history (linear.go's check and ackedWritesLost
// both read it).
func (r *run) kvFinish() linVerdict { return r.kv.hist.finish(r.boundUnknown) }

// checkLinearizable runs the segmented check; on failure it names the
// failing segment's operations and, when path is set, writes porcupine's
// visualisation of that segment there.
func (r *run) checkLinearizable(path string) check.CheckResult {
	v := r.kvFinish()
	if v.ok {
		return check.Pass()
	}
	model := kvModel(false, r.kv.valueName)
	seg := v.seg.ops
	if path != "" {
		res, info := porcupine.CheckOperationsVerbose(model, segmentOps(seg, v.seg.start), 30*time.Second)
		if res != porcupine.Ok {
			_ = porcupine.VisualizePath(model, info, path)
		}
	}
	key := r.kv.keys[v.seg.key]
	describe := func(op *kvOp) string {
		ret := "unknown"
		if op.unknown && op.limit != math.MaxInt64 {
			ret = "unknown, in effect by " + time.Duration(op.limit).String()
		} else if !op.unknown {
			ret = time.Duration(op.ret).String()
		}
		return fmt.Sprintf("  client %d [%v .. %s] %s", op.pid, time.Duration(op.call), ret, model.DescribeOperation(porcupineOp(op).Input, porcupineOp(op).Output))
	}
	// The plainest counterexample may start before the segment: look a
	// little way back.
	if w1, w2, rd, ok := staleRead(append(slices.Clip(v.before), seg...)); ok {
		return check.Fail("linearizability: stale read of key %s: the read returned a value that an acknowledged write had already replaced before the read began:\n%s\n%s\n%s\n(the failing segment of the key holds %d operations; history.html shows them)",
			key, describe(w1), describe(w2), describe(rd), len(seg))
	}
	lines := []string{fmt.Sprintf("  the segment starts from %s = %q", key, r.kv.valueName(v.seg.start))}
	for i, op := range seg {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("  … %d more", len(seg)-20))
			break
		}
		lines = append(lines, describe(op))
	}
	return check.Fail("linearizability: key %s has no linear order (%d operations in the failing segment, one of %d segments):\n%s",
		key, len(seg), v.segments, strings.Join(lines, "\n"))
}

// staleRead looks for the plainest counterexample: a completed read that
// returns the value of a write w1 although another write w2 was invoked
// after w1 completed and was acknowledged before the read was invoked.
func staleRead(ops []*kvOp) (w1, w2, rd *kvOp, ok bool) {
	var writes []*kvOp
	for _, op := range ops {
		if op.kind != kvRead && (op.ok || op.unknown) {
			writes = append(writes, op)
		}
	}
	for _, r := range ops {
		if r.kind != kvRead || r.unknown {
			continue
		}
		for _, a := range writes {
			if a.value != r.out || a.unknown {
				continue
			}
			for _, b := range writes {
				if b.ok && !b.unknown && b.call > a.ret && b.ret < r.call {
					return a, b, r, true
				}
			}
		}
	}
	return nil, nil, nil, false
}

// ackedWritesLost counts keys whose final value is none of the values an
// acknowledged write could have left: the last acknowledged write, or any
// write that may be ordered after it (one that had not completed when the
// last acknowledged write began, acknowledged or unknown).
func (r *run) ackedWritesLost(final map[string]string) int64 {
	r.kvFinish()
	var lost int64
	for k, name := range r.kv.keys {
		if r.kv.hist.keys[k].acks.lost(r.kv.valueID([]byte(final[name]))) {
			lost++
		}
	}
	return lost
}
