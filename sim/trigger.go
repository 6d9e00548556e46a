package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios"
)

// trigger is one armed `when:` fault: it fires once, at the first engine
// event that matches it inside its window (and wins its draw).
type trigger struct {
	fault int32
	when  *scenarios.Trigger
	at    wire.Instant // armed from
	host  int          // -1: any node
	rnd   *rand.Rand   // nil when the probability is 1
	fired bool
}

// armTriggers collects the scenario's state-triggered faults; the others
// are scheduled at their time by newRun.
func (r *run) armTriggers() {
	for i, f := range r.sc.Faults {
		if f.When == nil {
			continue
		}
		t := &trigger{fault: int32(i), when: f.When, at: wire.Instant(f.At), host: -1}
		if f.When.Node != "" {
			t.host = r.host(f.When.Node).idx
		}
		if f.When.Probability < 1 {
			t.rnd = r.streams.Rand(fmt.Sprintf("fault/%d/when", i))
		}
		r.triggers = append(r.triggers, t)
	}
}

// Trigger names, from the engine's typed events to the words of
// scenarios.TriggerEvents. The engine's own names are the keys, so a
// renamed event is a failing test (TestTriggerNames), not a silent miss.
var (
	totemTriggers = map[string]string{
		totem.EventMembership.String():       "membership",
		totem.EventTokenLost.String():        "token_lost",
		totem.EventRetransmitList.String():   "retransmit",
		totem.EventConsensusTimeout.String(): "consensus_timeout",
	}
	totemStates   = []totem.State{totem.StateGather, totem.StateCommit, totem.StateRecovery, totem.StateOperational}
	quorumTrigger = map[string][2]string{
		quorum.EventQuorate.String():         {"quorum", "quorate"},
		quorum.EventInquorate.String():       {"quorum", "inquorate"},
		quorum.EventSync.String():            {"quorum", "sync"},
		quorum.EventExpectedVotes.String():   {"quorum", "expected_votes"},
		quorum.EventLastManStanding.String(): {"quorum", "last_man_standing"},
		quorum.EventDeviceVote.String():      {"qdevice", "vote"},
		quorum.EventDeviceLost.String():      {"qdevice", "lost"},
	}
	storeTriggers = []store.EventKind{store.EventSyncStart, store.EventLeader, store.EventTransfer,
		store.EventSynced, store.EventWritable, store.EventReadOnly}
)

// triggerOf names an engine event as a trigger does: its layer and its
// state or event; ok is false for events no trigger names.
func triggerOf(e wire.Event) (layer, name string, ok bool) {
	switch e.Kind {
	case wire.EventMembership:
		return "totem", "membership", true
	case wire.EventTotem:
		if e.Sub == totem.EventState.String() {
			return "totem", e.State, e.State != ""
		}
		name, ok = totemTriggers[e.Sub]
		return "totem", name, ok
	case wire.EventQuorum, wire.EventQuorumInfo:
		ln, ok := quorumTrigger[e.Sub]
		return ln[0], ln[1], ok
	case wire.EventStore:
		for _, k := range storeTriggers {
			if e.Sub == k.String() {
				return "store", e.Sub, true
			}
		}
	}
	return "", "", false
}

// triggerNames lists every (layer, name) triggerOf can return: the test
// holds it equal to scenarios.TriggerEvents.
func triggerNames() map[string][]string {
	out := map[string][]string{}
	for _, s := range totemStates {
		out["totem"] = append(out["totem"], strings.ToLower(s.String()))
	}
	for _, n := range totemTriggers {
		out["totem"] = append(out["totem"], n)
	}
	for _, ln := range quorumTrigger {
		out[ln[0]] = append(out[ln[0]], ln[1])
	}
	for _, k := range storeTriggers {
		out["store"] = append(out["store"], k.String())
	}
	out["qdevice"] = append(out["qdevice"], "arbiter_vote") // the arbiter's EventArbiterVote, see arbiterEvent
	return out
}

// engineEvent checks the armed triggers against one event of node h.
func (r *run) engineEvent(h *host, e wire.Event) {
	if len(r.triggers) == 0 {
		return
	}
	if layer, name, ok := triggerOf(e); ok {
		r.fire(h, layer, name)
	}
}

// arbiterEvent checks the armed triggers against one event of qnetd: a
// vote it sends to a node is that node's qdevice arbiter_vote.
func (r *run) arbiterEvent(e quorum.Event) {
	if len(r.triggers) == 0 || e.Kind != quorum.EventArbiterVote {
		return
	}
	if i, ok := r.byID[e.Node]; ok {
		r.fire(r.hosts[i], "qdevice", "arbiter_vote")
	}
}

// fire schedules the fault of every armed trigger that (layer, name) on
// node h matches: Delay after now, after the batch being performed, so a
// fault never lands inside a node's Ready.
func (r *run) fire(h *host, layer, name string) {
	now := r.k.Now()
	for _, t := range r.triggers {
		w := t.when
		if t.fired || w.Layer != layer || w.Event != name || (t.host >= 0 && t.host != h.idx) ||
			now < t.at || (w.Before != 0 && now >= wire.Instant(w.Before)) {
			continue
		}
		if t.rnd != nil && t.rnd.Float64() >= w.Probability {
			continue
		}
		t.fired = true
		r.trace.Begin(now, "trigger").Int("fault", int64(t.fault)).Str("node", h.name).
			Str("on", layer+" "+name).End()
		r.k.Schedule(now.Add(w.Delay), Event{Kind: evFault, Ref: t.fault})
	}
}
