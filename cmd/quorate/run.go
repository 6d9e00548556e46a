package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

func newRunCmd() *cobra.Command {
	var (
		seed     uint64
		out      string
		format   string
		statusAt time.Duration
		node     string
		maxMem   string
		strict   bool
	)
	c := &cobra.Command{
		Use:   "run FILE.yaml",
		Short: "Run one scenario in the simulator",
		Long: `Run one scenario in the deterministic simulator and check its expectations.

Exit status: 0 when every expectation and check held, 1 when one failed,
2 when the input is bad (the message names file:line:column and the field).
With --out DIR the run writes DIR/result.json and DIR/trace.jsonl; the trace
replays bit for bit with "quorate replay DIR/trace.jsonl".`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "table" && format != "json" {
				return badInput(fmt.Errorf("--format must be table or json, not %q", format))
			}
			sc, err := scenarios.Load(args[0])
			if err != nil {
				return badInput(err)
			}
			opt := sim.Options{Strict: strict}
			if opt.MaxMemory, err = memoryLimit(maxMem); err != nil {
				return badInput(err)
			}
			if opt.MaxMemory > 0 {
				// The collector works harder as the heap nears the limit,
				// so that garbage does not stop a run that fits.
				debug.SetMemoryLimit(opt.MaxMemory * 9 / 10)
			}
			if cmd.Flags().Changed("status-at") {
				if statusAt < 0 || statusAt > sc.Duration {
					return badInput(fmt.Errorf("--status-at %v is outside the run (0 to %v)", statusAt, sc.Duration))
				}
				opt.StatusAt, opt.StatusSet = statusAt, true
			}
			if node != "" {
				if !cmd.Flags().Changed("status-at") {
					return badInput(errors.New("--node goes with --status-at"))
				}
				if _, ok := sc.NodeByName(node); !ok {
					return badInput(fmt.Errorf("--node %q: no such node (nodes: %s)", node, strings.Join(sc.NodeNames(), ", ")))
				}
				opt.StatusNodes = []string{node}
			}
			effSeed := sc.Seed
			if cmd.Flags().Changed("seed") {
				opt.Seed, opt.SeedSet, effSeed = seed, true, seed
			}
			opt.Command = "quorate run " + args[0] + " --seed " + strconv.FormatUint(effSeed, 10)
			var traceFile *os.File
			if out != "" {
				if err := os.MkdirAll(out, 0o755); err != nil {
					return badInput(fmt.Errorf("--out: %w", err))
				}
				if traceFile, err = os.Create(filepath.Join(out, "trace.jsonl")); err != nil {
					return badInput(fmt.Errorf("--out: %w", err))
				}
				defer traceFile.Close()
				opt.Trace = traceFile
				opt.HistoryHTML = filepath.Join(out, "history.html")
			}
			res, err := sim.Run(sc, opt)
			if err != nil {
				if res == nil {
					return badInput(err)
				}
				return &exitError{Code: exitFailed, Err: err}
			}
			if out != "" {
				if err := writeJSON(filepath.Join(out, "result.json"), res); err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
				if err := traceFile.Sync(); err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else if err := reports.WriteRun(cmd.OutOrStdout(), res); err != nil {
				return err
			}
			// An imported incident: the sequence of member sets the logs
			// recorded (the sidecar beside the file) must be the run's.
			if same, err := compareObserved(args[0], res, cmd.OutOrStdout()); err != nil {
				return badInput(err)
			} else if !same {
				return errFailed
			}
			if !res.OK {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().Uint64Var(&seed, "seed", 0, "override the scenario's seed")
	c.Flags().StringVar(&out, "out", "", "directory for result.json and trace.jsonl")
	c.Flags().StringVar(&format, "format", "table", "report format: table or json")
	c.Flags().DurationVar(&statusAt, "status-at", 0, "print pvecm status at this simulated time (e.g. 30s)")
	c.Flags().BoolVar(&strict, "strict", false, "fail a by/within expectation that held vacuously (already before the fault it follows) instead of warning")
	c.Flags().StringVar(&node, "node", "", "with --status-at: the node whose status to print (default: every node)")
	c.Flags().StringVar(&maxMem, "max-memory", "", "most memory the run may hold, e.g. 4GiB (default: half the machine's memory); a run that would exceed it stops with exit 2")
	return c
}

// memoryLimit reads --max-memory; empty means half of MemTotal.
func memoryLimit(flag string) (int64, error) {
	if flag != "" {
		v, err := scenarios.ParseSize(flag)
		if err != nil {
			return 0, fmt.Errorf("--max-memory: %w", err)
		}
		if v < 64<<20 {
			return 0, fmt.Errorf("--max-memory %s: below the 64MiB a run needs to start", flag)
		}
		return v, nil
	}
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, nil // not Linux: no default limit
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err == nil {
				return kb << 10 / 2, nil
			}
		}
	}
	return 0, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// exactArgs is cobra.ExactArgs with an input-error exit code.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return badInput(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
		}
		return nil
	}
}
