package sim

import (
	"fmt"
	"maps"
	"slices"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
)

// result assembles result.json from the finished run.
func (r *run) result(failure string) *reports.Result {
	end := wire.Instant(r.sc.Duration)
	var status []reports.NodeStatusText
	if r.res != nil {
		status = r.res.Status
	}
	res := &reports.Result{
		Status:      status,
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
			q := h.node.Quorum()
			nr.Quorate, nr.ExpectedVotes, nr.HighestExpected = q.Quorate, q.ExpectedVotes, q.HighestExpected
			nr.TotalVotes, nr.Quorum, nr.Flags = q.TotalVotes, q.Quorum, q.Flags
			st, ring, members := h.node.Ring()
			nr.State, nr.RingID = st.String(), ring.String()
			if v, ok := r.obs.state[stateKey{node: int32(h.idx), kind: stateMembers}].at(end); ok && len(members) > 0 {
				nr.Members = r.obs.memberSets[v]
			}
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
	for _, h := range r.hosts {
		if h.node != nil {
			st := h.node.TotemStats()
			res.Stats.TokenRetransmits += st.TokenRetransmits
			res.Stats.TokensLost += st.TokenLost
		}
	}
	res.Stats.Packets = r.counts
	r.judgeResult(res, failure)
	return res
}

// judgeResult fills in what follows from the recorded history: rings,
// fault responses, the checks, the metrics and the expectations, and the
// verdict. The simulator and a recorded run (Recording) share it.
func (r *run) judgeResult(res *reports.Result, failure string) {
	end := wire.Instant(r.sc.Duration)
	r.res = res
	res.Rings = r.rings()
	res.Responses = r.responses(res.Rings)
	r.summarize(res)
	r.verdicts(res)
	for _, name := range slices.Sorted(maps.Keys(r.extraChecks)) {
		// A recorded run's own evidence for a check (Recording.Check).
		c := r.extraChecks[name]
		if ok, judged := res.Checks[name]; !c.OK && (ok || !judged) {
			res.Checks[name] = false
			res.CheckDetails[name] = c.Detail
		} else if !judged {
			res.Checks[name] = c.OK
		}
	}
	res.Stats.MembershipChanges = r.obs.membershipChanges(0, end+1)
	res.Stats.Ops, res.Stats.OpsOK = r.ops, r.opsOK
	res.Stats.QuorateFraction = r.quorateFraction(0, end+1)
	res.Stats.Refused = r.refusals
	if r.kv != nil {
		res.Stats.OpsRefused = r.kv.refused
		res.Stats.OpLatencyMs, res.Stats.WriteLatencyMs = r.kv.latencies()
	}
	res.Expectations = r.evaluate()
	res.OK = failure == ""
	if !res.OK {
		res.FailureID = &reports.FailureID{Kind: "engine assertion"}
	}
	for _, name := range []string{checkTotalOrderName, checkVSName, checkLivenessName, checkLinearName, checkReplicasName} {
		if ok, judged := res.Checks[name]; judged && !ok && res.OK {
			res.OK = false
			res.Failure = fmt.Sprintf("check %s failed: %s", name, res.CheckDetails[name])
			res.FailureID = &reports.FailureID{Check: name, Kind: counterexampleKind(name, res.CheckDetails[name])}
		}
	}
	for i, e := range res.Expectations {
		if !e.OK && res.OK {
			res.OK = false
			res.Failure = fmt.Sprintf("expectation failed: %s (%s): %s", e.Expect, e.Where, e.Reason)
			res.FailureID = &reports.FailureID{Expect: &i}
		}
	}
}
