package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/sim"
)

func newReplayCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "replay TRACE.jsonl",
		Short: "Re-run a recorded trace and verify it reproduces bit for bit",
		Long: `Re-run the scenario and seed embedded in a trace and compare the new trace
with the recorded one, line by line and by final SHA-256.

Exit status: 0 when the replay matches, 1 when it diverges (the first
differing line is printed), 2 when the file is not a replayable trace.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rp, err := sim.ReplayFile(args[0])
			if err != nil {
				return badInput(err)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "scenario %s  seed %d  %d lines\n", rp.Result.Scenario, rp.Result.Seed, rp.Lines)
			fmt.Fprintf(w, "recorded sha256 %s\n", rp.RecordedHash)
			fmt.Fprintf(w, "replayed sha256 %s\n", rp.Result.TraceSHA256)
			if !rp.Match {
				if rp.Divergence != "" {
					fmt.Fprintf(w, "first divergence: %s\n", rp.Divergence)
				}
				fmt.Fprintln(w, "MISMATCH: the replay does not reproduce the recorded trace")
				return errFailed
			}
			fmt.Fprintln(w, "OK: the replay reproduces the recorded trace")
			return nil
		},
	}
}
