package store

import (
	"bytes"
	"errors"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestApplyRules is the table of apply (apply.go): each case starts from
// a state of version 10 with a plain entry "v" (version 4) and a lock "l"
// held by "h" (version 7).
func TestApplyRules(t *testing.T) {
	val := Entry{Value: []byte("x"), Version: 4}
	lock := Entry{Holder: "h", TTL: time.Second, Version: 7}
	tests := []struct {
		name    string
		m       Message
		err     error
		changed bool
		want    *Entry // the key's entry afterwards, nil: absent
	}{
		{"put new", Message{Kind: MsgPut, Key: "n", Value: []byte("y")}, nil, true, &Entry{Value: []byte("y"), Version: 11}},
		{"put over value", Message{Kind: MsgPut, Key: "v", Value: []byte("y")}, nil, true, &Entry{Value: []byte("y"), Version: 11}},
		{"put empty value", Message{Kind: MsgPut, Key: "v"}, nil, true, &Entry{Version: 11}},
		{"put over lock", Message{Kind: MsgPut, Key: "l", Value: []byte("y")}, ErrLocked, false, &lock},
		{"delete value", Message{Kind: MsgDelete, Key: "v"}, nil, true, nil},
		{"delete lock releases it", Message{Kind: MsgDelete, Key: "l"}, nil, true, nil},
		{"delete absent", Message{Kind: MsgDelete, Key: "n"}, ErrNotFound, false, nil},
		{"cas match", Message{Kind: MsgCAS, Key: "v", Version: 4, Value: []byte("y")}, nil, true, &Entry{Value: []byte("y"), Version: 11}},
		{"cas mismatch", Message{Kind: MsgCAS, Key: "v", Version: 3, Value: []byte("y")}, ErrConflict, false, &val},
		{"cas create absent", Message{Kind: MsgCAS, Key: "n", Version: 0, Value: []byte("y")}, nil, true, &Entry{Value: []byte("y"), Version: 11}},
		{"cas absent expects a version", Message{Kind: MsgCAS, Key: "n", Version: 4}, ErrConflict, false, nil},
		{"cas create over existing", Message{Kind: MsgCAS, Key: "v", Version: 0}, ErrConflict, false, &val},
		{"cas on lock", Message{Kind: MsgCAS, Key: "l", Version: 7}, ErrLocked, false, &lock},
		{"lock new", Message{Kind: MsgLock, Key: "n", Holder: "a", TTL: time.Minute}, nil, true, &Entry{Holder: "a", TTL: time.Minute, Version: 11}},
		{"lock renew by holder", Message{Kind: MsgLock, Key: "l", Holder: "h", TTL: 2 * time.Second}, nil, true, &Entry{Holder: "h", TTL: 2 * time.Second, Version: 11}},
		{"lock held by another", Message{Kind: MsgLock, Key: "l", Holder: "a", TTL: time.Second}, ErrLocked, false, &lock},
		{"lock over value", Message{Kind: MsgLock, Key: "v", Holder: "a", TTL: time.Second}, ErrExists, false, &val},
		{"read value", Message{Kind: MsgRead, Key: "v"}, nil, false, &val},
		{"read absent", Message{Kind: MsgRead, Key: "n"}, nil, false, nil},
		{"unlock current version", Message{Kind: MsgUnlock, Key: "l", Version: 7}, nil, true, nil},
		{"unlock after renewal is a no-op", Message{Kind: MsgUnlock, Key: "l", Version: 6}, nil, false, &lock},
		{"unlock of a value is a no-op", Message{Kind: MsgUnlock, Key: "v", Version: 4}, nil, false, &val},
		{"unlock of absent is a no-op", Message{Kind: MsgUnlock, Key: "n", Version: 1}, nil, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := state{version: 10, entries: map[string]Entry{"v": val, "l": lock}}
			out := st.apply(tc.m)
			if !errors.Is(out.err, tc.err) || out.changed != tc.changed {
				t.Fatalf("err %v changed %v, want %v %v", out.err, out.changed, tc.err, tc.changed)
			}
			wantVersion := uint64(10)
			if tc.changed {
				wantVersion = 11
			}
			if st.version != wantVersion {
				t.Fatalf("store version %d, want %d", st.version, wantVersion)
			}
			got, ok := st.entries[tc.m.Key]
			switch {
			case tc.want == nil && ok:
				t.Fatalf("entry %+v, want none", got)
			case tc.want != nil && (!ok || !entryEqual(got, *tc.want)):
				t.Fatalf("entry %+v (present %v), want %+v", got, ok, *tc.want)
			}
		})
	}
}

func entryEqual(a, b Entry) bool {
	return bytes.Equal(a.Value, b.Value) && a.Version == b.Version && a.Holder == b.Holder && a.TTL == b.TTL
}

// TestChooseLeader is the table of the sync's leader rule: highest epoch,
// then highest version, then the lowest node (first in member order).
func TestChooseLeader(t *testing.T) {
	r := func(seq uint64) RingRef { return RingRef{Rep: 1, Seq: seq} }
	st := func(epoch RingRef, version uint64) memberState {
		return memberState{have: true, epoch: epoch, version: version}
	}
	tests := []struct {
		name   string
		states []memberState
		want   int
	}{
		{"one member", []memberState{st(r(0), 0)}, 0},
		{"all equal: lowest node", []memberState{st(r(8), 5), st(r(8), 5), st(r(8), 5)}, 0},
		{"higher version, same epoch", []memberState{st(r(8), 5), st(r(8), 9), st(r(8), 7)}, 1},
		{"higher epoch beats more versions", []memberState{st(r(8), 50), st(r(12), 9)}, 1},
		{"epoch ties broken by representative", []memberState{st(RingRef{Rep: 1, Seq: 8}, 5), st(RingRef{Rep: 2, Seq: 8}, 1)}, 1},
		{"fresh node never leads", []memberState{st(RingRef{}, 0), st(r(4), 3)}, 1},
		{"version tie among the newest: lowest of them", []memberState{st(r(4), 9), st(r(8), 3), st(r(8), 3)}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := chooseLeader(tc.states); got != tc.want {
				t.Fatalf("leader %d, want %d", got, tc.want)
			}
		})
	}
}

// TestWritableRule is the table of the agreed quorum rule.
func TestWritableRule(t *testing.T) {
	y, n, u := verdictYes, verdictNo, verdictUnknown
	tests := []struct {
		verdicts []verdict
		want     bool
	}{
		{[]verdict{y}, true},
		{[]verdict{y, y, y}, true},
		{[]verdict{y, n, y}, false},
		{[]verdict{y, u, y}, false},
		{[]verdict{n}, false},
		{nil, false},
	}
	for _, tc := range tests {
		if got := writableRule(tc.verdicts); got != tc.want {
			t.Errorf("writableRule(%v) = %v, want %v", tc.verdicts, got, tc.want)
		}
	}
}

// TestRingOrder: rings order by sequence number, then representative.
func TestRingOrder(t *testing.T) {
	a, b, c := RingRef{Rep: 3, Seq: 4}, RingRef{Rep: 1, Seq: 8}, RingRef{Rep: 2, Seq: 8}
	if !a.Less(b) || !b.Less(c) || c.Less(a) || a.Less(a) {
		t.Fatal("ring order")
	}
	if b.String() != "1.8" || (RingRef{Rep: 0x1a, Seq: 0x1a8}).String() != "1a.1a8" {
		t.Fatal("ring string")
	}
}

// TestApplyRename checks rename's rules from the state of TestApplyRules:
// the value moves in one step with one new version, over a plain value
// but never from or onto a lock, and never from an absent key.
func TestApplyRename(t *testing.T) {
	val := Entry{Value: []byte("x"), Version: 4}
	other := Entry{Value: []byte("o"), Version: 5}
	lock := Entry{Holder: "h", TTL: time.Second, Version: 7}
	tests := []struct {
		name     string
		from, to string
		err      error
		src, dst *Entry // afterwards; nil: absent
	}{
		{"to a new key", "v", "n", nil, nil, &Entry{Value: []byte("x"), Version: 11}},
		{"over a value", "v", "o", nil, nil, &Entry{Value: []byte("x"), Version: 11}},
		{"absent source", "n", "m", ErrNotFound, nil, nil},
		{"from a lock", "l", "n", ErrLocked, &lock, nil},
		{"onto a lock", "v", "l", ErrLocked, &val, &lock},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := state{version: 10, entries: map[string]Entry{"v": val, "o": other, "l": lock}}
			out := st.apply(Message{Kind: MsgRename, Key: tc.from, To: tc.to})
			if !errors.Is(out.err, tc.err) || out.changed != (tc.err == nil) {
				t.Fatalf("err %v changed %v, want %v", out.err, out.changed, tc.err)
			}
			if want := uint64(10) + map[bool]uint64{true: 1}[tc.err == nil]; st.version != want {
				t.Fatalf("store version %d, want %d", st.version, want)
			}
			for _, c := range []struct {
				key  string
				want *Entry
			}{{tc.from, tc.src}, {tc.to, tc.dst}} {
				got, ok := st.entries[c.key]
				switch {
				case c.want == nil && ok:
					t.Fatalf("%s: entry %+v, want none", c.key, got)
				case c.want != nil && (!ok || !entryEqual(got, *c.want)):
					t.Fatalf("%s: entry %+v (present %v), want %+v", c.key, got, ok, *c.want)
				}
			}
		})
	}
}

// TestSnapshotsAgainstRebuild applies random operations and takes
// snapshots at random points: each must equal one built from the entries
// alone, and no later change may alter a snapshot handed out before
// (the incremental snapshot shares and copies its records, never writes
// them in place).
func TestSnapshotsAgainstRebuild(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	st := newState()
	type taken struct{ snap, copy Snapshot }
	var kept []taken
	keys := []string{"a", "b", "c", "d", "e", "f"}
	for i := range 5000 {
		k := keys[r.IntN(len(keys))]
		switch x := r.IntN(10); {
		case x < 6:
			st.apply(Message{Kind: MsgPut, Key: k, Value: []byte{byte(i)}})
		case x < 7:
			st.apply(Message{Kind: MsgDelete, Key: k})
		case x < 8:
			st.apply(Message{Kind: MsgRename, Key: k, To: keys[r.IntN(len(keys))]})
		case x < 9:
			st.apply(Message{Kind: MsgLock, Key: k, Holder: "h", TTL: time.Second})
		default:
			st.apply(Message{Kind: MsgCAS, Key: k, Version: uint64(r.IntN(int(st.version) + 1)), Value: []byte{byte(i), 1}})
		}
		if r.IntN(3) > 0 {
			continue
		}
		snap := st.snapshot()
		want := Snapshot{Epoch: st.epoch, Version: st.version, Entries: []Record{}}
		for _, k := range slices.Sorted(maps.Keys(st.entries)) {
			want.Entries = append(want.Entries, Record{Key: k, Entry: st.entries[k]})
		}
		if !reflect.DeepEqual(snap, want) {
			t.Fatalf("step %d: snapshot %+v, rebuilt %+v", i, snap, want)
		}
		kept = append(kept, taken{snap, Snapshot{Epoch: snap.Epoch, Version: snap.Version, Entries: slices.Clone(snap.Entries)}})
	}
	for i, k := range kept {
		if !reflect.DeepEqual(k.snap, k.copy) {
			t.Fatalf("snapshot %d changed after it was handed out", i)
		}
	}
}
