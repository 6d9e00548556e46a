package sweep

import (
	"math"
	"slices"

	"github.com/quorate/quorate/reports"
)

// Figures are the per-run numbers a study over a grid needs beyond pass
// or fail: how long the run was, when the cluster first formed, how often
// its membership changed afterwards, how much of the time its nodes were
// quorate, and what the store's clients saw. They are computed from the
// run's result alone, so they are the same on every machine.
type Figures struct {
	SimulatedS float64 `json:"simulated_s"`
	// FormedMs is the first instant at which every node was quorate at
	// once; absent when that never happened.
	FormedMs *float64 `json:"formed_ms,omitempty"`
	// ChangesAfterFormed is the membership-change metric counted after
	// FormedMs only (the largest number of regular configurations a node
	// installed after it): the churn of a formed cluster, without the
	// rings of its start-up. Zero when the cluster never formed.
	ChangesAfterFormed int64 `json:"changes_after_formed"`
	// QuorateFraction is the share of node-time, over the whole run, in
	// which nodes were quorate (and so their store writable).
	QuorateFraction float64 `json:"quorate_fraction"`
	// LinkDowns counts the knet link-down events over every ordered pair.
	LinkDowns        int                `json:"link_downs"`
	TokenRetransmits uint64             `json:"token_retransmits"`
	TokensLost       uint64             `json:"tokens_lost"`
	WriteLatencyMs   *reports.Quantiles `json:"write_latency_ms,omitempty"`
}

// ChangesPerHour is ChangesAfterFormed per hour of formed time, or NaN
// when the cluster never formed.
func (f Figures) ChangesPerHour() float64 {
	if f.FormedMs == nil {
		return math.NaN()
	}
	formedH := (f.SimulatedS*1e3 - *f.FormedMs) / 3.6e6
	if formedH <= 0 {
		return math.NaN()
	}
	return float64(f.ChangesAfterFormed) / formedH
}

// figures computes a run's Figures from its result.
func figures(res *reports.Result) Figures {
	f := Figures{
		SimulatedS:       res.SimulatedS,
		TokenRetransmits: res.Stats.TokenRetransmits,
		TokensLost:       res.Stats.TokensLost,
	}
	if w := res.Stats.WriteLatencyMs; w != nil {
		q := *w
		f.WriteLatencyMs = &q
	}
	for _, l := range res.Links {
		f.LinkDowns += l.Downs
	}
	endMs := res.SimulatedS * 1e3
	nodes := make([]string, 0, len(res.Nodes))
	for name := range res.Nodes {
		nodes = append(nodes, name)
	}
	slices.Sort(nodes)
	if len(nodes) == 0 || endMs <= 0 {
		return f
	}
	// Walk the quorum timeline: a node is not quorate until its first
	// quorum event says so, nor from the instant its process dies.
	quorate := map[string]bool{}
	since := map[string]float64{}
	var quorateMs float64
	count := 0
	for _, e := range res.Timeline {
		var now bool
		switch {
		case e.TMs > endMs:
			continue
		case e.Event == "quorum" && e.Quorate != nil:
			now = *e.Quorate
		case e.Event == "node_down": // a dead node serves nothing
		default:
			continue
		}
		was := quorate[e.Node]
		if was == now {
			continue
		}
		if was {
			quorateMs += e.TMs - since[e.Node]
			count--
		} else {
			since[e.Node] = e.TMs
			count++
		}
		quorate[e.Node] = now
		if count == len(nodes) && f.FormedMs == nil {
			t := e.TMs
			f.FormedMs = &t
		}
	}
	for _, n := range nodes {
		if quorate[n] {
			quorateMs += endMs - since[n]
		}
	}
	f.QuorateFraction = quorateMs / (endMs * float64(len(nodes)))
	if f.FormedMs != nil {
		after := map[string]int64{}
		for _, e := range res.Timeline {
			if e.Event == "membership" && e.TMs > *f.FormedMs {
				after[e.Node]++
			}
		}
		for _, n := range after {
			f.ChangesAfterFormed = max(f.ChangesAfterFormed, n)
		}
	}
	return f
}
