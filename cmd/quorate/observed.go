package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

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
