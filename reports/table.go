package reports

import (
	"fmt"
	"io"
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
	if len(r.Expectations) > 0 {
		fmt.Fprintln(w)
		if err := writeExpectations(w, r.Expectations); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
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
