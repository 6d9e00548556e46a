package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/reports/view"
	"github.com/quorate/quorate/sweep"
)

func newReportCmd() *cobra.Command {
	var (
		format string
		out    string
		metric string
	)
	c := &cobra.Command{
		Use:   "report DIR",
		Short: "Write the HTML, Markdown and JSON report of a run or sweep directory",
		Long: `Write the report of what "quorate run --out DIR" or "quorate sweep --out DIR"
left in DIR.

A run directory (result.json and trace.jsonl) gets charts of quorum and
membership per node, of every link's up/down state and active link, and for
a kv workload the latency CDF of its operations, with the summary, checks,
expectations, fault schedule and the command that reproduces the run.

A sweep directory (sweep.json) gets the pass/fail summary per grid point,
the failing seeds with their reproduce commands and, when the sweep varied
exactly two keys, a heat map of --metric over the grid (median over the
seeds; fail_rate is the mean).

Files, in --out (default DIR): report.html (self-contained: inline SVG and
CSS, no network), report.md with report-*.svg beside it, and report.json
(the numbers behind the charts).

Exit status: 0 when the report was written, 2 for a directory that holds
neither result.json nor sweep.json or a corrupt file, 1 for other failures.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			formats, err := view.ParseFormats(format)
			if err != nil {
				return badInput(err)
			}
			m, err := view.MetricByName(metric)
			if err != nil {
				return badInput(err)
			}
			dir := args[0]
			if out == "" {
				out = dir
			}
			var files []string
			switch kind, err := reportKind(dir); {
			case err != nil:
				return badInput(err)
			case kind == "run":
				r, err := view.LoadRun(dir)
				if err != nil {
					return reportErr(err)
				}
				if r.History != "" {
					r.History = relTo(out, filepath.Join(dir, r.History))
				}
				files, err = view.WriteRun(r, out, formats)
				if err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
			default:
				sw, err := sweep.ReadFile(filepath.Join(dir, "sweep.json"))
				if err != nil {
					return badInput(err)
				}
				files, err = view.WriteSweep(view.BuildSweep(sweepInput(sw), m), out, formats)
				if err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			return nil
		},
	}
	c.Flags().StringVar(&format, "format", "html,md,json", "formats to write: any of html, md, json, comma separated")
	c.Flags().StringVar(&out, "out", "", "directory for the report files (default: DIR)")
	c.Flags().StringVar(&metric, "metric", view.Metrics[0].Name,
		"sweep heat map metric: "+strings.Join(view.MetricNames(), ", "))
	return c
}

// reportKind tells a run directory (result.json) from a sweep directory
// (sweep.json).
func reportKind(dir string) (string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		return "", fmt.Errorf("%s: not a directory (give the --out directory of quorate run or quorate sweep)", dir)
	}
	for _, k := range []struct{ file, kind string }{{"result.json", "run"}, {"sweep.json", "sweep"}} {
		if _, err := os.Stat(filepath.Join(dir, k.file)); err == nil {
			return k.kind, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("%s: no result.json (a run directory) or sweep.json (a sweep directory) in it", dir)
}

// relTo is path as a link from a page in dir: relative when it can be,
// so that the report directory can move with the run directory.
func relTo(dir, path string) string {
	ad, err1 := filepath.Abs(dir)
	ap, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return path
	}
	if rel, err := filepath.Rel(ad, ap); err == nil {
		return filepath.ToSlash(rel)
	}
	return ap
}

func reportErr(err error) error {
	var ie *view.InputError
	if errors.As(err, &ie) {
		return badInput(err)
	}
	return &exitError{Code: exitFailed, Err: err}
}

// sweepInput hands a sweep.json to the report package, which sits below
// the sweep package and so does not read its types.
func sweepInput(sw *sweep.Sweep) *view.SweepInput {
	in := &view.SweepInput{Scenario: sw.Scenario, File: sw.File, Seeds: sw.Seeds, Coverage: sw.Coverage}
	for _, v := range sw.Grid {
		in.Axes = append(in.Axes, view.Axis{Key: v.Key, Values: v.Values})
	}
	for _, p := range sw.Points {
		pi := view.PointInput{Name: p.Name, File: p.File, Settings: map[string]string{}}
		for _, s := range p.Settings {
			pi.Settings[s.Key] = s.Value
		}
		in.Points = append(in.Points, pi)
	}
	for _, r := range sw.Runs {
		f := view.RunFigures{Point: r.Point, Seed: r.Seed, OK: r.OK, Failure: r.Failure, Reproduce: r.Reproduce,
			Trace: r.Trace, MembershipChanges: float64(r.MembershipChanges),
			SimulatedS: math.NaN(), SettleMs: math.NaN(), Ops: math.NaN(), OpsOK: math.NaN()}
		if fig := r.Figures; fig != nil && fig.SimulatedS > 0 {
			f.SimulatedS = fig.SimulatedS
			// Written by a sweep that records operation counts: zero is a count.
			f.Ops, f.OpsOK = float64(r.Ops), float64(r.OpsOK)
			f.HasFigures = true
			f.ChangesPerFormedHour = fig.ChangesPerHour()
			f.QuorateFraction = fig.QuorateFraction
			f.LinkDowns = float64(fig.LinkDowns)
			f.WriteP99Ms = math.NaN()
			if w := fig.WriteLatencyMs; w != nil && w.N > 0 {
				f.WriteP99Ms = w.P99
			}
		}
		if l := r.Liveness; l != nil && l.Converged && l.Applicable {
			f.SettleMs = l.MeasuredMs
		}
		in.Runs = append(in.Runs, f)
	}
	return in
}
