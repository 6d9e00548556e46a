package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// evaluate judges every expectation against the recorded timelines.
func (r *run) evaluate() []reports.ExpectationResult {
	out := make([]reports.ExpectationResult, 0, len(r.sc.Expect))
	for _, e := range r.sc.Expect {
		var ok bool
		var reason string
		switch {
		case e.Check != "":
			ok = r.res.Checks[e.Check]
			reason = r.res.CheckDetails[e.Check]
			if _, judged := r.res.Checks[e.Check]; !judged {
				reason = "not judged"
			}
		case e.Guest != "":
			ok, reason = r.judgeGuest(e)
		case e.Fault != nil:
			ok, reason = r.judgeFault(e)
		case e.Metric != "":
			ok, reason = r.metric(e)
			if ok {
				reason = ""
			}
		default:
			ok, reason = r.judge(e)
		}
		er := reports.ExpectationResult{Expect: e.Text, OK: ok, Reason: reason, Where: e.Pos.String()}
		if ok {
			if why := r.vacuous(e); why != "" {
				er.Vacuous, er.Warning = true, why
				if r.opt.Strict {
					er.OK, er.Reason = false, "vacuous (--strict): "+why
				}
			}
		}
		out = append(out, er)
	}
	return out
}

// vacuous says why a by or within expectation that held tests nothing: it
// already held on every node it names at the instant before the fault (or
// the instant) its window opens at, so the run would have passed it had the
// fault never happened. "" when it is not vacuous.
func (r *run) vacuous(e scenarios.Expect) string {
	if (e.By == nil && e.Within == nil) || e.Window[0] <= 0 {
		return ""
	}
	before := wire.Instant(e.Window[0]) - 1
	if e.Guest != "" {
		key, want, ok := r.guestState(e)
		if v, _ := r.obs.state[key].at(before); !ok || v != want {
			return ""
		}
		return fmt.Sprintf("already held just before %s: it does not test the recovery from it (use at, during or at_end to assert that a state is kept)", e.Anchor)
	}
	names := e.Nodes
	if e.Node != "" {
		names = []string{e.Node}
	}
	for _, name := range names {
		if ok, _ := r.holds(e, r.host(name), before); !ok {
			return ""
		}
	}
	return fmt.Sprintf("already held just before %s: it does not test the recovery from it (use at, during or at_end to assert that a state is kept)", e.Anchor)
}

// judge evaluates one state expectation for each of its nodes.
func (r *run) judge(e scenarios.Expect) (bool, string) {
	names := e.Nodes
	if e.Node != "" {
		names = []string{e.Node}
	}
	for _, name := range names {
		h := r.host(name)
		if ok, reason := r.judgeNode(e, h); !ok {
			return false, reason
		}
	}
	return true, ""
}

// judgeNode checks e on one node over the instants its time form names.
func (r *run) judgeNode(e scenarios.Expect, h *host) (bool, string) {
	keys := r.keysOf(e, h)
	switch {
	case e.At != nil:
		return r.holds(e, h, wire.Instant(*e.At))
	case e.AtEnd:
		return r.holds(e, h, wire.Instant(r.sc.Duration))
	case e.By != nil || e.Within != nil:
		from, end := wire.Instant(e.Window[0]), wire.Instant(e.Window[1])
		var last string
		for _, t := range r.breakpoints(keys, from, end) {
			ok, reason := r.holds(e, h, t)
			if ok {
				return true, ""
			}
			last = reason
		}
		if e.Anchor == "" {
			return false, fmt.Sprintf("never held by %v (last: %s)", time.Duration(end), last)
		}
		return false, fmt.Sprintf("never held from %s to %v (last: %s)", e.Anchor, time.Duration(end), last)
	case e.During != nil:
		from, to := wire.Instant(e.During[0]), wire.Instant(e.During[1])
		for _, t := range r.breakpoints(keys, from, to) {
			if ok, reason := r.holds(e, h, t); !ok {
				return false, fmt.Sprintf("at %v: %s", time.Duration(t), reason)
			}
		}
		return true, ""
	}
	return false, "no time form"
}

// keysOf lists the timelines an expectation on h depends on.
func (r *run) keysOf(e scenarios.Expect, h *host) []stateKey {
	keys := []stateKey{{node: int32(h.idx), kind: stateUp}}
	if e.Members != nil {
		keys = append(keys, stateKey{node: int32(h.idx), kind: stateMembers})
	}
	for _, f := range quorumFields(e) {
		keys = append(keys, stateKey{node: int32(h.idx), kind: f.kind})
	}
	if e.Peer != "" {
		p := int32(r.host(e.Peer).idx)
		if e.ActiveLink != nil {
			keys = append(keys, stateKey{node: int32(h.idx), kind: stateActiveLink, peer: p})
		}
		if e.LinkUp != nil && e.Link != nil {
			keys = append(keys, stateKey{node: int32(h.idx), kind: stateLinkUp, peer: p, link: int8(*e.Link)})
		}
	}
	return keys
}

// breakpoints are the instants in [from, to] at which the state of keys may
// differ from the instant before: from itself and every change after it.
func (r *run) breakpoints(keys []stateKey, from, to wire.Instant) []wire.Instant {
	ts := []wire.Instant{from}
	for _, k := range keys {
		for _, c := range r.obs.state[k] {
			if c.at > from && c.at <= to {
				ts = append(ts, c.at)
			}
		}
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}

// holds checks every state field of e on h at instant t.
func (r *run) holds(e scenarios.Expect, h *host, t wire.Instant) (bool, string) {
	up, _ := r.obs.state[stateKey{node: int32(h.idx), kind: stateUp}].at(t)
	if up == 0 {
		return false, fmt.Sprintf("%s is down at %v", h.name, time.Duration(t))
	}
	if e.ActiveLink != nil {
		p := r.host(e.Peer)
		v, _ := r.obs.state[stateKey{node: int32(h.idx), kind: stateActiveLink, peer: int32(p.idx)}].at(t)
		if v == wire.NoLink {
			return false, fmt.Sprintf("%s has no usable link to %s at %v", h.name, p.name, time.Duration(t))
		}
		if v != int64(*e.ActiveLink) {
			return false, fmt.Sprintf("%s sends to %s on link %d at %v", h.name, p.name, v, time.Duration(t))
		}
	}
	if e.Members != nil {
		v, ok := r.obs.state[stateKey{node: int32(h.idx), kind: stateMembers}].at(t)
		if !ok {
			return false, fmt.Sprintf("%s has installed no configuration at %v", h.name, time.Duration(t))
		}
		want := slices.Sorted(slices.Values(e.Members))
		if got := r.obs.memberSets[v]; !slices.Equal(got, want) {
			return false, fmt.Sprintf("%s's members are [%s] at %v", h.name, strings.Join(got, " "), time.Duration(t))
		}
	}
	for _, f := range quorumFields(e) {
		v, _ := r.obs.state[stateKey{node: int32(h.idx), kind: f.kind}].at(t)
		if v != f.want {
			got := strconv.FormatInt(v, 10)
			if f.kind == stateQuorate {
				got = strconv.FormatBool(v == 1)
			}
			return false, fmt.Sprintf("%s's %s is %s at %v", h.name, f.name, got, time.Duration(t))
		}
	}
	if e.LinkUp != nil && e.Link != nil {
		p := r.host(e.Peer)
		v, _ := r.obs.state[stateKey{node: int32(h.idx), kind: stateLinkUp, peer: int32(p.idx), link: int8(*e.Link)}].at(t)
		if (v == 1) != *e.LinkUp {
			return false, fmt.Sprintf("%s sees link %d to %s %s at %v", h.name, *e.Link, p.name, upDown(v == 1), time.Duration(t))
		}
	}
	return true, ""
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

type quorumField struct {
	name string
	kind stateKind
	want int64
}

// quorumFields lists the votequorum fields an expectation asserts.
func quorumFields(e scenarios.Expect) []quorumField {
	var out []quorumField
	if e.Quorate != nil {
		out = append(out, quorumField{"quorate", stateQuorate, b2i(*e.Quorate)})
	}
	if e.ConfigVersion != nil {
		out = append(out, quorumField{"config_version", stateConfigVersion, int64(*e.ConfigVersion)})
	}
	if e.TotalVotes != nil {
		out = append(out, quorumField{"total_votes", stateTotalVotes, int64(*e.TotalVotes)})
	}
	if e.ExpectedVotes != nil {
		out = append(out, quorumField{"expected_votes", stateExpectedVotes, int64(*e.ExpectedVotes)})
	}
	if e.Quorum != nil {
		out = append(out, quorumField{"quorum", stateQuorumValue, int64(*e.Quorum)})
	}
	return out
}

// judgeFault checks an expectation on an operator action: whether the
// file's faults[N] was refused, and with which words.
func (r *run) judgeFault(e scenarios.Expect) (bool, string) {
	var fr *reports.FaultResponse
	for i := range r.obs.faults {
		if r.obs.faults[i].File == *e.Fault {
			fr = &r.obs.faults[i]
		}
	}
	want := *e.Refused
	switch {
	case fr == nil:
		return false, fmt.Sprintf("faults[%d] did not run before the end", *e.Fault)
	case want && fr.Refused == "":
		return false, fmt.Sprintf("faults[%d] %s took effect", *e.Fault, fr.Action)
	case !want && fr.Refused != "":
		return false, fmt.Sprintf("faults[%d] %s was refused: %s", *e.Fault, fr.Action, fr.Refused)
	case want && e.Reason != "" && !strings.Contains(fr.Refused, e.Reason):
		return false, fmt.Sprintf("faults[%d] %s was refused, but for another reason: %s", *e.Fault, fr.Action, fr.Refused)
	}
	return true, ""
}
