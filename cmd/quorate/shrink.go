package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/sweep"
)

func newShrinkCmd() *cobra.Command {
	var (
		seed uint64
		out  string
	)
	c := &cobra.Command{
		Use:   "shrink FILE.yaml --seed N [--out SMALL.yaml]",
		Short: "Minimise a failing scenario: drop faults and shorten the run while it still fails",
		Long: `Re-run a scenario that fails on a seed with one fault left out at a time,
keeping every removal after which the run still fails the same way (the
same entry of the expect list, or the same check with the same kind of
counterexample), then halve the time after the last fault while it still
fails. The smallest scenario goes to --out (or standard output): a
reproducer for a regression suite that loads from any directory. A
corosync.conf the scenario names is copied beside --out as
NAME.corosync.conf (on standard output, named by its absolute path).

Exit status: 0 when a failing scenario was shrunk, 2 for bad input or a
scenario that does not fail on that seed.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("seed") {
				return badInput(errors.New("--seed is required: the seed the scenario fails on"))
			}
			src, err := os.ReadFile(args[0])
			if err != nil {
				return badInput(err)
			}
			res, err := sweep.Shrink(args[0], src, seed, nil)
			if err != nil {
				return badInput(err)
			}
			w := cmd.ErrOrStderr()
			fmt.Fprintf(w, "faults %d -> %d, duration %v -> %v, %d runs\nstill fails: %s (%s)\n",
				res.Faults[0], res.Faults[1], res.Duration[0], res.Duration[1], res.Runs, res.ID, res.Failure)
			if out == "" {
				// Standard output holds one file: the corosync.conf stays
				// where it is, named by its absolute path.
				src := res.Source
				if res.CorosyncConf != nil {
					abs, err := filepath.Abs(res.ConfPath)
					if err != nil {
						return badInput(err)
					}
					if src, err = res.SelfContained(abs); err != nil {
						return err
					}
				}
				_, err = cmd.OutOrStdout().Write(src)
				return err
			}
			src, conf := res.Source, ""
			if res.CorosyncConf != nil {
				conf = strings.TrimSuffix(filepath.Base(out), filepath.Ext(out)) + ".corosync.conf"
				if src, err = res.SelfContained(conf); err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(filepath.Dir(out), conf), res.CorosyncConf, 0o644); err != nil {
					return badInput(err)
				}
			}
			if err := os.WriteFile(out, src, 0o644); err != nil {
				return badInput(err)
			}
			if conf != "" {
				fmt.Fprintf(w, "wrote %s and its corosync.conf %s beside it\n", out, filepath.Join(filepath.Dir(out), conf))
			}
			fmt.Fprintf(w, "wrote %s (reproduce: quorate run %s --seed %d)\n", out, out, seed)
			return nil
		},
	}
	c.Flags().Uint64Var(&seed, "seed", 0, "the seed the scenario fails on")
	c.Flags().StringVar(&out, "out", "", "where to write the smallest scenario (default: standard output)")
	return c
}
