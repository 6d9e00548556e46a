package view

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/quorate/quorate/reports"
)

// InputError is a report directory that cannot be read as one: a missing
// or corrupt file. The message names the file.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// CheckRow is one check's verdict.
type CheckRow struct {
	Check  string `json:"check"`
	Result string `json:"result"` // ok | FAILED
	Detail string `json:"detail,omitempty"`
}

// RunReport is everything the report of one run shows; report.json is
// this struct.
type RunReport struct {
	Kind         string                      `json:"kind"` // "run"
	Scenario     string                      `json:"scenario"`
	Seed         uint64                      `json:"seed"`
	OK           bool                        `json:"ok"`
	Verdict      string                      `json:"verdict"`
	Failure      string                      `json:"failure,omitempty"`
	Reproduce    string                      `json:"reproduce,omitempty"`
	Driver       string                      `json:"driver,omitempty"` // "lab": real agents
	SimulatedS   float64                     `json:"simulated_s"`
	Events       uint64                      `json:"events"`
	TraceSHA256  string                      `json:"trace_sha256"`
	Stats        reports.Stats               `json:"stats"`
	Checks       []CheckRow                  `json:"checks"`
	Liveness     *reports.Liveness           `json:"liveness,omitempty"`
	Expectations []reports.ExpectationResult `json:"expectations"`
	Faults       []Fault                     `json:"faults"`
	Nodes        []NodeTimeline              `json:"nodes"`
	Links        []LinkTimeline              `json:"links"`
	Latency      *Latency                    `json:"latency,omitempty"` // kv workloads only
	History      string                      `json:"history,omitempty"` // porcupine's history.html beside the run, when written
	Charts       []string                    `json:"charts"`            // the SVG files of the Markdown report
}

// LoadRun reads DIR/result.json and DIR/trace.jsonl and extracts the run
// report. Both files are required.
func LoadRun(dir string) (*RunReport, error) {
	resPath := filepath.Join(dir, "result.json")
	b, err := os.ReadFile(resPath)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	var res reports.Result
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &InputError{Err: fmt.Errorf("%s: not a result.json: %w", resPath, err)}
	}
	if res.Scenario == "" || res.Nodes == nil {
		return nil, &InputError{Err: fmt.Errorf("%s: not a result.json: no \"scenario\" or \"nodes\"", resPath)}
	}
	trPath := filepath.Join(dir, "trace.jsonl")
	f, err := os.Open(trPath)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	defer f.Close()
	tr, err := ReadTrace(f, trPath)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	rep := BuildRun(&res, tr)
	if _, err := os.Stat(filepath.Join(dir, "history.html")); err == nil {
		rep.History = "history.html"
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return rep, nil
}

// BuildRun extracts the run report from a result and its trace. The
// lanes run to the end of the simulated time (the trace's last event may
// come earlier).
func BuildRun(res *reports.Result, trace *Trace) *RunReport {
	tr := *trace
	tr.EndMs = max(tr.EndMs, res.SimulatedS*1e3)
	nodes := slices.Clone(tr.Nodes)
	var rest []string
	for n := range res.Nodes {
		if !slices.Contains(nodes, n) {
			rest = append(rest, n)
		}
	}
	slices.Sort(rest)
	nodes = append(nodes, rest...)
	r := &RunReport{
		Kind: "run", Scenario: res.Scenario, Seed: res.Seed, OK: res.OK, Failure: res.Failure,
		Reproduce: res.Reproduce, Driver: res.Driver, SimulatedS: res.SimulatedS, Events: res.Events, TraceSHA256: res.TraceSHA256,
		Stats: res.Stats, Liveness: res.Liveness, Expectations: res.Expectations, Checks: []CheckRow{},
		Faults: Faults(&tr), Nodes: NodeTimelines(&tr, nodes), Links: LinkTimelines(&tr, nodes), Charts: []string{},
	}
	if r.Expectations == nil {
		r.Expectations = []reports.ExpectationResult{}
	}
	r.Verdict = "OK: every expectation and check held"
	if !res.OK {
		r.Verdict = "FAILED: " + res.Failure
	}
	if r.Reproduce == "" {
		r.Reproduce = fmt.Sprintf("quorate run <%s.yaml> --seed %d", res.Scenario, res.Seed)
	}
	names := make([]string, 0, len(res.Checks))
	for n := range res.Checks {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := CheckRow{Check: n, Result: "ok", Detail: res.CheckDetails[n]}
		if !res.Checks[n] {
			c.Result = "FAILED"
		}
		r.Checks = append(r.Checks, c)
	}
	for i, f := range r.Faults {
		for _, fr := range res.Responses {
			if sameFault(fr, i, f) && fr.RingID != "" {
				first, all := fr.FirstMs, fr.AllMs
				r.Faults[i].NextRing, r.Faults[i].Members = fr.RingID, fr.Members
				r.Faults[i].FirstMs, r.Faults[i].AllMs = &first, &all
				break
			}
		}
	}
	if ops, c := Operations(&tr); c.Completed+c.Refused+c.TimedOut+c.Open > 0 {
		r.Latency = LatencyOf(ops, c)
	}
	return r
}

// sameFault says whether a response of result.json answers the i-th fault
// event of the trace: by index, time and action, as typed values. A
// result.json written before responses carried them is matched by its
// label, spaces trimmed.
func sameFault(fr reports.FaultResponse, i int, f Fault) bool {
	if fr.TMs != f.TMs {
		return false
	}
	if fr.Action == "" {
		return strings.TrimSpace(fr.Fault) == f.Action.Label(f.Detail)
	}
	return fr.Index == i && fr.Action == f.Action && fr.Detail == f.Detail
}

// SweepReport is everything the report of a sweep shows; report.json is
// this struct.
type SweepReport struct {
	Kind     string      `json:"kind"` // "sweep"
	Scenario string      `json:"scenario"`
	File     string      `json:"file"`
	Seeds    string      `json:"seeds"`
	Axes     []Axis      `json:"axes"`
	Runs     int         `json:"runs"`
	Passed   int         `json:"passed"`
	Failed   int         `json:"failed"`
	Verdict  string      `json:"verdict"`
	Points   []PointRow  `json:"points"`
	Failures []FailedRun `json:"failures"`
	Heatmap  *Heatmap    `json:"heatmap,omitempty"` // when exactly two keys were varied
	// HeatmapNote says why there is no heat map.
	HeatmapNote string   `json:"heatmap_note,omitempty"`
	Charts      []string `json:"charts"`
	// Coverage: the cells the sweep's faults reached (Count > 0) and
	// those of the same fault kinds they never reached (Count 0).
	Coverage []reports.CoverageCell `json:"coverage,omitempty"`
}

// BuildSweep extracts the sweep report, with the heat map of metric m.
func BuildSweep(in *SweepInput, m Metric) *SweepReport {
	r := &SweepReport{Kind: "sweep", Scenario: in.Scenario, File: in.File, Seeds: in.Seeds, Axes: in.Axes, Charts: []string{}}
	if r.Axes == nil {
		r.Axes = []Axis{}
	}
	r.Points, r.Failures = PassFail(in)
	for _, p := range r.Points {
		r.Runs += p.Runs
		r.Passed += p.Passed
		r.Failed += p.Failed
	}
	if r.Failed == 0 {
		r.Verdict = fmt.Sprintf("OK: all %d runs passed", r.Runs)
	} else {
		r.Verdict = fmt.Sprintf("FAILED: %d of %d runs", r.Failed, r.Runs)
	}
	if len(in.Coverage) > 0 {
		_, _, missing := reports.NeverReached(in.Coverage)
		r.Coverage = reports.AddCoverage(slices.Clone(in.Coverage), missing...)
	}
	r.Heatmap = HeatmapOf(in, m)
	if r.Heatmap == nil {
		r.HeatmapNote = fmt.Sprintf("no heat map: the sweep varied %d keys over more than one value; it takes exactly two (--vary twice)", len(VariedAxes(in)))
	} else {
		n := 0
		for _, c := range r.Heatmap.Cells {
			n += c.N
		}
		if n == 0 {
			r.HeatmapNote = fmt.Sprintf("no run of this sweep recorded %s (sweep.json predates the figure); choose another --metric", m.Name)
		}
	}
	return r
}
