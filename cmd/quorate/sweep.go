package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/sweep"
)

func newSweepCmd() *cobra.Command {
	var (
		seeds    string
		parallel int
		shard    string
		base     int
		failExit int
		varies   []string
		out      string
		format   string
	)
	c := &cobra.Command{
		Use:   "sweep FILE.yaml --seeds 1-1000",
		Short: "Run one scenario over many seeds and a grid of parameter values",
		Long: `Run one scenario at every seed of --seeds (ranges and lists: 1-200, 1,5,9,
1-10,20-30), on --parallel workers, each running whole simulations. Results
are reported in seed order, so the summary does not depend on --parallel.

--vary key=v1,v2 (repeatable) sweeps a grid: every combination of one value
per key, each the scenario with those YAML values replaced, e.g.
  --vary cluster.totem.token=1000ms,3000ms --vary network.links[0].latency.value=1ms,5ms
Every seed runs at every grid point. --vary cluster.nodes=3,5,7 sets the
node count: the file's first nodes, then new ones numbered on.

--shard I/N runs only the seeds whose position p in the list has
p % N == I-1, so that N machines cover the list once; "quorate merge" combines
their sweep.json files into the summary of the whole sweep. --shard-base 0
numbers the shards from 0 (0/N .. N-1/N), as a Kubernetes Indexed Job's
JOB_COMPLETION_INDEX does. A shard prints its wall time and seeds/hour, and
records them in sweep.json, to size N.

--out DIR writes DIR/summary.txt (the table without wall times and trace
paths: merged shards write the same bytes as the unsharded sweep),
DIR/sweep.json (every run's figures: membership changes,
formation, quorate share, store write latency; see docs/scenarios.md), DIR/points/<point>.yaml
(the varied scenarios) and, for every failing run, the trace of a re-run in
DIR/failures/<point>-seed<N>/trace.jsonl.

Exit status: 0 when every run passed, 1 when one failed (or
--failed-exit-code), 2 for bad input.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format must be table or json, not %q", format))
			}
			if !cmd.Flags().Changed("seeds") {
				return badInput(errors.New("sweep: --seeds is required (e.g. --seeds 1-100)"))
			}
			cfg := sweep.Config{File: args[0], Parallel: parallel, Out: out}
			var err error
			if cfg.Seeds, err = sweep.ParseSeeds(seeds); err != nil {
				return badInput(err)
			}
			if failExit < 0 || failExit > 125 {
				return badInput(fmt.Errorf("--failed-exit-code %d: want an exit status 0 to 125", failExit))
			}
			if parallel < 1 {
				return badInput(fmt.Errorf("--parallel %d: need at least 1 worker", parallel))
			}
			if shard != "" {
				if cfg.Shard, err = sweep.ParseShardFrom(shard, base); err != nil {
					return badInput(err)
				}
			}
			for _, v := range varies {
				vy, err := sweep.ParseVary(v)
				if err != nil {
					return badInput(err)
				}
				cfg.Vary = append(cfg.Vary, vy)
			}
			points := 1
			for _, v := range cfg.Vary {
				points *= len(v.Values)
			}
			total := points * len(cfg.Shard.Seeds(cfg.Seeds))
			prog := sweep.NewProgress(os.Stderr, total, isTerminal(os.Stderr))
			cfg.Progress = prog.Update
			sw, err := sweep.Run(cfg)
			if err != nil {
				if sweep.IsInputError(err) {
					return badInput(err)
				}
				return &exitError{Code: exitFailed, Err: err}
			}
			prog.Finish(len(sw.Runs), sw.Parallel)
			if !cfg.Shard.Whole() {
				sweep.WriteTiming(os.Stderr, sw.Timing)
			}
			err = report(cmd.OutOrStdout(), sweep.Summarize(sw), format)
			if err == errFailed && failExit != exitFailed {
				if failExit == exitOK {
					return nil
				}
				return &exitError{Code: failExit, Err: fmt.Errorf("runs failed (exit status %d by --failed-exit-code)", failExit)}
			}
			return err
		},
	}
	c.Flags().StringVar(&seeds, "seeds", "", "seeds to run: ranges and lists, e.g. 1-1000 or 1-10,20,30-40 (required)")
	c.Flags().IntVar(&parallel, "parallel", runtime.GOMAXPROCS(0), "worker goroutines, each running whole simulations")
	c.Flags().StringVar(&shard, "shard", "", "run only shard I of N of the seeds (I/N, 1-based); merge the shards with quorate merge")
	c.Flags().IntVar(&base, "shard-base", 1, "number of the first shard in --shard: 1, or 0 for a Kubernetes JOB_COMPLETION_INDEX")
	c.Flags().IntVar(&failExit, "failed-exit-code", exitFailed, "exit status when a run fails; 0 for batch jobs (Kubernetes, Slurm) whose failing runs are results for quorate merge, not job failures")
	c.Flags().StringArrayVar(&varies, "vary", nil, "key=v1,v2,...: sweep a scenario key over YAML values (repeatable: a grid)")
	c.Flags().StringVar(&out, "out", "", "directory for sweep.json, summary.txt, points/ and failures/")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	return c
}

// report prints the summary and turns a failed run into exit status 1.
func report(w io.Writer, s *sweep.Summary, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return err
		}
	} else if err := sweep.WriteTable(w, s, true); err != nil {
		return err
	}
	if !s.OK() {
		return errFailed
	}
	return nil
}

// isTerminal reports whether f is a character device (a terminal), where a
// redrawn progress bar belongs; pipes and files get plain lines.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
