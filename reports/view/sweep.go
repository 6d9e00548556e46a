package view

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/quorate/quorate/reports"
)

// SweepInput is what a sweep report is drawn from: the grid and every
// run's figures. The caller fills it from sweep.json.
type SweepInput struct {
	Scenario string
	File     string
	Seeds    string
	Axes     []Axis
	Points   []PointInput
	Runs     []RunFigures
	// Coverage is the sweep's summed coverage cells (sweep.json's).
	Coverage []reports.CoverageCell
}

// Axis is one varied key and its values, in the order swept.
type Axis struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// PointInput is one grid point: its name and the value of each axis.
type PointInput struct {
	Name     string
	Settings map[string]string
	File     string
}

// RunFigures is one run's figures. A figure that the sweep did not record
// (sweep.json written before it existed) is NaN.
type RunFigures struct {
	Point             string
	Seed              uint64
	OK                bool
	Failure           string
	Reproduce         string
	Trace             string
	MembershipChanges float64
	SimulatedS        float64 // NaN when unknown
	SettleMs          float64 // NaN when not measured
	Ops, OpsOK        float64 // NaN when unknown
	// HasFigures says the sweep recorded the figures below (older sweep
	// files did not). ChangesPerFormedHour counts the membership changes
	// after every node was first quorate, per hour of the time after that
	// instant; NaN when the cluster never formed.
	HasFigures           bool
	ChangesPerFormedHour float64
	QuorateFraction      float64
	LinkDowns            float64
	WriteP99Ms           float64 // NaN when the run wrote nothing
}

// Metric is a per-run figure a heat map can show.
type Metric struct {
	Name string
	Unit string
	// Of returns the run's value, NaN when the run has none.
	Of func(r RunFigures) float64
	// Mean aggregates the runs of a cell by their mean (for 0/1 figures);
	// otherwise by the median.
	Mean bool
}

// Metrics are the heat map metrics, the default first.
var Metrics = []Metric{
	// The rings of a cluster's start-up are not churn: where the sweep
	// recorded the formation, only the changes after it count, per hour of
	// formed time; older sweep files fall back to every change per hour of
	// the run.
	{Name: "membership_changes_per_hour", Unit: "changes/h", Of: func(r RunFigures) float64 {
		if r.HasFigures {
			return r.ChangesPerFormedHour
		}
		if math.IsNaN(r.SimulatedS) || r.SimulatedS <= 0 {
			return math.NaN()
		}
		return r.MembershipChanges * 3600 / r.SimulatedS
	}},
	{Name: "membership_changes", Unit: "changes", Of: func(r RunFigures) float64 { return r.MembershipChanges }},
	{Name: "settle_ms", Unit: "ms", Of: func(r RunFigures) float64 { return r.SettleMs }},
	{Name: "fail_rate", Unit: "fraction failed", Mean: true, Of: func(r RunFigures) float64 {
		if r.OK {
			return 0
		}
		return 1
	}},
	{Name: "quorate_fraction", Unit: "share of node-time quorate", Of: func(r RunFigures) float64 {
		if !r.HasFigures {
			return math.NaN()
		}
		return r.QuorateFraction
	}},
	{Name: "link_downs", Unit: "link downs", Of: func(r RunFigures) float64 {
		if !r.HasFigures {
			return math.NaN()
		}
		return r.LinkDowns
	}},
	{Name: "write_p99_ms", Unit: "ms", Of: func(r RunFigures) float64 {
		if !r.HasFigures {
			return math.NaN()
		}
		return r.WriteP99Ms
	}},
	{Name: "ops_ok_ratio", Unit: "fraction of ops ok", Of: func(r RunFigures) float64 {
		if math.IsNaN(r.Ops) || r.Ops == 0 {
			return math.NaN()
		}
		return r.OpsOK / r.Ops
	}},
}

// MetricNames lists the metric names, for help texts and errors.
func MetricNames() []string {
	var out []string
	for _, m := range Metrics {
		out = append(out, m.Name)
	}
	return out
}

// MetricByName finds a metric.
func MetricByName(name string) (Metric, error) {
	for _, m := range Metrics {
		if m.Name == name {
			return m, nil
		}
	}
	return Metric{}, fmt.Errorf("--metric %q: not a metric (metrics: %s)", name, strings.Join(MetricNames(), ", "))
}

// Cell is one heat map cell: the aggregate of the metric over the runs of
// one grid point that have it. Value is null in JSON when no run had it.
type Cell struct {
	X     string   `json:"x"`
	Y     string   `json:"y"`
	Point string   `json:"point"`
	Value *float64 `json:"value"`
	N     int      `json:"n"` // runs with the figure
	Runs  int      `json:"runs"`
	// Failed counts the point's failed runs. Their figures describe a
	// broken run (a cluster that never formed has no churn), so a metric
	// other than fail_rate is the aggregate of the passing runs only, and
	// a point where most runs failed is FailedPoint: it shows as failed,
	// with no value, never as a figure that looks like a good result.
	Failed      int  `json:"failed"`
	FailedPoint bool `json:"failed_point,omitempty"`
}

// Heatmap is a metric over a two-key grid: X the first varied key, Y the
// second.
type Heatmap struct {
	Metric    string   `json:"metric"`
	Unit      string   `json:"unit"`
	Aggregate string   `json:"aggregate"` // median | mean over the seeds
	XKey      string   `json:"x_key"`
	YKey      string   `json:"y_key"`
	XValues   []string `json:"x_values"`
	YValues   []string `json:"y_values"`
	Cells     []Cell   `json:"cells"` // row by row: y outer, x inner
}

// At returns the cell at (x index, y index).
func (h *Heatmap) At(xi, yi int) Cell { return h.Cells[yi*len(h.XValues)+xi] }

// VariedAxes are the axes of the sweep with more than one value: a --vary
// with a single value sets a key for every point but spans no dimension.
func VariedAxes(in *SweepInput) []Axis {
	var out []Axis
	for _, a := range in.Axes {
		if len(a.Values) > 1 {
			out = append(out, a)
		}
	}
	return out
}

// HeatmapOf computes the heat map of metric m when the sweep varied
// exactly two keys over more than one value; otherwise it returns nil.
func HeatmapOf(in *SweepInput, m Metric) *Heatmap {
	axes := VariedAxes(in)
	if len(axes) != 2 {
		return nil
	}
	agg := "median"
	if m.Mean {
		agg = "mean"
	}
	h := &Heatmap{Metric: m.Name, Unit: m.Unit, Aggregate: agg, XKey: axes[0].Key, YKey: axes[1].Key,
		XValues: axes[0].Values, YValues: axes[1].Values}
	byPoint := map[string][]RunFigures{}
	for _, r := range in.Runs {
		byPoint[r.Point] = append(byPoint[r.Point], r)
	}
	find := func(x, y string) string {
		for _, p := range in.Points {
			if p.Settings[h.XKey] == x && p.Settings[h.YKey] == y {
				return p.Name
			}
		}
		return ""
	}
	for _, y := range h.YValues {
		for _, x := range h.XValues {
			c := Cell{X: x, Y: y, Point: find(x, y)}
			var xs []float64
			for _, r := range byPoint[c.Point] {
				c.Runs++
				if !r.OK {
					c.Failed++
					if !m.Mean {
						continue
					}
				}
				if v := m.Of(r); !math.IsNaN(v) {
					xs = append(xs, v)
				}
			}
			c.N = len(xs)
			c.FailedPoint = !m.Mean && c.Failed*2 > c.Runs
			if len(xs) > 0 && !c.FailedPoint {
				var v float64
				if m.Mean {
					for _, x := range xs {
						v += x
					}
					v /= float64(len(xs))
				} else {
					v = reports.Summarize(xs).Median
				}
				c.Value = &v
			}
			h.Cells = append(h.Cells, c)
		}
	}
	return h
}

// PointRow is a grid point's line of the pass/fail summary.
type PointRow struct {
	Point    string   `json:"point"`
	Settings []string `json:"settings"` // the value of each axis, in axis order
	Runs     int      `json:"runs"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
}

// FailedRun is a failing seed and how to run it again.
type FailedRun struct {
	Point     string `json:"point"`
	Seed      uint64 `json:"seed"`
	Failure   string `json:"failure"`
	Reproduce string `json:"reproduce"`
	Trace     string `json:"trace,omitempty"`
}

// PassFail tallies the runs per point, in point order, and lists the
// failing runs in run order.
func PassFail(in *SweepInput) ([]PointRow, []FailedRun) {
	rows := make([]PointRow, 0, len(in.Points))
	idx := map[string]int{}
	for _, p := range in.Points {
		idx[p.Name] = len(rows)
		r := PointRow{Point: p.Name, Settings: []string{}}
		for _, a := range in.Axes {
			r.Settings = append(r.Settings, p.Settings[a.Key])
		}
		rows = append(rows, r)
	}
	failed := []FailedRun{}
	for _, r := range in.Runs {
		i, ok := idx[r.Point]
		if !ok {
			continue
		}
		rows[i].Runs++
		if r.OK {
			rows[i].Passed++
			continue
		}
		rows[i].Failed++
		failed = append(failed, FailedRun{Point: r.Point, Seed: r.Seed, Failure: r.Failure, Reproduce: r.Reproduce, Trace: r.Trace})
	}
	slices.SortStableFunc(failed, func(a, b FailedRun) int { return idx[a.Point] - idx[b.Point] })
	return rows, failed
}
