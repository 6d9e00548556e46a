package sim

import (
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// cover records, for fault f about to apply, the coverage cell of every
// node it touches (reports.CoverageCell): the states the fault meets.
func (r *run) cover(f scenarios.Fault) {
	act := reports.FaultAction(f.Action)
	var cells []reports.CoverageCell
	for _, h := range r.touched(f) {
		c := reports.CoverageCell{Fault: act, Totem: reports.CoverageDown, Quorum: reports.CoverageDown,
			Store: reports.CoverageDown, Count: 1}
		if h.up {
			st, _, _ := h.node.Ring()
			c.Totem = strings.ToLower(st.String())
			q := h.node.Quorum()
			switch {
			case q.Syncing:
				c.Quorum = "sync"
			case q.Quorate:
				c.Quorum = "quorate"
			default:
				c.Quorum = "inquorate"
			}
			c.Store = storeState(h.node.StoreStatus())
		}
		cells = append(cells, c)
	}
	r.coverage = reports.AddCoverage(r.coverage, cells...)
}

// storeState names a store's phase as a coverage cell does.
func storeState(s store.Status) string {
	switch {
	case s.Phase != store.PhaseSynced:
		return "syncing"
	case s.Writable:
		return "writable"
	}
	return "read_only"
}

// touched lists the hosts a fault acts on: the nodes it names, or every
// node for a fault that names none (heal, a switch, a link's loss, a
// partition, whose every group loses the others).
func (r *run) touched(f scenarios.Fault) []*host {
	var names []string
	names = append(names, f.Node)
	names = append(names, f.Nodes...)
	names = append(names, f.On)
	names = append(names, f.From...)
	names = append(names, f.To...)
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	if len(names) == 0 {
		return r.hosts
	}
	var out []*host
	for _, h := range r.hosts {
		if slices.Contains(names, h.name) {
			out = append(out, h)
		}
	}
	return out
}
