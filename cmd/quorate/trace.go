package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/scenarios/journal"
)

// newTraceCmd groups the commands that work on what real agents recorded.
func newTraceCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "trace",
		Short: "Turn the agents' journals or Corosync logs of an incident into a scenario",
		Args:  exactArgs(0),
	}
	c.AddCommand(newTraceImportCmd())
	return c
}

// membersFile is the sidecar of an imported scenario: the member sets each
// node went through, which the scenario format cannot assert as a
// sequence.
type membersFile struct {
	Scenario   string            `json:"scenario"`
	Start      string            `json:"start"` // wall clock of 0s, RFC 3339
	Membership journal.Sequences `json:"membership"`
	// Quorum is the votequorum verdicts each node went through.
	Quorum journal.Verdicts `json:"quorum,omitempty"`
	// MembershipMs says when (ms from Start) each node installed each set
	// of Membership; ToleranceMs is how far a replay's change may stray
	// from it: the effective token timeout and the consensus timeout, the
	// time Totem takes to notice a silent node (the fault times are
	// estimates, and a node corosync stops cleanly tells its peers at
	// once with a leave message, which the simulator's crash does not).
	MembershipMs map[string][]int64 `json:"membership_ms,omitempty"`
	ToleranceMs  int64              `json:"tolerance_ms,omitempty"`
	Files        []string           `json:"files"`
	Torn         map[string]int     `json:"torn_lines,omitempty"`
	// Clocks says how the nodes' clocks were aligned (Corosync logs).
	Clocks []string `json:"clocks,omitempty"`
	// WhatIf marks the sidecar of a scenario on a changed cluster: quorate
	// run prints where the simulator departs from the recorded sequence
	// but does not fail for it.
	WhatIf bool `json:"what_if,omitempty"`
	// FromFormed says the sequences begin at the cluster's formation, not
	// at each node's start: the comparison cuts the simulated ones alike.
	FromFormed bool `json:"from_formed,omitempty"`
}

func newTraceImportCmd() *cobra.Command {
	var out, members, name string
	var co corosyncFlags
	c := &cobra.Command{
		Use:   "import JOURNAL...|--corosync-conf FILE LOG... [-o scenario.yaml] [--members FILE]",
		Short: "Turn the agents' journals of an incident into a scenario that replays it",
		Long: `Merge the journals of several nodes of one cluster (quorate agent --journal,
default DATA-DIR/journal.jsonl; give a rotated JOURNAL.1 too when the start
record is in it) by wall-clock time and write a scenario for quorate run:
the cluster of the agents' corosync.conf (nodes, votes, links, token, link
mode, quorum options) and faults at the observed relative times: a journal
that ends without a stop record and starts again is a crash and a restart;
a stop and a start are the same; links seen down from both sides become a
switch down, an isolated node, a NIC down, a partition or drops. The
scenario expects every running node's last recorded members and quorum.

The sequence of member sets each node went through goes to --members
(default: next to -o, NAME.members.json), for a test to compare with the
simulator's timeline.

The wall clocks of the nodes are trusted as they are: keep them in sync
(chrony) for the merge to be right.

Exit status: 0 when written, 1 when writing failed, 2 for bad input
(not a journal, a corrupt line in the middle, journals of different
clusters), with file:line.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(errors.New("trace import: give at least one journal file"))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if co.conf != "" || co.whatIf != "" {
				return importCorosync(cmd, args, co, out, members, name)
			}
			var js []*journal.Journal
			mf := membersFile{Files: args, Torn: map[string]int{}}
			for _, a := range args {
				j, err := journal.ReadFile(a)
				if err != nil {
					return badInput(err)
				}
				if j.Torn > 0 {
					mf.Torn[a] = j.Torn
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: skipped %d torn line(s) left by a killed agent\n", a, j.Torn)
				}
				js = append(js, j)
			}
			im, err := journal.Import(js, name)
			if errors.Is(err, journal.ErrInput) {
				return badInput(err)
			} else if err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			mf.Scenario, mf.Start, mf.Membership, mf.Quorum = im.Scenario.Name, im.Start.Format("2006-01-02T15:04:05.999999999Z07:00"), im.Membership, im.Quorum
			mf.setTimes(im)
			if members, err = writeImport(cmd, im.YAML, &mf, out, members); err != nil {
				return err
			}
			w := cmd.ErrOrStderr()
			fmt.Fprintf(w, "%d faults over %s; observed membership:\n%s", len(im.Scenario.Faults), im.Scenario.Duration, im.Membership)
			if out != "" {
				fmt.Fprintf(w, "wrote %s and %s (replay: quorate run %s)\n", out, members, out)
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "out", "o", "", "scenario file to write (default: standard output)")
	c.Flags().StringVar(&members, "members", "", "where to write the observed membership sequences (default: next to -o)")
	c.Flags().StringVar(&name, "name", "", "the scenario's name (default trace-CLUSTER)")
	co.register(c)
	return c
}

// writeImport writes an imported scenario to out (standard output when
// empty) and its observed sequence mf to members, which defaults to OUT
// with .members.json for .yaml when a file is written; it returns the
// sidecar's path ("" when none was written).
func writeImport(cmd *cobra.Command, scenario []byte, mf *membersFile, out, members string) (string, error) {
	if members == "" && out != "" {
		members = strings.TrimSuffix(strings.TrimSuffix(out, ".yaml"), ".yml") + ".members.json"
	}
	if out == "" {
		if _, err := cmd.OutOrStdout().Write(scenario); err != nil {
			return "", &exitError{Code: exitFailed, Err: err}
		}
	} else if err := os.WriteFile(out, scenario, 0o644); err != nil {
		return "", &exitError{Code: exitFailed, Err: err}
	}
	if members != "" {
		b, _ := json.MarshalIndent(mf, "", "  ")
		if err := os.WriteFile(members, append(b, '\n'), 0o644); err != nil {
			return "", &exitError{Code: exitFailed, Err: err}
		}
	}
	return members, nil
}
