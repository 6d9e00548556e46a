package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios"
)

// BenchmarkStoreLoad: 5 nodes, every node's client issuing ordered reads,
// writes and CAS on 8 keys as fast as the arrival rate allows, for 60
// simulated seconds.
func BenchmarkStoreLoad(b *testing.B) {
	for _, rate := range []int{500, 2000} {
		b.Run(fmt.Sprintf("%d/s", rate), func(b *testing.B) {
			src := fmt.Sprintf(`name: bench-store
duration: 60s
cluster:
  nodes: [{name: n1}, {name: n2}, {name: n3}, {name: n4}, {name: n5}]
network:
  links:
    - {number: 0, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}}
workload: {kind: kv, rate: %d/s, keys: 8, read_mode: ordered, timeout: 5s}
`, rate)
			sc, err := scenarios.Parse("bench.yaml", []byte(src))
			if err != nil {
				b.Fatal(err)
			}
			defer TuneCollector()() // as the quorate commands run
			var ok int64
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				res, err := Run(sc, Options{})
				if err != nil || !res.OK {
					b.Fatal(err, res.Failure)
				}
				ok += res.Stats.OpsOK
			}
			wall := b.Elapsed().Seconds()
			sim := float64(b.N) * sc.Duration.Seconds()
			b.ReportMetric(float64(ok)/sim, "ops/sim-s")
			b.ReportMetric(wall/sim*3600, "wall-s/sim-hour")
			b.ReportMetric(sim/wall, "sim-s/wall-s")
			b.ReportMetric(sim/(cpuSeconds()-cpu0), "sim-s/cpu-s")
		})
	}
}

// BenchmarkStoreHour: BenchmarkStoreLoad's 2,000 arrivals a second for a
// simulated hour (about 4.2 M operations), to its verdicts. The metric
// beside the speed is what the finished run still holds, after a
// collection: what the kv checks keep for a loaded hour.
func BenchmarkStoreHour(b *testing.B) {
	sc, err := scenarios.Parse("bench.yaml", []byte(`name: bench-store-hour
duration: 1h
cluster:
  nodes: [{name: n1}, {name: n2}, {name: n3}, {name: n4}, {name: n5}]
network:
  links:
    - {number: 0, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}}
workload: {kind: kv, rate: 2000/s, keys: 8, read_mode: ordered, timeout: 5s}
`))
	if err != nil {
		b.Fatal(err)
	}
	defer TuneCollector()() // as the quorate commands run
	var retained uint64
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		r, err := newRun(sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if f := r.loop(); f != "" {
			b.Fatal(f)
		}
		if res := r.result(""); !res.OK {
			b.Fatalf("a check failed: %v", res.CheckDetails)
		}
		retained = heldAfter(b, r)
	}
	b.ReportMetric(float64(retained)/(1<<20), "retained-MiB")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/(cpuSeconds()-cpu0), "sim-s/cpu-s")
}

// linearHistory builds a linearizable history of n operations by 5
// clients on 8 keys: every client runs one operation at a time, each takes
// effect at a random instant inside its interval, and outputs follow from
// that order.
func linearHistory(n int) []*kvOp {
	r := rand.New(rand.NewPCG(7, 7))
	type ev struct {
		op    *kvOp
		point int64
	}
	evs := make([]ev, 0, n)
	clock := make([]int64, 5)
	for i := range n {
		c := i % 5
		call := clock[c] + int64(r.IntN(1000))
		ret := call + 1 + int64(r.IntN(3000))
		clock[c] = ret
		op := &kvOp{pid: int32(c), key: uint32(r.IntN(8)), call: wire.Instant(call), ret: wire.Instant(ret), done: true}
		switch x := r.IntN(10); {
		case x < 5:
			op.kind = kvRead
		case x < 9:
			op.kind, op.value = kvWrite, uint64(i+1)
		default:
			op.kind, op.value = kvCAS, uint64(i+1)
		}
		evs = append(evs, ev{op, call + r.Int64N(ret-call)})
	}
	applyAt(evs, func(e ev) (*kvOp, int64) { return e.op, e.point })
	ops := make([]*kvOp, n)
	for i, e := range evs {
		ops[i] = e.op
	}
	slices.SortStableFunc(ops, func(a, b *kvOp) int { return cmp.Compare(a.call, b.call) })
	for _, op := range ops {
		op.limit = op.ret
	}
	return ops
}

// applyAt runs the operations on registers in the order of their effect
// points and fills in their outputs (a cas compares with what its client
// last saw of the key).
func applyAt[E any](evs []E, get func(E) (*kvOp, int64)) {
	slices.SortStableFunc(evs, func(a, b E) int {
		_, pa := get(a)
		_, pb := get(b)
		return cmp.Compare(pa, pb)
	})
	state := map[uint32]uint64{}
	last := map[[2]uint32]uint64{}
	for _, e := range evs {
		op, _ := get(e)
		switch op.kind {
		case kvRead:
			op.out, op.ok = state[op.key], true
			last[[2]uint32{uint32(op.pid), op.key}] = state[op.key]
		case kvWrite:
			state[op.key], op.ok = op.value, true
		case kvCAS:
			op.expect = last[[2]uint32{uint32(op.pid), op.key}]
			op.ok = state[op.key] == op.expect
			if op.ok {
				state[op.key] = op.value
			}
		}
	}
}

func porcupineHistory(ops []*kvOp) []porcupine.Operation {
	h := make([]porcupine.Operation, len(ops))
	for i, op := range ops {
		h[i] = porcupineOp(op)
	}
	return h
}

// BenchmarkLinearizability: checking time against history length, with
// the kv model the simulator uses: the segmented check the simulator runs
// (across GOMAXPROCS), and porcupine on whole keys for reference.
func BenchmarkLinearizability(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000, 3_600_000} {
		ops := linearHistory(n)
		b.Run(fmt.Sprintf("segmented/%d", n), func(b *testing.B) {
			segs := 0
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				v := checkSegmented(ops, 8)
				if !v.ok {
					b.Fatalf("%d operations: not linearizable", n)
				}
				segs = v.segments
			}
			b.ReportMetric(float64(n)/float64(segs), "ops/segment")
			b.ReportMetric((cpuSeconds()-cpu0)/float64(b.N), "cpu-s/op")
		})
		if n > 100_000 {
			continue // the whole-key check takes minutes beyond this
		}
		h := porcupineHistory(ops)
		b.Run(fmt.Sprintf("whole-key/%d", n), func(b *testing.B) {
			model := kvModel(true, nil)
			for i := 0; i < b.N; i++ {
				if res := porcupine.CheckOperationsTimeout(model, h, 5*time.Minute); res != porcupine.Ok {
					b.Fatalf("%d operations: %v", n, res)
				}
			}
		})
	}
}

// cpuSeconds is the process's user+system CPU time: on a shared machine it
// says more about the work done than the wall clock does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
