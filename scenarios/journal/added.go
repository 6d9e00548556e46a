package journal

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A cluster built with create and add leaves journals whose start records
// disagree on the nodelist: each node's agent started with the
// corosync.conf of its time. The replay starts from the earliest one and
// goes through the same sequence of nodelists: each node the earliest
// lacks is a node of cluster.new_nodes that an add_node fault joins (the
// cluster's corosync.conf gains it, the members take it live, and it
// boots) when its agent first started. For add_node the scenario carries
// the earliest configuration as an inline corosync.conf; its own keys
// (nodes, totem, quorum, links) say the same.

// addedYAML writes cluster.corosync_conf (the earliest configuration,
// which the replay's add_node, delnode and qdevice actions edit) and
// cluster.new_nodes.
func (im *importer) addedYAML(b *strings.Builder, c *Config) {
	b.WriteString("  # the cluster's corosync.conf at the earliest start record, which the cluster changes below edit\n")
	b.WriteString("  corosync_conf: |\n")
	for _, line := range strings.Split(strings.TrimRight(c.corosyncConf(im.cluster), "\n"), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString("    " + line + "\n")
	}
	if len(im.added) == 0 {
		return
	}
	b.WriteString("  new_nodes:   # joined later (pvecm add): a later start record lists them\n")
	for _, a := range im.added {
		var addrs []string
		for _, l := range im.links {
			addrs = append(addrs, a.node.Addrs[strconv.Itoa(l)])
		}
		fmt.Fprintf(b, "    - {name: %s, id: %d, votes: %d, addrs: [%s]}\n", im.names[a.node.Name], a.node.ID,
			max(a.node.Votes, 1), strings.Join(addrs, ", "))
	}
}

// addFaults are the adds: each at the first start record that lists the
// node, through a node of the earliest nodelist whose agent runs then.
func (im *importer) addFaults() []fault {
	var out []fault
	for _, a := range im.added {
		at := im.rel(a.at.Time)
		on := im.runningAt(a.at.Time, a.node.Name)
		out = append(out, fault{at: at, seq: -1,
			line: fmt.Sprintf("{at: %s, action: add_node, node: %s, on: %s}", dur(at), im.names[a.node.Name], im.names[on]),
			notes: []string{fmt.Sprintf("%s joined the cluster: %s:%d starts with config_version %d and lists it",
				im.names[a.node.Name], a.at.File, a.at.Line, a.at.Config.ConfigVersion)}})
	}
	return out
}

// runningAt picks the node an add went through: the first node in
// nodelist order, other than node, whose agent runs at t (the first node
// of the earliest nodelist when none does).
func (im *importer) runningAt(t time.Time, node string) string {
	for _, n := range im.order {
		if n == node {
			continue
		}
		for _, s := range im.sessions[n] {
			end := s.last.Time
			if s.stop != nil {
				end = s.stop.Time
			}
			if !s.first.Time.After(t) && (!end.Before(t) || (s.stop == nil && !s.crashed)) {
				return n
			}
		}
	}
	return im.cfg.Nodes[0].Name
}

// corosyncConf writes the configuration a start record summarises as a
// corosync.conf that corosync would start with: what the replay's adds
// edit.
func (c *Config) corosyncConf(cluster string) string {
	var b strings.Builder
	ms := func(d Duration) string { return strconv.FormatInt(time.Duration(d).Milliseconds(), 10) }
	fmt.Fprintf(&b, "totem {\n  version: 2\n  cluster_name: %s\n  config_version: %d\n", cluster, c.ConfigVersion)
	fmt.Fprintf(&b, "  link_mode: %s\n", cmp.Or(c.LinkMode, "passive"))
	if c.Token != 0 {
		fmt.Fprintf(&b, "  token: %s\n", ms(c.Token))
	}
	fmt.Fprintf(&b, "  token_coefficient: %s\n", ms(c.TokenCoefficient))
	for _, kv := range []struct {
		k string
		v Duration
	}{{"consensus", c.Consensus}, {"join", c.Join}, {"merge", c.Merge}} {
		if kv.v != 0 {
			fmt.Fprintf(&b, "  %s: %s\n", kv.k, ms(kv.v))
		}
	}
	links := slices.Clone(c.Links)
	slices.SortFunc(links, func(x, y ConfigLink) int { return x.Number - y.Number })
	for _, l := range links {
		fmt.Fprintf(&b, "  interface {\n    linknumber: %d\n    knet_link_priority: %d\n", l.Number, l.Priority)
		if l.PingInterval != 0 {
			fmt.Fprintf(&b, "    knet_ping_interval: %s\n", ms(l.PingInterval))
		}
		if l.PingTimeout != 0 {
			fmt.Fprintf(&b, "    knet_ping_timeout: %s\n", ms(l.PingTimeout))
		}
		if l.PongCount != 0 {
			fmt.Fprintf(&b, "    knet_pong_count: %d\n", l.PongCount)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\nnodelist {\n")
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: %d\n", n.Name, n.ID, max(n.Votes, 1))
		for _, l := range links {
			if a := n.Addrs[strconv.Itoa(l.Number)]; a != "" {
				fmt.Fprintf(&b, "    ring%d_addr: %s\n", l.Number, a)
			}
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\nquorum {\n  provider: corosync_votequorum\n")
	if c.ExpectedVotes != 0 {
		fmt.Fprintf(&b, "  expected_votes: %d\n", c.ExpectedVotes)
	}
	yes := func(k string, v bool) {
		if v {
			fmt.Fprintf(&b, "  %s: 1\n", k)
		}
	}
	yes("two_node", c.TwoNode)
	yes("wait_for_all", c.WaitForAll)
	yes("last_man_standing", c.LastManStanding)
	yes("auto_tie_breaker", c.AutoTieBreaker)
	if c.Device {
		// The qnetd host is the simulator's; pvecm qdevice setup writes
		// the same keys.
		alg := c.deviceAlgorithm()
		fmt.Fprintf(&b, "  device {\n    model: net\n")
		if alg == "ffsplit" {
			b.WriteString("    votes: 1\n")
		}
		fmt.Fprintf(&b, "    net {\n      algorithm: %s\n      host: qnetd\n      tls: on\n    }\n  }\n", alg)
	}
	b.WriteString("}\n")
	return b.String()
}

// deviceAlgorithm is the quorum device's algorithm as recorded, or, from
// a journal that predates the field, pvecm's choice for the node count.
func (c *Config) deviceAlgorithm() string {
	if c.DeviceAlgorithm != "" {
		return c.DeviceAlgorithm
	}
	if len(c.Nodes)%2 == 1 {
		return "lms"
	}
	return "ffsplit"
}
