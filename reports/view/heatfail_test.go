package view

import (
	"strings"
	"testing"
)

// TestHeatmapShowsFailedPoints: a grid point whose runs mostly failed is
// shown as failed, not as the 0 changes/h of a cluster that never formed
// (which reads as the best result of the grid).
func TestHeatmapShowsFailedPoints(t *testing.T) {
	in := &SweepInput{
		Axes: []Axis{{Key: "a", Values: []string{"1", "2"}}, {Key: "b", Values: []string{"x", "y"}}},
	}
	names := []string{"p1", "p2", "p3", "p4"}
	i := 0
	for _, b := range []string{"x", "y"} {
		for _, a := range []string{"1", "2"} {
			in.Points = append(in.Points, PointInput{Name: names[i], Settings: map[string]string{"a": a, "b": b}})
			i++
		}
	}
	for seed := uint64(1); seed <= 4; seed++ {
		for _, p := range names {
			r := RunFigures{Point: p, Seed: seed, OK: true, HasFigures: true, ChangesPerFormedHour: 12, SimulatedS: 60}
			switch {
			case p == "p2" && seed <= 3: // 3 of 4 failed: never formed, no churn
				r.OK, r.ChangesPerFormedHour = false, 0
			case p == "p3" && seed == 1: // 1 of 4 failed
				r.OK, r.ChangesPerFormedHour = false, 0
			}
			in.Runs = append(in.Runs, r)
		}
	}
	m, _ := MetricByName("membership_changes_per_hour")
	h := HeatmapOf(in, m)
	p2, p3 := h.At(1, 0), h.At(0, 1)
	if !p2.FailedPoint || p2.Value != nil || p2.Failed != 3 {
		t.Errorf("p2 (3 of 4 runs failed): %+v, want a failed point with no value", p2)
	}
	if p3.FailedPoint || p3.Value == nil || *p3.Value != 12 || p3.Failed != 1 || p3.N != 3 {
		t.Errorf("p3 (1 of 4 runs failed): %+v, want the median of the 3 passing runs, 12", p3)
	}
	svg := string(HeatmapChart(h).SVG)
	if !strings.Contains(svg, "FAILED") {
		t.Errorf("the heat map chart does not mark the failed point")
	}
	fr, _ := MetricByName("fail_rate")
	if c := HeatmapOf(in, fr).At(1, 0); c.FailedPoint || c.Value == nil || *c.Value != 0.75 {
		t.Errorf("fail_rate at p2: %+v, want 0.75", c)
	}
}
