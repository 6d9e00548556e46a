package scenarios

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Families of random scenarios for seed sweeps. Each draws a small cluster
// and a fault schedule from its seed, ends every fault with a heal, and
// leaves the cluster quiet for long enough that liveness can be judged.
var Families = []string{"crash", "restart", "partition", "loss", "reorder", "cold-start", "mixed", "store", "config"}

// Random returns the YAML of a random scenario of family, drawn from seed.
// The same family and seed always give the same text, so a failing seed is
// reproduced from its YAML or from the two values alone.
func Random(family string, seed uint64) (string, error) {
	if !slices.Contains(Families, family) {
		return "", fmt.Errorf("scenarios: unknown family %q (families: %s)", family, strings.Join(Families, ", "))
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x51554f52415445)), family: family}
	return g.scenario(seed), nil
}

type gen struct {
	r      *rand.Rand
	family string
	nodes  []string
	links  int
	faults []string
	t      time.Duration // time of the last fault
}

func (g *gen) at(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

func (g *gen) fault(at time.Duration, s string) {
	g.faults = append(g.faults, fmt.Sprintf("  - {at: %s, %s}", g.at(at), s))
	g.t = max(g.t, at)
}

func (g *gen) node() string { return g.nodes[g.r.IntN(len(g.nodes))] }

// split draws a partition of the nodes into two or three non-empty groups.
func (g *gen) split() string {
	k := 2 + g.r.IntN(2)
	if k > len(g.nodes) {
		k = len(g.nodes)
	}
	perm := g.r.Perm(len(g.nodes))
	groups := make([][]string, k)
	for i, p := range perm {
		groups[i%k] = append(groups[i%k], g.nodes[p])
	}
	var parts []string
	for _, grp := range groups {
		parts = append(parts, "["+strings.Join(grp, ", ")+"]")
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func (g *gen) scenario(seed uint64) string {
	n := 3 + g.r.IntN(3) // 3..5 nodes
	for i := range n {
		g.nodes = append(g.nodes, fmt.Sprintf("n%d", i+1))
	}
	g.links = 1 + g.r.IntN(2)
	start := 5 * time.Second
	window := 20 * time.Second
	t := start
	step := func() time.Duration {
		t += time.Duration(500+g.r.IntN(4000)) * time.Millisecond
		return t
	}
	switch g.family {
	case "crash", "restart":
		down := map[string]bool{}
		for t < start+window {
			at := step()
			v := g.node()
			if down[v] {
				g.fault(at, "action: restart, node: "+v)
				down[v] = false
			} else if g.family == "crash" || len(down) < n/2 {
				g.fault(at, "action: crash, node: "+v)
				down[v] = true
			}
		}
		for _, v := range g.nodes {
			if down[v] {
				g.fault(step(), "action: restart, node: "+v)
			}
		}
	case "partition":
		for t < start+window {
			switch g.r.IntN(3) {
			case 0:
				g.fault(step(), "action: partition, groups: "+g.split())
			case 1:
				g.fault(step(), "action: isolate, node: "+g.node())
			default:
				a, b := g.node(), g.node()
				if a != b {
					g.fault(step(), fmt.Sprintf("action: drop, from: [%s], to: [%s]", a, b))
				}
			}
			g.fault(step(), "action: heal")
		}
	case "loss":
		for t < start+window {
			g.fault(step(), fmt.Sprintf("action: set_loss, link: %d, loss: %.3f", g.r.IntN(g.links), 0.05*g.r.Float64()))
		}
		for l := range g.links {
			g.fault(step(), fmt.Sprintf("action: set_loss, link: %d, loss: 0", l))
		}
	case "reorder":
		for t < start+window {
			g.fault(step(), fmt.Sprintf("action: set_latency, link: %d, latency: {dist: uniform, min: 0.1ms, max: %dms}", g.r.IntN(g.links), 1+g.r.IntN(20)))
		}
	case "cold-start":
		g.fault(step(), "action: power_off")
		g.fault(step(), fmt.Sprintf("action: cold_start, boot: {dist: uniform, min: 0s, max: %dms}", 500+g.r.IntN(5000)))
	case "config":
		// Configuration changes (a redundant link added, re-prioritised,
		// removed) through random nodes, mixed with crashes, partitions
		// and loss; an edit through a down or inquorate node is refused.
		version, link1 := 1, false
		edit := func() {
			version++
			g.fault(step(), "action: edit_conf, on: "+g.node()+", conf: "+yamlQuote(g.conf(version, link1)))
		}
		link1 = true
		edit()
		for t < start+window {
			switch g.r.IntN(6) {
			case 0, 1:
				// Remove the link, add it back, or re-prioritise it.
				link1 = !link1 || g.r.IntN(2) == 0
				edit()
			case 5:
				if link1 {
					g.fault(step(), "action: switch_down, switch: sw0")
					g.fault(step(), "action: switch_up, switch: sw0")
				}
			case 2:
				v := g.node()
				g.fault(step(), "action: crash, node: "+v)
				g.fault(step(), "action: restart, node: "+v)
			case 3:
				g.fault(step(), "action: partition, groups: "+g.split())
				g.fault(step(), "action: heal")
			default:
				g.fault(step(), fmt.Sprintf("action: set_loss, link: 0, loss: %.3f", 0.05*g.r.Float64()))
			}
		}
		g.fault(step(), "action: set_loss, link: 0, loss: 0")
		g.fault(step(), "action: heal")
	case "mixed", "store":
		if g.family == "store" && g.r.IntN(4) == 0 {
			g.fault(step(), "action: power_off")
			g.fault(step(), fmt.Sprintf("action: cold_start, boot: {dist: uniform, min: 0s, max: %dms}", 500+g.r.IntN(3000)))
		}
		for t < start+window {
			switch g.r.IntN(4) {
			case 0:
				v := g.node()
				g.fault(step(), "action: crash, node: "+v)
				g.fault(step(), "action: restart, node: "+v)
			case 1:
				g.fault(step(), "action: partition, groups: "+g.split())
				g.fault(step(), "action: heal")
			case 2:
				g.fault(step(), fmt.Sprintf("action: set_loss, link: %d, loss: %.3f", g.r.IntN(g.links), 0.05*g.r.Float64()))
			default:
				if g.links == 2 {
					g.fault(step(), "action: switch_down, switch: sw0")
					g.fault(step(), "action: switch_up, switch: sw0")
				}
			}
		}
		for l := range g.links {
			g.fault(step(), fmt.Sprintf("action: set_loss, link: %d, loss: 0", l))
		}
		g.fault(step(), "action: heal")
	}
	// Quiet time: the liveness bound of a 5-node, token-1000 cluster is
	// about 17s; leave 19.
	duration := g.t + 19*time.Second
	var b strings.Builder
	fmt.Fprintf(&b, "name: random-%s-%d\n", g.family, seed)
	fmt.Fprintf(&b, "description: random %s schedule drawn from seed %d\n", g.family, seed)
	fmt.Fprintf(&b, "seed: %d\nduration: %s\n", seed, g.at(duration))
	if g.family == "config" {
		// The cluster starts from a corosync.conf (inline) on link 0;
		// the wire of link 1 is there for the edits that add it.
		b.WriteString("cluster:\n  corosync_conf: " + yamlQuote(g.conf(1, false)) + "\n")
		g.links = 2
	} else {
		b.WriteString("cluster:\n  nodes: [")
		for i, v := range g.nodes {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{name: %s}", v)
		}
		b.WriteString("]\n  totem: {token: 1000ms}\n")
	}
	b.WriteString("network:\n  links:\n")
	reorder := g.family == "reorder"
	for l := range g.links {
		fmt.Fprintf(&b, "    - {number: %d, switch: sw%d, priority: %d, reorder: %v, latency: {dist: uniform, min: 0.1ms, max: 0.5ms}}\n",
			l, l, 20-10*l, reorder)
	}
	if g.family == "store" {
		b.WriteString("workload: {kind: kv, rate: 40/s, keys: 3, mix: {read: 0.4, write: 0.4, cas: 0.2}, read_mode: ordered, timeout: 3s}\nfaults:\n")
	} else {
		b.WriteString("workload: {kind: multicast, rate: 50/s, size: 128B}\nfaults:\n")
	}
	if len(g.faults) == 0 {
		b.WriteString("  []\n")
	}
	for _, f := range g.faults {
		b.WriteString(f + "\n")
	}
	b.WriteString("expect:\n  - {check: total_order}\n  - {check: virtual_synchrony}\n  - {check: liveness}\n")
	if g.family == "store" {
		b.WriteString("  - {check: linearizable}\n  - {metric: acked_writes_lost, equals: 0}\n")
	}
	return b.String()
}

// conf is the corosync.conf of the config family at version: the nodes
// on link 0, and on link 1 too (with a random priority) when link1.
func (g *gen) conf(version int, link1 bool) string {
	var b strings.Builder
	b.WriteString("totem {\n  version: 2\n  cluster_name: random\n")
	fmt.Fprintf(&b, "  config_version: %d\n  token: 1000\n  interface {\n    linknumber: 0\n    knet_link_priority: 20\n  }\n", version)
	if link1 {
		fmt.Fprintf(&b, "  interface {\n    linknumber: 1\n    knet_link_priority: %d\n  }\n", 5+g.r.IntN(30))
	}
	b.WriteString("}\nnodelist {\n")
	for i, v := range g.nodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    ring0_addr: 10.0.0.%d\n", v, i+1, i+1)
		if link1 {
			fmt.Fprintf(&b, "    ring1_addr: 10.1.0.%d\n", i+1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\nquorum {\n  provider: corosync_votequorum\n}\n")
	return b.String()
}

// yamlQuote writes s as one double-quoted YAML scalar.
func yamlQuote(s string) string { return strconv.Quote(s) }
