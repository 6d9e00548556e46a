package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/lab"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// newLabCmd is `quorate lab`: a scenario on real agents in network
// namespaces.
func newLabCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lab",
		Short: "Run a scenario on real agents in network namespaces",
		Long: `Run a scenario on real quorate agents, one network namespace per node and one
bridge per switch, with the faults carried out in wall-clock time by real
mechanisms (bridges and ports down, nftables rules, SIGKILL, the operator
commands), and judge it as the simulator judges a simulated run.

Needs root. Everything the lab creates is named with a run id and removed
on exit, on error and on SIGINT.`,
	}
	c.AddCommand(newLabRunCmd(), newLabDiffCmd())
	return c
}

// labFlags are the flags run and diff share.
type labFlags struct {
	seed   uint64
	out    string
	format string
}

func (f *labFlags) add(c *cobra.Command) {
	c.Flags().Uint64Var(&f.seed, "seed", 0, "override the scenario's seed (it draws cold-start boot delays and the workload)")
	c.Flags().StringVar(&f.out, "out", "", "directory for result.json, history.html, the agents' journals and logs (default: a new temporary directory)")
	c.Flags().StringVar(&f.format, "format", "table", "report format: table or json")
}

// runLab loads the scenario and runs it in the lab.
func (f *labFlags) runLab(cmd *cobra.Command, path string) (*scenarios.Scenario, *reports.Result, error) {
	if f.format != "table" && f.format != "json" {
		return nil, nil, badInput(fmt.Errorf("--format must be table or json, not %q", f.format))
	}
	sc, err := scenarios.Load(path)
	if err != nil {
		return nil, nil, badInput(err)
	}
	if err := sim.Unsupported(sc); err != nil {
		return nil, nil, badInput(err)
	}
	if err := lab.Supported(sc); err != nil {
		return nil, nil, badInput(err)
	}
	opt := lab.Options{Out: f.out, Log: cmd.ErrOrStderr()}
	seed := sc.Seed
	if cmd.Flags().Changed("seed") {
		opt.Seed, opt.SeedSet, seed = f.seed, true, f.seed
	}
	opt.Command = "quorate lab run " + path + " --seed " + strconv.FormatUint(seed, 10)
	if opt.Out == "" {
		d, err := os.MkdirTemp("", "quorate-lab-")
		if err != nil {
			return nil, nil, &exitError{Code: exitFailed, Err: err}
		}
		opt.Out = d
	}
	// A closed pipe on the log or the report must not kill the lab before
	// it has torn down; a hangup stops it as SIGINT does.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	res, err := lab.Run(ctx, sc, opt)
	if err != nil {
		if errors.Is(err, lab.ErrSetup) {
			return nil, nil, badInput(err)
		}
		if ctx.Err() != nil {
			return nil, nil, &exitError{Code: exitFailed, Err: errors.New("lab: interrupted; the agents are stopped and the namespaces removed")}
		}
		return nil, nil, &exitError{Code: exitFailed, Err: err}
	}
	if err := writeJSON(filepath.Join(opt.Out, "result.json"), res); err != nil {
		return nil, nil, &exitError{Code: exitFailed, Err: err}
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "lab: result, journals and logs in %s\n", opt.Out)
	return sc, res, nil
}

func newLabRunCmd() *cobra.Command {
	var (
		f         labFlags
		compare   bool
		tolerance float64
	)
	c := &cobra.Command{
		Use:   "run FILE.yaml [--seed N] [--out DIR]",
		Short: "Run a scenario on real agents and check its expectations",
		Long: `Run a scenario on real agents in network namespaces and check its
expectations and the simulator's checks against what the agents' journals and
admin sockets report. The seed draws what it draws in the simulator (cold-start
boot delays, the kv workload); the run itself is real and not repeatable.

Exit status: 0 when every expectation and check held, 1 when one failed or the
lab broke down, 2 for bad input, a scenario the lab cannot carry out, or a
machine where the lab cannot run (not root, no kernel support).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if compare {
				return runDiff(cmd, &f, args[0], tolerance)
			}
			_, res, err := f.runLab(cmd, args[0])
			if err != nil {
				return err
			}
			if err := printResult(cmd, f.format, res); err != nil {
				return err
			}
			if !res.OK {
				return errFailed
			}
			return nil
		},
	}
	f.add(c)
	c.Flags().BoolVar(&compare, "compare", false, "run the simulator beside the lab and print both side by side, as lab diff does")
	c.Flags().Float64Var(&tolerance, "tolerance", 0.2, "with --compare: largest relative difference of a timing")
	return c
}

func printResult(cmd *cobra.Command, format string, res *reports.Result) error {
	if format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "Lab run: real agents; seed %d drew the schedule (a lab run is not repeatable).\n", res.Seed)
	return reports.WriteRun(cmd.OutOrStdout(), res)
}

func newLabDiffCmd() *cobra.Command {
	var (
		f         labFlags
		tolerance float64
	)
	c := &cobra.Command{
		Use:   "diff FILE.yaml [--seed N] [--tolerance 0.2]",
		Short: "Run a scenario in the lab and in the simulator, side by side",
		Long: `Run a scenario on real agents and in the simulator with the same seed, and
print side by side the membership sequence, the quorum verdicts over time, the
link detection, failover and recovery times and the store figures, with the
difference of each figure.

Exit status: 0 when the membership sequences agree and every timing is within
--tolerance (a fraction, default 0.2) of the simulator's, 1 when not, 2 for bad
input or a machine where the lab cannot run.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDiff(cmd, &f, args[0], tolerance)
		},
	}
	f.add(c)
	c.Flags().Float64Var(&tolerance, "tolerance", 0.2, "largest relative difference of a timing (lab against simulator)")
	return c
}

// runDiff runs the scenario in the lab and in the simulator and prints
// them side by side.
func runDiff(cmd *cobra.Command, f *labFlags, path string, tolerance float64) error {
	if tolerance < 0 {
		return badInput(fmt.Errorf("--tolerance %g: want a fraction of at least 0", tolerance))
	}
	sc, labRes, err := f.runLab(cmd, path)
	if err != nil {
		return err
	}
	opt := sim.Options{Seed: labRes.Seed, SeedSet: true}
	simRes, err := sim.Run(sc, opt)
	if err != nil {
		return &exitError{Code: exitFailed, Err: err}
	}
	if f.out != "" {
		if err := writeJSON(filepath.Join(f.out, "sim-result.json"), simRes); err != nil {
			return &exitError{Code: exitFailed, Err: err}
		}
	}
	d := lab.Compare(simRes, labRes, tolerance)
	if f.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else if err := d.Write(cmd.OutOrStdout()); err != nil {
		return err
	}
	if !d.Agree {
		return errFailed
	}
	return nil
}
