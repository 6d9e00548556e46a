package store

import (
	"maps"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// lockTimer is this node's clock on one lock entry: since when it has seen
// the entry at this version (pmxcfs.md §4: "measured per node with its own
// clock from the moment it first saw the lock", identified there by a
// checksum of the entry, here by its version).
type lockTimer struct {
	version uint64
	since   wire.Instant
}

// restartTimers starts a timer at now for every lock (after New: a
// restarted node first sees its locks now, which can only lengthen them).
func (s *Store) restartTimers(now wire.Instant) {
	clear(s.timers)
	for k, e := range s.st.entries {
		if e.IsLock() {
			s.timers[k] = lockTimer{version: e.Version, since: now}
		}
	}
}

// refreshTimers keeps the timers of locks a snapshot left unchanged and
// starts new ones at now for the others.
func (s *Store) refreshTimers(now wire.Instant) {
	for k, t := range s.timers {
		if e, ok := s.st.entries[k]; !ok || !e.IsLock() || e.Version != t.version {
			delete(s.timers, k)
		}
	}
	for k, e := range s.st.entries {
		if _, ok := s.timers[k]; e.IsLock() && !ok {
			s.timers[k] = lockTimer{version: e.Version, since: now}
		}
	}
}

// touchTimer follows one key after an applied change: a new or renewed
// lock restarts its timer (pmxcfs renewal changes the checksum), anything
// else has none.
func (s *Store) touchTimer(now wire.Instant, key string) {
	if e, ok := s.st.entries[key]; ok && e.IsLock() {
		s.timers[key] = lockTimer{version: e.Version, since: now}
		return
	}
	delete(s.timers, key)
}

// expiryDuty reports whether this node asks for expired locks to be
// removed: the lowest member of a synced, writable configuration
// (pmxcfs.md §4: only the lowest-nodeid member evaluates unlock requests).
// The removal itself is an Unlock message applied in the total order, so
// every member removes the lock at the same place, whatever its own clock
// says; a renewal ordered before the Unlock wins because the Unlock names
// the version it saw expire.
func (s *Store) expiryDuty() bool {
	return s.phase == PhaseSynced && s.writable && s.members[0] == s.cfg.Self
}

// Advance fires the store's timers due at now: on the lowest member, it
// multicasts an Unlock for every lock whose current version it has seen
// for longer than the lock's ttl.
func (s *Store) Advance(now wire.Instant) {
	if !s.expiryDuty() {
		return
	}
	for _, k := range slices.Sorted(maps.Keys(s.timers)) {
		t := s.timers[k]
		if v, ok := s.unlocking[k]; (ok && v == t.version) || now < t.since.Add(s.st.entries[k].TTL) {
			continue
		}
		s.unlocking[k] = t.version
		s.send(Message{Kind: MsgUnlock, Ring: s.ring, Key: k, Version: t.version})
		s.event(Event{Kind: EventUnlockRequest, Detail: k})
	}
}

// deadline is the earliest lock expiry this node must act on, or 0.
func (s *Store) deadline() wire.Instant {
	if !s.expiryDuty() {
		return 0
	}
	var d wire.Instant
	for k, t := range s.timers {
		if v, ok := s.unlocking[k]; ok && v == t.version {
			continue
		}
		if at := t.since.Add(s.st.entries[k].TTL); d == 0 || at < d {
			d = at
		}
	}
	return d
}
