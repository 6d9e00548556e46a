package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios/journal"
)

// sidecarPath is where trace import puts the observed membership of
// scenario file path: NAME.members.json beside NAME.yaml.
func sidecarPath(path string) string {
	return strings.TrimSuffix(strings.TrimSuffix(path, ".yaml"), ".yml") + ".members.json"
}

// simulatedSequences are the member sets each node installed in a run,
// in the form of the observed ones.
func simulatedSequences(res *reports.Result) journal.Sequences {
	s := journal.Sequences{}
	for _, e := range res.Timeline {
		if e.Event == "membership" {
			s.Add(e.Node, e.Members)
		}
	}
	return s
}

// setTimes fills the sidecar's change times and their tolerance.
func (mf *membersFile) setTimes(im *journal.Imported) {
	mf.MembershipMs = map[string][]int64{}
	for n, ts := range im.MembershipAt {
		for _, t := range ts {
			mf.MembershipMs[n] = append(mf.MembershipMs[n], t.Milliseconds())
		}
	}
	t := im.Scenario.Cluster.Totem
	eff := t.Token
	if n := len(im.Scenario.Cluster.Nodes); n > 2 {
		eff += time.Duration(n-2) * t.TokenCoefficient
	}
	consensus := cmp.Or(t.Consensus, eff*6/5)
	mf.ToleranceMs = (eff + consensus).Milliseconds()
}

// timing compares when the simulator installed each observed member set
// with when the node did: the largest difference, and the first change
// beyond the tolerance ("" when none is). It is called once the
// sequences are equal.
func timing(mf *membersFile, res *reports.Result) (worst time.Duration, first string) {
	times := map[string][]float64{}
	seqs := journal.Sequences{}
	for _, e := range res.Timeline {
		if e.Event == "membership" {
			before := len(seqs[e.Node])
			seqs.Add(e.Node, e.Members)
			if len(seqs[e.Node]) > before {
				times[e.Node] = append(times[e.Node], e.TMs)
			}
		}
	}
	tol := time.Duration(mf.ToleranceMs) * time.Millisecond
	for _, n := range slices.Sorted(maps.Keys(mf.MembershipMs)) {
		want, seq := mf.MembershipMs[n], mf.Membership[n]
		if len(seq) == 0 || len(want) != len(seq) {
			continue
		}
		// The simulated sequence begins where the observed one does (see
		// journal.Sequences.From).
		off := slices.IndexFunc(seqs[n], func(set []string) bool { return slices.Equal(set, seq[0]) })
		if off < 0 || off+len(want) > len(times[n]) {
			continue
		}
		for j, w := range want {
			d := time.Duration((times[n][off+j] - float64(w)) * float64(time.Millisecond)).Round(time.Millisecond)
			worst = max(worst, d.Abs())
			if first == "" && tol > 0 && d.Abs() > tol {
				first = fmt.Sprintf("%s: change %d (to {%s}) at %v, recorded at %v (%+v, tolerance %v)", n, j+1,
					strings.Join(seq[j], ","), time.Duration(times[n][off+j]*float64(time.Millisecond)).Round(time.Millisecond),
					time.Duration(w)*time.Millisecond, d, tol)
			}
		}
	}
	return worst, first
}

// simulatedVerdicts are the quorum verdicts each node reached in a run.
func simulatedVerdicts(res *reports.Result) journal.Verdicts {
	v := journal.Verdicts{}
	for _, e := range res.Timeline {
		if e.Quorate != nil {
			v.Add(e.Node, *e.Quorate)
		}
	}
	return v
}

// compareObserved compares the run with the sidecar of an imported
// scenario, when there is one of this scenario: it prints whether the
// simulator went through the observed member sets and quorum verdicts
// and, if not, the first difference (membership first). ok is false when they differ and the sidecar is not of a
// what-if scenario.
func compareObserved(path string, res *reports.Result, w io.Writer) (ok bool, err error) {
	side := sidecarPath(path)
	b, err := os.ReadFile(side)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	var mf membersFile
	if err := json.Unmarshal(b, &mf); err != nil {
		return false, fmt.Errorf("%s: %w", side, err)
	}
	if mf.Scenario != res.Scenario {
		return true, nil // another scenario's sidecar
	}
	// The logs begin where they begin (a rotated journal, a cluster's
	// formation): the run is compared from each node's first observed
	// member set on.
	got := simulatedSequences(res).From(mf.Membership)
	d := mf.Membership.Diff(got)
	recorded, simulated := mf.Membership.String(), got.String()
	if d == "" {
		gotQ := simulatedVerdicts(res).From(mf.Quorum)
		d, recorded, simulated = mf.Quorum.Diff(gotQ), mf.Quorum.String(), gotQ.String()
	}
	switch {
	case d == "" && len(mf.MembershipMs) > 0:
		worst, late := timing(&mf, res)
		if late != "" && !mf.WhatIf {
			fmt.Fprintf(w, "\nObserved membership (%s): the same member sets and quorum verdicts, but not in time: first %s\n", side, late)
			return false, nil
		}
		fmt.Fprintf(w, "\nObserved membership (%s): the simulator went through the same member sets and quorum verdicts on every node, each change within %v of the recorded one.\n", side, worst)
		return true, nil
	case d == "":
		fmt.Fprintf(w, "\nObserved membership (%s): the simulator went through the same member sets and quorum verdicts on every node.\n", side)
		return true, nil
	case mf.WhatIf:
		fmt.Fprintf(w, "\nWhat if (%s): the outcome departs from the recorded one first at %s\nrecorded:\n%ssimulated:\n%s", side, d, recorded, simulated)
		return true, nil
	}
	fmt.Fprintf(w, "\nObserved membership (%s): the simulator differs first at %s\nrecorded:\n%ssimulated:\n%s", side, d, recorded, simulated)
	return false, nil
}
