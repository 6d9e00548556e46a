package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Encode writes a Scenario built in code as scenario YAML. The text is for
// reproduction: Parse of it gives back the same Scenario (positions, Path,
// Source and the expectations' Text aside), which the random families test
// over many seeds. Every value is written explicitly, defaults included,
// except the zero values the format reads as "derived" (consensus,
// token_retransmit, hold, expected_votes, a device's votes, ping timers), so
// a file stays valid when a default changes and says what it ran.
// A scenario that takes its cluster from corosync_conf is written with the
// file's path or inline text only: scenario keys that override the file are
// not written.
func Encode(s *Scenario) ([]byte, error) {
	root := &ymap{}
	root.str("name", s.Name)
	if s.Description != "" {
		root.str("description", s.Description)
	}
	root.raw("seed", strconv.FormatUint(s.Seed, 10))
	root.dur("duration", s.Duration)
	root.add("cluster", encodeCluster(&s.Cluster))
	root.add("network", encodeNetwork(&s.Network))
	if s.Workload != nil {
		root.add("workload", encodeWorkload(s.Workload))
	}
	faults := &yaml.Node{Kind: yaml.SequenceNode}
	for i := range s.Faults {
		f, err := encodeFault(&s.Faults[i])
		if err != nil {
			return nil, fmt.Errorf("scenarios: encode faults[%d]: %w", i, err)
		}
		faults.Content = append(faults.Content, f)
	}
	root.add("faults", faults)
	expect := &yaml.Node{Kind: yaml.SequenceNode}
	for i := range s.Expect {
		e, err := encodeExpect(&s.Expect[i])
		if err != nil {
			return nil, fmt.Errorf("scenarios: encode expect[%d]: %w", i, err)
		}
		expect.Content = append(expect.Content, e)
	}
	root.add("expect", expect)
	return yaml.Marshal(root.node())
}

// ymap builds one YAML mapping with its keys in insertion order.
type ymap struct {
	content []*yaml.Node
	flow    bool
}

func (m *ymap) node() *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Content: m.content}
	if m.flow {
		n.Style = yaml.FlowStyle
	}
	return n
}

func (m *ymap) add(key string, v *yaml.Node) {
	m.content = append(m.content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func (m *ymap) raw(key, v string) { m.add(key, scalarNode(v, "")) }

// str writes a string as a string, quoted when YAML would read it otherwise.
func (m *ymap) str(key, v string) { m.add(key, scalarNode(v, "!!str")) }

func (m *ymap) dur(key string, d time.Duration) { m.raw(key, formatDuration(d)) }
func (m *ymap) int(key string, v int)           { m.raw(key, strconv.Itoa(v)) }
func (m *ymap) bool(key string, v bool)         { m.raw(key, strconv.FormatBool(v)) }
func (m *ymap) float(key string, v float64)     { m.raw(key, strconv.FormatFloat(v, 'g', -1, 64)) }

func scalarNode(v, tag string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: v, Tag: tag}
}

func flowList[T any](vs []T, f func(T) *yaml.Node) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vs {
		n.Content = append(n.Content, f(v))
	}
	return n
}

func nameNode(s string) *yaml.Node { return scalarNode(s, "!!str") }

func nameList(ns []string) *yaml.Node { return flowList(ns, nameNode) }

func encodeCluster(c *Cluster) *yaml.Node {
	m := &ymap{}
	if c.Name != "" {
		m.str("name", c.Name)
	}
	if c.CorosyncConf != "" {
		// The nodes, Totem and quorum come from the file (a path, or the
		// text inline); the scenario's own overrides of it are not kept.
		style := yaml.Style(0)
		if strings.Contains(c.CorosyncConf, "\n") {
			style = yaml.LiteralStyle
		}
		m.add("corosync_conf", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: c.CorosyncConf, Style: style})
		var added []*yaml.Node
		for _, n := range c.Nodes {
			if !n.Added {
				continue
			}
			nm := &ymap{flow: true}
			nm.str("name", n.Name)
			nm.int("id", int(n.ID))
			nm.int("votes", n.Votes)
			if n.Addrs != nil {
				nm.add("addrs", nameList(n.Addrs))
			}
			added = append(added, nm.node())
		}
		if added != nil {
			m.add("new_nodes", &yaml.Node{Kind: yaml.SequenceNode, Content: added})
		}
		return m.node()
	}
	nodes := &yaml.Node{Kind: yaml.SequenceNode}
	for _, n := range c.Nodes {
		nm := &ymap{flow: true}
		nm.str("name", n.Name)
		nm.int("id", int(n.ID))
		nm.int("votes", n.Votes)
		if n.BootAt != 0 {
			nm.dur("boot_at", n.BootAt)
		}
		nodes.Content = append(nodes.Content, nm.node())
	}
	m.add("nodes", nodes)
	m.add("totem", encodeTotem(&c.Totem))
	m.add("quorum", encodeQuorum(&c.Quorum))
	if c.PacketCost != DefaultPacketCost {
		m.dur("packet_cost", c.PacketCost)
	}
	return m.node()
}

func encodeTotem(t *Totem) *yaml.Node {
	m := &ymap{}
	m.dur("token", t.Token)
	m.dur("token_coefficient", t.TokenCoefficient)
	derived := func(key string, d time.Duration) {
		if d != 0 {
			m.dur(key, d)
		}
	}
	derived("consensus", t.Consensus)
	m.dur("join", t.Join)
	m.dur("merge", t.Merge)
	m.int("max_messages", t.MaxMessages)
	m.int("window_size", t.WindowSize)
	derived("token_retransmit", t.TokenRetransmit)
	derived("hold", t.Hold)
	m.int("token_retransmits_before_loss_const", t.TokenRetransmitsBeforeLossConst)
	derived("send_join", t.SendJoin)
	m.int("miss_count_const", t.MissCountConst)
	m.int("seqno_unchanged_const", t.SeqnoUnchangedConst)
	m.int("fail_recv_const", t.FailRecvConst)
	return m.node()
}

func encodeQuorum(q *Quorum) *yaml.Node {
	m := &ymap{}
	if q.ExpectedVotes != 0 {
		m.int("expected_votes", q.ExpectedVotes)
	}
	m.bool("two_node", q.TwoNode)
	if q.WaitForAllSet || q.WaitForAll {
		m.bool("wait_for_all", q.WaitForAll)
	}
	m.bool("last_man_standing", q.LastManStanding)
	m.dur("last_man_standing_window", q.LastManStandingWindow)
	m.bool("auto_tie_breaker", q.AutoTieBreaker)
	if q.AutoTieBreakerNode == "list" {
		m.add("auto_tie_breaker_node", flowList(q.AutoTieBreakerNodeList, func(id uint32) *yaml.Node {
			return scalarNode(strconv.FormatUint(uint64(id), 10), "")
		}))
	} else {
		m.str("auto_tie_breaker_node", q.AutoTieBreakerNode)
	}
	if d := q.Device; d != nil {
		dm := &ymap{}
		dm.str("algorithm", d.Algorithm)
		if d.TieBreaker == "lowest" || d.TieBreaker == "highest" {
			dm.str("tie_breaker", d.TieBreaker)
		} else {
			dm.raw("tie_breaker", d.TieBreaker)
		}
		if d.Votes != 0 {
			dm.int("votes", d.Votes)
		}
		if d.Timeout != 0 {
			dm.dur("timeout", d.Timeout)
		}
		if d.SyncTimeout != 0 {
			dm.dur("sync_timeout", d.SyncTimeout)
		}
		dm.bool("master_wins", d.MasterWins)
		dm.add("latency", encodeDist(&d.Latency))
		m.add("device", dm.node())
	}
	return m.node()
}

// encodeDist writes the parameters of the distribution's kind only.
func encodeDist(d *Distribution) *yaml.Node {
	m := &ymap{flow: true}
	m.str("dist", d.Dist)
	for _, p := range distParams[d.Dist] {
		switch p {
		case "value":
			m.dur(p, d.Value)
		case "min":
			m.dur(p, d.Min)
		case "max":
			m.dur(p, d.Max)
		case "mean":
			m.dur(p, d.Mean)
		case "stddev":
			m.dur(p, d.Stddev)
		case "median":
			m.dur(p, d.Median)
		case "sigma":
			m.float(p, d.Sigma)
		case "alpha":
			m.float(p, d.Alpha)
		}
	}
	return m.node()
}

func encodeNetwork(n *Network) *yaml.Node {
	m := &ymap{}
	m.str("link_mode", n.LinkMode)
	if n.HostWait != 0 {
		m.dur("host_wait", n.HostWait)
	}
	links := &yaml.Node{Kind: yaml.SequenceNode}
	for _, l := range n.Links {
		lm := &ymap{}
		lm.int("number", l.Number)
		lm.str("switch", l.Switch)
		lm.int("priority", l.Priority)
		lm.add("latency", encodeDist(&l.Latency))
		lm.float("loss", l.Loss)
		lm.float("duplicate", l.Duplicate)
		lm.bool("reorder", l.Reorder)
		if l.PingInterval != 0 {
			lm.dur("ping_interval", l.PingInterval)
		}
		if l.PingTimeout != 0 {
			lm.dur("ping_timeout", l.PingTimeout)
		}
		lm.int("pong_count", l.PongCount)
		links.Content = append(links.Content, lm.node())
	}
	m.add("links", links)
	return m.node()
}

func encodeWorkload(w *Workload) *yaml.Node {
	m := &ymap{}
	m.str("kind", w.Kind)
	if w.Kind == "multicast" {
		m.raw("size", strconv.Itoa(w.Size)+"B")
	}
	m.add("clients", nameList(w.Clients))
	m.raw("rate", strconv.FormatFloat(w.Rate, 'g', -1, 64)+"/s")
	if w.Kind != "multicast" {
		m.int("keys", w.Keys)
		mix := &ymap{flow: true}
		mix.float("read", w.Mix.Read)
		mix.float("write", w.Mix.Write)
		mix.float("cas", w.Mix.Cas)
		m.add("mix", mix.node())
		m.str("read_mode", w.ReadMode)
	}
	m.dur("timeout", w.Timeout)
	if len(w.Guests) > 0 {
		gs := &yaml.Node{Kind: yaml.SequenceNode}
		for _, g := range w.Guests {
			gm := &ymap{flow: true}
			gm.str("name", g.Name)
			gm.str("node", g.Node)
			gm.bool("onboot", g.Onboot)
			gs.Content = append(gs.Content, gm.node())
		}
		m.add("guests", gs)
	}
	return m.node()
}

// encodeFault writes the fields the fault's action takes: the required ones
// always, the optional ones when set.
func encodeFault(f *Fault) (*yaml.Node, error) {
	fields, ok := faultFields[f.Action]
	if !ok {
		return nil, fmt.Errorf("unknown action %q", f.Action)
	}
	m := &ymap{flow: true}
	if f.When == nil || f.At != 0 {
		m.dur("at", f.At)
	}
	if f.When != nil {
		m.add("when", encodeTrigger(f.When))
	}
	m.str("action", f.Action)
	req := faultRequired[f.Action]
	for _, k := range fields {
		must := slices.Contains(req, k)
		switch k {
		case "node":
			m.str(k, f.Node)
		case "nodes":
			if f.Nodes != nil {
				m.add(k, nameList(f.Nodes))
			}
		case "after":
			if f.After != 0 {
				m.dur(k, f.After)
			}
		case "boot":
			if f.Boot != nil {
				m.add(k, encodeDist(f.Boot))
			}
		case "groups":
			m.add(k, flowList(f.Groups, nameList))
		case "links":
			if f.Links != nil {
				m.add(k, flowList(f.Links, func(l int) *yaml.Node { return scalarNode(strconv.Itoa(l), "") }))
			}
		case "from":
			m.add(k, nameList(f.From))
		case "to":
			m.add(k, nameList(f.To))
		case "switch":
			m.str(k, f.Switch)
		case "link":
			if must || f.Link != 0 {
				m.int(k, f.Link)
			}
		case "latency":
			if f.Latency == nil {
				if f.Action == "qdevice_setup" {
					break // optional: the arbiter's default
				}
				return nil, fmt.Errorf("%s without a latency", f.Action)
			}
			m.add(k, encodeDist(f.Latency))
		case "loss":
			m.float(k, f.Loss)
		case "votes":
			m.int(k, f.Votes)
		case "on":
			m.str(k, f.On)
		case "conf":
			m.add(k, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.ConfText, Style: yaml.LiteralStyle})
		case "algorithm":
			if f.Algorithm != "" {
				m.str(k, f.Algorithm)
			}
		case "force":
			if f.Force {
				m.bool(k, true)
			}
		case "bundle":
			if f.Bundle {
				m.bool(k, true)
			}
		}
	}
	return m.node(), nil
}

// encodeTrigger writes a when: with its layer's key; node, delay, before
// and probability when set.
func encodeTrigger(t *Trigger) *yaml.Node {
	m := &ymap{flow: true}
	if t.Node != "" {
		m.str("node", t.Node)
	}
	m.str(t.Layer, t.Event)
	if t.Delay != 0 {
		m.dur("delay", t.Delay)
	}
	if t.Probability != 1 {
		m.float("probability", t.Probability)
	}
	if t.Before != 0 {
		m.dur("before", t.Before)
	}
	return m.node()
}

func encodeExpect(e *Expect) (*yaml.Node, error) {
	m := &ymap{flow: true}
	switch {
	case e.Check != "":
		m.str("check", e.Check)
		return m.node(), nil
	case e.Metric != "":
		m.str("metric", e.Metric)
		optDur := func(k string, d *time.Duration) {
			if d != nil {
				m.dur(k, *d)
			}
		}
		optFloat := func(k string, f *float64) {
			if f != nil {
				m.float(k, *f)
			}
		}
		optDur("after", e.After)
		optDur("before", e.Before)
		optFloat("max", e.Max)
		optFloat("min", e.Min)
		optFloat("equals", e.Equals)
		return m.node(), nil
	case e.Fault != nil:
		m.int("fault", *e.Fault)
		m.bool("refused", e.Refused != nil && *e.Refused)
		if e.Reason != "" {
			m.str("reason", e.Reason)
		}
		return m.node(), nil
	case e.At != nil:
		m.dur("at", *e.At)
	case e.By != nil:
		m.dur("by", *e.By)
	case e.During != nil:
		m.add("during", flowList(e.During[:], func(d time.Duration) *yaml.Node { return scalarNode(formatDuration(d), "") }))
	default:
		return nil, fmt.Errorf("no form: one of at, by, during, check or metric is needed")
	}
	if e.Node != "" {
		m.str("node", e.Node)
	}
	if e.Nodes != nil {
		m.add("nodes", nameList(e.Nodes))
	}
	if e.Peer != "" {
		m.str("peer", e.Peer)
	}
	if e.Link != nil {
		m.int("link", *e.Link)
	}
	if e.Guest != "" {
		m.str("guest", e.Guest)
	}
	optBool := func(k string, b *bool) {
		if b != nil {
			m.bool(k, *b)
		}
	}
	optInt := func(k string, v *int) {
		if v != nil {
			m.int(k, *v)
		}
	}
	optBool("quorate", e.Quorate)
	if e.Members != nil {
		m.add("members", nameList(e.Members))
	}
	optInt("total_votes", e.TotalVotes)
	optInt("expected_votes", e.ExpectedVotes)
	optInt("quorum", e.Quorum)
	optInt("active_link", e.ActiveLink)
	optBool("link_up", e.LinkUp)
	optBool("running", e.Running)
	if e.ConfigVersion != nil {
		m.raw("config_version", strconv.FormatUint(*e.ConfigVersion, 10))
	}
	return m.node(), nil
}
