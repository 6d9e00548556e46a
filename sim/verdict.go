package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/check"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// The checks every run makes. Safety checks always judge the run; liveness
// judges it when the run goes on long enough after the last fault for its
// bound to elapse (or fails it when a scenario asks for it explicitly).
const (
	checkTotalOrderName = "total_order"
	checkVSName         = "virtual_synchrony"
	checkLivenessName   = "liveness"
	checkLinearName     = "linearizable"
	checkReplicasName   = "replicas_equal"
)

// verdicts runs the checkers over the history.
func (r *run) verdicts(res *reports.Result) {
	end := wire.Instant(r.sc.Duration)
	live := r.liveness(end)
	res.Liveness = live
	settle := wire.Instant(-1) // no self-delivery judgement unless the run settled
	if live.Converged {
		settle = end - wire.Instant(live.BoundMs*1e6)
	}
	order := check.CheckIntegrity(&r.hist)
	for _, c := range []func(*check.History) check.CheckResult{check.CheckAgreement, check.CheckTotalOrder, check.CheckGaps} {
		if !order.OK {
			break
		}
		order = c(&r.hist)
	}
	if order.OK && settle >= 0 {
		order = check.CheckSelfDelivery(&r.hist, settle)
	}
	vs := check.CheckVirtualSynchrony(&r.hist)
	if r.kv != nil {
		lin := r.checkLinearizable(r.opt.HistoryHTML)
		res.Checks[checkLinearName] = lin.OK
		if !lin.OK {
			defer func() { res.CheckDetails[checkLinearName] = lin.Detail }()
		}
		final, equal := r.finalReplicas(live)
		res.Stats.AckedWritesLost = r.ackedWritesLost(final)
		if live.Converged && live.Applicable {
			res.Checks[checkReplicasName] = equal == ""
			if equal != "" {
				defer func() { res.CheckDetails[checkReplicasName] = equal }()
			}
		}
	}
	res.Checks[checkTotalOrderName] = order.OK
	res.Checks[checkVSName] = vs.OK
	res.CheckDetails = map[string]string{}
	if !order.OK {
		res.CheckDetails[checkTotalOrderName] = order.Detail
	}
	if !vs.OK {
		res.CheckDetails[checkVSName] = vs.Detail
	}
	asked := slices.ContainsFunc(r.sc.Expect, func(e scenarios.Expect) bool { return e.Check == checkLivenessName })
	switch {
	case !live.Applicable && !asked:
		// Too short to judge, and nobody asked: reported, not judged.
	case live.Converged && live.MeasuredMs <= live.BoundMs:
		res.Checks[checkLivenessName] = true
	default:
		res.Checks[checkLivenessName] = false
		res.CheckDetails[checkLivenessName] = live.Detail
		if live.Detail == "" || !live.Applicable {
			// Not judgeable is its own failure, whether or not the
			// nodes settled: shrinking must not turn a run that did not
			// settle on a lossless network into one that ends lossy.
			res.CheckDetails[checkLivenessName] = "asked for, but the run does not end on a lossless network at least the bound after the last change"
		}
	}
}

// livenessBound is totem.SettleBound for this run's timers, nodes and
// knet heartbeat; its terms are in docs/scenarios.md ("The liveness
// bound"). Crash seed 795, a burst of restarts, settles in 1.7 s of its
// 13.4 s bound, as real Corosync does (docs/fidelity.md).
func (r *run) livenessBound() time.Duration {
	tm, err := r.hosts[0].cfg.Timers()
	if err != nil {
		return 0
	}
	interval, _, _ := r.hosts[0].cfg.PingTimers()
	return totem.SettleBound(tm, links.LinkUpBound(interval), len(r.hosts))
}

// liveness measures how long after the last change to the cluster (a fault
// or a boot) the live nodes of each connected component took to install
// one common ring of exactly that component and keep it to the end.
func (r *run) liveness(end wire.Instant) *reports.Liveness {
	bound := r.livenessBound()
	quiet := r.lastChange
	lv := &reports.Liveness{BoundMs: ms(bound), SinceMs: quiet.Millis()}
	// The property is about a connected, stable and lossless network
	// (totem.md §10.9): a run that ends lossy is reported, not judged.
	lv.Applicable = end-quiet >= wire.Instant(bound) && !r.lossy()
	lv.Churn = int(r.obs.membershipChanges(quiet, end+1))
	var converged wire.Instant
	for _, comp := range r.components() {
		t, ok := r.convergedAt(comp, quiet)
		if !ok {
			lv.Detail = fmt.Sprintf("nodes %s did not settle on one ring of exactly themselves within %v of the last change at %v: %s",
				r.hostNames(comp), bound, time.Duration(quiet), r.unsettled(comp, quiet, end))
			return lv
		}
		converged = max(converged, t)
	}
	lv.Converged = true
	lv.MeasuredMs = ms(converged.Sub(quiet))
	if lv.MeasuredMs > lv.BoundMs {
		lv.Detail = fmt.Sprintf("converged %.0fms after the last change, over the bound of %.0fms", lv.MeasuredMs, lv.BoundMs)
	}
	return lv
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// lossy reports whether any link drops packets at random at the end.
func (r *run) lossy() bool {
	for _, h := range r.hosts {
		for _, ln := range r.linkNos {
			if loss, err := r.net.Loss(h.id, ln); err == nil && loss > 0 {
				return true
			}
		}
	}
	return false
}

// components groups the live hosts by final connectivity: two hosts are
// connected when some link passes packets both ways between them.
func (r *run) components() [][]*host {
	n := len(r.hosts)
	comp := make([]int, n)
	for i := range comp {
		comp[i] = -1
	}
	var out [][]*host
	for i, h := range r.hosts {
		if !h.up || comp[i] >= 0 {
			continue
		}
		c := len(out)
		comp[i] = c
		group := []*host{h}
		for q := 0; q < len(group); q++ {
			a := group[q].idx
			for b := range n {
				if comp[b] >= 0 || !r.hosts[b].up {
					continue
				}
				if r.connected(a, b) {
					comp[b] = c
					group = append(group, r.hosts[b])
				}
			}
		}
		slices.SortFunc(group, func(x, y *host) int { return x.idx - y.idx })
		out = append(out, group)
	}
	return out
}

func (r *run) connected(a, b int) bool {
	if !r.sameCluster(a, b) {
		return false
	}
	for _, ln := range r.linkNos {
		if ps := r.obs.path(a, b, ln); ps != nil && ps.open {
			return true
		}
	}
	return false
}

// convergedAt returns the instant from which every host of comp had
// installed the same regular configuration of exactly comp and installed
// nothing after it; ok is false when that never happened.
func (r *run) convergedAt(comp []*host, since wire.Instant) (wire.Instant, bool) {
	want := make([]wire.NodeID, len(comp))
	for i, h := range comp {
		want[i] = h.id
	}
	slices.Sort(want)
	var ring check.RingRef
	var at wire.Instant
	for i, h := range comp {
		last, found := h.proc.LastRegular()
		if !found || !slices.Equal(last.Members, want) {
			return 0, false
		}
		if i == 0 {
			ring = last.Ring
		} else if last.Ring != ring {
			return 0, false
		}
		at = max(at, last.At, since)
	}
	return at, true
}

// unsettled says where the live nodes of comp stand at the end of a run
// in which they did not settle, so that a failed liveness check shows the
// pattern and not only that the bound passed: the rings they hold at the
// end, grouped, and whether they were still installing new ones (two
// rings that keep failing each other, docs/fidelity.md) or had stopped
// (a merge that never came).
func (r *run) unsettled(comp []*host, quiet, end wire.Instant) string {
	held := make([]heldRing, 0, 2)
	for _, h := range comp {
		ring, members := check.RingRef{}, []string(nil)
		if last, ok := h.proc.LastRegular(); ok {
			ring, members = last.Ring, r.idNames(last.Members)
		}
		held = appendHeld(held, ring, members, h.name, r.obs.installs[h.idx])
	}
	// Each node's Totem state at the end: a node that cycles between
	// COMMIT, RECOVERY and GATHER without installing shows here.
	var states []string
	var inState [][]string
	for _, h := range comp {
		st, _, _ := h.node.Ring()
		name := st.String()
		i := slices.Index(states, name)
		if i < 0 {
			states, inState = append(states, name), append(inState, nil)
			i = len(states) - 1
		}
		inState[i] = append(inState[i], h.name)
	}
	var b strings.Builder
	for i, st := range states {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s {%s}", st, strings.Join(inState[i], ","))
	}
	return describeUnsettled(held, quiet, end) + "; Totem states at the end: " + b.String()
}

// heldRing is one regular configuration some nodes hold at the end of a
// run: its ring and members (none for nodes that never installed one),
// which of the nodes judged hold it, and when each of them installed its
// rings.
type heldRing struct {
	ring     check.RingRef
	members  []string
	holders  []string
	installs [][]wire.Instant
}

func appendHeld(held []heldRing, ring check.RingRef, members []string, holder string, installs []wire.Instant) []heldRing {
	for i := range held {
		if g := &held[i]; g.ring == ring && slices.Equal(g.members, members) {
			g.holders, g.installs = append(g.holders, holder), append(g.installs, installs)
			return held
		}
	}
	return append(held, heldRing{ring: ring, members: members, holders: []string{holder}, installs: [][]wire.Instant{installs}})
}

// cycleInstalls is how many rings a group installed since the last change
// for it to count as one side of a cycle: the cycle turns every few tens
// of milliseconds, and a liveness bound is seconds.
const cycleInstalls = 10

// unsettledWindow is how far back from the end of a run the rate of ring
// installs is measured: long enough for a cycle of rings, which turns in
// milliseconds, and short against any liveness bound.
const unsettledWindow = time.Second

// describeUnsettled words the state of nodes that did not settle: each
// ring held at the end (in the order of its first holder) with how many
// rings its holders installed since the last change (quiet), then whether
// any node was still installing rings at the end of the run.
func describeUnsettled(held []heldRing, quiet, end wire.Instant) string {
	var b strings.Builder
	b.WriteString("at the end ")
	var recent, cycling int
	var last wire.Instant
	for i, g := range held {
		if i > 0 {
			b.WriteString("; ")
		}
		names := "{" + strings.Join(g.holders, ",") + "}"
		switch {
		case g.members == nil:
			fmt.Fprintf(&b, "%s had no ring", names)
		case slices.Equal(g.members, g.holders):
			fmt.Fprintf(&b, "%s held ring %s of themselves", names, g.ring)
		default:
			fmt.Fprintf(&b, "%s held ring %s of {%s}", names, g.ring, strings.Join(g.members, ","))
		}
		least, most := -1, 0
		for _, ins := range g.installs {
			n, k := 0, 0
			for _, t := range ins {
				if t >= quiet {
					n++
				}
				if t >= end-wire.Instant(unsettledWindow) {
					k++
				}
				last = max(last, t)
			}
			if least < 0 || n < least {
				least = n
			}
			most, recent = max(most, n), max(recent, k)
		}
		if most >= cycleInstalls {
			cycling++
		}
		if least == most {
			fmt.Fprintf(&b, ", %d %s since the last change", most, plural(most, "install", "installs"))
		} else {
			fmt.Fprintf(&b, ", %d-%d installs since the last change", least, most)
		}
	}
	switch {
	case recent >= 2:
		fmt.Fprintf(&b, "; still re-forming: one ring every %v in the last %v",
			(unsettledWindow / time.Duration(recent)).Round(100*time.Microsecond), unsettledWindow)
		if cycling >= 2 {
			b.WriteString(" (rings that keep failing each other: docs/fidelity.md, \"Liveness over the random families\")")
		}
	case last >= quiet:
		fmt.Fprintf(&b, "; no ring installed in the last %v of the run (the last at %v)",
			end.Sub(last).Round(time.Millisecond), time.Duration(last).Round(time.Millisecond))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// idNames maps node ids to the scenario's node names.
func (r *run) idNames(ids []wire.NodeID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if j, ok := r.byID[id]; ok {
			out[i] = r.hosts[j].name
		} else {
			out[i] = id.String()
		}
	}
	return out
}

func (r *run) hostNames(hs []*host) string {
	ids := make([]wire.NodeID, len(hs))
	for i, h := range hs {
		ids[i] = h.id
	}
	return "{" + r.names(ids) + "}"
}

// metric evaluates one metric expectation.
func (r *run) metric(e scenarios.Expect) (bool, string) {
	after, before := wire.Instant(0), wire.Instant(r.sc.Duration)+1
	if e.After != nil {
		after = wire.Instant(*e.After)
	}
	if e.Before != nil {
		before = wire.Instant(*e.Before)
	}
	var v float64
	switch e.Metric {
	case "membership_changes":
		v = float64(r.obs.membershipChanges(after, before))
	case "ops":
		v = float64(r.ops)
	case "ops_ok":
		v = float64(r.opsOK)
	case "acked_writes_lost":
		v = float64(r.res.Stats.AckedWritesLost)
	case "ops_refused":
		v = float64(r.res.Stats.OpsRefused)
	case "quorate_fraction":
		v = r.quorateFraction(after, before)
	case "refused":
		v = float64(r.refusalsIn(after, before))
	case "token_retransmits":
		v = float64(r.res.Stats.TokenRetransmits)
	case "tokens_lost":
		v = float64(r.res.Stats.TokensLost)
	default:
		return false, fmt.Sprintf("metric %q is not measured by this build", e.Metric)
	}
	switch {
	case e.Equals != nil && v != *e.Equals:
		return false, fmt.Sprintf("%s is %g, want %g", e.Metric, v, *e.Equals)
	case e.Max != nil && v > *e.Max:
		return false, fmt.Sprintf("%s is %g, over the maximum %g", e.Metric, v, *e.Max)
	case e.Min != nil && v < *e.Min:
		return false, fmt.Sprintf("%s is %g, under the minimum %g", e.Metric, v, *e.Min)
	}
	return true, fmt.Sprintf("%s is %g", e.Metric, v)
}

// finalReplicas returns the final value of every key on the replica of the
// largest group of live nodes, and a description of the first difference
// between replicas of one connected group ("" when they agree).
func (r *run) finalReplicas(live *reports.Liveness) (map[string]string, string) {
	final := map[string]string{}
	comps := r.components()
	var best []*host
	for _, c := range comps {
		if len(c) > len(best) {
			best = c
		}
	}
	if len(best) > 0 {
		for k := 0; k < r.sc.Workload.Keys; k++ {
			key := fmt.Sprintf("k%d", k)
			if v, ok := r.readLocal(best[0], key); ok {
				final[key] = v
			}
		}
	}
	for _, c := range comps {
		for _, h := range c[1:] {
			if a, b := r.storeDigest(c[0]), r.storeDigest(h); a != b {
				return final, fmt.Sprintf("replicas differ after the final heal: %s has digest %s, %s has %s", c[0].name, a, h.name, b)
			}
		}
	}
	return final, ""
}

// counterexampleKind is the kind of counterexample a failed check gave:
// the property its detail names first ("gap", "total order", "no
// duplication", ...), the kind of linearizability violation, or how
// liveness failed. Shrinking keeps a failure only while this stays.
func counterexampleKind(check, detail string) string {
	switch {
	case check == checkLinearName && strings.Contains(detail, "stale read"):
		return "stale read"
	case check == checkLinearName && strings.Contains(detail, "no linear order"):
		return "no linear order"
	case check == checkLivenessName && strings.Contains(detail, "did not settle"):
		return "did not settle"
	case check == checkLivenessName && strings.Contains(detail, "over the bound"):
		return "over the bound"
	case check == checkLivenessName:
		return "not judgeable"
	case check == checkReplicasName:
		return "replicas differ"
	}
	if i := strings.Index(detail, ":"); i >= 0 {
		return detail[:i]
	}
	return detail
}

// sameCluster reports whether hosts a and b are configured to talk to each
// other: each is in the other's nodelist (a node separated or removed from
// the cluster is connected to nobody, whatever the wires say).
func (r *run) sameCluster(a, b int) bool {
	ha, hb := r.hosts[a], r.hosts[b]
	return slices.Contains(ha.cfg.Nodes, hb.id) && slices.Contains(hb.cfg.Nodes, ha.id)
}

// refusalsIn counts the operator actions refused in [after, before).
func (r *run) refusalsIn(after, before wire.Instant) int {
	n := 0
	for _, f := range r.obs.faults {
		t := wire.Instant(f.TMs * 1e6)
		if f.Refused != "" && t >= after && t < before {
			n++
		}
	}
	return n
}
