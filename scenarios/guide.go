package scenarios

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Cell names one coverage cell: a fault kind and the Totem, votequorum and
// store states of a node it touched when it applied (reports.CoverageCell
// without its count; the simulator fills those in, the generator aims at
// them).
type Cell struct {
	Fault, Totem, Quorum, Store string
}

// Guide is the coverage state a guided draw is made against: the cells
// not reached yet, each with how many earlier draws aimed at it. A guided
// scenario is a pure function of its family, its seed and its Guide, so
// a swarm that computes the Guide of each round from the rounds before
// (and nothing else) stays reproducible.
type Guide struct {
	// Missing are the cells not reached yet, in one fixed order (the
	// weights are sums over it, and float sums depend on their order).
	Missing []Cell
	// Aimed[i] is how many draws of earlier rounds aimed at Missing[i]:
	// a cell aimed at often and still missing pulls less, so that cells
	// unreachable by design (a writable store on an inquorate node) do
	// not hold the draws forever.
	Aimed []int
	// Tried and Fired count, per trigger event ("layer/event"), the
	// faults of earlier rounds fired on it and those whose event came:
	// a fault on an event that rarely comes in its slot is a fault not
	// applied, so each event's pull is scaled by how often it fired.
	Tried, Fired map[string]int
}

// fireRate estimates how often a fault on event fires (Laplace's rule:
// one half before any try).
func (g *Guide) fireRate(event string) float64 {
	return float64(g.Fired[event]+1) / float64(g.Tried[event]+2)
}

// TriggerKey names a trigger's event as Guide.Tried and Guide.Fired do.
func TriggerKey(t *Trigger) string { return t.Layer + "/" + t.Event }

// pull is how strongly a missing cell attracts draws: 1 for a cell no
// draw aimed at yet, decaying with every aim.
func (g *Guide) pull(i int) float64 { return 1 / math.Sqrt(1+float64(g.Aimed[i])) }

// cellsPerKind is the number of cells of one fault kind: 4 Totem x 3
// votequorum x 3 store states, and the node down.
const cellsPerKind = 4*3*3 + 1

// weight sums the pull of the missing cells of fault that match p.
func (g *Guide) weight(fault string, p pattern) float64 {
	w := 0.0
	for i, c := range g.Missing {
		if c.Fault == fault && p.matches(c) {
			w += g.pull(i)
		}
	}
	return w
}

// kindPull is how much of fault's cells is still to reach, 0..1.
func (g *Guide) kindPull(fault string) float64 {
	return g.weight(fault, pattern{}) / cellsPerKind
}

// aim lists the missing cells of fault that p matches: what a draw of
// that fault with that trigger aims at, counted against them next round.
func (g *Guide) aim(fault string, p pattern) []Cell {
	var out []Cell
	for _, c := range g.Missing {
		if c.Fault == fault && p.matches(c) {
			out = append(out, c)
		}
	}
	return out
}

// pattern is the part of a cell a draw can aim at: the states a node is
// in right after a trigger's event ("" matches any state; never the down
// cell, which no trigger aims at).
type pattern struct{ totem, quorum, store string }

func (p pattern) matches(c Cell) bool {
	if c.Totem == "down" {
		return false
	}
	return (p.totem == "" || p.totem == c.Totem) && (p.quorum == "" || p.quorum == c.Quorum) &&
		(p.store == "" || p.store == c.Store)
}

// timedAim is where a fault at a random instant lands: the cluster is
// calm most of the time between the schedule's faults.
var timedAim = pattern{totem: "operational"}

// guidedTrigger is an event a guided draw may fire a fault on, with the
// states the node that reports it is in at that instant, which is where
// a fault fired with no delay lands on it.
type guidedTrigger struct {
	layer, event string
	at           pattern
	device       bool // needs a quorum device
}

// guidedTriggers are the events a guided draw chooses among, the plain
// draw's (triggerDraws) and more: each aims at a part of the cells.
var guidedTriggers = []guidedTrigger{
	{"totem", "gather", pattern{totem: "gather"}, false},
	{"totem", "commit", pattern{totem: "commit"}, false},
	{"totem", "recovery", pattern{totem: "recovery"}, false},
	{"totem", "token_lost", pattern{totem: "gather"}, false},
	{"totem", "consensus_timeout", pattern{totem: "gather"}, false},
	{"totem", "retransmit", pattern{totem: "operational"}, false},
	{"totem", "membership", pattern{totem: "operational", quorum: "sync", store: "syncing"}, false},
	{"totem", "operational", pattern{totem: "operational", quorum: "sync"}, false},
	{"quorum", "sync", pattern{totem: "operational", store: "syncing"}, false},
	{"quorum", "inquorate", pattern{totem: "operational", quorum: "inquorate"}, false},
	{"quorum", "quorate", pattern{totem: "operational", quorum: "quorate"}, false},
	// The store's events follow a ring's installation: Totem is
	// operational by then.
	{"store", "sync_start", pattern{totem: "operational", store: "syncing"}, false},
	{"store", "leader", pattern{totem: "operational", store: "syncing"}, false},
	{"store", "transfer", pattern{totem: "operational", store: "syncing"}, false},
	{"store", "read_only", pattern{totem: "operational", quorum: "inquorate", store: "read_only"}, false},
	{"store", "writable", pattern{totem: "operational", quorum: "quorate", store: "writable"}, false},
	{"qdevice", "vote", pattern{totem: "operational", quorum: "sync"}, true},
	{"qdevice", "arbiter_vote", pattern{totem: "operational"}, true},
	{"qdevice", "lost", pattern{totem: "operational"}, true},
}

// guidedTriggerable are the fault kinds a guided draw may fire on an
// event (a restart or cold start after one that did not fire finds its
// nodes up, as after a plain draw's crash that did not). heal and switch_up get a timed copy at the end of their slot, so
// that one whose event never comes still ends what came before it.
var guidedTriggerable = []string{"crash", "power_off", "partition", "isolate", "drop", "heal", "switch_down",
	"switch_up", "set_loss", "set_latency", "qnetd_down"}

// GuidedKinds are the fault kinds a family's guided draws may apply: the
// universe of cells a guided swarm aims at (reports.CoverageUniverse of
// these). Every family ends the loss a cluster may start with
// (set_loss). The mixed family draws isolations, one-way drops and, with a
// quorum device, qnetd outages besides its plain kinds.
func GuidedKinds(family string) []string {
	switch family {
	case "crash", "restart":
		return []string{"crash", "restart", "set_loss"}
	case "partition":
		return []string{"partition", "isolate", "drop", "heal", "set_loss"}
	case "loss":
		return []string{"set_loss"}
	case "reorder":
		return []string{"set_latency", "set_loss"}
	case "cold-start":
		return []string{"power_off", "cold_start", "set_loss"}
	case "mixed":
		return []string{"crash", "restart", "partition", "isolate", "drop", "heal", "switch_down", "switch_up",
			"set_loss", "qnetd_down", "qnetd_up"}
	case "store":
		return []string{"crash", "restart", "power_off", "cold_start", "partition", "isolate", "drop", "heal",
			"switch_down", "switch_up", "set_loss"}
	case "config":
		return []string{"crash", "restart", "partition", "heal", "switch_down", "switch_up", "set_loss",
			"edit_conf", "add_node", "delnode", "qdevice_setup", "qdevice_remove"}
	}
	return nil
}

// pick draws an index in [0, n): uniformly from the schedule's stream
// without a guide (the plain draw, unchanged), else in proportion to
// weight(i).
func (g *gen) pick(n int, weight func(i int) float64) int {
	if g.guide == nil {
		return g.r.IntN(n)
	}
	return weighted(g.r, n, weight)
}

// weighted draws i in [0, n) with probability weight(i) / sum; weights are
// summed in index order, so the draw is a function of the stream alone.
func weighted(r interface{ Float64() float64 }, n int, weight func(i int) float64) int {
	ws := make([]float64, n)
	sum := 0.0
	for i := range n {
		ws[i] = max(weight(i), 0)
		sum += ws[i]
	}
	x := r.Float64() * sum
	for i, w := range ws {
		if x < w {
			return i
		}
		x -= w
	}
	return n - 1
}

// casePull weighs a case of a family's schedule that draws the fault
// kinds given: a floor, so that no case starves, plus how much of those
// kinds' cells is still to reach.
func (g *gen) casePull(kinds ...string) float64 {
	w := 0.25
	for _, k := range kinds {
		w += g.guide.kindPull(k)
	}
	return w
}

// guidedTriggersDraw fires the faults of a guided draw on the events that
// aim at the cells still missing: for every fault it may fire on an event,
// the choice between its drawn time and each event is weighted by the
// pull of the missing cells each lands on (the time: a calm, operational
// node), times how often the event came in earlier rounds. A fault naming
// a node fires on that node's own event. What each fault aims at is
// recorded in g.aims. A fault right after one of the config family's
// membership changes keeps its time: the change is left to complete
// (see membership), which a fault fired by its answer would not.
func (g *gen) guidedTriggersDraw() {
	gd := g.guide
	var out []Fault
	device := g.o.Device != nil
	for i := range g.faults {
		f := g.faults[i]
		afterChange := i > 0 && slices.Contains([]string{"add_node", "delnode", "qdevice_setup", "qdevice_remove"}, g.faults[i-1].Action)
		if i+1 >= len(g.faults) || afterChange || !slices.Contains(guidedTriggerable, f.Action) || g.faults[i+1].At <= f.At {
			g.aims = append(g.aims, gd.aim(f.Action, timedAim)...)
			out = append(out, f)
			continue
		}
		next := g.faults[i+1].At
		var opts []guidedTrigger
		for _, t := range guidedTriggers {
			if !t.device || device {
				opts = append(opts, t)
			}
		}
		// Option 0 is the drawn time.
		k := weighted(g.w, len(opts)+1, func(j int) float64 {
			if j == 0 {
				return 0.1 + gd.weight(f.Action, timedAim)
			}
			t := opts[j-1]
			return 0.02 + gd.fireRate(t.layer+"/"+t.event)*gd.weight(f.Action, t.at)
		})
		if k == 0 {
			g.aims = append(g.aims, gd.aim(f.Action, timedAim)...)
			out = append(out, f)
			continue
		}
		tr := opts[k-1]
		g.aims = append(g.aims, gd.aim(f.Action, tr.at)...)
		t := &Trigger{Layer: tr.layer, Event: tr.event, Probability: 1, Before: next}
		switch {
		case f.Node != "" && g.w.IntN(5) != 0:
			t.Node = f.Node
		case len(f.From) > 0 && g.w.IntN(5) != 0:
			t.Node = f.From[0]
		case g.w.IntN(2) == 0:
			t.Node = g.nodes[g.w.IntN(len(g.nodes))]
		}
		if g.w.IntN(8) == 0 {
			t.Delay = time.Duration(1+g.w.IntN(50)) * time.Millisecond
		}
		backup := f
		// Armed from the fault before (from the start for the first:
		// the cluster forming), so that the protocol's answer fires it.
		f.At = 0
		if i > 0 {
			f.At = g.faults[i-1].At
		}
		f.When = t
		out = append(out, f)
		if f.Action == "heal" || f.Action == "switch_up" {
			// A heal or a switch's return whose event never comes would
			// leave the fault before it in place: a timed copy ends it at
			// the end of the slot.
			backup.At = next
			out = append(out, backup)
		}
	}
	// In time order, as the loader keeps them (a trigger's time is when
	// it is armed), so that the YAML loads back to this value.
	slices.SortStableFunc(out, func(a, b Fault) int { return cmp.Compare(a.At, b.At) })
	for i := range out {
		out[i].Index = i
	}
	g.faults = out
}
