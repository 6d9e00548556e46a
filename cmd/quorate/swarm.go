package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sweep"
)

func newSwarmCmd() *cobra.Command {
	var (
		families []string
		seeds    string
		parallel int
		shard    string
		out      string
		format   string
		guided   bool
		round    int
	)
	c := &cobra.Command{
		Use:   "swarm --seeds 1-100000 [--family F]",
		Short: "Run random clusters under random faults over many seeds; shrink every failure into a regression case",
		Long: `Run the random scenario families over many seeds. Each seed draws a whole
scenario: the cluster (2-16 nodes, votes, 1-3 links with priorities and a
link mode, Totem timers, two_node, wait_for_all, last_man_standing,
auto_tie_breaker, a quorum device, latency and loss, a workload) and a fault
schedule of its family. The checks are the simulator's (total order, virtual
synchrony, liveness; linearizability and no lost acknowledged write for the
store family). Families: ` + strings.Join(scenarios.Families, ", ") + `.

--family F (repeatable, or a comma list) runs only those families; every
family by default. --seeds, --parallel and --shard I/N are as for
"quorate sweep", and "quorate merge" combines the sweep.json files of the
shards.

--out DIR writes DIR/sweep.json and, for every failing seed,
DIR/failures/<family>-seed<N>/ (the drawn scenario, its trace, result.json)
and, shrunk with the rules of "quorate shrink", the regression case
DIR/regress/<family>-seed<N>.yaml with its .expect (fail and the failing
check) and .jsonl (its trace): "quorate regress DIR/regress" runs them.

--guided weights the draws toward the coverage cells (fault kind x Totem x
quorum x store state) the swarm has not reached yet: which fault kinds a
schedule draws, which protocol states and events fire them (when:), and a
quorum device where qnetd outages are still to cover. It draws in rounds of
--round seeds (default 5; the first round is the plain draw): every run of
a round is drawn against the coverage of the rounds before it, so the scenarios and the results are the
same whatever --parallel is. A guided run depends on the runs before it:
its written scenario reproduces it (quorate run), or the whole swarm does.
With --shard, each shard guides itself from its own runs.

Exit status: 0 when every run passed, 1 when one failed, 2 for bad input.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format must be table or json, not %q", format))
			}
			if !cmd.Flags().Changed("seeds") {
				return badInput(errors.New("swarm: --seeds is required (e.g. --seeds 1-100000)"))
			}
			cfg := sweep.SwarmConfig{Parallel: parallel, Out: out, Guided: guided}
			if cmd.Flags().Changed("round") {
				if !guided {
					return badInput(errors.New("--round: rounds are for a guided swarm; add --guided"))
				}
				if round < 1 {
					return badInput(fmt.Errorf("--round %d: a round is at least 1 seed", round))
				}
				cfg.Round = round
			}
			for _, f := range families {
				for _, name := range strings.Split(f, ",") {
					name = strings.TrimSpace(name)
					if !slices.Contains(scenarios.Families, name) {
						return badInput(fmt.Errorf("--family %q: unknown family (families: %s)", name, strings.Join(scenarios.Families, ", ")))
					}
					if !slices.Contains(cfg.Families, name) {
						cfg.Families = append(cfg.Families, name)
					}
				}
			}
			var err error
			if cfg.Seeds, err = sweep.ParseSeeds(seeds); err != nil {
				return badInput(err)
			}
			if parallel < 1 {
				return badInput(fmt.Errorf("--parallel %d: need at least 1 worker", parallel))
			}
			if shard != "" {
				if cfg.Shard, err = sweep.ParseShard(shard); err != nil {
					return badInput(fmt.Errorf("--shard: %w", err))
				}
			}
			fams := max(len(cfg.Families), len(scenarios.Families)*boolInt(len(cfg.Families) == 0))
			prog := sweep.NewProgress(os.Stderr, fams*len(cfg.Shard.Seeds(cfg.Seeds)), isTerminal(os.Stderr))
			cfg.Progress = prog.Update
			sw, err := sweep.Swarm(cfg)
			if err != nil {
				if sweep.IsInputError(err) {
					return badInput(err)
				}
				return &exitError{Code: exitFailed, Err: err}
			}
			prog.Finish(len(sw.Runs), sw.Parallel)
			return report(cmd.OutOrStdout(), sweep.Summarize(sw), format)
		},
	}
	c.Flags().StringArrayVar(&families, "family", nil, "run only this family (repeatable or a comma list): "+strings.Join(scenarios.Families, ", "))
	c.Flags().StringVar(&seeds, "seeds", "", "seeds to run: ranges and lists, e.g. 1-100000 or 1-10,20 (required)")
	c.Flags().IntVar(&parallel, "parallel", runtime.GOMAXPROCS(0), "worker goroutines, each running whole simulations")
	c.Flags().StringVar(&shard, "shard", "", "run only shard I of N of the seeds (I/N, 1-based); merge the shards with quorate merge")
	c.Flags().StringVar(&out, "out", "", "directory for sweep.json, failures/ and regress/")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	c.Flags().BoolVar(&guided, "guided", false, "weight the draws toward the coverage cells not reached yet, in rounds")
	c.Flags().IntVar(&round, "round", sweep.DefaultRound, "with --guided: seeds drawn against one coverage state")
	return c
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
