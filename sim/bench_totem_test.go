package sim

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// totemLoad is n nodes under 1,000 agreed multicasts per simulated second
// of 1 KiB, spread over every node, for 20 simulated seconds after a 10 s
// formation. Above 5 nodes the token is 1000 ms with no per-node
// coefficient, so that formation stays short at 128 nodes (with corosync's
// defaults the effective token there is 85 s). A run is measured to its
// verdicts, ordering checks included, so the load must be one the ring
// carries: at 384 nodes a rotation of the token is 384 hops of about
// 0.25 ms, and corosync's window_size of 50 messages a rotation lets the
// ring order about 500 a second, so there the load is 400 a second (at
// 1,000 the backlog grows to the end of the run and self-delivery fails,
// as it should).
func totemLoad(n int) string { return totemLoadFor(n, "30s") }

func totemLoadFor(n int, duration string) string {
	rate := 1000
	if n > 128 {
		rate = 400
	}
	var b strings.Builder
	fmt.Fprintf(&b, "name: bench-totem-%d\nduration: %s\ncluster:\n  nodes: [", n, duration)
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "{name: n%d}", i)
	}
	b.WriteString("]\n")
	if n > 5 {
		b.WriteString("  totem: {token: 1000ms, token_coefficient: 0s}\n")
	}
	b.WriteString("network:\n  links:\n    - {number: 0, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}}\n")
	fmt.Fprintf(&b, "workload: {kind: multicast, rate: %d/s, size: 1KiB}\n", rate)
	return b.String()
}

func benchTotem(b *testing.B, n int) {
	sc, err := scenarios.Parse("bench.yaml", []byte(totemLoad(n)))
	if err != nil {
		b.Fatal(err)
	}
	defer TuneCollector()() // as the quorate commands run
	var events, deliveries uint64
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		r := runToVerdicts(b, sc)
		events += r.k.Processed()
		for _, p := range r.hist.Procs {
			deliveries += p.Delivered
		}
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(deliveries)/wall, "deliveries/s")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/wall, "sim-s/wall-s")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/(cpuSeconds()-cpu0), "sim-s/cpu-s")
}

// runToVerdicts runs sc and judges it, as a run reports it: the ordering
// checks' work belongs to "every check on".
func runToVerdicts(b *testing.B, sc *scenarios.Scenario) *run {
	r, err := newRun(sc, Options{})
	if err != nil {
		b.Fatal(err)
	}
	if f := r.loop(); f != "" {
		b.Fatal(f)
	}
	if res := r.result(""); !res.Checks[checkTotalOrderName] || !res.Checks[checkVSName] {
		b.Fatalf("a check failed: %v", res.CheckDetails)
	}
	return r
}

func BenchmarkTotem5Nodes(b *testing.B)   { benchTotem(b, 5) }
func BenchmarkTotem16Nodes(b *testing.B)  { benchTotem(b, 16) }
func BenchmarkTotem32Nodes(b *testing.B)  { benchTotem(b, 32) }
func BenchmarkTotem64Nodes(b *testing.B)  { benchTotem(b, 64) }
func BenchmarkTotem128Nodes(b *testing.B) { benchTotem(b, 128) }
func BenchmarkTotem384Nodes(b *testing.B) { benchTotem(b, 384) }

// BenchmarkMulticastHour: BenchmarkTotem5Nodes's load for a simulated
// hour (3.6 M agreed multicasts, 18 M deliveries), to its verdicts. The
// metric beside the speed is what the finished run still holds, after a
// collection: what the checkers keep for a loaded hour.
func BenchmarkMulticastHour(b *testing.B) {
	sc, err := scenarios.Parse("bench.yaml", []byte(totemLoadFor(5, "1h")))
	if err != nil {
		b.Fatal(err)
	}
	defer TuneCollector()() // as the quorate commands run
	var retained uint64
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		retained = heldAfter(b, runToVerdicts(b, sc))
	}
	b.ReportMetric(float64(retained)/(1<<20), "retained-MiB")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/(cpuSeconds()-cpu0), "sim-s/cpu-s")
}

// heldAfter is the heap still held, after a collection, while the
// finished run r is alive: what its checkers keep. The benchmark's timer
// stops meanwhile.
func heldAfter(b *testing.B, r *run) uint64 {
	b.StopTimer()
	defer b.StartTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	runtime.KeepAlive(r)
	return ms.HeapAlloc
}

// BenchmarkFormation384Default: 384 nodes (corosync's maximum) booting
// together under corosync's default timers (token 3000 ms plus 650 ms per
// node beyond two: 251.3 s), no load; the metric is when the last node
// installed the first ring of all 384.
func BenchmarkFormation384Default(b *testing.B) {
	const n = 384
	var sb strings.Builder
	fmt.Fprintf(&sb, "name: formation-%d\nduration: 10m\ncluster:\n  nodes: [", n)
	for i := 1; i <= n; i++ {
		if i > 1 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "{name: n%d}", i)
	}
	sb.WriteString("]\nnetwork:\n  links:\n    - {number: 0, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}}\n")
	sc, err := scenarios.Parse("bench.yaml", []byte(sb.String()))
	if err != nil {
		b.Fatal(err)
	}
	defer TuneCollector()() // as the quorate commands run
	var formed float64
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		res, err := Run(sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		formed = -1
		for _, ring := range res.Rings {
			if len(ring.Members) == n && ring.Nodes == n {
				formed = ring.LastMs
				break
			}
		}
		if formed < 0 {
			b.Fatalf("no ring of all %d nodes within %v", n, sc.Duration)
		}
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(formed, "formation-ms")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/wall, "sim-s/wall-s")
	b.ReportMetric(float64(b.N)*sc.Duration.Seconds()/(cpuSeconds()-cpu0), "sim-s/cpu-s")
}
