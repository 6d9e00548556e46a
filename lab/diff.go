package lab

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/olekukonko/tablewriter"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios/journal"
)

// TimingFloorMs is the difference in milliseconds under which two timings
// agree whatever their ratio: the lab stamps events with the wall clock of
// a machine that also runs the agents, the journal writes and the fault
// commands, so a few tens of milliseconds of jitter are the instrument's,
// not the protocol's.
const TimingFloorMs = 100

// Diff is a simulated and a lab run of one scenario and seed, side by side.
type Diff struct {
	Scenario  string  `json:"scenario"`
	Seed      uint64  `json:"seed"`
	Tolerance float64 `json:"tolerance"`
	// Membership is each node's sequence of member sets; MembershipDiff
	// the first difference ("" when they agree).
	SimMembership  journal.Sequences `json:"sim_membership"`
	LabMembership  journal.Sequences `json:"lab_membership"`
	MembershipDiff string            `json:"membership_diff,omitempty"`
	// Quorum is each node's quorate verdicts over time.
	Quorum []QuorumRow `json:"quorum"`
	// Figures are the timings and store figures with their difference.
	Figures []Figure `json:"figures"`
	// Agree: the membership sequences are equal and every timing is
	// within the tolerance.
	Agree bool `json:"agree"`
}

// QuorumRow is one node's quorate verdicts, as "t: yes/no" changes.
type QuorumRow struct {
	Node string   `json:"node"`
	Sim  []string `json:"sim"`
	Lab  []string `json:"lab"`
	Same bool     `json:"same"` // the same sequence of verdicts (times aside)
}

// Figure is one number of both runs.
type Figure struct {
	Name   string  `json:"name"`
	Sim    float64 `json:"sim"`
	Lab    float64 `json:"lab"`
	Diff   float64 `json:"diff"`             // lab - sim
	Rel    float64 `json:"rel"`              // (lab - sim) / sim; 0 when sim is 0
	Timing bool    `json:"timing,omitempty"` // judged against the tolerance
	Within bool    `json:"within"`           // a timing within the tolerance (always true for the others)
}

// Sequences extracts every node's membership sequence from a result's
// timeline.
func Sequences(res *reports.Result) journal.Sequences {
	s := journal.Sequences{}
	for _, e := range res.Timeline {
		if e.Event == "membership" {
			s.Add(e.Node, e.Members)
		}
	}
	return s
}

func quorumSeq(res *reports.Result, node string) (times []string, verdicts []bool) {
	for _, e := range res.Timeline {
		if e.Event == "quorum" && e.Node == node && e.Quorate != nil {
			word := "no"
			if *e.Quorate {
				word = "yes"
			}
			times = append(times, fmt.Sprintf("%.1fs %s", e.TMs/1e3, word))
			verdicts = append(verdicts, *e.Quorate)
		}
	}
	return times, verdicts
}

func mean(xs []float64) (float64, bool) {
	if len(xs) == 0 {
		return 0, false
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs)), true
}

// linkTimings averages the link delays over every pair of a result.
func linkTimings(res *reports.Result) map[string][]float64 {
	out := map[string][]float64{}
	for _, p := range res.Links {
		out["link detection ms"] = append(out["link detection ms"], p.DetectMs...)
		out["link failover ms"] = append(out["link failover ms"], p.FailoverMs...)
		out["link recovery ms"] = append(out["link recovery ms"], p.RecoverMs...)
	}
	return out
}

// Compare puts the simulated run sim and the lab run lab side by side.
func Compare(simRes, labRes *reports.Result, tolerance float64) *Diff {
	d := &Diff{Scenario: labRes.Scenario, Seed: labRes.Seed, Tolerance: tolerance,
		SimMembership: Sequences(simRes), LabMembership: Sequences(labRes)}
	d.MembershipDiff = d.SimMembership.Diff(d.LabMembership)
	var nodes []string
	for n := range simRes.Nodes {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		st, sv := quorumSeq(simRes, n)
		lt, lv := quorumSeq(labRes, n)
		d.Quorum = append(d.Quorum, QuorumRow{Node: n, Sim: st, Lab: lt, Same: slices.Equal(sv, lv)})
	}
	add := func(name string, s, l float64, timing bool) {
		f := Figure{Name: name, Sim: s, Lab: l, Diff: l - s, Timing: timing, Within: true}
		if s != 0 {
			f.Rel = (l - s) / s
		}
		if timing && math.Abs(l-s) > TimingFloorMs && math.Abs(l-s) > tolerance*math.Abs(s) {
			f.Within = false
		}
		d.Figures = append(d.Figures, f)
	}
	st, lt := linkTimings(simRes), linkTimings(labRes)
	for _, name := range []string{"link detection ms", "link failover ms", "link recovery ms"} {
		s, okS := mean(st[name])
		l, okL := mean(lt[name])
		if okS || okL {
			add(name+" (mean)", s, l, okS && okL)
			if okS != okL {
				// Measured in one run only: a disagreement of its own.
				d.Figures[len(d.Figures)-1].Within = false
			}
		}
	}
	// The membership's answer to each fault: how long until the first
	// and the last member installed the ring that followed it.
	for i := 0; i < len(simRes.Responses) && i < len(labRes.Responses); i++ {
		s, l := simRes.Responses[i], labRes.Responses[i]
		if s.RingID == "" && l.RingID == "" {
			continue
		}
		name := fmt.Sprintf("fault %d (%s)", i, strings.TrimSpace(s.Fault))
		timing := s.RingID != "" && l.RingID != ""
		if timing && !slices.Equal(s.Members, l.Members) {
			// Different rings answered the fault (a restarted agent's
			// own ring, which the lab sees some milliseconds after the
			// start and the simulator at the same instant): the times
			// are shown, not compared; the membership sequences judge.
			name += fmt.Sprintf(" sim {%s} lab {%s}", strings.Join(s.Members, ","), strings.Join(l.Members, ","))
			timing = false
		}
		add(name+" first install ms", s.FirstMs, l.FirstMs, timing)
		add(name+" all installed ms", s.AllMs, l.AllMs, timing)
		if (s.RingID == "") != (l.RingID == "") {
			d.Figures[len(d.Figures)-1].Within = false
		}
	}
	add("membership changes", float64(simRes.Stats.MembershipChanges), float64(labRes.Stats.MembershipChanges), false)
	add("ops", float64(simRes.Stats.Ops), float64(labRes.Stats.Ops), false)
	add("ops ok", float64(simRes.Stats.OpsOK), float64(labRes.Stats.OpsOK), false)
	add("ops refused", float64(simRes.Stats.OpsRefused), float64(labRes.Stats.OpsRefused), false)
	add("acked writes lost", float64(simRes.Stats.AckedWritesLost), float64(labRes.Stats.AckedWritesLost), false)
	if s, l := simRes.Stats.OpLatencyMs, labRes.Stats.OpLatencyMs; s != nil && l != nil {
		add("op latency p50 ms", s.P50, l.P50, false)
		add("op latency p99 ms", s.P99, l.P99, false)
	}
	d.Agree = d.MembershipDiff == ""
	for _, f := range d.Figures {
		if !f.Within {
			d.Agree = false
		}
	}
	return d
}

// Write prints the comparison as tables.
func (d *Diff) Write(w io.Writer) error {
	fmt.Fprintf(w, "Scenario %s, seed %d: simulator against real agents (lab)\n\n", d.Scenario, d.Seed)
	fmt.Fprintln(w, "Membership sequence (member sets each node installed, in order):")
	t := tablewriter.NewTable(w)
	t.Header("node", "simulator", "lab", "same")
	var nodes []string
	for n := range d.SimMembership {
		nodes = append(nodes, n)
	}
	for n := range d.LabMembership {
		if _, ok := d.SimMembership[n]; !ok {
			nodes = append(nodes, n)
		}
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		s, l := seqText(d.SimMembership[n]), seqText(d.LabMembership[n])
		if err := t.Append(n, s, l, yesNo(s == l)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nQuorum verdicts over time:")
	t = tablewriter.NewTable(w)
	t.Header("node", "simulator", "lab", "same verdicts")
	for _, q := range d.Quorum {
		if err := t.Append(q.Node, strings.Join(q.Sim, ", "), strings.Join(q.Lab, ", "), yesNo(q.Same)); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nFigures (timings must agree within %.0f%% or %d ms):\n", d.Tolerance*100, TimingFloorMs)
	t = tablewriter.NewTable(w)
	t.Header("figure", "simulator", "lab", "difference", "relative", "within")
	for _, f := range d.Figures {
		rel := "-"
		if f.Sim != 0 {
			rel = fmt.Sprintf("%+.0f%%", f.Rel*100)
		}
		within := "-"
		if f.Timing || !f.Within {
			within = yesNo(f.Within)
		}
		if err := t.Append(f.Name, fmt.Sprintf("%.1f", f.Sim), fmt.Sprintf("%.1f", f.Lab), fmt.Sprintf("%+.1f", f.Diff), rel, within); err != nil {
			return err
		}
	}
	if err := t.Render(); err != nil {
		return err
	}
	if d.MembershipDiff != "" {
		fmt.Fprintf(w, "\nThe membership sequences differ: %s\n", d.MembershipDiff)
	}
	if d.Agree {
		fmt.Fprintln(w, "\nThe lab agrees with the simulator.")
	} else {
		fmt.Fprintln(w, "\nThe lab disagrees with the simulator.")
	}
	return nil
}

func seqText(seq [][]string) string {
	parts := make([]string, len(seq))
	for i, s := range seq {
		parts[i] = "{" + strings.Join(s, ",") + "}"
	}
	return strings.Join(parts, " → ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
