package sim

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
)

// qspan is an interval [from, to) in which a node's process was up or down
// and it was quorate or not (down is never quorate).
type qspan struct {
	from, to    wire.Instant
	up, quorate bool
}

// finalState is one node's state when the run stops, for the answer.
type finalState struct {
	name    string
	since   wire.Instant // start of the quorate span that lasts to the end
	quorate bool
	down    bool
}

// summarize answers "would my cluster have survived?" from the recorded
// timelines: per node, its boots, how long it was without quorum once it
// had had it, and how long after each fault it was in a new ring with
// quorum; and the answer in one line.
func (r *run) summarize(res *reports.Result) {
	end := wire.Instant(r.sc.Duration)
	faults := r.obs.faults
	res.NodeSummary = make([]reports.NodeSummary, 0, len(r.hosts))
	finals := make([]finalState, 0, len(r.hosts))
	for _, h := range r.hosts {
		q := r.quorateSpans(h, end)
		ns := reports.NodeSummary{Node: h.name, Boots: h.incs}
		first := wire.Instant(-1)
		var quorate, down wire.Instant
		for _, s := range q {
			if s.quorate && first < 0 {
				first = s.from
			}
			if s.quorate {
				quorate += s.to - s.from
			}
			if !s.up {
				down += s.to - s.from
			}
		}
		ns.DownMs = down.Millis()
		ns.NoQuorumMs = end.Millis()
		if first >= 0 {
			f := first.Millis()
			ns.FirstQuorateMs = &f
			ns.NoQuorumMs = (end - first - quorate).Millis()
		}
		installs := r.ringInstalls(h)
		for _, f := range faults {
			at := wire.Instant(f.TMs * 1e6)
			var d *float64
			if t, ok := nextQuorateRing(q, installs, at); ok {
				v := (t - at).Millis()
				d = &v
			}
			ns.ToQuorateRingMs = append(ns.ToQuorateRingMs, d)
		}
		res.NodeSummary = append(res.NodeSummary, ns)
		fin := finalState{name: h.name}
		if last := q[len(q)-1]; last.quorate {
			fin.quorate, fin.since = true, last.from
		} else {
			fin.down = !last.up
		}
		finals = append(finals, fin)
	}
	res.Answer = answer(res.NodeSummary, finals, faults)
}

// quorateSpans cuts [0, end] into spans of constant (up, quorate) for h.
func (r *run) quorateSpans(h *host, end wire.Instant) []qspan {
	upTL := r.obs.state[stateKey{node: int32(h.idx), kind: stateUp}]
	qTL := r.obs.state[stateKey{node: int32(h.idx), kind: stateQuorate}]
	ts := []wire.Instant{0}
	for _, tl := range []timeline{upTL, qTL} {
		for _, c := range tl {
			if c.at > 0 && c.at < end {
				ts = append(ts, c.at)
			}
		}
	}
	slices.Sort(ts)
	var out []qspan
	for i, t := range ts {
		to := end
		if i+1 < len(ts) {
			to = ts[i+1]
		}
		up, _ := upTL.at(t)
		qv, _ := qTL.at(t)
		s := qspan{from: t, to: to, up: up == 1, quorate: up == 1 && qv == 1}
		if n := len(out); n > 0 && out[n-1].up == s.up && out[n-1].quorate == s.quorate {
			out[n-1].to = to
			continue
		}
		out = append(out, s)
	}
	return out
}

// ringInstalls lists the instants at which any incarnation of h installed
// a regular configuration, in order.
func (r *run) ringInstalls(h *host) []wire.Instant {
	var out []wire.Instant
	for _, p := range r.hist.Procs {
		if p.Node != h.id {
			continue
		}
		for _, in := range p.Installs {
			out = append(out, in.At)
		}
	}
	slices.Sort(out)
	return out
}

// nextQuorateRing is the first instant after a fault at which the node
// has installed a ring after the fault and is quorate.
func nextQuorateRing(q []qspan, installs []wire.Instant, fault wire.Instant) (wire.Instant, bool) {
	for _, in := range installs {
		if in <= fault {
			continue
		}
		// The first quorate instant at or after this install (a later
		// install restarts the search from there, which is the same or later).
		for _, s := range q {
			if s.quorate && s.to > in {
				return max(s.from, in), true
			}
		}
		return 0, false
	}
	return 0, false
}

// answer is the one-line verdict: whether and when every node was quorate
// again after the last fault, and who went longest without quorum.
func answer(ns []reports.NodeSummary, fin []finalState, faults []reports.FaultResponse) string {
	var missing []string
	var back wire.Instant
	for _, f := range fin {
		switch {
		case f.quorate:
			back = max(back, f.since)
		case f.down:
			missing = append(missing, f.name+" (down)")
		default:
			missing = append(missing, f.name+" (not quorate)")
		}
	}
	var first string
	switch {
	case len(missing) > 0:
		first = "not every node quorate at the end: " + strings.Join(missing, ", ")
	case len(faults) == 0:
		first = fmt.Sprintf("no faults; all nodes quorate from %s on", secs(back.Millis()))
	default:
		last := faults[len(faults)-1].TMs
		if d := back.Millis() - last; d > 0 {
			first = fmt.Sprintf("all nodes quorate again %s after the last fault", secs(d))
		} else {
			first = fmt.Sprintf("all nodes stayed quorate through the last fault (at %s)", secs(last))
		}
	}
	worst := -1
	for i, n := range ns {
		if n.FirstQuorateMs != nil && n.NoQuorumMs > 0 && (worst < 0 || n.NoQuorumMs > ns[worst].NoQuorumMs) {
			worst = i
		}
	}
	if worst < 0 {
		return first + "; no node lost quorum once it had it"
	}
	return fmt.Sprintf("%s; %s was without quorum for %s", first, ns[worst].Node, secs(ns[worst].NoQuorumMs))
}

// secs prints milliseconds as seconds the way people say them: "7.4 s",
// "31 s", "0.25 s".
func secs(ms float64) string {
	s := ms / 1e3
	switch {
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	case s >= 1:
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.2g s", s)
}
