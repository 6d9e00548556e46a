package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/scenarios/corolog"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// corosyncFlags are trace import's flags for Corosync's own logs.
type corosyncFlags struct {
	conf, whatIf, tz string
	year             int
	trustClocks      bool
}

func (co *corosyncFlags) register(c *cobra.Command) {
	c.Flags().StringVar(&co.conf, "corosync-conf", "", "the cluster's corosync.conf: read the arguments as Corosync logs (logfile, syslog, journalctl -o short/short-precise/short-iso)")
	c.Flags().StringVar(&co.whatIf, "what-if", "", "a changed corosync.conf: replay the same faults on that cluster instead (with --corosync-conf)")
	c.Flags().IntVar(&co.year, "year", 0, "the year of timestamps that have none (default: this year)")
	c.Flags().StringVar(&co.tz, "tz", "UTC", "the zone of timestamps that have none (e.g. Europe/Vienna, Local)")
	c.Flags().BoolVar(&co.trustClocks, "trust-clocks", false, "take the clock of a node that shares no membership with the others as it is")
	c.Long += `

With --corosync-conf FILE the arguments are Corosync 3 logs instead:
corosync's logfile (with or without timestamp: hires), syslog, or
journalctl -u corosync -u pve-cluster in the short, short-precise or
short-iso output; one file per node or one journal of several hosts
(pmxcfs's lines are read where present). Each log's node is recognised
from its own lines (its link addresses, knet's start-up, its hostname,
the file name), the nodes' clocks are aligned on the memberships they all
logged ("A new membership (R) was formed") and the alignment is printed.
knet's link changes become switch, NIC, partition and drop faults;
a node that stops logging and starts up again a crash and restart (a
stop when it logged its shutdown); Totem's retransmissions and knet's
one-sided link-downs a loss rate; expected-vote changes set_expected.
quorate run on the scenario compares the simulator's member sets, quorum
verdicts and change times with the sidecar's and says where they first
differ.

--what-if CHANGED.conf writes the same incident on the cluster of another
corosync.conf (a second link, another token, a quorum device, a node
fewer): the same faults at the same times, no expectations, and a sidecar
marked what_if, so that quorate run shows where the outcome departs from
the recorded one without failing for it.`
}

// importCorosync is trace import --corosync-conf.
func importCorosync(cmd *cobra.Command, args []string, co corosyncFlags, out, members, name string) error {
	if co.conf == "" {
		return badInput(errors.New("trace import: --what-if goes with --corosync-conf (the configuration the cluster ran with)"))
	}
	loc, err := time.LoadLocation(co.tz)
	if err != nil {
		return badInput(fmt.Errorf("--tz %q: %w", co.tz, err))
	}
	year := co.year
	if year == 0 {
		year = time.Now().Year()
	}
	conf, err := loadIncidentConf(co.conf)
	if err != nil {
		return err
	}
	opt := corolog.ImportOptions{Name: name, TrustClocks: co.trustClocks}
	if co.whatIf != "" {
		if opt.WhatIf, err = loadIncidentConf(co.whatIf); err != nil {
			return err
		}
	}
	var logs []*corolog.Log
	for _, a := range args {
		lg, err := corolog.ReadFile(a, corolog.Options{Year: year, Location: loc})
		if err != nil {
			return badInput(err)
		}
		logs = append(logs, lg)
	}
	in, err := corolog.Import(conf, logs, opt)
	if errors.Is(err, corolog.ErrInput) || errors.Is(err, journal.ErrInput) {
		return badInput(err)
	} else if err != nil {
		return &exitError{Code: exitFailed, Err: err}
	}
	mf := membersFile{Files: args, Scenario: in.Scenario.Name, Start: in.Start.Format("2006-01-02T15:04:05.999999999Z07:00"),
		Membership: in.Membership, Quorum: in.Quorum, WhatIf: opt.WhatIf != nil, FromFormed: in.FromFormed}
	mf.setTimes(in.Imported)
	for _, c := range in.Clocks {
		mf.Clocks = append(mf.Clocks, c.String())
	}
	members, err = writeImport(cmd, in.YAML, &mf, out, members)
	if err != nil {
		return err
	}
	w := cmd.ErrOrStderr()
	fmt.Fprintf(w, "nodes:\n")
	for _, n := range in.Scenario.NodeNames() {
		how := in.Nodes[n]
		if len(how) == 0 {
			how = []string{"no log: assumed up throughout"}
		}
		fmt.Fprintf(w, "  %s: %s\n", n, strings.Join(how, " and "))
	}
	fmt.Fprintf(w, "clocks:\n")
	for _, c := range in.Clocks {
		fmt.Fprintf(w, "  %s\n", c)
	}
	for _, n := range in.Notes {
		fmt.Fprintf(w, "%s\n", n)
	}
	for _, l := range in.Loss {
		fmt.Fprintf(w, "%s\n", l)
	}
	fmt.Fprintf(w, "%d faults over %s; observed membership:\n%s", len(in.Scenario.Faults), in.Scenario.Duration, in.Membership)
	if out != "" {
		fmt.Fprintf(w, "wrote %s and %s (replay: quorate run %s)\n", out, members, out)
	}
	return nil
}

// loadIncidentConf reads a corosync.conf; its problems are bad input.
func loadIncidentConf(path string) (*corosyncconf.Config, error) {
	c, err := corosyncconf.Load(path)
	if err != nil {
		return nil, badInput(err)
	}
	return c, nil
}
