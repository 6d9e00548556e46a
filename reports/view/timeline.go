package view

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/quorate/quorate/reports"
)

// Span is an interval of simulated time in one state.
type Span struct {
	FromMs float64 `json:"from_ms"`
	ToMs   float64 `json:"to_ms"`
	State  string  `json:"state"`
}

// Node lane states.
const (
	StateDown      = "down"
	StateInquorate = "inquorate"
	StateQuorate   = "quorate"
	StateUp        = "up" // a link
	StateNone      = "none"
	// StateNotYet is a link before knet first saw it up, or while its
	// node is down: not a failure of the link.
	StateNotYet = "not_up"
)

// MemberChange is a node installing a new membership.
type MemberChange struct {
	TMs     float64  `json:"t_ms"`
	RingID  string   `json:"ring_id,omitempty"`
	Members []string `json:"members"`
}

// NodeTimeline is one node's lane: down / inquorate / quorate over the
// run, and the memberships it installed.
type NodeTimeline struct {
	Node    string         `json:"node"`
	Spans   []Span         `json:"spans"`
	Changes []MemberChange `json:"membership_changes"`
}

// lane accumulates the spans of one lane as its state changes.
type lane struct {
	spans []Span
	state string
	since float64
}

func newLane(state string) *lane { return &lane{state: state} }

func (l *lane) set(t float64, state string) {
	if state == l.state {
		return
	}
	if t > l.since {
		l.spans = append(l.spans, Span{FromMs: l.since, ToMs: t, State: l.state})
	}
	l.state, l.since = state, t
}

// close ends the lane at end and merges neighbours left equal by zero-
// length states in between.
func (l *lane) close(end float64) []Span {
	if end > l.since || len(l.spans) == 0 {
		l.spans = append(l.spans, Span{FromMs: l.since, ToMs: max(end, l.since), State: l.state})
	}
	out := l.spans[:0:0]
	for _, s := range l.spans {
		if n := len(out); n > 0 && out[n-1].State == s.State && out[n-1].ToMs == s.FromMs {
			out[n-1].ToMs = s.ToMs
			continue
		}
		out = append(out, s)
	}
	return out
}

var ringRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\(([0-9a-fA-F]+\.[0-9a-fA-F]+)\)`) })

// quorateOf reads the quorate=yes|no word of a quorum event's detail.
func quorateOf(detail string) (q, ok bool) {
	for _, w := range strings.Fields(detail) {
		switch w {
		case "quorate=yes":
			return true, true
		case "quorate=no":
			return false, true
		}
	}
	return false, false
}

// NodeTimelines builds one lane per node from the trace: a node is down
// until it boots and after it goes down, and in between quorate or not as
// its last quorum event said (inquorate until the first one).
func NodeTimelines(tr *Trace, nodes []string) []NodeTimeline {
	lanes := map[string]*lane{}
	out := make([]NodeTimeline, len(nodes))
	idx := map[string]int{}
	for i, n := range nodes {
		lanes[n] = newLane(StateDown)
		out[i] = NodeTimeline{Node: n, Changes: []MemberChange{}}
		idx[n] = i
	}
	up := map[string]bool{}
	for _, e := range tr.Events {
		l, ok := lanes[e.Node]
		if !ok {
			continue
		}
		switch e.Kind {
		case "boot":
			up[e.Node] = true
			l.set(e.TMs, StateInquorate)
		case "down":
			up[e.Node] = false
			l.set(e.TMs, StateDown)
		case "quorum":
			if q, ok := quorateOf(e.Detail); ok && up[e.Node] {
				l.set(e.TMs, map[bool]string{true: StateQuorate, false: StateInquorate}[q])
			}
		case "membership":
			mc := MemberChange{TMs: e.TMs, Members: splitNodes(e.Nodes)}
			if m := ringRE().FindStringSubmatch(e.Detail); m != nil {
				mc.RingID = m[1]
			}
			out[idx[e.Node]].Changes = append(out[idx[e.Node]].Changes, mc)
		}
	}
	for i, n := range nodes {
		out[i].Spans = lanes[n].close(tr.EndMs)
	}
	return out
}

func splitNodes(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// LinkTimeline is one node's view of one link to one peer: up or down,
// and when it was the link in use.
type LinkTimeline struct {
	Node   string `json:"node"`
	Peer   string `json:"peer"`
	Link   int    `json:"link"`
	Spans  []Span `json:"spans"`  // up | down | not_up
	Active []Span `json:"active"` // the intervals when this link carried the traffic
	Downs  int    `json:"downs"`  // link_down events
}

// Name is the lane's label.
func (l LinkTimeline) Name() string { return fmt.Sprintf("%s→%s link %d", l.Node, l.Peer, l.Link) }

// LinkTimelines builds a lane per (node, peer, link) seen in the trace,
// sorted by node, peer and link in the order of nodes. A link is
// not_up until its first link_up and while its node is down (the node's
// restart brings link_up events again), down after a link_down, and no
// link is active while the node is down.
func LinkTimelines(tr *Trace, nodes []string) []LinkTimeline {
	type key struct {
		node, peer string
		link       int
	}
	type pair struct{ node, peer string }
	states := map[key]*lane{}
	actives := map[key]*lane{}
	downs := map[key]int{}
	active := map[pair]int{}
	var keys []key
	get := func(k key) *lane {
		if l, ok := states[k]; ok {
			return l
		}
		keys = append(keys, k)
		states[k] = newLane(StateNotYet)
		actives[k] = newLane(StateNone)
		return states[k]
	}
	for _, e := range tr.Events {
		switch e.Kind {
		case "link_up":
			get(key{e.Node, e.Peer, e.Link}).set(e.TMs, StateUp)
		case "link_down":
			k := key{e.Node, e.Peer, e.Link}
			get(k).set(e.TMs, StateDown)
			downs[k]++
		case "active_link":
			p := pair{e.Node, e.Peer}
			active[p] = e.Active
			for _, k := range keys {
				if k.node == e.Node && k.peer == e.Peer {
					actives[k].set(e.TMs, map[bool]string{true: "active", false: StateNone}[k.link == e.Active])
				}
			}
			if e.Active >= 0 {
				k := key{e.Node, e.Peer, e.Active}
				get(k)
				actives[k].set(e.TMs, "active")
			}
		case "down":
			for _, k := range keys {
				if k.node == e.Node {
					states[k].set(e.TMs, StateNotYet)
					actives[k].set(e.TMs, StateNone)
				}
			}
		}
	}
	order := map[string]int{}
	for i, n := range nodes {
		order[n] = i
	}
	rank := func(n string) int {
		if r, ok := order[n]; ok {
			return r
		}
		return len(nodes)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := rank(a.node) - rank(b.node); c != 0 {
			return c
		}
		if c := strings.Compare(a.node, b.node); c != 0 {
			return c
		}
		if c := rank(a.peer) - rank(b.peer); c != 0 {
			return c
		}
		if c := strings.Compare(a.peer, b.peer); c != 0 {
			return c
		}
		return a.link - b.link
	})
	out := make([]LinkTimeline, 0, len(keys))
	for _, k := range keys {
		lt := LinkTimeline{Node: k.node, Peer: k.peer, Link: k.link, Spans: states[k].close(tr.EndMs), Active: []Span{}, Downs: downs[k]}
		for _, s := range actives[k].close(tr.EndMs) {
			if s.State == "active" {
				lt.Active = append(lt.Active, s)
			}
		}
		out = append(out, lt)
	}
	return out
}

// Fault is one entry of the fault schedule as the run applied it, with
// the membership's answer when result.json recorded one.
type Fault struct {
	TMs      float64             `json:"t_ms"`
	Action   reports.FaultAction `json:"action"`
	Detail   string              `json:"detail,omitempty"`
	NextRing string              `json:"next_ring,omitempty"`
	Members  []string            `json:"members,omitempty"`
	FirstMs  *float64            `json:"first_ms,omitempty"` // fault -> first member installed the next ring
	AllMs    *float64            `json:"all_ms,omitempty"`   // fault -> every member installed it
}

// Faults lists the trace's fault events in order.
func Faults(tr *Trace) []Fault {
	out := []Fault{}
	for _, e := range tr.Events {
		if e.Kind == "fault" {
			out = append(out, Fault{TMs: e.TMs, Action: reports.FaultAction(e.Action), Detail: e.Detail})
		}
	}
	return out
}
