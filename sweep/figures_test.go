package sweep

import (
	"math"
	"testing"

	"github.com/quorate/quorate/reports"
)

func q(t float64, node string, quorate bool) reports.TimelineEntry {
	return reports.TimelineEntry{TMs: t, Node: node, Event: "quorum", Quorate: &quorate}
}

func m(t float64, node string) reports.TimelineEntry {
	return reports.TimelineEntry{TMs: t, Node: node, Event: "membership"}
}

func TestFigures(t *testing.T) {
	nodes := map[string]reports.NodeResult{"a": {}, "b": {}}
	for _, tc := range []struct {
		name     string
		tl       []reports.TimelineEntry
		formed   float64 // -1: never
		changes  int64
		fraction float64
		perHour  float64
	}{
		{"never formed", []reports.TimelineEntry{m(0, "a"), m(0, "b"), q(0, "a", false), q(0, "b", false)},
			-1, 0, 0, math.NaN()},
		{"formed at 2s, steady", []reports.TimelineEntry{m(0, "a"), m(0, "b"), q(0, "a", false), m(1000, "a"),
			q(1000, "a", true), m(2000, "b"), q(2000, "b", true)},
			2000, 0, (9000.0 + 8000) / 20000, 0},
		// b loses quorum for 1s at 5s: two rings for a and b after forming.
		{"one flap", []reports.TimelineEntry{q(1000, "a", true), q(1000, "b", true), m(5000, "b"), q(5000, "b", false),
			m(5000, "a"), m(6000, "a"), m(6000, "b"), q(6000, "b", true)},
			1000, 2, (9000.0 + 8000) / 20000, 2 / (9000.0 / 3.6e6)},
		// a's process dies at 4s: not quorate from then on.
		{"node down", []reports.TimelineEntry{q(0, "a", true), q(0, "b", true),
			{TMs: 4000, Node: "a", Event: "node_down"}, m(4000, "b")},
			0, 1, (4000.0 + 10000) / 20000, 1 / (10000.0 / 3.6e6)},
	} {
		f := figures(&reports.Result{SimulatedS: 10, Nodes: nodes, Timeline: tc.tl})
		if (f.FormedMs == nil) != (tc.formed < 0) || f.FormedMs != nil && *f.FormedMs != tc.formed {
			t.Errorf("%s: formed %v, want %v", tc.name, f.FormedMs, tc.formed)
		}
		if f.ChangesAfterFormed != tc.changes || math.Abs(f.QuorateFraction-tc.fraction) > 1e-12 {
			t.Errorf("%s: changes %d quorate %.4f, want %d %.4f", tc.name, f.ChangesAfterFormed, f.QuorateFraction, tc.changes, tc.fraction)
		}
		if ph := f.ChangesPerHour(); !(math.IsNaN(tc.perHour) && math.IsNaN(ph)) && math.Abs(ph-tc.perHour) > 1e-9 {
			t.Errorf("%s: %g changes per hour, want %g", tc.name, ph, tc.perHour)
		}
	}
}

// TestRecordsCarryFigures: every run of a sweep records its figures, and
// the crash in tiny shows in them.
func TestRecordsCarryFigures(t *testing.T) {
	sw := mustRun(t, Config{File: scenarioFile(t, tiny), Seeds: seeds(t, "1-2"), Parallel: 2})
	for _, r := range sw.Runs {
		f := r.Figures
		if f == nil || f.SimulatedS != 20 || f.FormedMs == nil || *f.FormedMs > 5000 {
			t.Fatalf("seed %d: figures %+v", r.Seed, f)
		}
		// c is dead from 5s: at most 1 - 15/60 of the node-time quorate.
		if f.QuorateFraction <= 0.3 || f.QuorateFraction > 0.75 || f.ChangesAfterFormed < 1 || f.TokensLost == 0 {
			t.Errorf("seed %d: quorate %.3f, %d changes after forming, %d tokens lost", r.Seed, f.QuorateFraction, f.ChangesAfterFormed, f.TokensLost)
		}
	}
}
