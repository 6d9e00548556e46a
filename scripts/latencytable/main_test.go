package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/sweep"
)

// TestWrite: a cell pools its seeds (changes over formed hours), a seed
// that never formed is marked, and the columns are the base latencies.
func TestWrite(t *testing.T) {
	formed := 0.0
	fig := func(changes int64, formedMs *float64, q float64, p50 float64) *sweep.Figures {
		return &sweep.Figures{SimulatedS: 3600, FormedMs: formedMs, ChangesAfterFormed: changes, QuorateFraction: q,
			WriteLatencyMs: &reports.Quantiles{N: 10, P50: p50, P99: 2 * p50}}
	}
	sw := &sweep.Sweep{
		Scenario: "s", Seeds: "1-2",
		Grid: []sweep.Vary{
			{Key: "cluster.nodes", Values: []string{"3"}},
			{Key: "network.links[0].latency", Values: []string{"{dist: uniform, min: 9ms, max: 11ms}", "{dist: pareto, min: 50ms, alpha: 3}"}},
		},
		Points: []*sweep.Point{
			{Name: "p1", Settings: []sweep.Setting{{Key: "cluster.nodes", Value: "3"}, {Key: "network.links[0].latency", Value: "{dist: uniform, min: 9ms, max: 11ms}"}}},
			{Name: "p2", Settings: []sweep.Setting{{Key: "cluster.nodes", Value: "3"}, {Key: "network.links[0].latency", Value: "{dist: pareto, min: 50ms, alpha: 3}"}}},
		},
		Runs: []sweep.Record{
			{Point: "p1", Seed: 1, OK: true, Figures: fig(3, &formed, 0.9, 40)},
			{Point: "p1", Seed: 2, OK: true, Figures: fig(1, &formed, 0.7, 60)},
			{Point: "p2", Seed: 1, OK: false, Figures: fig(0, nil, 0, 500)},
			{Point: "p2", Seed: 2, OK: true, Figures: fig(5, &formed, 1, 700)},
		},
	}
	var b bytes.Buffer
	if err := write(&b, "m", sw); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| nodes \\ latency | 10ms | 50ms |",
		"| 3 | 2 | 5 1/f |",       // (3+1) changes / 2 h; 5 / 1 h with one seed never formed
		"| 3 | 80.0 | 50.0 |",     // quorate share
		"| 3 | 40.0 / 80.0 | 500", // median of the per-seed p50s (lower middle)
		"| 3 | 0/2 | 1/2 |",       // failing runs
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	sw.Runs[0].Figures = nil
	if err := write(&b, "m", sw); err == nil || !strings.Contains(err.Error(), "no figures") {
		t.Errorf("a record without figures: %v", err)
	}
}
