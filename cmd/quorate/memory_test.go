package main

import (
	"strings"
	"testing"
)

// TestMaxMemory: a scenario estimated over --max-memory is refused before
// it starts, with the estimate and what it is made of (exit 2); a bad
// --max-memory is bad input too.
func TestMaxMemory(t *testing.T) {
	sc := write(t, "hour.yaml", `name: kv-hour
duration: 1h
cluster:
  nodes: [{name: n1}, {name: n2}, {name: n3}]
network:
  links: [{number: 0, latency: {dist: constant, value: 1ms}}]
workload: {kind: kv, rate: 1000/s, keys: 8}
`)
	// The kv history is checked as the run goes: what grows is the
	// latencies kept for their quantiles, 16 bytes an operation at most.
	code, _, stderr := capture(t, "run", sc, "--max-memory", "64MiB")
	if code != 2 || !strings.Contains(stderr, "estimated to need") || !strings.Contains(stderr, "for 3 nodes + ") ||
		!strings.Contains(stderr, "3600000 kv operations), over --max-memory 64 MiB") {
		t.Fatalf("exit %d, stderr %q; want 2 and the estimate", code, stderr)
	}
	for _, bad := range []string{"lots", "1MiB", "-5GiB"} {
		if code, _, stderr := capture(t, "run", sc, "--max-memory", bad); code != 2 || !strings.Contains(stderr, "--max-memory") {
			t.Errorf("--max-memory %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}
