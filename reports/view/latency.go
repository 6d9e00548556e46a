package view

import (
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Op is one kv operation of the workload: its call and return in
// simulated time. Reads served from the local replica return at once.
type Op struct {
	Node     string  `json:"node"`
	Kind     string  `json:"kind"`
	CallMs   float64 `json:"call_ms"`
	ReturnMs float64 `json:"return_ms"`
	OK       bool    `json:"ok"`
}

// LatencyMs is how long the operation took.
func (o Op) LatencyMs() float64 { return o.ReturnMs - o.CallMs }

// OpCounts are the operations that have no latency: refused at once,
// timed out, or still open when the run ended.
type OpCounts struct {
	Completed int `json:"completed"`
	Refused   int `json:"refused"`
	TimedOut  int `json:"timed_out"`
	Open      int `json:"open"`
}

// Operations pairs each kv call of the trace with its kv_done (by node and
// op_id). Refused calls, timeouts and calls open at the end are counted,
// not returned: they have no latency.
func Operations(tr *Trace) ([]Op, OpCounts) {
	type key struct {
		node string
		id   uint64
	}
	open := map[key]int{} // -> index into calls
	var calls []Op
	done := []bool{}
	var c OpCounts
	for _, e := range tr.Events {
		switch e.Kind {
		case "kv":
			switch {
			case e.Refused != "":
				c.Refused++
			case e.Op == "read_local":
				calls = append(calls, Op{Node: e.Node, Kind: e.Op, CallMs: e.TMs, ReturnMs: e.TMs, OK: true})
				done = append(done, true)
			case e.OpID != 0:
				open[key{e.Node, e.OpID}] = len(calls)
				calls = append(calls, Op{Node: e.Node, Kind: e.Op, CallMs: e.TMs})
				done = append(done, false)
			}
		case "kv_done":
			k := key{e.Node, e.OpID}
			if i, ok := open[k]; ok {
				calls[i].ReturnMs, calls[i].OK, done[i] = e.TMs, e.OK, true
				delete(open, k)
			}
		case "kv_timeout":
			k := key{e.Node, e.OpID}
			if i, ok := open[k]; ok {
				calls[i].Kind = "" // no latency: left out
				done[i] = true
				c.TimedOut++
				delete(open, k)
			}
		}
	}
	c.Open = len(open)
	ops := make([]Op, 0, len(calls))
	for i, o := range calls {
		if done[i] && o.Kind != "" {
			ops = append(ops, o)
		}
	}
	c.Completed = len(ops)
	return ops, c
}

// CDFPoint is one step of an empirical CDF: the fraction P of the sample
// at or below Ms.
type CDFPoint struct {
	Ms float64 `json:"ms"`
	P  float64 `json:"p"`
}

// CDF is the empirical distribution function of xs: one point per
// distinct value, P the fraction of the sample at or below it.
func CDF(xs []float64) []CDFPoint {
	if len(xs) == 0 {
		return []CDFPoint{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	out := []CDFPoint{}
	n := float64(len(s))
	for i, x := range s {
		if i+1 < len(s) && s[i+1] == x {
			continue
		}
		out = append(out, CDFPoint{Ms: x, P: float64(i+1) / n})
	}
	return out
}

// LatencySeries is the latency distribution of one kind of operation.
type LatencySeries struct {
	Kind  string     `json:"kind"`
	N     int        `json:"n"`
	P50Ms float64    `json:"p50_ms"`
	P90Ms float64    `json:"p90_ms"`
	P99Ms float64    `json:"p99_ms"`
	MaxMs float64    `json:"max_ms"`
	CDF   []CDFPoint `json:"cdf"`
}

// Latency is the operation latency section of a run report.
type Latency struct {
	Counts OpCounts        `json:"counts"`
	Series []LatencySeries `json:"series"` // "all" first, then each kind in name order
}

// LatencyOf builds the latency section from the completed operations:
// one series for all of them and one per kind. Quantiles are gonum's
// empirical quantiles (a value that was measured).
func LatencyOf(ops []Op, c OpCounts) *Latency {
	byKind := map[string][]float64{}
	var all []float64
	for _, o := range ops {
		byKind[o.Kind] = append(byKind[o.Kind], o.LatencyMs())
		all = append(all, o.LatencyMs())
	}
	l := &Latency{Counts: c, Series: []LatencySeries{}}
	if len(all) == 0 {
		return l
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	l.Series = append(l.Series, series("all", all))
	if len(kinds) > 1 {
		for _, k := range kinds {
			l.Series = append(l.Series, series(k, byKind[k]))
		}
	}
	return l
}

func series(kind string, xs []float64) LatencySeries {
	s := slices.Clone(xs)
	slices.Sort(s)
	return LatencySeries{
		Kind:  kind,
		N:     len(s),
		P50Ms: stat.Quantile(0.5, stat.Empirical, s, nil),
		P90Ms: stat.Quantile(0.9, stat.Empirical, s, nil),
		P99Ms: stat.Quantile(0.99, stat.Empirical, s, nil),
		MaxMs: s[len(s)-1],
		CDF:   Thin(CDF(s), maxCDFPoints),
	}
}

// maxCDFPoints bounds the points kept of each CDF: enough for a smooth
// curve at any chart width, few enough that report.json and the SVG stay
// small for runs with millions of operations.
const maxCDFPoints = 500

// Thin keeps at most n points of a CDF, spread evenly over the fraction
// axis: the first point, the last, and the last point at or below each
// of n-2 evenly spaced fractions in between. A step function stays a faithful step function: every
// kept point is a point of the original.
func Thin(cdf []CDFPoint, n int) []CDFPoint {
	if len(cdf) <= n || n < 2 {
		return cdf
	}
	out := []CDFPoint{cdf[0]}
	last, j := 0, 0
	for k := 1; k < n-1; k++ {
		target := cdf[0].P + (1-cdf[0].P)*float64(k)/float64(n-1)
		for j+1 < len(cdf) && cdf[j+1].P <= target {
			j++
		}
		if j > last && j < len(cdf)-1 {
			out = append(out, cdf[j])
			last = j
		}
	}
	return append(out, cdf[len(cdf)-1])
}
