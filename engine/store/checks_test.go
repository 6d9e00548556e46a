package store

import (
	"bytes"
	"errors"
	"slices"
)

// The checkers judge a run after its final heal: every running node in one
// writable ring, every queue delivered.

// finalHeal restarts every crashed node, merges everything into one ring,
// tells every verdict and delivers every message.
func (c *cluster) finalHeal() {
	for _, x := range c.nodes {
		x.inquorate, x.forceYes = false, false
		if x.s == nil {
			c.restart(x.id)
		} else if !x.owed {
			c.tellVerdict(x)
		}
	}
	c.settle()
	c.heal()
	c.settle()
}

// checkFinal runs every checker.
func (c *cluster) checkFinal() {
	before := len(c.errs)
	if c.checkConverged(); len(c.errs) > before {
		return // the lineage checks need one common lineage
	}
	lineage := c.nodes[0].ghost
	c.checkLineage(lineage)
	c.checkAcked(lineage)
	c.checkLinearizable(lineage)
	c.checkAllAnswered()
}

// checkConverged: every replica synced, writable and equal (Digest, data
// and lineage).
func (c *cluster) checkConverged() {
	first := c.nodes[0]
	for _, x := range c.nodes {
		st := x.s.Status()
		if st.Phase != PhaseSynced || !st.Writable {
			c.failf("node %d after the final heal: phase %s writable %v", x.id, st.Phase, st.Writable)
		}
		if x.s.Digest() != first.s.Digest() {
			c.failf("node %d digest %x differs from node %d's %x (versions %d, %d)", x.id, x.s.Digest(),
				first.id, first.s.Digest(), x.s.st.version, first.s.st.version)
		}
		if !slices.EqualFunc(x.ghost, first.ghost, ghostEqual) {
			c.failf("node %d lineage differs from node %d's", x.id, first.id)
		}
	}
}

func ghostEqual(a, b ghostOp) bool {
	return a.From == b.From && a.Msg.Ring == b.Msg.Ring && a.Msg.Op == b.Msg.Op && a.Msg.Kind == b.Msg.Kind &&
		a.Msg.Key == b.Msg.Key && a.Msg.Version == b.Msg.Version
}

// replay applies a lineage to an empty state with the apply rules; every
// step must be a change.
func (c *cluster) replay(lineage []ghostOp) state {
	st := newState()
	for i, g := range lineage {
		if out := st.apply(g.Msg); !out.changed {
			c.failf("lineage step %d (%s %q from %d) does not change the state: %v", i+1, g.Msg.Kind, g.Msg.Key, g.From, out.err)
		}
	}
	return st
}

// checkLineage: replaying the common lineage gives the replicas' data, so
// snapshots and transfers carried the applied operations faithfully.
func (c *cluster) checkLineage(lineage []ghostOp) {
	st := c.replay(lineage)
	if d := c.nodes[0].s.st; st.digest() != d.digest() {
		c.failf("replayed lineage (version %d) differs from the replicas (version %d)", st.version, d.version)
	}
}

// find returns the lineage position (version) of h, or 0.
func find(lineage []ghostOp, h *hop) uint64 {
	for i, g := range lineage {
		if g.From == h.node && g.Msg.Ring == h.ring && g.Msg.Op == h.id && g.Msg.Kind != MsgUnlock {
			return uint64(i + 1)
		}
	}
	return 0
}

func modifies(k OpKind) bool { return k != OpRead }

// checkAcked: every acknowledged write is in the final lineage at the
// version its result named; nothing refused or aborted is in it.
func (c *cluster) checkAcked(lineage []ghostOp) {
	for _, h := range c.hist {
		if h.res == nil {
			continue
		}
		at := find(lineage, h)
		switch {
		case h.res.OK && modifies(h.kind) && at == 0:
			c.failf("acked write lost: node %d op %d %s %q version %d", h.node, h.id, h.kind, h.key, h.res.Version)
		case h.res.OK && modifies(h.kind) && at != h.res.Revision:
			c.failf("acked write node %d op %d at version %d, result said %d", h.node, h.id, at, h.res.Revision)
		case (errors.Is(h.res.Err, ErrAborted) || errors.Is(h.res.Err, ErrReadOnly)) && at != 0:
			c.failf("node %d op %d %s failed with %v but was applied at version %d", h.node, h.id, h.kind, h.res.Err, at)
		case h.res.OK && h.kind == OpRead && at != 0:
			c.failf("read node %d op %d is in the lineage", h.node, h.id)
		}
	}
}

// observes reports whether h's result depends on the state at its
// revision, and its linearization position: a write at 2·version, a read
// (or a state-dependent failure) just after the write it saw, 2·rev+1.
func observes(h *hop) (int64, bool) {
	r := h.res
	switch {
	case r == nil:
		return 0, false
	case r.OK && modifies(h.kind):
		return 2 * int64(r.Revision), true
	case r.OK, errors.Is(r.Err, ErrConflict), errors.Is(r.Err, ErrNotFound),
		errors.Is(r.Err, ErrLocked), errors.Is(r.Err, ErrExists):
		return 2*int64(r.Revision) + 1, true
	}
	return 0, false
}

// checkLinearizable: each completed operation sits at its lineage position;
// what a read (or a failure) reports is the state there; and positions
// respect real time: an operation that completed before another began
// comes first. Together: ordered reads are never stale and never phantom.
func (c *cluster) checkLinearizable(lineage []ghostOp) {
	type point struct {
		pos       int64
		inv, done int64
	}
	var pts []point
	for _, h := range c.hist {
		pos, ok := observes(h)
		if !ok {
			continue
		}
		pts = append(pts, point{pos: pos, inv: h.inv, done: h.done})
		if h.res.OK && modifies(h.kind) {
			continue
		}
		if h.res.Revision > uint64(len(lineage)) {
			c.failf("node %d op %d %s saw revision %d beyond the final lineage (%d)", h.node, h.id, h.kind, h.res.Revision, len(lineage))
			continue
		}
		st := c.replay(lineage[:h.res.Revision])
		e, found := st.entries[h.key]
		r := h.res
		switch {
		case h.kind == OpRead && (found != r.Found || e.Version != r.Version || !bytes.Equal(e.Value, r.Value)):
			c.failf("read node %d op %d %q at revision %d: got found=%v v%d %q, lineage has found=%v v%d %q",
				h.node, h.id, h.key, r.Revision, r.Found, r.Version, r.Value, found, e.Version, e.Value)
		case errors.Is(r.Err, ErrConflict) && e.Version == h.old:
			c.failf("cas node %d op %d %q conflict at revision %d, but the version was %d", h.node, h.id, h.key, r.Revision, h.old)
		case errors.Is(r.Err, ErrNotFound) && found:
			c.failf("delete node %d op %d %q not found at revision %d, but it existed", h.node, h.id, h.key, r.Revision)
		}
	}
	byDone := slices.Clone(pts)
	slices.SortFunc(byDone, func(a, b point) int { return int(a.done - b.done) })
	byInv := slices.Clone(pts)
	slices.SortFunc(byInv, func(a, b point) int { return int(a.inv - b.inv) })
	j, maxPos := 0, int64(-1)
	for _, b := range byInv {
		for j < len(byDone) && byDone[j].done < b.inv {
			maxPos = max(maxPos, byDone[j].pos)
			j++
		}
		if maxPos > b.pos {
			c.failf("stale: an operation begun at %d sits at position %d, before one completed earlier at %d", b.inv, b.pos, maxPos)
		}
	}
}

// checkAllAnswered: every operation of a node still running in the same
// incarnation got exactly one result.
func (c *cluster) checkAllAnswered() {
	for _, h := range c.hist {
		if x := c.node(h.node); h.res == nil && x.inc == h.inc && x.s != nil {
			c.failf("node %d op %d %s %q never answered", h.node, h.id, h.kind, h.key)
		}
	}
}
