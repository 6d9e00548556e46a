package sweep

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/quorate/quorate/reports"
)

// CoverageSummary is what a sweep's faults exercised, in protocol terms
// (reports.CoverageCell): how many cells of the fault kinds it applied
// were reached, and which never were.
type CoverageSummary struct {
	Reached int `json:"reached"`
	Cells   int `json:"cells"` // every cell of the fault kinds applied
	// Faults are the fault kinds applied at least once.
	Faults []reports.FaultAction `json:"faults"`
	// NeverReached are the cells of those kinds no run reached.
	NeverReached []reports.CoverageCell `json:"never_reached"`
}

// sumCoverage adds up the runs' coverage cells.
func sumCoverage(runs []Record) []reports.CoverageCell {
	var cov []reports.CoverageCell
	for _, r := range runs {
		cov = reports.AddCoverage(cov, r.coverage...)
	}
	return cov
}

// summarizeCoverage is the coverage part of a sweep's summary; nil when
// the sweep applied no fault (or was written before coverage was kept).
func summarizeCoverage(cov []reports.CoverageCell) *CoverageSummary {
	if len(cov) == 0 {
		return nil
	}
	c := &CoverageSummary{NeverReached: []reports.CoverageCell{}}
	for _, x := range cov {
		if !slices.Contains(c.Faults, x.Fault) {
			c.Faults = append(c.Faults, x.Fault)
		}
	}
	var missing []reports.CoverageCell
	c.Reached, c.Cells, missing = reports.NeverReached(cov)
	c.NeverReached = append(c.NeverReached, missing...)
	return c
}

// writeCoverage prints the coverage summary: the count, then one row per
// fault kind and Totem state that has cells never reached, with the store
// states never met under each votequorum state ("-": all were met).
func writeCoverage(w io.Writer, c *CoverageSummary) error {
	fmt.Fprintf(w, "coverage: %d of %d cells (fault kind x Totem x quorum x store state) reached; fault kinds applied: %s\n",
		c.Reached, c.Cells, faultList(c.Faults))
	if len(c.NeverReached) == 0 {
		_, err := fmt.Fprintln(w)
		return err
	}
	fmt.Fprintln(w, "never reached: the store states (syncing, read_only, writable) no fault met, per fault kind,")
	fmt.Fprintln(w, "Totem state and votequorum state of the node it touched:")
	t := tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
	t.Header(append([]any{"fault", "totem"}, anys(reports.CoverageQuorum)...)...)
	for i := 0; i < len(c.NeverReached); {
		j := i
		for j < len(c.NeverReached) && c.NeverReached[j].Fault == c.NeverReached[i].Fault &&
			c.NeverReached[j].Totem == c.NeverReached[i].Totem {
			j++
		}
		run := c.NeverReached[i:j]
		row := []any{string(run[0].Fault), run[0].Totem}
		if run[0].Totem == reports.CoverageDown {
			row = append(row, "(the node down)", "", "")
		} else {
			for _, q := range reports.CoverageQuorum {
				var ws []string
				for _, x := range run {
					if x.Quorum == q {
						ws = append(ws, x.Store)
					}
				}
				if len(ws) == 0 {
					ws = []string{"-"}
				}
				row = append(row, strings.Join(ws, " "))
			}
		}
		if err := t.Append(row...); err != nil {
			return err
		}
		i = j
	}
	if err := t.Render(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func faultList(fs []reports.FaultAction) string {
	var ss []string
	for _, f := range fs {
		ss = append(ss, string(f))
	}
	return strings.Join(ss, ", ")
}
