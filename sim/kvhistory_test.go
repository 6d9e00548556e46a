package sim

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/anishathalye/porcupine"
	"github.com/quorate/quorate/engine/check"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios"
)

// replayOnline feeds a finished history to an online kvHistory as a run
// would: each operation is added at its invocation and completes at its
// return; an unknown outcome's limit becomes final once the clock has
// passed it (as a ring's end does once every member has left it), and an
// unbounded one never does. onAdd, when set, sees the history after each
// invocation.
func replayOnline(ops []*kvOp, keys int, onAdd func(h *kvHistory)) *kvHistory {
	type outcome struct {
		op   *kvOp
		done bool
	}
	saved := make([]outcome, len(ops))
	for i, op := range ops {
		saved[i] = outcome{op, op.done}
		op.done = false
	}
	var now wire.Instant
	h := newKVHistory(keys, true, func(op *kvOp) (wire.Instant, bool) {
		switch {
		case !op.done:
			return 0, false
		case !op.unknown:
			return op.ret, true
		case op.limit == math.MaxInt64 || op.limit >= now:
			return 0, false
		}
		return op.limit, true
	})
	type ev struct {
		at   wire.Instant
		call bool
		i    int
	}
	evs := make([]ev, 0, 2*len(ops))
	for i, op := range ops {
		evs = append(evs, ev{op.call, true, i}, ev{op.ret, false, i})
	}
	// Returns before invocations at one instant: a cut there is refused
	// either way, as the limit equals the invocation.
	slices.SortStableFunc(evs, func(a, b ev) int {
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		switch {
		case a.call == b.call:
			return cmp.Compare(a.i, b.i)
		case a.call:
			return 1
		}
		return -1
	})
	for _, e := range evs {
		now = e.at
		if e.call {
			h.add(ops[e.i])
			if onAdd != nil {
				onAdd(&h)
			}
		} else {
			ops[e.i].done = saved[e.i].done
		}
	}
	return &h
}

// TestOnlineHistoryMatchesOffline: on 8,000 small random histories, legal
// and corrupted, with unknown outcomes bounded and not, the history cut
// as a run goes (and checked in batches of a few operations) gives the
// verdict of the check at the end and of porcupine on the whole history.
// The online cuts must happen for the comparison to mean anything.
func TestOnlineHistoryMatchesOffline(t *testing.T) {
	defer func(n int) { linBatch = n }(linBatch)
	linBatch = 4
	r := rand.New(rand.NewPCG(5, 6))
	model := kvModel(true, nil)
	var illegal, cutOnline, failedOnline int
	for i := range 8000 {
		ops := randomHistoryUnknown(r, i%2 == 1, 4)
		want := porcupine.CheckOperations(model, porcupineHistory(ops))
		if off := checkSegmented(ops, 2); off.ok != want {
			t.Fatalf("history %d: the check at the end says %v, porcupine %v", i, off.ok, want)
		}
		h := replayOnline(ops, 2, nil)
		closed, early := h.segments, h.fail != nil
		got := h.finish(func([]*kvOp) {})
		if got.ok != want {
			for _, op := range ops {
				t.Logf("%+v", *op)
			}
			t.Fatalf("history %d: online says %v, porcupine %v", i, got.ok, want)
		}
		if !want {
			illegal++
			if !slices.Contains(got.seg.ops, got.seg.ops[0]) || got.seg.ops[0].key != got.seg.key {
				t.Fatalf("history %d: the failing segment is not one key's", i)
			}
		}
		if closed > 0 {
			cutOnline++
		}
		if early {
			failedOnline++
		}
	}
	if illegal < 1500 || cutOnline < 3000 || failedOnline < 300 {
		t.Fatalf("%d illegal, %d cut online, %d failed in a batch during the run: the generator does not exercise the online history",
			illegal, cutOnline, failedOnline)
	}
	t.Logf("%d illegal, %d cut online, %d found failing during the run", illegal, cutOnline, failedOnline)
}

// TestOnlineHistoryStaysFlat: a long legal history is checked as it goes
// and never holds more than a batch and the open segments; a stale read
// late in it is found during the run and named with its segment.
func TestOnlineHistoryStaysFlat(t *testing.T) {
	defer func(n int) { linBatch = n }(linBatch)
	linBatch = 1024
	ops := linearHistory(100000)
	most := 0
	h := replayOnline(ops, 8, func(h *kvHistory) { most = max(most, h.held()) })
	if v := h.finish(func([]*kvOp) {}); !v.ok {
		t.Fatal("a legal history failed")
	}
	if limit := linBatch + 8*linLookback + 64; most > limit || h.segments < 10000 {
		t.Fatalf("held up to %d operations (limit %d) over %d segments closed online", most, limit, h.segments)
	}

	ops = linearHistory(100000)
	bad := makeStaleRead(ops, len(ops)/2)
	h = replayOnline(ops, 8, nil)
	if h.fail == nil {
		t.Fatal("a stale read in the middle of the history was not found during the run")
	}
	v := h.finish(func([]*kvOp) {})
	if v.ok || v.seg.key != bad.key || !slices.Contains(v.seg.ops, bad) {
		t.Fatalf("verdict %v names key %d, want the segment of the stale read on key %d", v.ok, v.seg.key, bad.key)
	}
	if len(v.before) == 0 || len(v.before) > linLookback || v.before[len(v.before)-1].call > v.seg.ops[0].call {
		t.Fatalf("%d operations kept before the failing segment", len(v.before))
	}
}

// ackedWritesLostWhole is the definition over the whole history: the last
// acknowledged write of the key, or any write that may be ordered after
// it, left the final value.
func ackedWritesLostWhole(ops []*kvOp, key uint32, fin uint64) bool {
	var last *kvOp
	for _, op := range ops {
		if op.key == key && isWrite(op) && op.done && op.ok && !op.unknown && (last == nil || op.ret > last.ret) {
			last = op
		}
	}
	if last == nil || last.value == fin {
		return false
	}
	for _, op := range ops {
		ret := op.ret
		if op.unknown || !op.done {
			ret = math.MaxInt64
		}
		if op.key == key && isWrite(op) && ret > last.call && op.value == fin {
			return false
		}
	}
	return true
}

// TestOnlineAckedWritesLost: what the history keeps for ackedWritesLost,
// pruned as the run goes, decides every final value as the whole history
// does, on long histories where pruning happens.
func TestOnlineAckedWritesLost(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var lost, kept, pruned int
	for range 40 {
		ops := linearHistory(3000)
		for _, op := range ops {
			if op.kind != kvRead && r.IntN(20) == 0 {
				op.unknown, op.ok = true, false
				op.limit = op.ret + wire.Instant(r.IntN(5000))
			}
		}
		h := replayOnline(ops, 8, nil)
		h.finish(func([]*kvOp) {})
		for key := range uint32(8) {
			a := &h.keys[key].acks
			if a.mark > 0 {
				pruned++
			}
			var values []uint64
			for _, op := range ops {
				if op.key == key && op.kind != kvRead {
					values = append(values, op.value)
				}
			}
			for range 20 {
				// Absent, one of the last few values written, or an
				// older one.
				fin := uint64(0)
				switch x := r.IntN(4); {
				case len(values) == 0 || x == 0:
				case x == 1:
					fin = values[len(values)-1-r.IntN(min(len(values), 40))]
				default:
					fin = values[len(values)-1-r.IntN(min(len(values), 3))]
				}
				want := ackedWritesLostWhole(ops, key, fin)
				if got := a.lost(fin); got != want {
					t.Fatalf("key %d final %d: online says lost=%v, the whole history %v", key, fin, got, want)
				}
				if want {
					lost++
				} else {
					kept++
				}
			}
		}
	}
	if lost < 500 || kept < 500 || pruned < 200 {
		t.Fatalf("%d lost, %d kept, %d pruned keys: the test does not exercise the pruning", lost, kept, pruned)
	}
}

// TestFinalLimitMatchesEnd: in runs of the store family, with crashes,
// partitions and timeouts, every operation of unknown outcome whose limit
// the history took as final during the run has the limit boundUnknown
// gives it from the whole run, and such operations occur.
func TestFinalLimitMatchesEnd(t *testing.T) {
	type taken struct {
		op    *kvOp
		limit wire.Instant
	}
	var all []taken
	for seed := uint64(1); seed <= 12; seed++ {
		src, err := scenarios.Random("store", seed)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenarios.Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		r, err := newRun(sc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.kv == nil {
			continue
		}
		var got []taken
		final := r.kv.hist.finalLimit
		r.kv.hist.finalLimit = func(op *kvOp) (wire.Instant, bool) {
			lim, ok := final(op)
			if ok && op.unknown {
				got = append(got, taken{op, lim})
			}
			return lim, ok
		}
		r.loop()
		for _, g := range got {
			op := *g.op
			r.boundUnknown([]*kvOp{&op})
			if op.limit != g.limit {
				t.Fatalf("store seed %d: an unknown %s called at %v was taken as final at %v, the whole run bounds it at %v",
					seed, kindWord(op.kind), op.call, g.limit, op.limit)
			}
		}
		all = append(all, got...)
	}
	if len(all) < 20 {
		t.Fatalf("%d unknown outcomes resolved during the runs: the test does not exercise finalLimit", len(all))
	}
	t.Logf("%d unknown outcomes resolved during the runs", len(all))
}

// TestRingEndWaitsForEveryMember: a ring's end is final only once no
// process can still install it: every member's current process has
// installed a later ring or died. Before that an unknown outcome of the
// ring keeps its key's segment open; while an installer is still in the
// ring, only a late answer bounds it.
func TestRingEndWaitsForEveryMember(t *testing.T) {
	ring := check.RingRef{Rep: 1, Seq: 8}
	p1 := &check.Process{Node: 1, Name: "n1"}
	p2 := &check.Process{Node: 2, Name: "n2"}
	r := &run{byID: map[wire.NodeID]int{1: 0, 2: 1}, hosts: []*host{{idx: 0, id: 1, proc: p1}, {idx: 1, id: 2, proc: p2}}}
	r.hist.Attach(p1)
	r.hist.Attach(p2)
	regular := func(p *check.Process, at wire.Instant, rg check.RingRef, members ...wire.NodeID) {
		p.Add(check.Delivery{At: at, Kind: check.KindRegular, Ring: rg, Members: members})
	}
	op := &kvOp{kind: kvWrite, call: 5, ret: 15, done: true, unknown: true, ring: ring}

	regular(p1, 10, ring, 1, 2)
	if _, in, final := r.ringEnd(ring); !in || final {
		t.Fatalf("n1 is still in the ring: in=%v final=%v", in, final)
	}
	if _, ok := r.finalLimit(op); ok {
		t.Fatal("an unknown outcome's limit was final while its ring still ran")
	}
	op.late = 12
	if lim, ok := r.finalLimit(op); !ok || lim != 12 {
		t.Fatalf("a late answer while the ring runs: limit %v (%v), want 12", lim, ok)
	}
	op.late = 0

	regular(p1, 20, check.RingRef{Rep: 1, Seq: 12}, 1)
	if _, in, final := r.ringEnd(ring); in || final {
		t.Fatalf("n2, a member that has installed nothing, could still install the ring: in=%v final=%v", in, final)
	}
	if _, ok := r.finalLimit(op); ok {
		t.Fatal("an unknown outcome's limit was final while a member could still install its ring")
	}

	regular(p2, 25, check.RingRef{Rep: 2, Seq: 12}, 2)
	end, in, final := r.ringEnd(ring)
	if in || !final || end != 20 {
		t.Fatalf("every member past the ring: end %v in=%v final=%v, want 20, false, true", end, in, final)
	}
	if lim, ok := r.finalLimit(op); !ok || lim != 20 {
		t.Fatalf("limit %v (%v), want the ring's end, 20", lim, ok)
	}
	cp := *op
	r.boundUnknown([]*kvOp{&cp})
	if cp.limit != 20 {
		t.Fatalf("boundUnknown gives %v, finalLimit 20", cp.limit)
	}
}
