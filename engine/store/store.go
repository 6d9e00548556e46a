package store

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// verdict is a quorum verdict that may not be known yet.
type verdict uint8

const (
	verdictUnknown verdict = iota
	verdictNo
	verdictYes
)

func verdictOf(q bool) verdict {
	if q {
		return verdictYes
	}
	return verdictNo
}

// opStage is how far one of this node's operations has come.
type opStage uint8

const (
	stageSent    opStage = iota + 1 // multicast, not yet applied
	stageApplied                    // applied here, waiting until every member confirmed it
)

// pendingOp is one of this node's operations awaiting its Result.
type pendingOp struct {
	id    OpID
	kind  OpKind
	key   string
	ring  RingRef // the ring the operation was sent in
	stage opStage
	need  uint64 // stageApplied: released once Stable reaches this version
	res   Result
}

// deferredOp is an operation delivered while the configuration could not
// decide it yet; every member holds the same list (it is built from the
// agreed stream) and decides it at the same place.
type deferredOp struct {
	from wire.NodeID
	m    Message
}

// memberState is what a member announced in the current sync.
type memberState struct {
	have    bool
	epoch   RingRef
	version uint64
	digest  uint64
}

// Store is one node's replicated configuration store: a pure state machine
// in the style of pmxcfs (see doc.go). It is not safe for concurrent use;
// one driver loop owns it.
type Store struct {
	cfg Config
	st  state

	// Configuration.
	phase    Phase
	ring     RingRef
	members  []wire.NodeID // sorted
	verdicts []verdict     // by member index, from the agreed stream
	local    verdict       // this node's verdict for ring, from SetQuorate
	told     verdict       // the verdict this node multicast for ring
	writable bool

	// Sync (pmxcfs DFSM, §3.3).
	states   []memberState // by member index
	leader   int           // member index, -1 until every state is in
	lagging  bool          // this node needs the leader's snapshot
	broken   bool          // the snapshot did not verify: no sync in this ring
	pieces   uint32        // snapshot pieces delivered so far
	count    uint32        // pieces announced by the first one
	transfer []byte        // the snapshot being assembled (lagging only)
	deferred []deferredOp

	// Stability: the versions every member confirmed in ring.
	confirmed []uint64
	stable    uint64
	announced uint64 // version of this node's last Applied in ring
	hasAnnc   bool

	// Client operations.
	nextOp  OpID
	pending []*pendingOp

	// Lock expiry (lock.go).
	timers    map[string]lockTimer
	unlocking map[string]uint64 // key → version requested in ring

	// Output. The spare slices held the batch before the last Ack: its
	// Ready may still be read, so they are reused only at the next Ack.
	mcast   [][]byte
	results []Result
	events  []Event
	dirty   bool
	persist Snapshot // what the last Ready's Persist points at
	stats   Stats

	spareMcast   [][]byte
	spareResults []Result
	spareEvents  []Event

	// Test-only knobs and hooks; always zero in production.
	bugAckOnApply     bool // canary: acknowledge a write as soon as it is applied locally (pmxcfs §2 step 4)
	bugApplyInquorate bool // canary: ignore quorum, at submission and at delivery
	bugLocalVerdict   bool // canary: decide at delivery by this node's own flag (pmxcfs §2 step 5)
	onApply           func(version uint64, from wire.NodeID, m Message)
	onSynced          func(leader wire.NodeID, version uint64) // this node holds the leader's data now
}

// New validates cfg and returns a store restarted at now from what was last
// persisted (a zero Snapshot on first start). Invalid input is an error,
// never a panic.
func New(cfg Config, now wire.Instant, persisted Snapshot) (*Store, error) {
	nodes := slices.Clone(cfg.Nodes)
	slices.Sort(nodes)
	if slices.Contains(nodes, 0) || len(slices.Compact(slices.Clone(nodes))) != len(nodes) {
		return nil, ErrBadNodeList
	}
	if cfg.Headroom < 0 {
		return nil, fmt.Errorf("%w (%d)", ErrBadHeadroom, cfg.Headroom)
	}
	if cfg.Self == 0 || !slices.Contains(nodes, cfg.Self) {
		return nil, fmt.Errorf("%w (node %d)", ErrSelfMissing, cfg.Self)
	}
	if err := ValidateSnapshot(persisted); err != nil {
		return nil, err
	}
	cfg.Nodes = nodes
	s := &Store{cfg: cfg, st: stateOf(persisted), leader: -1, timers: map[string]lockTimer{}, unlocking: map[string]uint64{}}
	s.restartTimers(now)
	return s, nil
}

// ID returns this node's id.
func (s *Store) ID() wire.NodeID { return s.cfg.Self }

// Put writes value under key. It fails at once with ErrReadOnly when the
// node lacks quorum, ErrBadKey or ErrTooLarge; otherwise the write is
// multicast and its Result comes once it was applied and every member of
// the configuration confirmed it.
func (s *Store) Put(now wire.Instant, key string, value []byte) (OpID, error) {
	if len(value) > MaxValueSize {
		return 0, ErrTooLarge
	}
	// submit encodes the message at once: value is not kept.
	return s.submit(OpPut, Message{Kind: MsgPut, Key: key, Value: value})
}

// Delete removes key (a lock included: that releases it).
func (s *Store) Delete(now wire.Instant, key string) (OpID, error) {
	return s.submit(OpDelete, Message{Kind: MsgDelete, Key: key})
}

// CompareAndSet writes value under key only if the key's version is still
// oldVersion (0: the key must not exist); ErrConflict in the Result otherwise.
func (s *Store) CompareAndSet(now wire.Instant, key string, oldVersion uint64, value []byte) (OpID, error) {
	if len(value) > MaxValueSize {
		return 0, ErrTooLarge
	}
	return s.submit(OpCAS, Message{Kind: MsgCAS, Key: key, Version: oldVersion, Value: value})
}

// Rename moves the value under key to newKey in one operation of the
// total order (pmxcfs's rename: readers see the old or the new tree,
// never both or neither); a plain value at newKey is replaced.
func (s *Store) Rename(now wire.Instant, key, newKey string) (OpID, error) {
	if newKey == "" || len(newKey) > MaxKeySize || newKey == key {
		return 0, ErrBadKey
	}
	return s.submit(OpRename, Message{Kind: MsgRename, Key: key, To: newKey})
}

// Lock takes or renews the lock key for holder (pmxcfs.md §4: mkdir of
// priv/lock/<name>, renewed by its creator). It expires ttl after the
// lowest member of the configuration first saw its current version, through
// an Unlock message in the total order. Delete releases it.
func (s *Store) Lock(now wire.Instant, key string, holder string, ttl time.Duration) (OpID, error) {
	if holder == "" || len(holder) > MaxHolderSize || ttl <= 0 {
		return 0, ErrBadLock
	}
	return s.submit(OpLock, Message{Kind: MsgLock, Key: key, Holder: holder, TTL: ttl})
}

// ReadOrdered reads key through the total order: the Result carries the
// entry as of the read's place in the order, released once every member
// confirmed that state. It fails like a write where a write would.
func (s *Store) ReadOrdered(now wire.Instant, key string) (OpID, error) {
	return s.submit(OpRead, Message{Kind: MsgRead, Key: key})
}

// ReadLocal returns the local replica's entry for key at once, without
// coordination: possibly stale, as pmxcfs reads are (pmxcfs.md §7).
func (s *Store) ReadLocal(key string) (Entry, bool) {
	e, ok := s.st.entries[key]
	e.Value = slices.Clone(e.Value)
	return e, ok
}

// submit checks and multicasts one client operation.
func (s *Store) submit(kind OpKind, m Message) (OpID, error) {
	if m.Key == "" || len(m.Key) > MaxKeySize {
		return 0, ErrBadKey
	}
	// pmxcfs.md §2 step 2: the local node checks quorum first. The verdict
	// counts only if it was given for the current regular configuration.
	if (s.local != verdictYes && !s.bugApplyInquorate) || (s.phase != PhaseSync && s.phase != PhaseSynced) {
		return 0, ErrReadOnly
	}
	s.nextOp++
	m.Op, m.Ring = s.nextOp, s.ring
	s.pending = append(s.pending, &pendingOp{id: m.Op, kind: kind, key: m.Key, ring: s.ring, stage: stageSent})
	s.send(m)
	return m.Op, nil
}

// send queues m for multicast, encoded after Config.Headroom free bytes in
// a buffer of exactly the right size.
func (s *Store) send(m Message) {
	b := make([]byte, s.cfg.Headroom, s.cfg.Headroom+messageSize(m))
	s.mcast = append(s.mcast, AppendMessage(b, m))
}

func (s *Store) event(e Event) {
	if e.Ring.IsZero() {
		e.Ring = s.ring
	}
	s.events = append(s.events, e)
}

func (s *Store) drop(from wire.NodeID, why DropReason, detail string) {
	s.stats.Dropped[why]++
	s.event(Event{Kind: EventDropped, Node: from, Detail: why.String() + ": " + detail})
}

// Ready returns the store's outstanding work. Calling it again without an
// input in between returns the same work.
//
// What the driver may keep (as etcd-io/raft documents its Ready): the
// slices of Ready (Multicast, Results, Events) are the store's, valid
// until the second Ack after this call and reused then; the buffers in
// Multicast are handed over for good. Persist points at a Snapshot the
// store overwrites at the next Ready: copy the Snapshot value to keep it.
// Its Entries, the values they hold and a Result's Value are shared with
// the store's state and immutable: the store never modifies them in place,
// and neither may the driver.
func (s *Store) Ready() Ready {
	s.announce()
	rd := Ready{Multicast: s.mcast, Results: s.results, Events: s.events, Deadline: s.deadline()}
	if s.dirty {
		s.persist = s.st.snapshot()
		rd.Persist = &s.persist
	}
	return rd
}

// Pending reports whether Ready has anything to hand over besides its
// deadline. Like Ready it first queues the node's stability confirmation
// when one is due, so calling it has the effect calling Ready has: the
// node asks it after every step and calls Ready only when it says so.
func (s *Store) Pending() bool {
	s.announce()
	return len(s.mcast) > 0 || len(s.results) > 0 || len(s.events) > 0 || s.dirty
}

// Deadline is Ready().Deadline, with Ready's side effect (see Pending) and
// without building the rest.
func (s *Store) Deadline() wire.Instant {
	s.announce()
	return s.deadline()
}

// Ack tells the store the driver has performed the last Ready: persisted,
// multicast, released and recorded everything in it. The slices of the
// Ready before that one are reused from now on (see Ready).
func (s *Store) Ack() {
	clear(s.spareMcast)
	clear(s.spareResults)
	clear(s.spareEvents)
	s.mcast, s.spareMcast = s.spareMcast[:0], s.mcast
	s.results, s.spareResults = s.spareResults[:0], s.results
	s.events, s.spareEvents = s.spareEvents[:0], s.events
	s.dirty = false
}

// announce adds this node's stability confirmation to the output: once
// synced, every change of the local version is confirmed with an Applied
// message in the current ring. Ready puts it after the Persist that covers
// that version, so a confirmation always speaks of durable state.
func (s *Store) announce() {
	if s.phase != PhaseSynced || (s.hasAnnc && s.announced == s.st.version) {
		return
	}
	s.announced, s.hasAnnc = s.st.version, true
	s.send(Message{Kind: MsgApplied, Ring: s.ring, Version: s.st.version})
}

// Digest returns a hash of the replica's data (version counter and
// entries), to compare replicas.
func (s *Store) Digest() uint64 { return s.st.digest() }

// Keys returns the keys of the local replica, sorted.
func (s *Store) Keys() []string { return slices.Sorted(maps.Keys(s.st.entries)) }

// Get returns the local replica's entry for key (like ReadLocal).
func (s *Store) Get(key string) (Entry, bool) { return s.ReadLocal(key) }

// Snapshot returns the local replica as a Snapshot.
func (s *Store) Snapshot() Snapshot { return s.st.snapshot() }

// Stats returns the store's counters.
func (s *Store) Stats() Stats { return s.stats }

// Status returns the store's view of its configuration and state.
func (s *Store) Status() Status {
	st := Status{Ring: s.ring, Members: slices.Clone(s.members), Phase: s.phase, Writable: s.writable,
		Epoch: s.st.epoch, Version: s.st.version, Stable: s.stable}
	if s.leader >= 0 {
		st.Leader = s.members[s.leader]
	}
	return st
}

// memberIndex returns the index of id in the current member list, or -1.
func (s *Store) memberIndex(id wire.NodeID) int {
	i, ok := slices.BinarySearch(s.members, id)
	if !ok {
		return -1
	}
	return i
}

// findPending returns this node's pending operation id sent in ring.
func (s *Store) findPending(id OpID, ring RingRef) (int, *pendingOp) {
	for i, p := range s.pending {
		if p.id == id && p.ring == ring {
			return i, p
		}
	}
	return -1, nil
}

// finish releases the Result of pending operation i.
func (s *Store) finish(i int, r Result) {
	p := s.pending[i]
	r.Op, r.Kind, r.Key = p.id, p.kind, p.key
	r.OK = r.Err == nil
	s.results = append(s.results, r)
	s.pending = slices.Delete(s.pending, i, i+1)
}

// failPending resolves pending operations at a membership change.
//
// Not yet applied here (sent, or held back): a read ends with ErrAborted.
// A write ends with ErrIndeterminate, because extended virtual synchrony
// lets another part of the old ring deliver it in the old regular
// configuration, and apply it there, while this node only gets it in the
// transitional one (totem.md §7.4: each partition recovers its own prefix
// of the old ring's messages).
//
// Applied here but not confirmed by every member (only at a regular
// configuration: confirmations still count during the transitional one):
// ErrIndeterminate for a write that changed the state, ErrAborted for an
// operation that did not (a read, a failed CAS: nothing anywhere changed).
func (s *Store) failPending(appliedToo bool) {
	for i := 0; i < len(s.pending); {
		p := s.pending[i]
		switch {
		case p.stage == stageSent && p.kind == OpRead:
			s.finish(i, Result{Err: ErrAborted})
		case p.stage == stageSent:
			s.finish(i, Result{Err: ErrIndeterminate})
		case appliedToo && p.res.Err == nil && p.kind != OpRead:
			s.finish(i, Result{Err: ErrIndeterminate})
		case appliedToo:
			s.finish(i, Result{Err: ErrAborted})
		default:
			i++
		}
	}
}
