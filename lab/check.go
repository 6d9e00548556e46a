package lab

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios"
)

// Check says why the lab cannot run here, or nil: it needs root (it
// creates network namespaces, bridges, veth pairs and nftables tables), a
// kernel that allows all of these, and the quorate binary for the agents.
// It probes the kernel by building a namespace with a bridge, a veth pair
// and a table, and removes them again.
func Check(binary string) error {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (the lab creates network namespaces, bridges, veth pairs and nftables tables; run it with sudo)")
	}
	if binary != "" {
		if st, err := os.Stat(binary); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("the agent binary %s (build it with go build ./cmd/quorate)", binary))
		}
	}
	if len(missing) == 0 {
		if err := probe(); err != nil {
			missing = append(missing, err.Error())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrSetup, strings.Join(missing, "; "))
	}
	return nil
}

// probe builds and removes a one-node fabric with a firewall table.
func probe() error {
	id := fmt.Sprintf("probe%d", os.Getpid())
	f := &fabric{id: id, links: []int{0}, switches: []string{"probe"}, swOf: map[int]int{0: 0}}
	defer f.teardown()
	if err := f.build(1); err != nil {
		return fmt.Errorf("kernel support for network namespaces, bridges and veth pairs (%v)", err)
	}
	fw := &firewall{table: tableName(id), ns: f.nodeNS}
	c := newCuts(1, []int{0})
	c.loss[lossKey{0, 0}] = 0.5
	if err := fw.render(c); err != nil {
		return fmt.Errorf("kernel support for nftables with numgen (nf_tables; %v)", err)
	}
	return nil
}

// Supported returns an input error for every part of sc the lab cannot
// carry out by a real mechanism, so that a lab run never passes by
// silently skipping a fault.
func Supported(sc *scenarios.Scenario) error {
	var errs scenarios.ErrorList
	bad := func(pos scenarios.Position, field, msg string) {
		errs = append(errs, &scenarios.Error{Pos: pos, Field: field, Msg: msg})
	}
	for i, f := range sc.Faults {
		switch f.Action {
		case "set_latency":
			bad(f.Pos, fmt.Sprintf("faults[%d].action", i), "set_latency is not carried out by the lab yet (the agents' transport has a delay hook, but no way to set it from outside)")
		case "qnetd_down", "qnetd_up":
			bad(f.Pos, fmt.Sprintf("faults[%d].action", i), f.Action+" needs a quorum device, which the lab does not run yet")
		}
	}
	if sc.Cluster.Quorum.Device != nil {
		bad(scenarios.Position{File: sc.Path}, "cluster.quorum.device", "the lab does not run a qnetd yet")
	}
	for _, l := range sc.Network.Links {
		if d := meanLatency(l.Latency); d > maxLabLatency {
			bad(l.Pos, fmt.Sprintf("network.links[%d].latency", l.Number),
				fmt.Sprintf("a latency of %v is more than the lab's veth pairs have (it adds none; up to %v is taken as the veth's own)", d, maxLabLatency))
		}
		if l.Duplicate > 0 {
			bad(l.Pos, fmt.Sprintf("network.links[%d].duplicate", l.Number), "packet duplication is not carried out by the lab")
		}
	}
	if w := sc.Workload; w != nil && w.Kind == "multicast" && w.Size > 0 && w.Size < loadHeaderLen {
		bad(scenarios.Position{File: sc.Path}, "workload.size", fmt.Sprintf("the agents' load messages have at least %d bytes", loadHeaderLen))
	}
	if w := sc.Workload; w != nil && len(w.Guests) > 0 {
		bad(scenarios.Position{File: sc.Path}, "workload.guests", "guests are not run by the lab")
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// maxLabLatency is the largest link latency the lab accepts without
// adding any: a veth pair through a bridge takes some tens of
// microseconds, and a scenario's sub-millisecond LAN latency changes no
// timer of Totem or knet that the lab measures.
const maxLabLatency = time.Millisecond

// meanLatency is a distribution's mean (its median for lognormal).
func meanLatency(d scenarios.Distribution) time.Duration {
	switch d.Dist {
	case "constant":
		return d.Value
	case "uniform":
		return (d.Min + d.Max) / 2
	case "normal", "exponential":
		return d.Mean
	case "lognormal":
		return d.Median
	case "pareto":
		if d.Alpha > 1 {
			return time.Duration(float64(d.Min) * d.Alpha / (d.Alpha - 1))
		}
		return time.Hour
	}
	return 0
}
