// Package store is the replicated configuration store of a quorate node:
// a pmxcfs-like key/value tree (Proxmox's /etc/pve) kept whole on every
// node, changed only through Totem's total order, writable only with
// quorum, and re-synchronised after every membership change. The reference
// is docs/reference/pmxcfs.md; comments cite its sections (§).
//
// A Store is a pure, deterministic state machine for one node. It depends
// on neither the totem nor the quorum package: the engine root feeds it
// what those layers produce and multicasts what it emits.
//
// # Driving a Store
//
//	s, err := store.New(store.Config{Self: id, Nodes: nodelist}, now, persisted)
//	for {
//		// inputs, each with the current time, in the order they happen:
//		s.Configuration(now, store.ConfigTransitional, ring, members) // every Totem configuration,
//		s.Configuration(now, store.ConfigRegular, ring, members)      // in delivery order
//		s.Deliver(now, sender, payload)  // every delivered store message (service byte removed), own ones too
//		s.SetQuorate(now, quorate)       // votequorum's verdict for the current ring (below)
//		s.Advance(now)                   // when now reaches rd.Deadline
//		id, err := s.Put(now, key, value) // client calls: Put, Delete, CompareAndSet, Lock, ReadOrdered
//		// outputs, after every input, in this order:
//		rd := s.Ready()
//		if rd.Persist != nil { writeDurably(*rd.Persist) } // before anything below
//		for _, m := range rd.Multicast { totemMulticast(serviceStore, m) } // agreed order
//		for _, r := range rd.Results { answerClient(r) }
//		for _, e := range rd.Events { trace(e) }
//		s.Ack()
//	}
//
// Call Ready and Ack with no input in between. After a crash, New takes the
// last Snapshot written from Ready.Persist; ReadLocal, Get, Keys, Digest and
// Status inspect the local replica at any time.
//
// SetQuorate must carry votequorum's verdict for the regular configuration
// the store was last given: call it when votequorum's sync for that ring has
// ended (quorum.EventSync; the verdict is then Status().Quorate) and on each
// later quorate/inquorate change. Calling it after every input with
// `st.Quorate && !st.Syncing` (st := quorum Status) is the simplest correct
// glue; repeating a value costs nothing. The store forgets the verdict at
// each configuration change (so votequorum's stale verdict from the
// previous ring, which it keeps while its own sync runs, is never used), and
// writes stay refused until the verdict for the new ring arrives. Give
// votequorum each regular configuration before the store, so that it is
// already syncing when the store asks for its verdict.
//
// # Operations and their results
//
// Put, Delete, CompareAndSet (CAS on the key's version; 0 = must not
// exist), Lock and ReadOrdered fail at once with ErrReadOnly when this node
// has no quorum verdict for its current ring (pmxcfs.md §2 step 2: EACCES),
// ErrBadKey, ErrTooLarge or ErrBadLock. Otherwise they are multicast and end
// in exactly one Result, unless the node crashes first. Versions follow
// pmxcfs §1: one store-wide counter incremented by every applied change;
// the changed entry takes its value. Result.Revision is that counter at the
// operation's place in the order.
//
// ReadLocal answers from the local replica at once, like a pmxcfs read
// (§7: may be stale, arbitrarily so on an inquorate node).
//
// # Applying in agreed order (pmxcfs.md §2)
//
// Every member applies every operation at its place in the total order
// (apply.go holds the rules). An operation is applied only if it is
// delivered (1) in the regular configuration of the ring it was sent in,
// (2) after that configuration's sync, and (3) while the configuration is
// writable by the agreed rule below. Otherwise:
//
//   - delivered in a transitional configuration, or sent in another ring
//     (Totem may carry a message queued during a membership change into
//     the next ring): refused by whoever delivers it there. Its origin
//     has already answered at the transitional configuration: a read
//     with ErrAborted; a write with ErrIndeterminate, because extended
//     virtual synchrony lets another partition of the old ring recover the
//     message in the old regular configuration and apply it there
//     (totem.md §7.4: each partition delivers its own prefix of the old
//     ring's messages before its transitional configuration).
//   - delivered during the sync, or before every member's verdict for the
//     ring is known: held back in delivery order by every member alike
//     (pmxcfs §3.4 queues normal messages while not SYNCED) and decided
//     when both are settled; dropped at the next change (answered as
//     above), refused with ErrAborted beyond MaxDeferred.
//   - delivered while the configuration is not writable: refused with
//     ErrReadOnly (pmxcfs §2 step 5, "received write while not quorate").
//     pmxcfs then leaves the group to resync; here nothing diverged.
//
// # Agreeing on quorum
//
// pmxcfs checks each node's own quorum flag at delivery (§2 step 5), but
// two members' flags can differ at the same point of the order (votequorum
// decides on each node at its own pace, and keeps the old ring's verdict
// until its sync ends), so members could decide one write differently.
// Here the decision uses only agreed input: each member multicasts its
// verdict for the current ring (a Quorate message, tagged with the ring,
// sent whenever SetQuorate changes it); every member records the verdicts
// it delivers in this ring, and a synced configuration is writable exactly
// when every member's last delivered verdict is quorate. All members
// deliver the same messages in the same order, so they flip writability at
// the same place and apply exactly the same operations. A member in doubt
// makes the configuration read-only: that can only refuse writes, never
// admit one in a minority.
//
// # When a result is released
//
// pmxcfs returns from a write once its own node applied it (§2 step 4);
// Totem's agreed delivery does not promise that any other member received
// it, so a writer that crashes at once can lose an acknowledged write (§7,
// last row). Here a Result is released only when the state it depends on
// is stable: every member of the configuration multicasts an Applied
// message with its version after persisting each change (Ready puts the
// Persist first), and an operation applied at version v completes when
// every member has confirmed v in this ring. Confirmations of the old ring
// delivered in its transitional configuration still count. If the
// configuration changes first, a write that changed the state ends with
// ErrIndeterminate (it may survive or not: a client treats it like a
// timeout) and any other operation with ErrAborted. Reads and failed CAS
// wait too, so no result ever reflects state that a later sync could
// discard: ordered reads are linearizable, not just ordered.
//
// # Synchronising after a membership change (pmxcfs.md §3.3)
//
// Each regular configuration starts a sync. The ring id plays the role of
// pmxcfs's sync epoch: every sync message carries it and messages of
// another ring are dropped (§3.2). Every member multicasts a State: its
// epoch, version and data digest (pmxcfs sends its whole memdb index;
// a digest is enough because the whole snapshot is sent if they differ).
// When every member's State is delivered, every member chooses the same
// leader. Members whose version and digest equal the leader's are up to
// date; if all are, the sync ends at once. Otherwise the leader multicasts
// its snapshot in ChunkSize pieces, and the sync ends, for every member at
// the same place of the order, with the last piece: lagging members check
// it against the leader's State and install it (the whole state, like
// pmxcfs's UPDATE + commit of §3.3 steps 7–8). A snapshot that does not
// verify leaves that member unsynced until the next configuration.
//
// # Choosing the newest state
//
// A state's epoch is the ring of the last writable configuration it was
// part of: set when a configuration becomes writable, and taken over with
// the leader's data in a sync. The leader is the member with the highest
// epoch, then the highest version, then the lowest node id (pmxcfs §3.3
// step 5: highest version, then mtime, then lowest node id). Why this is
// safe:
//
//   - Writes apply only in writable configurations, and those are quorate:
//     a minority partition applies nothing, so after a heal the majority's
//     state, with the higher epoch, wins and the minority just catches up
//     (§3.6), its local state overwritten.
//   - Two quorate configurations share a member (majority quorum), so ring
//     sequence numbers of successive writable configurations grow: the
//     highest epoch is the most recent writable configuration.
//   - All states with one epoch are prefixes of one sequence of writes
//     (same sync start, same total order), so among them the highest
//     version contains the others.
//   - A write is acknowledged only once every member of its configuration
//     has persisted it; any later writable configuration includes one of
//     them, whose state ranks at least as high, so the chosen leader's
//     state contains the write. An acknowledged write is never lost.
//   - Epoch before version matters: a member may hold writes of an old
//     configuration that the others never delivered (unconfirmed, so never
//     acknowledged), and outnumber in version a later configuration's
//     confirmed writes. pmxcfs's version-only rule would pick it.
//
// If quorum is forced on both sides of a split (two_node without a tie
// breaker, or `pvecm expected 1`), both sides write and the side with the
// higher epoch wins wholesale, the other's writes are discarded: pmxcfs
// documents the same outcome (§3.6), there ranked by version.
//
// # Locks (pmxcfs.md §4)
//
// A lock is an entry with a holder and a ttl. Lock creates it if absent
// (mkdir: exactly one of concurrent takers wins, by the total order),
// renews it for the same holder (a new version restarts every node's
// timer), and fails with ErrLocked for another holder. Delete releases it.
// Expiry must be decided identically everywhere, so no node removes a lock
// on its own clock: every node measures, on its own clock, how long it has
// seen the lock's current version, and only the lowest member of the
// writable configuration, when its measure passes the ttl, multicasts an
// Unlock naming that version; every member removes the lock when the
// Unlock is applied, if the version still matches (a renewal ordered first
// wins). Clock skew does not matter; after a restart or a change of the
// lowest member a lock can only live longer than its ttl, never shorter.
//
// # Simplifications
//
// A flat key space (no directories, renames, mtimes, or per-path
// permissions); no total-size limit (pmxcfs only reports one); the sync
// sends the whole snapshot rather than the differing inodes; no periodic
// verification (§3.5): Digest is there for a driver or test to compare
// replicas; held-back operations are bounded by MaxDeferred; a write
// caught by a membership change is reported ErrIndeterminate rather than
// resolved later; OpIDs restart after a crash (results of the old
// incarnation are never delivered). Per-ring quorum verdicts assume
// votequorum's verdicts are majority-based: with forced quorum on both
// sides of a split, the §3.6 split-brain caveat applies.
package store
