package store

import (
	"encoding/binary"
	"errors"
	"github.com/quorate/quorate/engine/internal/slab"
	"github.com/quorate/quorate/engine/wire"
	"maps"
	"slices"
	"time"
)

// state is the replicated state of one node: pmxcfs's memdb (pmxcfs.md §1)
// reduced to a flat key space, plus the epoch that ranks it in a sync.
type state struct {
	epoch   RingRef
	version uint64
	entries map[string]Entry
	// keys are the keys of entries in order, nil when a key was added or
	// removed since they were last sorted: a write to an existing key (the
	// common case) needs no new sort for the snapshot Ready persists.
	// Never modified in place, so copies of a state may share it.
	keys []string
	// recs are the records of the last snapshot, nil when a key was
	// added or removed since. The snapshot's holder shares them, so they
	// are never modified in place: changed lists the existing keys written
	// since (repeats included), and the next snapshot copies recs and
	// updates those records instead of building every record anew.
	recs    []Record
	changed []string
	// slab is where the records of small snapshots are carved from.
	slab slab.Slab[Record]
}

// The records of a snapshot of at most slabMax entries are carved from
// chunks of slabSize records instead of one allocation each: a store
// writes a snapshot for every change it applies, and one allocation each
// was most of a loaded store's cost in persisting.
const (
	slabSize = 128
	slabMax  = slabSize / 8
)

func newState() state {
	return state{entries: map[string]Entry{}, slab: slab.New[Record](slabSize, slabMax)}
}

// stateOf builds a state from a validated snapshot.
func stateOf(snap Snapshot) state {
	st := state{epoch: snap.Epoch, version: snap.Version, entries: make(map[string]Entry, len(snap.Entries)),
		slab: slab.New[Record](slabSize, slabMax)}
	for _, r := range snap.Entries {
		st.entries[r.Key] = r.Entry
	}
	return st
}

// snapshot returns the state as a Snapshot, entries sorted by key. Values
// are shared, never copied: nothing in the store modifies a value in place;
// so are the entries of successive snapshots when no entry changed in
// between.
func (st *state) snapshot() Snapshot {
	switch {
	case st.recs == nil:
		keys := st.sortedKeys()
		recs := make([]Record, len(keys))
		for i, k := range keys {
			recs[i] = Record{Key: k, Entry: st.entries[k]}
		}
		st.recs = recs
	case len(st.changed) > 0:
		recs, keys := st.slab.Copy(st.recs), st.sortedKeys()
		for _, k := range st.changed {
			i, _ := slices.BinarySearch(keys, k)
			recs[i].Entry = st.entries[k]
		}
		st.recs = recs
	}
	st.changed = st.changed[:0]
	return Snapshot{Epoch: st.epoch, Version: st.version, Entries: st.recs}
}

// keysChanged notes that a key was added or removed: the sorted keys and
// the last snapshot's records no longer match the entries.
func (st *state) keysChanged() {
	st.keys, st.recs, st.changed = nil, nil, st.changed[:0]
}

// sortedKeys returns the keys of entries in order (st.keys, sorted again
// only after a key was added or removed). The caller must not modify it.
func (st *state) sortedKeys() []string {
	if st.keys == nil || len(st.keys) != len(st.entries) {
		st.keys = slices.Sorted(maps.Keys(st.entries))
	}
	return st.keys
}

// digest is a 64-bit FNV-1a hash over the version counter and every entry
// in key order: two replicas with equal digests hold the same data (the
// epoch is metadata and not part of it). pmxcfs compares SHA-256 checksums
// of the tree (§3.5); FNV is enough to detect divergence between honest
// replicas, which is all it is used for.
func (st *state) digest() uint64 {
	h := fnv{h: fnvOffset}
	h.u64(st.version)
	h.u64(uint64(len(st.entries)))
	for _, k := range st.sortedKeys() {
		e := st.entries[k]
		h.bytes([]byte(k))
		h.u64(e.Version)
		h.bytes(e.Value)
		h.bytes([]byte(e.Holder))
		h.u64(uint64(e.TTL))
	}
	return h.h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

type fnv struct{ h uint64 }

func (f *fnv) byte(c byte) { f.h = (f.h ^ uint64(c)) * fnvPrime }

func (f *fnv) u64(v uint64) {
	for i := range 8 {
		f.byte(byte(v >> (56 - 8*i)))
	}
}

func (f *fnv) bytes(p []byte) {
	f.u64(uint64(len(p)))
	for _, c := range p {
		f.byte(c)
	}
}

// AppendSnapshot appends the encoding of snap to b: epoch, version, the
// number of entries, then each entry (key, version, value, holder, ttl).
// This is the body of a state transfer (pmxcfs: the UPDATE messages of
// §3.3 step 7, here one snapshot cut into ChunkSize pieces).
func AppendSnapshot(b []byte, snap Snapshot) []byte {
	b = appendRing(b, snap.Epoch)
	b = binary.BigEndian.AppendUint64(b, snap.Version)
	b = binary.BigEndian.AppendUint32(b, uint32(len(snap.Entries)))
	for _, r := range snap.Entries {
		b = appendString(b, r.Key)
		b = binary.BigEndian.AppendUint64(b, r.Version)
		b = appendBytes(b, r.Value)
		b = appendString(b, r.Holder)
		b = binary.BigEndian.AppendUint64(b, uint64(r.TTL))
	}
	return b
}

// minRecordSize is the encoded size of the smallest entry.
const minRecordSize = 4 + 1 + 8 + 4 + 4 + 8

// DecodeSnapshot decodes a snapshot and validates it (ValidateSnapshot). It
// accepts exactly what AppendSnapshot produces for valid snapshots and
// never panics.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	r := reader{Reader: wire.NewReader(b, errTruncated)}
	snap := Snapshot{Epoch: r.ring(), Version: r.U64()}
	n := r.U32()
	if r.Err == nil && uint64(n) > uint64(len(r.B)/minRecordSize) {
		return Snapshot{}, malformed("entry count exceeds the data")
	}
	if r.Err == nil && n > 0 {
		snap.Entries = make([]Record, 0, n)
	}
	for i := uint32(0); i < n && r.Err == nil; i++ {
		var rec Record
		rec.Key = r.key()
		rec.Version = r.U64()
		rec.Value = r.bytes(MaxValueSize)
		rec.Holder = r.str(MaxHolderSize)
		rec.TTL = time.Duration(r.U64())
		snap.Entries = append(snap.Entries, rec)
	}
	if r.Err == nil && len(r.B) != 0 {
		return Snapshot{}, malformed("trailing bytes")
	}
	if r.Err != nil {
		return Snapshot{}, r.Err
	}
	if err := ValidateSnapshot(snap); err != nil {
		return Snapshot{}, errors.Join(errMalformed, err)
	}
	return snap, nil
}

// ValidateSnapshot checks what New and a state transfer rely on: keys
// sorted and unique, sizes within the limits, every entry version between
// 1 and the snapshot's version, a lock with a holder, a positive ttl and no
// value, a plain entry with neither holder nor ttl.
func ValidateSnapshot(snap Snapshot) error {
	for i, r := range snap.Entries {
		switch {
		case r.Key == "" || len(r.Key) > MaxKeySize:
			return errors.Join(ErrBadSnapshot, ErrBadKey)
		case i > 0 && snap.Entries[i-1].Key >= r.Key:
			return errors.Join(ErrBadSnapshot, errors.New("keys not sorted or duplicate"))
		case r.Version == 0 || r.Version > snap.Version:
			return errors.Join(ErrBadSnapshot, errors.New("entry version out of range"))
		case len(r.Value) > MaxValueSize:
			return errors.Join(ErrBadSnapshot, ErrTooLarge)
		case len(r.Holder) > MaxHolderSize:
			return errors.Join(ErrBadSnapshot, ErrBadLock)
		case r.Holder != "" && (r.TTL <= 0 || len(r.Value) != 0):
			return errors.Join(ErrBadSnapshot, errors.New("lock with a value or without ttl"))
		case r.Holder == "" && r.TTL != 0:
			return errors.Join(ErrBadSnapshot, errors.New("ttl on a plain entry"))
		}
	}
	return nil
}
