package store

// outcome is what applying one operation at its place in the total order
// did: an error for the client (nil on success), whether the state changed,
// and the entry the client gets back.
type outcome struct {
	err     error
	changed bool
	found   bool
	entry   Entry
}

// apply applies one operation message to the state, as every member does
// at the same place of the total order (pmxcfs.md §2 step 5: memdb applies
// DCDB messages in delivery order). It is a pure function of the state and
// the message, so every member that applies the same messages from the same
// state gets the same state, version counter included (§1).
//
// The rules, one per kind:
//
//   - Put: a lock cannot be overwritten (ErrLocked; pmxcfs: writing to a
//     lock directory fails); otherwise the entry becomes the value.
//   - Delete: ErrNotFound if absent (ENOENT); otherwise removed, a lock
//     included (rmdir of the lock directory releases it, §4).
//   - CAS: the key's version (0 when absent) must equal the expected one
//     (ErrConflict otherwise); a lock is never a CAS target (ErrLocked).
//   - Lock: creates the lock if absent (mkdir, atomic because it is
//     totally ordered, §4); renews it if the same holder holds it (pmxcfs
//     renewal by utime from the creator: a new version restarts every
//     node's timer); ErrLocked if another holder holds it; ErrExists on a
//     plain value (mkdir over a file: EEXIST).
//   - Rename: moves the value of Key to To in one step (pmxcfs: rename
//     in the tree, one DCDB message): ErrNotFound if Key is absent,
//     ErrLocked if either is a lock; a plain value at To is replaced.
//   - Read: no change; the entry as of this place in the order.
//   - Unlock: removes the lock only if it is still the very entry whose
//     expiry was requested (same version): a renewal or release that came
//     first in the order wins (§4: "deletes the directory if the checksum
//     still matches"). A stale request is silently a no-op.
//
// Every change increments the store-wide version and stamps the entry with
// it (§1: "the modified entry gets version = root.version").
func (st *state) apply(m Message) outcome {
	cur, found := st.entries[m.Key]
	switch m.Kind {
	case MsgPut:
		if found && cur.IsLock() {
			return outcome{err: ErrLocked, found: true, entry: cur}
		}
		return st.set(m.Key, Entry{Value: m.Value})
	case MsgDelete:
		if !found {
			return outcome{err: ErrNotFound}
		}
		return st.remove(m.Key, cur)
	case MsgCAS:
		switch {
		case found && cur.IsLock():
			return outcome{err: ErrLocked, found: true, entry: cur}
		case cur.Version != m.Version:
			return outcome{err: ErrConflict, found: found, entry: cur}
		}
		return st.set(m.Key, Entry{Value: m.Value})
	case MsgLock:
		switch {
		case !found, cur.Holder == m.Holder:
			return st.set(m.Key, Entry{Holder: m.Holder, TTL: m.TTL})
		case cur.IsLock():
			return outcome{err: ErrLocked, found: true, entry: cur}
		default:
			return outcome{err: ErrExists, found: true, entry: cur}
		}
	case MsgRead:
		return outcome{found: found, entry: cur}
	case MsgRename:
		dst, dstFound := st.entries[m.To]
		switch {
		case !found:
			return outcome{err: ErrNotFound}
		case cur.IsLock():
			return outcome{err: ErrLocked, found: true, entry: cur}
		case dstFound && dst.IsLock():
			return outcome{err: ErrLocked, found: true, entry: dst}
		}
		delete(st.entries, m.Key)
		st.keysChanged()
		return st.set(m.To, Entry{Value: cur.Value})
	case MsgUnlock:
		if !found || !cur.IsLock() || cur.Version != m.Version {
			return outcome{found: found, entry: cur}
		}
		return st.remove(m.Key, cur)
	}
	panic("store: apply of a message that is not an operation")
}

func (st *state) set(key string, e Entry) outcome {
	st.version++
	e.Version = st.version
	switch _, ok := st.entries[key]; {
	case !ok:
		st.keysChanged()
	case st.recs != nil:
		st.changed = append(st.changed, key)
	}
	st.entries[key] = e
	return outcome{changed: true, found: true, entry: e}
}

func (st *state) remove(key string, cur Entry) outcome {
	st.version++
	delete(st.entries, key)
	st.keysChanged()
	return outcome{changed: true, found: true, entry: cur}
}
