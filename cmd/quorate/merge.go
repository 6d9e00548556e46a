package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/sweep"
)

func newMergeCmd() *cobra.Command {
	var (
		out    string
		format string
	)
	c := &cobra.Command{
		Use:   "merge DIR1/sweep.json DIR2/sweep.json ...",
		Short: "Combine the sweep.json files of sharded sweeps into one summary",
		Long: `Combine the sweep.json files that "quorate sweep --shard I/N --out DIR" wrote
on several machines and print the summary the unsharded sweep prints. The
files must be of the same scenario file and grid and cover every seed
exactly once; overlapping or missing seeds are an error that names them.
An argument with * ? or [ that names no file is a pattern quorate expands
itself, as a shell would (for containers without one):
  quorate merge '/results/shard-*/sweep.json'
--out DIR writes the merged DIR/sweep.json and DIR/summary.txt, which is
byte for byte the unsharded sweep's summary.txt. The shards' wall times and
seeds/hour go to stderr.

Exit status: 0 when every run passed, 1 when one failed, 2 for bad input.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return badInput(fmt.Errorf("%s: give the sweep.json files to merge", cmd.CommandPath()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format must be table or json, not %q", format))
			}
			args, err := expandPatterns(args)
			if err != nil {
				return badInput(err)
			}
			var parts []*sweep.Sweep
			for _, a := range args {
				p, err := sweep.ReadFile(a)
				if err != nil {
					return badInput(err)
				}
				parts = append(parts, p)
			}
			merged, err := sweep.Merge(parts, args)
			if err != nil {
				return badInput(err)
			}
			if out != "" {
				if err := merged.WriteResults(out); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			sweep.WriteTiming(cmd.ErrOrStderr(), merged.Timing)
			return report(cmd.OutOrStdout(), sweep.Summarize(merged), format)
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory for the merged sweep.json and summary.txt")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	return c
}

// expandPatterns replaces each argument that contains a glob character and
// names no file by the files it matches, sorted; a pattern matching
// nothing is an error.
func expandPatterns(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.ContainsAny(a, "*?[") {
			out = append(out, a)
			continue
		}
		if _, err := os.Stat(a); err == nil {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(a)
		if err != nil {
			return nil, fmt.Errorf("%s: bad pattern: %w", a, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("%s: no file matches the pattern", a)
		}
		out = append(out, m...)
	}
	return out, nil
}
