package view

import (
	"github.com/quorate/quorate/reports"

	"bytes"
	"fmt"
	"strings"
)

// table is a report table, rendered by both the Markdown and the HTML
// writers so that they show the same rows.
type table struct {
	title  string
	header []string
	rows   [][]string
	code   map[int]bool // columns shown as code (commands, paths)
	// bare: a key / value table whose header row is empty (HTML shows none)
	bare bool
	note string
}

func mdCell(s string, code bool) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if code {
		return "`" + s + "`"
	}
	return s
}

func (t table) markdown(b *bytes.Buffer) {
	fmt.Fprintf(b, "## %s\n\n", t.title)
	if len(t.rows) == 0 {
		fmt.Fprintf(b, "(none)\n\n")
		return
	}
	b.WriteString("|")
	for _, h := range t.header {
		b.WriteString(" " + mdCell(h, false) + " |")
	}
	b.WriteString("\n|")
	for range t.header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range t.rows {
		b.WriteString("|")
		for i, c := range r {
			b.WriteString(" " + mdCell(c, t.code[i]) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	if t.note != "" {
		b.WriteString(t.note + "\n\n")
	}
}

func ms(v float64) string { return fmtNum(v) }

func msPtr(v *float64) string {
	if v == nil {
		return ""
	}
	return fmtNum(*v)
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAILED"
}

// runTables are the tables of a run report, in page order.
func runTables(r *RunReport) []table {
	sum := table{title: "Summary", header: []string{"", ""}, bare: true}
	sum.rows = [][]string{
		{"scenario", r.Scenario},
		{"seed", fmt.Sprint(r.Seed)},
		{"verdict", r.Verdict},
		{"reproduce", "`" + r.Reproduce + "`"},
		{"simulated", fmtNum(r.SimulatedS) + " s"},
		{"events", fmt.Sprint(r.Events)},
		{"membership changes", fmt.Sprint(r.Stats.MembershipChanges)},
		{"trace sha256", r.TraceSHA256},
	}
	if r.Driver == "lab" {
		sum.rows[4] = []string{"duration", fmtNum(r.SimulatedS) + " s of wall-clock time"}
		sum.rows = append(sum.rows[:2], append([][]string{{"run", "lab: real agents in network namespaces; the seed drew the schedule, the run itself is not repeatable"}}, sum.rows[2:]...)...)
	}
	if r.Stats.Ops > 0 {
		sum.rows = append(sum.rows, []string{"operations", fmt.Sprintf("%d (%d ok, %d refused)", r.Stats.Ops, r.Stats.OpsOK, r.Stats.OpsRefused)})
	}
	checks := table{title: "Checks", header: []string{"check", "result", "detail"}}
	for _, c := range r.Checks {
		checks.rows = append(checks.rows, []string{c.Check, c.Result, c.Detail})
	}
	if l := r.Liveness; l != nil {
		res := "not judged"
		if l.Applicable {
			res = okWord(l.Converged && l.MeasuredMs <= l.BoundMs)
		}
		checks.rows = append(checks.rows, []string{"liveness (settle)", res,
			fmt.Sprintf("settled %s ms after the last change at %s ms; bound %s ms; %d membership changes since",
				ms(l.MeasuredMs), ms(l.SinceMs), ms(l.BoundMs), l.Churn)})
	}
	exp := table{title: "Expectations", header: []string{"expectation", "where", "result", "reason"}, code: map[int]bool{1: true}}
	for _, e := range r.Expectations {
		exp.rows = append(exp.rows, []string{e.Expect, e.Where, okWord(e.OK), e.Reason})
	}
	faults := table{title: "Fault schedule", header: []string{"#", "at ms", "fault", "next ring", "members", "first ms", "all ms"},
		note: "first ms / all ms: from the fault until the first / every member installed the next ring."}
	for i, f := range r.Faults {
		next := f.NextRing
		if next == "" {
			next = "(no membership change)"
		}
		faults.rows = append(faults.rows, []string{fmt.Sprintf("F%d", i+1), ms(f.TMs), f.Action.Label(f.Detail), next,
			strings.Join(f.Members, ","), msPtr(f.FirstMs), msPtr(f.AllMs)})
	}
	nodes := table{title: "Nodes", header: []string{"node", "quorate ms", "not quorate ms", "down ms", "memberships installed", "last membership"}}
	for _, n := range r.Nodes {
		t := map[string]float64{}
		for _, s := range n.Spans {
			t[s.State] += s.ToMs - s.FromMs
		}
		last := ""
		if k := len(n.Changes); k > 0 {
			last = fmt.Sprintf("%s {%s} at %s ms", n.Changes[k-1].RingID, strings.Join(n.Changes[k-1].Members, ","), ms(n.Changes[k-1].TMs))
		}
		nodes.rows = append(nodes.rows, []string{n.Node, ms(t[StateQuorate]), ms(t[StateInquorate]), ms(t[StateDown]), fmt.Sprint(len(n.Changes)), last})
	}
	links := table{title: "Links", header: []string{"node", "peer", "link", "downs", "down ms", "active ms"},
		note: "down ms: time declared down after a link_down (not counting the start, before knet first saw the link up)."}
	for _, l := range r.Links {
		var down, act float64
		for _, s := range l.Spans {
			if s.State == StateDown {
				down += s.ToMs - s.FromMs
			}
		}
		for _, s := range l.Active {
			act += s.ToMs - s.FromMs
		}
		links.rows = append(links.rows, []string{l.Node, l.Peer, fmt.Sprint(l.Link), fmt.Sprint(l.Downs), ms(down), ms(act)})
	}
	out := []table{sum, checks, exp, faults, nodes, links}
	if l := r.Latency; l != nil {
		lat := table{title: "Operation latency", header: []string{"operations", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"},
			note: fmt.Sprintf("completed %d, refused at once %d, timed out %d, open at the end %d (the last three have no latency).",
				l.Counts.Completed, l.Counts.Refused, l.Counts.TimedOut, l.Counts.Open)}
		for _, s := range l.Series {
			lat.rows = append(lat.rows, []string{s.Kind, fmt.Sprint(s.N), ms(s.P50Ms), ms(s.P90Ms), ms(s.P99Ms), ms(s.MaxMs)})
		}
		out = append(out, lat)
	}
	return out
}

// sweepTables are the tables of a sweep report.
func sweepTables(r *SweepReport) []table {
	sum := table{title: "Summary", header: []string{"", ""}, bare: true}
	sum.rows = [][]string{
		{"scenario", r.Scenario},
		{"file", r.File},
		{"seeds", r.Seeds},
		{"runs", fmt.Sprint(r.Runs)},
		{"passed", fmt.Sprint(r.Passed)},
		{"failed", fmt.Sprint(r.Failed)},
		{"verdict", r.Verdict},
	}
	pts := table{title: "Grid points", header: []string{"point"}}
	for _, a := range r.Axes {
		pts.header = append(pts.header, a.Key)
	}
	pts.header = append(pts.header, "runs", "passed", "failed")
	for _, p := range r.Points {
		row := append([]string{p.Point}, p.Settings...)
		row = append(row, fmt.Sprint(p.Runs), fmt.Sprint(p.Passed), fmt.Sprint(p.Failed))
		pts.rows = append(pts.rows, row)
	}
	fails := table{title: "Failing seeds", header: []string{"point", "seed", "failure", "reproduce", "trace"}, code: map[int]bool{3: true, 4: true}}
	for _, f := range r.Failures {
		fails.rows = append(fails.rows, []string{f.Point, fmt.Sprint(f.Seed), f.Failure, f.Reproduce, f.Trace})
	}
	out := []table{sum, pts, fails}
	if len(r.Coverage) > 0 {
		out = append(out, coverageTable(r.Coverage))
	}
	if h := r.Heatmap; h != nil {
		hm := table{title: "Heat map: " + h.Metric, header: []string{h.YKey + " \\ " + h.XKey},
			note: fmt.Sprintf("%s in %s, the %s over the seeds of each grid point that recorded it (n); failed runs are left out, and a point where most runs failed shows FAILED.", h.Metric, h.Unit, h.Aggregate)}
		hm.header = append(hm.header, h.XValues...)
		for yi, y := range h.YValues {
			row := []string{y}
			for xi := range h.XValues {
				c := h.At(xi, yi)
				switch {
				case c.FailedPoint:
					row = append(row, fmt.Sprintf("FAILED (%d of %d)", c.Failed, c.Runs))
				case c.Value == nil:
					row = append(row, "-")
				case c.Failed > 0:
					row = append(row, fmt.Sprintf("%s (n=%d, %d failed)", fmtNum(*c.Value), c.N, c.Failed))
				default:
					row = append(row, fmt.Sprintf("%s (n=%d)", fmtNum(*c.Value), c.N))
				}
			}
			hm.rows = append(hm.rows, row)
		}
		out = append(out, hm)
	}
	return out
}

// coverageTable draws the coverage cells: one row per fault kind and
// Totem state, one column per votequorum state, each cell the store
// states reached with their visits, "never" where none was.
func coverageTable(cov []reports.CoverageCell) table {
	reached := 0
	for _, c := range cov {
		if c.Count > 0 {
			reached++
		}
	}
	t := table{title: "Coverage", header: append([]string{"fault", "totem"}, reports.CoverageQuorum...),
		note: fmt.Sprintf("%d of %d cells reached: the state (Totem, votequorum, store) of each node a fault touched when it applied, "+
			"as store state x visits; never: no fault met that state. Some cells cannot be reached by design "+
			"(a writable store on a node that is not quorate).", reached, len(cov))}
	type rowKey struct {
		f     reports.FaultAction
		totem string
	}
	var order []rowKey
	cells := map[rowKey]map[string][]string{}
	for _, c := range cov {
		k := rowKey{c.Fault, c.Totem}
		if cells[k] == nil {
			order = append(order, k)
			cells[k] = map[string][]string{}
		}
		if c.Count > 0 {
			cells[k][c.Quorum] = append(cells[k][c.Quorum], fmt.Sprintf("%s x%d", c.Store, c.Count))
		}
	}
	for _, k := range order {
		row := []string{string(k.f), k.totem}
		qs := reports.CoverageQuorum
		if k.totem == reports.CoverageDown {
			qs = []string{reports.CoverageDown}
		}
		for _, q := range qs {
			if w := cells[k][q]; len(w) > 0 {
				row = append(row, strings.Join(w, ", "))
			} else {
				row = append(row, "never")
			}
		}
		for len(row) < len(t.header) {
			row = append(row, "")
		}
		t.rows = append(t.rows, row)
	}
	return t
}

func runMarkdown(b *bytes.Buffer, r *RunReport, charts []Chart) {
	fmt.Fprintf(b, "# Run report: %s, seed %d\n\n**%s**\n\n", r.Scenario, r.Seed, oneLine(r.Verdict))
	ts := runTables(r)
	ts[0].markdown(b)
	if r.History != "" {
		fmt.Fprintf(b, "See also [%s](%s) (the operation history and its linearizability check).\n\n", r.History, r.History)
	}
	writeMdCharts(b, charts)
	for _, t := range ts[1:] {
		t.markdown(b)
	}
}

func sweepMarkdown(b *bytes.Buffer, r *SweepReport, charts []Chart) {
	fmt.Fprintf(b, "# Sweep report: %s, seeds %s\n\n**%s**\n\n", r.Scenario, r.Seeds, oneLine(r.Verdict))
	ts := sweepTables(r)
	ts[0].markdown(b)
	writeMdCharts(b, charts)
	if r.HeatmapNote != "" {
		b.WriteString(r.HeatmapNote + "\n\n")
	}
	for _, t := range ts[1:] {
		t.markdown(b)
	}
}

// oneLine folds a multi-line message (a counterexample) for a heading.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func writeMdCharts(b *bytes.Buffer, charts []Chart) {
	if len(charts) == 0 {
		return
	}
	b.WriteString("## Charts\n\n")
	for _, c := range charts {
		fmt.Fprintf(b, "![%s](%s)\n\n", c.Title, chartFile(c))
	}
}
