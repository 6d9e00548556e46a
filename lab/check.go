package lab

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quorate/quorate/netmodel"
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
	if d := sc.Cluster.Quorum.Device; d != nil && meanLatency(d.Latency) > maxQnetdLatency {
		bad(scenarios.Position{File: sc.Path}, "cluster.quorum.device.latency",
			fmt.Sprintf("a latency of %v to qnetd is not added by the lab (up to %v is taken as the veth's own)", meanLatency(d.Latency), maxQnetdLatency))
	}
	for _, l := range sc.Network.Links {
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
	for i, f := range sc.Faults {
		if f.When != nil {
			bad(f.Pos, fmt.Sprintf("faults[%d].when", i), "faults fired by a protocol state (when:) are run by the simulator only")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// maxLabLatency is the link latency under which the lab adds none: a
// veth pair through a bridge takes some tens of microseconds, and a
// sub-millisecond LAN latency changes no timer of Totem or knet.
const maxLabLatency = time.Millisecond

// maxQnetdLatency is the largest latency to qnetd the lab accepts without
// adding any: the qdevice's timers are seconds.
const maxQnetdLatency = 10 * time.Millisecond

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

// netMean is a network-model distribution's mean (median for lognormal).
func netMean(d netmodel.Dist) time.Duration {
	switch d.Kind {
	case netmodel.DistConstant:
		return d.Value
	case netmodel.DistUniform:
		return (d.Min + d.Max) / 2
	case netmodel.DistNormal, netmodel.DistExponential:
		return d.Mean
	case netmodel.DistLogNormal:
		return d.Median
	case netmodel.DistPareto:
		if d.Alpha > 1 {
			return time.Duration(float64(d.Min) * d.Alpha / (d.Alpha - 1))
		}
		return time.Hour
	}
	return 0
}
