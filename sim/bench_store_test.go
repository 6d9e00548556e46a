package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
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
			var ok int64
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
		})
	}
}

// linearHistory builds a linearizable history of n operations by 5
// clients on 8 keys: every client runs one operation at a time, each takes
// effect at a random instant inside its interval, and outputs follow from
// that order.
func linearHistory(n int) []porcupine.Operation {
	r := rand.New(rand.NewPCG(7, 7))
	type ev struct {
		op    porcupine.Operation
		point int64
	}
	var evs []ev
	clock := make([]int64, 5)
	for i := range n {
		c := i % 5
		call := clock[c] + int64(r.IntN(1000))
		ret := call + 1 + int64(r.IntN(3000))
		clock[c] = ret
		in := kvIn{key: fmt.Sprintf("k%d", r.IntN(8))}
		switch x := r.IntN(10); {
		case x < 5:
			in.kind = kvRead
		case x < 9:
			in.kind, in.value = kvWrite, fmt.Sprintf("v%d", i)
		default:
			in.kind, in.value = kvCAS, fmt.Sprintf("v%d", i)
		}
		evs = append(evs, ev{porcupine.Operation{ClientId: c, Input: in, Call: call, Return: ret}, call + r.Int64N(ret-call)})
	}
	slices.SortFunc(evs, func(a, b ev) int { return int(a.point - b.point) })
	state := map[string]string{}
	last := map[string]string{}
	out := make([]porcupine.Operation, 0, n)
	for _, e := range evs {
		in := e.op.Input.(kvIn)
		switch in.kind {
		case kvRead:
			e.op.Output = kvOut{ok: true, value: state[in.key]}
			last[in.key] = state[in.key]
		case kvWrite:
			state[in.key] = in.value
			e.op.Output = kvOut{ok: true}
		case kvCAS:
			in.expect = last[in.key]
			e.op.Input = in
			okv := state[in.key] == in.expect
			if okv {
				state[in.key] = in.value
			}
			e.op.Output = kvOut{ok: okv}
		}
		out = append(out, e.op)
	}
	return out
}

// BenchmarkLinearizability: porcupine's checking time against history
// length, with the kv model the simulator uses.
func BenchmarkLinearizability(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		h := linearHistory(n)
		b.Run(fmt.Sprintf("%d", n), func(b *testing.B) {
			model := kvModel()
			for i := 0; i < b.N; i++ {
				if res := porcupine.CheckOperationsTimeout(model, h, 5*time.Minute); res != porcupine.Ok {
					b.Fatalf("%d operations: %v", n, res)
				}
			}
		})
	}
}
