package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/sweep"
)

func newMergeCmd() *cobra.Command {
	var (
		out    string
		format string
		wait   time.Duration
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

--wait D keeps trying for up to D while files or seeds are missing (shards
still running): a merge started beside the shards, e.g. as a Kubernetes
Job, then merges when the last one is written.

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
			merged, err := mergeWhenComplete(cmd.ErrOrStderr(), args, wait)
			if err != nil {
				return badInput(err)
			}
			if out != "" {
				if err := merged.WriteResults(out); err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
			}
			sweep.WriteTiming(cmd.ErrOrStderr(), merged.Timing)
			return report(cmd.OutOrStdout(), sweep.Summarize(merged), format)
		},
	}
	c.Flags().StringVar(&out, "out", "", "directory for the merged sweep.json and summary.txt")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	c.Flags().DurationVar(&wait, "wait", 0, "wait up to this long (e.g. 24h) for missing shard files and seeds")
	return c
}

// mergePoll is how often --wait looks at the files again.
var mergePoll = 2 * time.Second

// mergeWhenComplete expands, reads and merges the files; with wait > 0 it
// tries again while the only problem is what running shards have not
// written yet, saying on w what it waits for.
func mergeWhenComplete(w io.Writer, args []string, wait time.Duration) (*sweep.Sweep, error) {
	deadline := time.Now().Add(wait)
	var last string
	for {
		merged, err := mergeFiles(args)
		var inc *sweep.IncompleteError
		missing := errors.As(err, &inc) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, errNoMatch)
		if err == nil || !missing || wait <= 0 || time.Now().After(deadline) {
			return merged, err
		}
		if msg := err.Error(); msg != last {
			fmt.Fprintf(w, "merge: waiting until %s for the shards: %v\n", deadline.Format(time.RFC3339), err)
			last = msg
		}
		time.Sleep(mergePoll)
	}
}

func mergeFiles(args []string) (*sweep.Sweep, error) {
	files, err := expandPatterns(args)
	if err != nil {
		return nil, err
	}
	var parts []*sweep.Sweep
	for _, f := range files {
		p, err := sweep.ReadFile(f)
		if err != nil {
			return nil, err
		}
		parts = append(parts, p)
	}
	return sweep.Merge(parts, files)
}

var errNoMatch = errors.New("no file matches the pattern")

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
			return nil, fmt.Errorf("%s: %w", a, errNoMatch)
		}
		out = append(out, m...)
	}
	return out, nil
}
