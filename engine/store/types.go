package store

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Limits of keys, values and lock holders. pmxcfs limits one file to 1 MiB
// (MEMDB_MAX_FILE_SIZE, pmxcfs.md §1); here a value must fit one Totem
// message together with its header (totem.MaxPayload is 1 MiB including the
// engine's service byte), so it may be up to 1 MiB minus 8 KiB.
const (
	// MaxKeySize is the longest key in bytes (PATH_MAX).
	MaxKeySize = 4096
	// MaxValueSize is the largest value in bytes; larger writes fail with
	// ErrTooLarge (pmxcfs: EFBIG).
	MaxValueSize = 1<<20 - 8<<10
	// MaxHolderSize is the longest lock holder name in bytes.
	MaxHolderSize = 255
	// ChunkSize is the largest piece of a state transfer carried by one
	// message: a leader's snapshot is multicast in pieces of this size.
	ChunkSize = 256 << 10
	// MaxDeferred bounds the operations a configuration holds back while
	// its sync or its quorum verdicts are pending; beyond it operations
	// are refused (ErrAborted). The list is built from the agreed stream,
	// so every member refuses the same ones.
	MaxDeferred = 4096
)

// Errors returned by the client calls, at once or in a Result.
var (
	// ErrReadOnly: the node (at once) or the configuration the operation
	// was delivered in (in a Result) is not quorate. pmxcfs answers EACCES
	// (pmxcfs.md §2 steps 2 and 5).
	ErrReadOnly = errors.New("store: not quorate: read-only")
	// ErrTooLarge: the value exceeds MaxValueSize (pmxcfs: EFBIG).
	ErrTooLarge = errors.New("store: value too large")
	// ErrBadKey: the key is empty or longer than MaxKeySize.
	ErrBadKey = errors.New("store: bad key")
	// ErrBadLock: the lock holder is empty or too long, or the ttl is not positive.
	ErrBadLock = errors.New("store: bad lock holder or ttl")
	// ErrConflict: CompareAndSet found another version.
	ErrConflict = errors.New("store: version conflict")
	// ErrNotFound: Delete of a key that does not exist (pmxcfs: ENOENT).
	ErrNotFound = errors.New("store: no such key")
	// ErrLocked: the key is a lock held by another holder, or a value
	// write addressed a lock.
	ErrLocked = errors.New("store: key is locked")
	// ErrExists: Lock of a key that holds a plain value (pmxcfs mkdir: EEXIST).
	ErrExists = errors.New("store: key exists and is not a lock")
	// ErrAborted: the operation changed nothing anywhere and never will:
	// a read, or an operation that failed or was refused, caught by a
	// membership change before its result was stable; or an operation
	// refused because MaxDeferred were already held back.
	ErrAborted = errors.New("store: aborted by a membership change")
	// ErrIndeterminate: a membership change came while a write was in
	// flight (not yet applied here, or applied but not yet confirmed by
	// every member); it may or may not take effect, so the client must
	// treat it like a timeout. Extended virtual synchrony leaves no way to
	// know: another partition may apply it in the old configuration.
	ErrIndeterminate = errors.New("store: outcome unknown after a membership change")
)

// Configuration errors returned by New.
var (
	// ErrSelfMissing: Config.Self is 0 or not in Config.Nodes.
	ErrSelfMissing = errors.New("store: self is not in the nodelist")
	// ErrBadNodeList: Config.Nodes holds node id 0 or a duplicate.
	ErrBadNodeList = errors.New("store: node id 0 or duplicate in the nodelist")
	// ErrBadHeadroom: Config.Headroom is negative.
	ErrBadHeadroom = errors.New("store: negative multicast headroom")
	// ErrBadSnapshot: the persisted snapshot fails ValidateSnapshot.
	ErrBadSnapshot = errors.New("store: persisted snapshot is not valid")
)

// Config configures one node's store.
type Config struct {
	// Self is this node's id.
	Self wire.NodeID
	// Nodes is the cluster's nodelist, Self included.
	Nodes []wire.NodeID
	// Headroom is how many bytes each Ready.Multicast buffer keeps free
	// in front of the message for the driver's own framing (the engine
	// puts Totem's header and its service byte there and multicasts the
	// buffer without copying it); 0 for none. Not negative.
	Headroom int
}

// RingRef names a Totem ring: its representative and sequence number
// (totem.RingID without the import). Rings are ordered by Seq, then Rep.
type RingRef struct {
	Rep wire.NodeID
	Seq uint64
}

// Less orders ring references by sequence number, then representative.
func (r RingRef) Less(o RingRef) bool {
	if r.Seq != o.Seq {
		return r.Seq < o.Seq
	}
	return r.Rep < o.Rep
}

// IsZero reports whether r names no ring.
func (r RingRef) IsZero() bool { return r == RingRef{} }

// String prints the ring as corosync does ("1.1a8").
func (r RingRef) String() string { return fmt.Sprintf("%x.%x", uint32(r.Rep), r.Seq) }

// ConfigKind says which of the two EVS configurations Configuration reports.
type ConfigKind uint8

// The configuration kinds.
const (
	// ConfigTransitional is old ∩ new: the old ring's last messages follow.
	ConfigTransitional ConfigKind = iota + 1
	// ConfigRegular is the new ring.
	ConfigRegular
)

// String returns the kind's name.
func (k ConfigKind) String() string {
	switch k {
	case ConfigTransitional:
		return "transitional"
	case ConfigRegular:
		return "regular"
	}
	return "ConfigKind(" + strconv.Itoa(int(k)) + ")"
}

// OpID identifies one client operation of one node; ids grow from 1 and are
// unique within one incarnation of the Store.
type OpID uint64

// OpKind says what a client operation does.
type OpKind uint8

// The client operations.
const (
	OpPut OpKind = iota + 1
	OpDelete
	OpCAS
	OpLock
	OpRead
	OpRename
)

var opKindNames = [...]string{OpPut: "put", OpDelete: "delete", OpCAS: "cas", OpLock: "lock", OpRead: "read", OpRename: "rename"}

// String returns the operation's name.
func (k OpKind) String() string {
	if int(k) < len(opKindNames) && opKindNames[k] != "" {
		return opKindNames[k]
	}
	return "OpKind(" + strconv.Itoa(int(k)) + ")"
}

// Entry is the value of one key. A lock (pmxcfs's priv/lock/<name>
// directory, pmxcfs.md §4) has a Holder and a TTL and no Value.
type Entry struct {
	Value []byte
	// Version is the store-wide version at which the entry was last
	// written (pmxcfs: the inode's version = root.version then).
	Version uint64
	Holder  string
	TTL     time.Duration
}

// IsLock reports whether the entry is a lock.
func (e Entry) IsLock() bool { return e.Holder != "" }

// Record is one key with its entry.
type Record struct {
	Key string
	Entry
}

// Snapshot is what a node persists: the replicated state plus the metadata
// it needs to rejoin safely. The store hands one out in Ready.Persist; the
// driver writes it durably and passes the last one written to New after a
// crash. The driver must not modify it (its entries and values are shared
// with the store's state and with the snapshots before and after it).
type Snapshot struct {
	// Epoch is the ring of the last quorate configuration whose writes this
	// state contains (zero: none yet). The state with the highest Epoch,
	// then the highest Version, wins the sync after a membership change.
	Epoch RingRef
	// Version is the store-wide version counter (pmxcfs root.version): one
	// more for every applied modification.
	Version uint64
	// Entries are sorted by key, without duplicates.
	Entries []Record
}

// Result completes one of this node's client operations. OK is true and
// Err nil on success.
type Result struct {
	Op   OpID
	Kind OpKind
	Key  string
	OK   bool
	Err  error
	// Found, Value, Version: the entry read (OpRead) or written (Version of
	// a successful write); for a CAS conflict the key's current version
	// (0 when absent). Value is shared with the store's state: read-only.
	Found   bool
	Value   []byte
	Version uint64
	// Revision is the store-wide version at the point of the total order
	// where the operation took effect (0 when it was refused).
	Revision uint64
}

// Ready is the work a store has for its driver, in the order to perform it.
// Store.Ready says who owns what it points at, and until when.
type Ready struct {
	// Persist, when set, must be written durably before anything below is
	// sent or released.
	Persist *Snapshot
	// Multicast are store messages to send through Totem in agreed order,
	// in this order. The driver owns them: each buffer's first
	// Config.Headroom bytes are free (zero) for the driver's framing, and
	// the message is the rest.
	Multicast [][]byte
	// Results complete client operations, in order.
	Results []Result
	// Events report what happened, for traces and checks.
	Events []Event
	// Deadline is when Advance is due at the latest; 0 means no timer.
	Deadline wire.Instant
}

// Phase is where a store is in the sync cycle (pmxcfs DFSM modes, §3.1).
type Phase uint8

// The phases.
const (
	// PhaseStart: no configuration yet (DFSM START).
	PhaseStart Phase = iota
	// PhaseSync: a regular configuration came; states are being exchanged
	// or the leader's snapshot transferred (START_SYNC / UPDATE).
	PhaseSync
	// PhaseSynced: every member has the leader's state (SYNCED).
	PhaseSynced
	// PhaseTransitional: a transitional configuration came; the old ring's
	// last messages are delivered and refused until the next regular one.
	PhaseTransitional
)

var phaseNames = [...]string{PhaseStart: "start", PhaseSync: "sync", PhaseSynced: "synced", PhaseTransitional: "transitional"}

// String returns the phase's name.
func (p Phase) String() string {
	if int(p) < len(phaseNames) {
		return phaseNames[p]
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// Status is a store's view for status reports and tests.
type Status struct {
	Ring     RingRef
	Members  []wire.NodeID
	Phase    Phase
	Writable bool // the agreed quorum verdict of the configuration
	Leader   wire.NodeID
	Epoch    RingRef
	Version  uint64
	Stable   uint64 // every member has confirmed the state up to this version
}

// DropReason classifies discarded messages for Stats.
type DropReason uint8

// The reasons a delivered message is discarded.
const (
	DropMalformed DropReason = iota // does not decode
	DropForged                      // sender is not a member, not the lowest (unlock), not the leader (transfer)
	DropStale                       // another ring, or meaningless in this phase
	DropDuplicate                   // a second STATE from one member
	DropTransfer                    // a transfer piece out of order, or a snapshot that does not verify
	dropReasons
)

var dropReasonNames = [...]string{"malformed", "forged", "stale", "duplicate", "transfer"}

// String returns the reason's name.
func (r DropReason) String() string {
	if int(r) < len(dropReasonNames) {
		return dropReasonNames[r]
	}
	return "DropReason(" + strconv.Itoa(int(r)) + ")"
}

// Stats are counters for status reports.
type Stats struct {
	Applied   uint64 // modifications applied
	Refused   uint64 // operations refused at delivery
	Deferred  uint64 // operations held back during a sync or a pending verdict
	Syncs     uint64 // syncs completed
	Transfers uint64 // leader snapshots installed here
	Dropped   [dropReasons]uint64
}
