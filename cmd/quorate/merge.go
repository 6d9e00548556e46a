package main

import (
	"fmt"
	"path/filepath"

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
--out DIR writes the merged DIR/sweep.json.

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
				if err := merged.WriteFile(filepath.Join(out, "sweep.json")); err != nil {
					return &exitError{code: exitFailed, err: err}
				}
			}
			return report(cmd.OutOrStdout(), sweep.Summarize(merged), format)
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory for the merged sweep.json")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	return c
}
