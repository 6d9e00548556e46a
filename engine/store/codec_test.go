package store

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

var ring8 = RingRef{Rep: 1, Seq: 8}

// sampleMessages has one valid message of every kind.
func sampleMessages() []Message {
	return []Message{
		{Kind: MsgPut, Ring: ring8, Op: 1, Key: "nodes/a/qemu-server/100.conf", Value: []byte("memory: 2048\n")},
		{Kind: MsgPut, Ring: ring8, Op: 2, Key: "empty"},
		{Kind: MsgDelete, Ring: ring8, Op: 3, Key: "k"},
		{Kind: MsgCAS, Ring: ring8, Op: 4, Key: "k", Version: 17, Value: []byte("v")},
		{Kind: MsgLock, Ring: ring8, Op: 5, Key: "priv/lock/file-storage_cfg", Holder: "node2", TTL: 120 * time.Second},
		{Kind: MsgRead, Ring: ring8, Op: 6, Key: "k"},
		{Kind: MsgUnlock, Ring: ring8, Key: "priv/lock/x", Version: 9},
		{Kind: MsgState, Ring: ring8, Epoch: RingRef{Rep: 2, Seq: 4}, Version: 99, Digest: 0xdeadbeef},
		{Kind: MsgQuorate, Ring: ring8, Quorate: true},
		{Kind: MsgQuorate, Ring: ring8},
		{Kind: MsgApplied, Ring: ring8, Version: 12},
		{Kind: MsgSnapshot, Ring: ring8, Index: 1, Count: 3, Value: []byte("piece")},
		{Kind: MsgRename, Ring: ring8, Op: 7, Key: "corosync.conf.new", To: "corosync.conf"},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := AppendMessage(nil, m)
		got, err := DecodeMessage(b)
		if err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%s: decoded %+v, want %+v", m.Kind, got, m)
		}
		if !bytes.Equal(AppendMessage(nil, got), b) {
			t.Fatalf("%s: re-encoding differs", m.Kind)
		}
		if n := messageSize(m); n != len(b) {
			t.Fatalf("%s: messageSize %d, encoding %d bytes", m.Kind, n, len(b))
		}
		// Every proper prefix is truncated, and a trailing byte is refused.
		for i := range len(b) {
			if _, err := DecodeMessage(b[:i]); err == nil {
				t.Fatalf("%s: prefix of %d bytes decoded", m.Kind, i)
			}
		}
		if _, err := DecodeMessage(append(b, 0)); err == nil {
			t.Fatalf("%s: trailing byte accepted", m.Kind)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	put := AppendMessage(nil, Message{Kind: MsgPut, Ring: ring8, Op: 1, Key: "k"})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"newer protocol", append([]byte{2}, put[1:]...)},
		{"unknown kind", append([]byte{1, 99}, put[2:]...)},
		{"kind zero", append([]byte{1, 0}, put[2:]...)},
		{"ring without representative", AppendMessage(nil, Message{Kind: MsgApplied, Ring: RingRef{Seq: 4}})},
		{"operation id 0", AppendMessage(nil, Message{Kind: MsgPut, Ring: ring8, Key: "k"})},
		{"empty key", AppendMessage(nil, Message{Kind: MsgRead, Ring: ring8, Op: 1})},
		{"lock without holder", AppendMessage(nil, Message{Kind: MsgLock, Ring: ring8, Op: 1, Key: "k", TTL: 1})},
		{"lock without ttl", AppendMessage(nil, Message{Kind: MsgLock, Ring: ring8, Op: 1, Key: "k", Holder: "h"})},
		{"negative ttl", AppendMessage(nil, Message{Kind: MsgLock, Ring: ring8, Op: 1, Key: "k", Holder: "h", TTL: -1})},
		{"boolean 2", append(AppendMessage(nil, Message{Kind: MsgQuorate, Ring: ring8})[:14], 2)},
		{"piece index beyond count", AppendMessage(nil, Message{Kind: MsgSnapshot, Ring: ring8, Index: 3, Count: 3})},
		{"key too long", AppendMessage(nil, Message{Kind: MsgRead, Ring: ring8, Op: 1, Key: string(make([]byte, MaxKeySize+1))})},
		{"value too long", AppendMessage(nil, Message{Kind: MsgPut, Ring: ring8, Op: 1, Key: "k", Value: make([]byte, MaxValueSize+1)})},
		{"length beyond data", []byte{1, byte(MsgRead), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tc := range tests {
		if _, err := DecodeMessage(tc.b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err %v, want malformed", tc.name, err)
		}
	}
}

func sampleSnapshot() Snapshot {
	return Snapshot{Epoch: ring8, Version: 9, Entries: []Record{
		{Key: "a", Entry: Entry{Value: []byte("1"), Version: 3}},
		{Key: "b", Entry: Entry{Version: 9}},
		{Key: "priv/lock/x", Entry: Entry{Holder: "h", TTL: time.Minute, Version: 5}},
	}}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, snap := range []Snapshot{{}, sampleSnapshot()} {
		b := AppendSnapshot(nil, snap)
		got, err := DecodeSnapshot(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, snap) || !bytes.Equal(AppendSnapshot(nil, got), b) {
			t.Fatalf("round trip: %+v, want %+v", got, snap)
		}
	}
}

func TestValidateSnapshotRejects(t *testing.T) {
	bad := map[string]func(*Snapshot){
		"unsorted":         func(s *Snapshot) { s.Entries[0].Key = "c" },
		"duplicate":        func(s *Snapshot) { s.Entries[1].Key = "a" },
		"empty key":        func(s *Snapshot) { s.Entries[0].Key = "" },
		"version zero":     func(s *Snapshot) { s.Entries[0].Version = 0 },
		"version too new":  func(s *Snapshot) { s.Entries[0].Version = 10 },
		"lock with value":  func(s *Snapshot) { s.Entries[2].Value = []byte("x") },
		"lock without ttl": func(s *Snapshot) { s.Entries[2].TTL = 0 },
		"ttl on value":     func(s *Snapshot) { s.Entries[0].TTL = 1 },
	}
	for name, spoil := range bad {
		snap := sampleSnapshot()
		snap.Entries = append([]Record(nil), snap.Entries...)
		spoil(&snap)
		if err := ValidateSnapshot(snap); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v, want ErrBadSnapshot", name, err)
		}
		if _, err := DecodeSnapshot(AppendSnapshot(nil, snap)); err == nil {
			t.Errorf("%s: decoded", name)
		}
		if _, err := New(Config{Self: 1, Nodes: []wire.NodeID{1}}, 0, snap); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: New accepted it: %v", name, err)
		}
	}
}

// FuzzDecode: DecodeMessage never panics, accepts only canonical
// encodings, and a store fed the bytes never panics and counts what it
// cannot decode.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(AppendMessage(nil, m))
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err == nil {
			if re := AppendMessage(nil, m); !bytes.Equal(re, b) {
				t.Fatalf("not canonical: %x re-encodes as %x", b, re)
			}
			if m2, err := DecodeMessage(AppendMessage(nil, m)); err != nil || !reflect.DeepEqual(m2, m) {
				t.Fatalf("round trip: %+v, %v", m2, err)
			}
		}
		s, _ := New(Config{Self: 1, Nodes: []wire.NodeID{1, 2}}, 0, sampleSnapshot())
		s.Configuration(0, ConfigRegular, ring8, []wire.NodeID{1, 2})
		s.SetQuorate(0, true)
		before := s.Stats().Dropped[DropMalformed]
		s.Deliver(1, 2, b)
		s.Advance(2)
		_ = s.Ready()
		if err != nil && s.Stats().Dropped[DropMalformed] != before+1 {
			t.Fatal("malformed message not counted")
		}
	})
}

// FuzzDecodeSnapshot: DecodeSnapshot never panics and accepts only
// canonical, valid snapshots.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Add(AppendSnapshot(nil, sampleSnapshot()))
	f.Add(AppendSnapshot(nil, Snapshot{}))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		snap, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		if re := AppendSnapshot(nil, snap); !bytes.Equal(re, b) {
			t.Fatalf("not canonical: %x re-encodes as %x", b, re)
		}
		if err := ValidateSnapshot(snap); err != nil {
			t.Fatalf("decoded an invalid snapshot: %v", err)
		}
	})
}

// TestDecodeShared: the store's own decoding of delivered messages gives
// the same messages as DecodeMessage, its values slices of the input
// (DecodeMessage's are copies), its keys the known names when they match.
func TestDecodeShared(t *testing.T) {
	names := []string{"k", "nodes/a/qemu-server/100.conf", "priv/lock/x"}
	if n := len(AppendMessage(nil, Message{Kind: MsgApplied, Ring: ring8})); n != appliedSize {
		t.Fatalf("an Applied message has %d bytes, the fast path expects %d", n, appliedSize)
	}
	for _, m := range sampleMessages() {
		b := AppendMessage(nil, m)
		want, err := DecodeMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMessage(b, true, names)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: shared decoding %+v, %v; want %+v", m.Kind, got, err, want)
		}
		if len(m.Value) == 0 {
			continue
		}
		at := bytes.Index(b, m.Value)
		if &got.Value[0] != &b[at] || &want.Value[0] == &b[at] || cap(got.Value) != len(got.Value) {
			t.Fatalf("%s: shared value not a capped slice of the input, or the copy is not a copy", m.Kind)
		}
	}
	// A truncated or empty key is refused however it is read.
	for _, b := range [][]byte{
		AppendMessage(nil, Message{Kind: MsgRead, Ring: ring8, Op: 1}),
		AppendMessage(nil, Message{Kind: MsgRead, Ring: ring8, Op: 1, Key: "k"})[:25],
	} {
		if _, err := decodeMessage(b, true, names); err == nil {
			t.Fatalf("%x decoded", b)
		}
	}
}
