package scenarios

import (
	"fmt"
	"strings"
)

// NodeByName returns the node called name, and whether there is one.
func (s *Scenario) NodeByName(name string) (Node, bool) {
	for _, n := range s.Cluster.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// NodeNames returns the node names in file order.
func (s *Scenario) NodeNames() []string {
	names := make([]string, len(s.Cluster.Nodes))
	for i, n := range s.Cluster.Nodes {
		names[i] = n.Name
	}
	return names
}

// PosOf returns where the file gives a field, by its path in the file as
// written: "duration", "cluster.totem.token", "faults[2].at" (faults are
// numbered in file order, before sorting), "network.links[0].latency.mean".
// The second result is false for a field the file leaves out, which also
// tells a later stage (such as a corosync.conf merge) whether a value is the
// author's or a default.
func (s *Scenario) PosOf(path string) (Position, bool) {
	p, ok := s.positions[path]
	return p, ok
}

// String describes the expectation as reports show it, e.g.
// "at 15s hp1 quorate=false".
func (e Expect) String() string {
	if e.Text != "" {
		return e.Text
	}
	return expectText(&e)
}

// expectText builds Expect.Text: the time form, whose view, then each
// asserted field; or "check NAME"; or "metric NAME [after T] [before T]
// max|min|equals N".
func expectText(e *Expect) string {
	var parts []string
	add := func(format string, args ...any) { parts = append(parts, fmt.Sprintf(format, args...)) }
	switch {
	case e.Check != "":
		add("check %s", e.Check)
	case e.Fault != nil:
		add("faults[%d] refused=%t", *e.Fault, e.Refused != nil && *e.Refused)
		if e.Reason != "" {
			add("reason~%q", e.Reason)
		}
	case e.Metric != "":
		add("metric %s", e.Metric)
		if e.After != nil {
			add("after %s", formatDuration(*e.After))
		}
		if e.Before != nil {
			add("before %s", formatDuration(*e.Before))
		}
		if e.Min != nil {
			add("min %s", formatFloat(*e.Min))
		}
		if e.Max != nil {
			add("max %s", formatFloat(*e.Max))
		}
		if e.Equals != nil {
			add("equals %s", formatFloat(*e.Equals))
		}
	default:
		switch {
		case e.At != nil:
			add("at %s", formatDuration(*e.At))
		case e.By != nil:
			add("by %s", formatDuration(*e.By))
			if e.Anchor != "" {
				add("(from %s)", e.Anchor)
			}
		case e.Within != nil:
			add("within %s of %s", formatDuration(*e.Within), e.Anchor)
		case e.AtEnd:
			add("at_end")
		case e.During != nil:
			add("during [%s, %s]", formatDuration(e.During[0]), formatDuration(e.During[1]))
		}
		switch {
		case e.Guest != "":
			add("%s", e.Guest)
		case e.Node != "":
			add("%s", e.Node)
		case len(e.Nodes) > 0:
			add("%s", strings.Join(e.Nodes, ","))
		}
		if e.Quorate != nil {
			add("quorate=%t", *e.Quorate)
		}
		if e.Members != nil {
			add("members=[%s]", strings.Join(e.Members, ","))
		}
		for _, f := range []struct {
			name string
			v    *int
		}{{"total_votes", e.TotalVotes}, {"expected_votes", e.ExpectedVotes}, {"quorum", e.Quorum}} {
			if f.v != nil {
				add("%s=%d", f.name, *f.v)
			}
		}
		if e.Peer != "" {
			add("peer=%s", e.Peer)
		}
		if e.ActiveLink != nil {
			add("active_link=%d", *e.ActiveLink)
		}
		if e.Link != nil {
			add("link=%d", *e.Link)
		}
		if e.LinkUp != nil {
			add("link_up=%t", *e.LinkUp)
		}
		if e.Running != nil {
			add("running=%t", *e.Running)
		}
		if e.ConfigVersion != nil {
			add("config_version=%d", *e.ConfigVersion)
		}
	}
	return strings.Join(parts, " ")
}
