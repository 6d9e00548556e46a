package sim

import (
	"fmt"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
)

// result assembles result.json from the finished run.
func (r *run) result(failure string) *reports.Result {
	end := wire.Instant(r.sc.Duration)
	res := &reports.Result{
		Scenario:    r.sc.Name,
		Seed:        r.seed,
		SimulatedS:  r.sc.Duration.Seconds(),
		Events:      r.k.Processed(),
		TraceSHA256: r.trace.Sum(),
		Failure:     failure,
		Nodes:       map[string]reports.NodeResult{},
		Timeline:    r.obs.tl,
		Checks:      map[string]bool{},
		Links:       r.obs.finish(end),
	}
	for _, h := range r.hosts {
		nr := reports.NodeResult{Up: h.up, Links: map[string]reports.PeerLinks{}}
		if h.up {
			for _, p := range r.hosts {
				if p == h {
					continue
				}
				st, _ := h.node.LinkStatus(p.id)
				// Up is indexed by link number, as in corosync-cfgtool -s.
				pl := reports.PeerLinks{Active: int(st.Active), Up: make([]bool, r.linkNos[len(r.linkNos)-1]+1)}
				for _, ln := range r.linkNos {
					pl.Up[ln] = st.Up[ln]
				}
				nr.Links[p.name] = pl
			}
		}
		res.Nodes[h.name] = nr
	}
	res.Expectations = r.evaluate()
	res.OK = failure == ""
	for _, e := range res.Expectations {
		if !e.OK && res.OK {
			res.OK = false
			res.Failure = fmt.Sprintf("expectation failed: %s (%s): %s", e.Expect, e.Where, e.Reason)
		}
	}
	res.Stats.Packets = r.counts
	return res
}
