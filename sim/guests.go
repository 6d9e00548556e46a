package sim

import (
	"fmt"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// Guests model Proxmox's onboot VMs and containers on a cold start: a
// node's guest start waits until the node is quorate (pve-guests waits for
// quorum), so an onboot guest never runs on a node that was not quorate
// since it booted. A guest stops when its node goes down.

func guestKey(i int) stateKey { return stateKey{node: int32(-(i + 1)), kind: stateGuest} }

func (r *run) startGuests(h *host, at wire.Instant) {
	if r.sc.Workload == nil {
		return
	}
	for i, g := range r.sc.Workload.Guests {
		if g.Node != h.name || !g.Onboot {
			continue
		}
		if v, _ := r.obs.state[guestKey(i)].at(at); v == 1 {
			continue
		}
		r.obs.set(guestKey(i), at, 1)
		r.trace.Begin(at, "guest_start").Str("guest", g.Name).Str("node", h.name).End()
		r.obs.tl = append(r.obs.tl, reports.TimelineEntry{TMs: at.Millis(), Node: h.name, Event: "guest_start", Detail: g.Name})
	}
}

func (r *run) stopGuests(h *host, at wire.Instant) {
	if r.sc.Workload == nil {
		return
	}
	for i, g := range r.sc.Workload.Guests {
		if g.Node != h.name {
			continue
		}
		if v, _ := r.obs.state[guestKey(i)].at(at); v != 1 {
			continue
		}
		r.obs.set(guestKey(i), at, 0)
		r.trace.Begin(at, "guest_stop").Str("guest", g.Name).Str("node", h.name).End()
		r.obs.tl = append(r.obs.tl, reports.TimelineEntry{TMs: at.Millis(), Node: h.name, Event: "guest_stop", Detail: g.Name})
	}
}

// judgeGuest evaluates {guest, running} over its time form.
func (r *run) judgeGuest(e scenarios.Expect) (bool, string) {
	key, want, ok := r.guestState(e)
	if !ok {
		return false, "no such guest"
	}
	holds := func(t wire.Instant) bool { v, _ := r.obs.state[key].at(t); return v == want }
	switch {
	case e.At != nil:
		if !holds(wire.Instant(*e.At)) {
			return false, fmt.Sprintf("guest %s is not running=%v at %v", e.Guest, *e.Running, *e.At)
		}
	case e.AtEnd:
		if !holds(wire.Instant(r.sc.Duration)) {
			return false, fmt.Sprintf("guest %s is not running=%v at the end (%v)", e.Guest, *e.Running, r.sc.Duration)
		}
	case e.By != nil || e.Within != nil:
		for _, t := range r.breakpoints([]stateKey{key}, wire.Instant(e.Window[0]), wire.Instant(e.Window[1])) {
			if holds(t) {
				return true, ""
			}
		}
		if e.Anchor == "" {
			return false, fmt.Sprintf("guest %s is never running=%v by %v", e.Guest, *e.Running, e.Window[1])
		}
		return false, fmt.Sprintf("guest %s is never running=%v from %s to %v", e.Guest, *e.Running, e.Anchor, e.Window[1])
	case e.During != nil:
		for _, t := range r.breakpoints([]stateKey{key}, wire.Instant(e.During[0]), wire.Instant(e.During[1])) {
			if !holds(t) {
				return false, fmt.Sprintf("guest %s is not running=%v at %v", e.Guest, *e.Running, time.Duration(t))
			}
		}
	}
	return true, ""
}

// guestState is the timeline a guest expectation reads and the value it
// wants there; ok is false for an unknown guest.
func (r *run) guestState(e scenarios.Expect) (stateKey, int64, bool) {
	if r.sc.Workload == nil || e.Running == nil {
		return stateKey{}, 0, false
	}
	for i, g := range r.sc.Workload.Guests {
		if g.Name == e.Guest {
			return guestKey(i), b2i(*e.Running), true
		}
	}
	return stateKey{}, 0, false
}
