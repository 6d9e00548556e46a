package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/regress"
)

func newRegressCmd() *cobra.Command {
	var (
		junit    string
		parallel int
	)
	c := &cobra.Command{
		Use:   "regress DIR",
		Short: "Run a directory of regression cases against their recorded outcomes",
		Long: `Run every regression case in DIR and compare it with its recorded outcome.

A trace (*.jsonl, a recorded trace.jsonl) passes when its replay reproduces
the recorded hash; a mismatch reports the first divergence. A scenario
(*.yaml) is run; its recorded outcome is in the sidecar NAME.expect: a line
"ok" or "fail", for "fail" optionally followed by a line with a substring the
failure must contain (no sidecar means "ok"). A scenario recorded as failing
that now passes is a regression too.

Exit status: 0 when every case matches its recorded outcome, 1 when any
differs, 2 for bad input (DIR missing, a case that cannot be read).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if parallel < 1 {
				return badInput(fmt.Errorf("--parallel %d: need at least 1 worker", parallel))
			}
			cases, err := regress.Discover(args[0])
			if err != nil {
				return badInput(err)
			}
			outcomes := regress.Run(cases, parallel)
			if err := regress.WriteTable(cmd.OutOrStdout(), outcomes); err != nil {
				return err
			}
			if junit != "" {
				if err := writeJUnitFile(junit, outcomes); err != nil {
					return badInput(fmt.Errorf("--junit: %w", err))
				}
			}
			s := regress.Summarize(outcomes)
			if s.Errors > 0 {
				for _, o := range outcomes {
					if o.Err != nil {
						return badInput(o.Err)
					}
				}
				return badInput(errors.New("unreadable case"))
			}
			if s.Failed > 0 {
				return errFailed
			}
			return nil
		},
	}
	c.Flags().StringVar(&junit, "junit", "", "also write a JUnit XML report to this file")
	c.Flags().IntVar(&parallel, "parallel", runtime.GOMAXPROCS(0), "cases run at once")
	return c
}

func writeJUnitFile(path string, outcomes []regress.Outcome) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := regress.WriteJUnit(f, outcomes); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
