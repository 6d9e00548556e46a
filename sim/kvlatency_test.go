package sim

import (
	"fmt"
	"testing"
)

// TestKVLatencyStats: the store's write latency follows the network's. A
// write is released once every member has it, so it takes at least a
// one-way trip and grows with the latency; a run without a kv workload
// reports none.
func TestKVLatencyStats(t *testing.T) {
	const src = `
name: kv-latency
duration: 20s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}]
network:
  links: [{number: 0, latency: {dist: constant, value: %s}}]
%s`
	const kv = `workload: {kind: kv, rate: 20/s, keys: 4, mix: {read: 0.5, write: 0.5, cas: 0}}`
	var p50s []float64
	for _, lat := range []string{"1ms", "10ms"} {
		res := runOK(t, parse(t, fmt.Sprintf(src, lat, kv)), Options{})
		ops, w := res.Stats.OpLatencyMs, res.Stats.WriteLatencyMs
		if !res.OK || ops == nil || w == nil {
			t.Fatalf("latency %s: ok=%v op_latency=%v write_latency=%v %s", lat, res.OK, ops, w, res.Failure)
		}
		if w.N == 0 || w.N >= ops.N || w.P99 < w.P50 {
			t.Fatalf("latency %s: writes %+v of operations %+v", lat, *w, *ops)
		}
		p50s = append(p50s, w.P50)
	}
	if p50s[0] < 1 || p50s[1] < 10 || p50s[1] < 5*p50s[0] {
		t.Fatalf("write p50 %.2f ms at 1 ms, %.2f ms at 10 ms: not following the latency", p50s[0], p50s[1])
	}
	res := runOK(t, parse(t, fmt.Sprintf(src, "1ms", "")), Options{})
	if res.Stats.OpLatencyMs != nil || res.Stats.WriteLatencyMs != nil {
		t.Fatalf("no workload, yet latencies %+v", res.Stats)
	}
}
