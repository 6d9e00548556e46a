package sweep

import (
	"fmt"
	"io"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/quorate/quorate/reports"
)

// MaxListedFailures bounds the failing runs the table report lists; the
// rest are counted, and sweep.json holds them all.
const MaxListedFailures = 20

// Summary is what a sweep prints: per grid point, how many runs passed and
// the spread of their figures, then the failing runs. It is computed from
// the runs alone, in their (point, seed) order, so a sweep gives the same
// Summary whatever its parallelism, and merged shards give the Summary of
// the unsharded sweep. Only the wall times depend on the machine.
type Summary struct {
	Scenario string         `json:"scenario"`
	File     string         `json:"file"`
	Seeds    string         `json:"seeds"`
	Shard    string         `json:"shard,omitempty"`
	Grid     []Vary         `json:"grid,omitempty"`
	Runs     int            `json:"runs"`
	Passed   int            `json:"passed"`
	Failed   int            `json:"failed"`
	Points   []PointSummary `json:"points"`
	Failures []Failure      `json:"failures"`
	// Coverage: what the faults met (nil for a sweep without faults).
	Coverage *CoverageSummary `json:"coverage,omitempty"`
}

// PointSummary is one grid point's row.
type PointSummary struct {
	Name              string    `json:"name"`
	Settings          []Setting `json:"settings,omitempty"`
	File              string    `json:"file"`
	Runs              int       `json:"runs"`
	Passed            int       `json:"passed"`
	Failed            int       `json:"failed"`
	MembershipChanges Stat      `json:"membership_changes"`
	// SettleMs is the liveness settle time of the runs where it was
	// measured: the cluster converged and the run went on long enough.
	SettleMs Stat    `json:"settle_ms"`
	WallS    float64 `json:"wall_s"` // the runs' wall times, summed
}

// Stat is the min / median / max of a sample (see reports.Summarize).
type Stat struct {
	N      int     `json:"n"`
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Failure is one failing run.
type Failure struct {
	Point     string `json:"point"`
	Seed      uint64 `json:"seed"`
	Failure   string `json:"failure"`
	Reproduce string `json:"reproduce"`
	Trace     string `json:"trace,omitempty"`
}

// OK reports whether every run passed.
func (s *Summary) OK() bool { return s.Failed == 0 }

// Summarize computes the summary of a sweep.
func Summarize(sw *Sweep) *Summary {
	s := &Summary{Scenario: sw.Scenario, File: sw.File, Seeds: sw.Seeds, Grid: sw.Grid, Failures: []Failure{}}
	if sw.Shard != nil {
		s.Shard = sw.Shard.String()
	}
	byPoint := map[string][]Record{}
	for _, r := range sw.Runs {
		byPoint[r.Point] = append(byPoint[r.Point], r)
	}
	for _, p := range sw.Points {
		ps := PointSummary{Name: p.Name, Settings: p.Settings, File: p.File}
		var changes, settle []float64
		for _, r := range byPoint[p.Name] {
			ps.Runs++
			ps.WallS += r.WallS
			changes = append(changes, float64(r.MembershipChanges))
			if l := r.Liveness; l != nil && l.Converged && l.Applicable {
				settle = append(settle, l.MeasuredMs)
			}
			if r.OK {
				ps.Passed++
				continue
			}
			ps.Failed++
			s.Failures = append(s.Failures, Failure{Point: r.Point, Seed: r.Seed, Failure: r.Failure, Reproduce: r.Reproduce, Trace: r.Trace})
		}
		ps.MembershipChanges, ps.SettleMs = stat(changes), stat(settle)
		s.Runs += ps.Runs
		s.Passed += ps.Passed
		s.Failed += ps.Failed
		s.Points = append(s.Points, ps)
	}
	s.Coverage = summarizeCoverage(sw.Coverage)
	return s
}

func stat(xs []float64) Stat {
	r := reports.Summarize(xs)
	return Stat{N: r.N, Min: r.Min, Median: r.Median, Max: r.Max}
}

// WriteTable prints the summary for people: a header, one table row per
// grid point, the failing runs with the command that reproduces each, and
// the verdict. wall adds the wall-time column; without it the output
// depends on the runs alone, byte for byte.
func WriteTable(w io.Writer, s *Summary, wall bool) error {
	fmt.Fprintf(w, "sweep %s (%s)  seeds %s", s.Scenario, s.File, s.Seeds)
	if s.Shard != "" {
		fmt.Fprintf(w, "  shard %s", s.Shard)
	}
	fmt.Fprintf(w, "  %d grid point%s  %d runs\n\n", len(s.Points), plural(len(s.Points)), s.Runs)
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	header := []any{"point"}
	for _, v := range s.Grid {
		header = append(header, v.Key)
	}
	header = append(header, "runs", "passed", "failed", "membership changes", "settle ms")
	if wall {
		header = append(header, "wall s")
	}
	t.Header(header...)
	for _, p := range s.Points {
		row := []any{p.Name}
		for _, v := range s.Grid {
			row = append(row, settingOf(p.Settings, v.Key))
		}
		row = append(row, p.Runs, p.Passed, p.Failed, minMedMax(p.MembershipChanges), medMax(p.SettleMs))
		if wall {
			row = append(row, fmt.Sprintf("%.2f", p.WallS))
		}
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "membership changes: min / median / max over the seeds; settle ms: median / max of the liveness\n"+
		"settle time after the last fault or boot (runs where it was measured)")
	if wall {
		fmt.Fprintln(w, "wall s: the wall time of the point's runs, summed")
	}
	fmt.Fprintln(w)
	if s.Coverage != nil {
		if err := writeCoverage(w, s.Coverage); err != nil {
			return err
		}
	}
	if s.OK() {
		_, err := fmt.Fprintf(w, "OK: all %d runs passed\n", s.Runs)
		return err
	}
	fmt.Fprintf(w, "FAILED: %d of %d runs\n", s.Failed, s.Runs)
	for i, f := range s.Failures {
		if i == MaxListedFailures {
			fmt.Fprintf(w, "... and %d more failing runs (sweep.json lists them all)\n", len(s.Failures)-i)
			break
		}
		fmt.Fprintf(w, "%s seed %d: %s\n  reproduce: %s\n", f.Point, f.Seed, f.Failure, f.Reproduce)
		if f.Trace != "" {
			fmt.Fprintf(w, "  trace:     %s\n", f.Trace)
		}
	}
	return nil
}

func settingOf(ss []Setting, key string) string {
	for _, s := range ss {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

func minMedMax(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%g / %g / %g", s.Min, s.Median, s.Max)
}

func medMax(s Stat) string {
	if s.N == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f / %.0f", s.Median, s.Max)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
