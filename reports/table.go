package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"
)

// newTable is the house style: headers as written, no upper-casing.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

// WriteRun prints the human report of one run: a header, the per-pair link
// table with failover figures, the expectations, and the verdict.
func WriteRun(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "scenario %s  seed %d  simulated %.1fs  wall %.3fs  events %d\n",
		r.Scenario, r.Seed, r.SimulatedS, r.WallS, r.Events)
	fmt.Fprintf(w, "trace sha256 %s\n\n", r.TraceSHA256)
	if err := writeLinks(w, r.Links); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := writeNodes(w, r.Nodes); err != nil {
		return err
	}
	if len(r.Rings) > 0 {
		fmt.Fprintln(w)
		if err := writeRings(w, r.Rings); err != nil {
			return err
		}
	}
	if len(r.Responses) > 0 {
		fmt.Fprintln(w)
		if err := writeResponses(w, r.Responses); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	writeChecks(w, r)
	if len(r.Expectations) > 0 {
		fmt.Fprintln(w)
		if err := writeExpectations(w, r.Expectations); err != nil {
			return err
		}
	}
	for _, st := range r.Status {
		fmt.Fprintf(w, "\n== pvecm status on %s at %.3fs ==\n%s", st.Node, st.AtMs/1e3, st.Text)
	}
	if len(r.NodeSummary) > 0 {
		fmt.Fprintln(w)
		if err := writeNodeSummary(w, r.NodeSummary, r.Responses); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if r.Answer != "" {
		fmt.Fprintln(w, r.Answer)
	}
	if r.OK {
		fmt.Fprintln(w, "OK: every expectation held")
	} else {
		fmt.Fprintf(w, "FAILED: %s\n", r.Failure)
		if r.Reproduce != "" {
			fmt.Fprintf(w, "reproduce with: %s\n", r.Reproduce)
		}
	}
	return nil
}

// writeLinks prints one row per ordered pair of nodes: what the node saw of
// its links to the peer, and how long detection, failover and recovery took,
// measured from the instants the simulator broke or restored the path.
func writeLinks(w io.Writer, pairs []PairLinks) error {
	t := newTable(w)
	t.Header("node", "peer", "downs", "ups", "failovers",
		"detect ms", "failover ms", "recover ms", "no link ms")
	var detect, failover, recover []float64
	for _, p := range pairs {
		detect = append(detect, p.DetectMs...)
		failover = append(failover, p.FailoverMs...)
		recover = append(recover, p.RecoverMs...)
		if err := t.Append(p.Node, p.Peer, p.Downs, p.Ups, p.Failovers,
			Summarize(p.DetectMs).String(), Summarize(p.FailoverMs).String(),
			Summarize(p.RecoverMs).String(), fmt.Sprintf("%.0f", p.NoLinkMs)); err != nil {
			return err
		}
	}
	if err := t.Append("all", "", "", "", "", Summarize(detect).String(),
		Summarize(failover).String(), Summarize(recover).String(), ""); err != nil {
		return err
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "detect: path broken -> link down; failover: active link's path broken -> traffic on another link;\n"+
		"recover: path restored -> link up; figures are min / median / max in ms")
	return err
}

func writeExpectations(w io.Writer, es []ExpectationResult) error {
	t := newTable(w)
	t.Header("expectation", "where", "result")
	for _, e := range es {
		verdict := "ok"
		if e.Vacuous && e.OK {
			verdict = "ok, VACUOUS: " + e.Warning
		}
		if !e.OK {
			verdict = "FAILED: " + e.Reason
		}
		where := e.Where
		if i := strings.LastIndex(where, "/"); i >= 0 {
			where = where[i+1:]
		}
		if err := t.Append(e.Expect, where, verdict); err != nil {
			return err
		}
	}
	return t.Render()
}

// Rings shown of a long membership timeline: the first ringsHead and the
// last ringsTail, with one row for those between. A run whose groups
// re-form their rings in a cycle installs thousands, and the text output
// is for reading; result.json keeps every one.
const (
	ringsHead = 30
	ringsTail = 10
)

// writeRings prints the membership timeline: each ring, its members, and
// when its members installed it.
func writeRings(w io.Writer, rings []RingInstall) error {
	t := newTable(w)
	t.Header("ring", "members", "installed ms (first .. last)", "by")
	for i, r := range rings {
		if len(rings) > ringsHead+ringsTail+1 && i >= ringsHead && i < len(rings)-ringsTail {
			if i == ringsHead {
				left := len(rings) - ringsHead - ringsTail
				span := fmt.Sprintf("%.1f .. %.1f", r.FirstMs, rings[len(rings)-ringsTail-1].LastMs)
				if err := t.Append("...", fmt.Sprintf("%d more rings (result.json lists them all)", left), span, ""); err != nil {
					return err
				}
			}
			continue
		}
		span := fmt.Sprintf("%.1f", r.FirstMs)
		if r.LastMs != r.FirstMs {
			span = fmt.Sprintf("%.1f .. %.1f", r.FirstMs, r.LastMs)
		}
		if err := t.Append(r.RingID, strings.Join(r.Members, ","), span, r.Nodes); err != nil {
			return err
		}
	}
	return t.Render()
}

// writeResponses prints, for each fault, the membership change it caused.
func writeResponses(w io.Writer, rs []FaultResponse) error {
	t := newTable(w)
	t.Header("at ms", "fault", "next ring", "members", "first ms", "all ms")
	for _, r := range rs {
		if r.RingID == "" {
			if err := t.Append(fmt.Sprintf("%.0f", r.TMs), r.Fault, "(no membership change)", "", "", ""); err != nil {
				return err
			}
			continue
		}
		if err := t.Append(fmt.Sprintf("%.0f", r.TMs), r.Fault, r.RingID, strings.Join(r.Members, ","),
			fmt.Sprintf("%.0f", r.FirstMs), fmt.Sprintf("%.0f", r.AllMs)); err != nil {
			return err
		}
	}
	return t.Render()
}

// writeChecks prints the verdict of every check, with the liveness figures.
func writeChecks(w io.Writer, r *Result) {
	for _, name := range []string{"total_order", "virtual_synchrony", "liveness"} {
		ok, judged := r.Checks[name]
		verdict := "ok"
		switch {
		case !judged:
			verdict = "not judged"
		case !ok:
			verdict = "FAILED: " + r.CheckDetails[name]
		}
		line := fmt.Sprintf("check %-17s %s", name, verdict)
		if name == "liveness" && r.Liveness != nil {
			l := r.Liveness
			switch {
			case l.Converged:
				line += fmt.Sprintf(" (settled %.0fms after the last change at %.0fms; bound %.0fms; %d membership changes)",
					l.MeasuredMs, l.SinceMs, l.BoundMs, l.Churn)
			case !l.Applicable:
				line += fmt.Sprintf(" (the run does not end on a lossless network at least the bound of %.0fms after the last change at %.0fms)", l.BoundMs, l.SinceMs)
			}
		}
		fmt.Fprintln(w, line)
	}
}

// writeNodes prints every node's state at the end of the run: its ring and
// votequorum's numbers, as pvecm status would show them.
func writeNodes(w io.Writer, nodes map[string]NodeResult) error {
	t := newTable(w)
	t.Header("node", "up", "ring", "members", "quorate", "expected", "highest", "total", "quorum", "flags")
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		n := nodes[name]
		if !n.Up {
			if err := t.Append(name, "down", "", "", "", "", "", "", "", ""); err != nil {
				return err
			}
			continue
		}
		if err := t.Append(name, "up", n.RingID, strings.Join(n.Members, ","), yesNo(n.Quorate), n.ExpectedVotes,
			n.HighestExpected, n.TotalVotes, n.Quorum, strings.Join(n.Flags, " ")); err != nil {
			return err
		}
	}
	return t.Render()
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// maxFaultColumns bounds the per-fault columns of the node summary; the
// rest are in result.json's node_summary.
const maxFaultColumns = 8

// writeNodeSummary prints per node its boots, the time it spent without
// quorum and down, and how long after each fault it was quorate in a new
// ring ("-": not before the end).
func writeNodeSummary(w io.Writer, ns []NodeSummary, faults []FaultResponse) error {
	t := newTable(w)
	header := []any{"node", "boots", "first quorate s", "without quorum s", "down s"}
	shown := min(len(faults), maxFaultColumns)
	for i := range shown {
		header = append(header, fmt.Sprintf("F%d %s", i+1, faults[i].Action))
	}
	t.Header(header...)
	for _, n := range ns {
		first := "never"
		if n.FirstQuorateMs != nil {
			first = fmt.Sprintf("%.1f", *n.FirstQuorateMs/1e3)
		}
		row := []any{n.Node, n.Boots, first, fmt.Sprintf("%.1f", n.NoQuorumMs/1e3), fmt.Sprintf("%.1f", n.DownMs/1e3)}
		for i := range shown {
			cell := "-"
			if i < len(n.ToQuorateRingMs) && n.ToQuorateRingMs[i] != nil {
				cell = fmt.Sprintf("%.1f", *n.ToQuorateRingMs[i]/1e3)
			}
			row = append(row, cell)
		}
		if err := t.Append(row...); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	note := "without quorum: after the node was first quorate, down or not quorate; Fn: seconds from fault n\n" +
		"to the node being quorate in a ring installed after it (-: not before the end)"
	if len(faults) > shown {
		note += fmt.Sprintf("; faults F%d..F%d are in result.json (node_summary)", shown+1, len(faults))
	}
	_, err := fmt.Fprintln(w, note)
	return err
}
