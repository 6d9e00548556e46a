package sim

import (
	"cmp"
	"github.com/quorate/quorate/engine/check"
	"slices"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
)

// rings lists every ring any process installed, in order of first install.
func (r *run) rings() []reports.RingInstall {
	type acc struct {
		first, last wire.Instant
		nodes       int
		members     []wire.NodeID
	}
	byRing := map[check.RingRef]*acc{}
	var order []check.RingRef
	for _, p := range r.hist.Procs {
		for _, d := range p.Configs() {
			if d.Kind != check.KindRegular {
				continue
			}
			a, ok := byRing[d.Ring]
			if !ok {
				a = &acc{first: d.At, last: d.At, members: d.Members}
				byRing[d.Ring] = a
				order = append(order, d.Ring)
			}
			a.first, a.last = min(a.first, d.At), max(a.last, d.At)
			a.nodes++
		}
	}
	slices.SortStableFunc(order, func(x, y check.RingRef) int { return cmp.Compare(byRing[x].first, byRing[y].first) })
	out := make([]reports.RingInstall, 0, len(order))
	for _, ring := range order {
		a := byRing[ring]
		out = append(out, reports.RingInstall{RingID: ring.String(), Members: r.nameList(a.members),
			FirstMs: a.first.Millis(), LastMs: a.last.Millis(), Nodes: a.nodes})
	}
	return out
}

// responses pairs each fault with the first ring installed after it (before
// the next fault).
func (r *run) responses(rings []reports.RingInstall) []reports.FaultResponse {
	faults := r.obs.faults
	out := make([]reports.FaultResponse, 0, len(faults))
	for i, f := range faults {
		resp := f
		next := r.sc.Duration.Seconds() * 1e3
		if i+1 < len(faults) {
			next = faults[i+1].TMs
		}
		for _, ring := range rings {
			if ring.FirstMs > f.TMs && ring.FirstMs <= next {
				resp.RingID, resp.Members = ring.RingID, ring.Members
				resp.FirstMs, resp.AllMs = ring.FirstMs-f.TMs, ring.LastMs-f.TMs
				break
			}
		}
		out = append(out, resp)
	}
	return out
}

func (r *run) nameList(ids []wire.NodeID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
		if j, ok := r.byID[id]; ok {
			out[i] = r.hosts[j].name
		}
	}
	return out
}
