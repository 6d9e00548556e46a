package sim

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/quorate/quorate/engine/wire"
)

// randomHistory is a small kv history of 3 clients on 2 keys with
// overlapping operations and unknown outcomes (bounded or not); with
// corrupt set, one output is changed, which usually makes it illegal.
func randomHistory(r *rand.Rand, corrupt bool) []*kvOp {
	return randomHistoryUnknown(r, corrupt, 8)
}

// randomHistoryUnknown is randomHistory with one operation in oneIn of
// unknown outcome.
func randomHistoryUnknown(r *rand.Rand, corrupt bool, oneIn int) []*kvOp {
	n := 3 + r.IntN(25)
	type ev struct {
		op    *kvOp
		point int64
	}
	var evs []ev
	clock := make([]int64, 3)
	pids := []int32{0, 1, 2}
	next := int32(3)
	for i := range n {
		c := r.IntN(3)
		call := clock[c] + int64(r.IntN(6))
		ret := call + int64(r.IntN(8))
		clock[c] = ret + 1
		op := &kvOp{pid: pids[c], key: uint32(r.IntN(2)), call: wire.Instant(call), ret: wire.Instant(ret), done: true}
		switch x := r.IntN(10); {
		case x < 4:
			op.kind = kvRead
		case x < 7:
			op.kind, op.value = kvWrite, uint64(i+1)
		default:
			op.kind, op.value = kvCAS, uint64(i+1)
		}
		point := call + r.Int64N(ret-call+1)
		op.limit = op.ret
		if r.IntN(oneIn) == 0 {
			// Unknown: it may take effect up to its limit, or not at all.
			op.unknown = true
			op.limit = op.ret + wire.Instant(r.IntN(12))
			if r.IntN(3) == 0 {
				op.limit = math.MaxInt64
			}
			point = call + r.Int64N(int64(min(op.limit, op.ret+12)-op.call)+1)
			if r.IntN(2) == 0 {
				point = math.MaxInt64 // it never takes effect
			}
			pids[c], next = next, next+1
		}
		evs = append(evs, ev{op, point})
	}
	applyAt(evs, func(e ev) (*kvOp, int64) { return e.op, e.point })
	ops := make([]*kvOp, len(evs))
	for i, e := range evs {
		ops[i] = e.op
		if e.op.unknown {
			e.op.ok, e.op.out = false, 0
		}
	}
	if corrupt {
		op := ops[r.IntN(len(ops))]
		switch op.kind {
		case kvRead:
			op.out = uint64(r.IntN(n + 1))
		case kvCAS:
			op.ok = !op.ok
		case kvWrite:
			op.kind, op.out = kvRead, uint64(r.IntN(n+1))
		}
	}
	slices.SortStableFunc(ops, func(a, b *kvOp) int { return cmp.Compare(a.call, b.call) })
	return ops
}

// TestSegmentedMatchesPorcupine: on 8,000 of small random histories,
// legal and corrupted, the segmented check gives porcupine's verdict on
// the whole history.
func TestSegmentedMatchesPorcupine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	model := kvModel(true, nil)
	var legal, illegal, cut int
	for i := range 8000 {
		ops := randomHistory(r, i%2 == 1)
		want := porcupine.CheckOperations(model, porcupineHistory(ops))
		got := checkSegmented(ops, 2)
		if got.ok != want {
			for _, op := range ops {
				t.Logf("%+v", *op)
			}
			t.Fatalf("history %d: segmented says %v, porcupine %v", i, got.ok, want)
		}
		if want {
			legal++
		} else {
			illegal++
		}
		if got.segments > 2 {
			cut++
		}
	}
	// The comparison means something only if both verdicts and real cuts
	// occur often.
	if legal < 2000 || illegal < 1500 || cut < 2000 {
		t.Fatalf("%d legal, %d illegal, %d cut histories: the generator does not exercise the check", legal, illegal, cut)
	}
	t.Logf("%d legal, %d illegal, %d histories cut into more than one segment per key", legal, illegal, cut)
}

// TestReduceUnknownMatchesPorcupine: on histories where half the
// operations have unknown outcomes, porcupine gives the same verdict on
// each key's operations with and without reduceUnknown, and the reduction
// does drop or merge operations in most of them.
func TestReduceUnknownMatchesPorcupine(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	model := kvModel(false, nil)
	var reduced, failedCAS, illegal int
	for i := range 8000 {
		ops := randomHistoryUnknown(r, i%2 == 1, 2)
		for key := range uint32(2) {
			var part []*kvOp
			for _, op := range ops {
				if op.key == key {
					part = append(part, op)
				}
			}
			if len(part) == 0 {
				continue
			}
			want := porcupine.CheckOperations(model, segmentOps(part, 0))
			small := reduceUnknown(part)
			got := len(small) == 0 || porcupine.CheckOperations(model, segmentOps(small, 0))
			if got != want {
				for _, op := range part {
					t.Logf("%+v", *op)
				}
				t.Fatalf("history %d key %d: %v with the reduction, %v without", i, key, got, want)
			}
			if len(small) < len(part) || slices.ContainsFunc(small, func(op *kvOp) bool { return op.value == valPhantom }) {
				reduced++
			}
			if !want {
				illegal++
			}
			if slices.ContainsFunc(part, func(op *kvOp) bool { return op.kind == kvCAS && !op.unknown && !op.ok && op.expect != valUnknown }) {
				failedCAS++
			}
		}
	}
	if reduced < 4000 || illegal < 1000 || failedCAS < 2000 {
		t.Fatalf("%d reduced, %d illegal, %d with a failed cas: the generator does not exercise the reduction", reduced, illegal, failedCAS)
	}
	t.Logf("%d key histories reduced, %d illegal, %d with a failed cas", reduced, illegal, failedCAS)
}

// TestSegmentedFindsTheFailingSegment: a stale read late in a long legal
// history fails the check, and the verdict names the segment holding it.
func TestSegmentedFindsTheFailingSegment(t *testing.T) {
	ops := linearHistory(20000)
	v := checkSegmented(ops, 8)
	if !v.ok || v.segments < 1000 {
		t.Fatalf("legal history: ok=%v in %d segments", v.ok, v.segments)
	}
	// Make a late read return a value from long ago.
	bad := makeStaleRead(ops, len(ops)-100)
	v = checkSegmented(ops, 8)
	if v.ok {
		t.Fatal("a stale read passed")
	}
	seg := v.seg.ops
	if v.seg.key != bad.key || !slices.Contains(seg, bad) {
		t.Fatalf("failing segment of key %d (%d ops) does not hold the stale read on key %d", v.seg.key, len(seg), bad.key)
	}
}

// makeStaleRead makes the first read at or after ops[from] that returned a
// value return the key's first other written value instead, and returns it.
func makeStaleRead(ops []*kvOp, from int) *kvOp {
	var bad *kvOp
	for i := from; i < len(ops); i++ {
		if ops[i].kind == kvRead && ops[i].out != 0 {
			bad = ops[i]
			break
		}
	}
	for _, op := range ops {
		if op.kind == kvWrite && op.key == bad.key && op.value != bad.out {
			bad.out = op.value
			break
		}
	}
	return bad
}

// TestAckedWritesLost: a key whose final value no acknowledged write (or
// a write that may be ordered after it) could have left counts as lost.
func TestAckedWritesLost(t *testing.T) {
	r := &run{kv: &kvState{keys: []string{"k0", "k1", "k2"}, hostIdx: map[string]uint64{"a": 0}, hosts: []string{"a"}, alien: map[string]uint64{}}}
	r.kv.hist = newKVHistory(3, false, nil)
	v := func(n uint64) uint64 { return 1<<40 | n }
	r.kv.hist.add(&kvOp{kind: kvWrite, key: 0, value: v(1), call: 1, ret: 2, done: true, ok: true})
	r.kv.hist.add(&kvOp{kind: kvWrite, key: 1, value: v(2), call: 1, ret: 2, done: true, ok: true})
	r.kv.hist.add(&kvOp{kind: kvWrite, key: 1, value: v(3), call: 3, done: true, unknown: true})
	r.kv.hist.add(&kvOp{kind: kvWrite, key: 2, value: v(4), call: 1, ret: 2, done: true, ok: true})
	r.kv.hist.add(&kvOp{kind: kvWrite, key: 2, value: v(5), call: 3, ret: 4, done: true, ok: true})
	final := map[string]string{"k0": "", "k1": "a-3", "k2": "a-4"}
	if got := r.ackedWritesLost(final); got != 2 {
		t.Fatalf("lost %d keys, want 2 (k0 emptied, k2 back to an overwritten value)", got)
	}
	final = map[string]string{"k0": "a-1", "k1": "a-2", "k2": "a-5"}
	if got := r.ackedWritesLost(final); got != 0 {
		t.Fatalf("lost %d keys, want 0", got)
	}
}
