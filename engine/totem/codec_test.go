package totem

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// sampleMessages holds one or more messages of every family.
func sampleMessages() []Message {
	ring := RingID{Rep: 1, Seq: 0x1a8}
	inner := &Mcast{Sender: 2, RingID: RingID{Rep: 1, Seq: 0x1a4}, Origin: 2, Seq: 7, ThisSeqno: 3, Payload: []byte("old")}
	return []Message{
		&Token{Sender: 1, RingID: ring, Seq: 10, TokenSeq: 99, Aru: 0xffffffff, AruAddr: 1, Backlog: 3, FCC: 4,
			RetransFlg: true, RTR: []RTRItem{{RingID: ring, Seq: 5}, {RingID: ring, Seq: 6}}},
		&Token{Sender: 3, RingID: ring},
		&Mcast{Sender: 2, RingID: ring, Origin: 2, Seq: 1, ThisSeqno: 1, Guarantee: 1, Payload: []byte("hello")},
		&Mcast{Sender: 3, Encapsulated: true, RingID: ring, Origin: 3, Seq: 2, Payload: Append(nil, inner)},
		&Mcast{Sender: 2, RingID: ring, Origin: 2},
		&Mcast{Sender: 2, Packed: true, RingID: ring, Origin: 2, Seq: 3, ThisSeqno: 2, Payload: packOf([]byte("one"), nil, []byte("three"))},
		&MergeDetect{Sender: 1, RingID: ring},
		&Join{Sender: 2, Origin: 2, ProcList: []wire.NodeID{1, 2, 3}, FailedList: []wire.NodeID{4}, RingSeq: 0x1a8},
		&Join{Sender: 0, Origin: 5, ProcList: []wire.NodeID{5}, FailedList: []wire.NodeID{5}, RingSeq: 1},
		&CommitToken{Sender: 1, TokenSeq: 2, RingID: ring, MembIndex: 1, Addr: []wire.NodeID{1, 3},
			Entries: []CommitEntry{{OldRingID: RingID{1, 0x1a4}, Aru: 9, HighDelivered: 9, ReceivedFlg: true}, {}}},
		&HoldCancel{Sender: 2, RingID: ring},
	}
}

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		b := Append(nil, m)
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		if !bytes.Equal(Append(nil, got), b) {
			t.Errorf("%T: re-encoding differs", m)
		}
		for n := range len(b) {
			if _, err := Decode(b[:n]); err == nil {
				t.Errorf("%T truncated to %d decoded", m, n)
			}
		}
	}
}

func TestCodecRejects(t *testing.T) {
	good := Append(nil, &HoldCancel{Sender: 2, RingID: RingID{1, 4}})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		b    []byte
		want error
	}{
		{mut(func(b []byte) []byte { b[0] = 0x70; return b }), ErrBadMagic},
		{mut(func(b []byte) []byte { b[2] = 2; return b }), ErrBadVersion},
		{mut(func(b []byte) []byte { b[3] = 6; return b }), ErrBadType},
		{mut(func(b []byte) []byte { b[4] = encapYes; return b }), ErrBadField},
		{mut(func(b []byte) []byte { return append(b, 0) }), ErrTrailing},
		{Append(nil, &Join{Sender: 1, Origin: 1, ProcList: []wire.NodeID{2, 1}}), ErrBadField},
		{Append(nil, &CommitToken{Sender: 1, MembIndex: 3, Addr: []wire.NodeID{1}, Entries: make([]CommitEntry, 1)}), ErrBadField},
	} {
		if _, err := Decode(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("% x: got %v, want %v", tc.b, err, tc.want)
		}
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// re-encodes to the same bytes and decodes to the same message.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(Append(nil, m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		e := Append(nil, m)
		if !bytes.Equal(e, b) {
			t.Fatalf("re-encoding differs:\n in % x\nout % x", b, e)
		}
		m2, err := Decode(e)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("decode(encode(m)) != m: %v", err)
		}
	})
}

// FuzzStep feeds arbitrary datagrams to an operational ring: it must never
// panic, whatever the bytes claim.
func FuzzStep(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(uint8(2), Append(nil, m))
	}
	f.Fuzz(func(t *testing.T, from uint8, b []byte) {
		c := newCluster(3, testConfig(), 1)
		for i := range c.nodes {
			c.start(i)
		}
		c.stabilize(time.Second)
		c.nodes[0].ring.Step(c.now, wire.NodeID(from%5), b)
		c.collect(0)
		c.runFor(500 * time.Millisecond)
	})
}

// TestEncodeMcastFramed: a multicast encoded in the buffer it was queued
// in (MulticastFramed) or in a new one is byte for byte Append's encoding,
// the framed one without copying its payload; a buffer without room for
// the header is refused.
func TestEncodeMcastFramed(t *testing.T) {
	for _, n := range []int{0, 1, 1025, MaxPayload} {
		for _, encap := range []bool{false, true} {
			payload := bytes.Repeat([]byte{byte(n), 0xa5}, n/2+1)[:n]
			m := Mcast{Sender: 3, Encapsulated: encap, RingID: RingID{Rep: 2, Seq: 1 << 40}, Origin: 4,
				Seq: 77, ThisSeqno: 12, Guarantee: 1}
			want := Append(nil, &Mcast{Sender: m.Sender, Encapsulated: encap, RingID: m.RingID, Origin: m.Origin,
				Seq: m.Seq, ThisSeqno: m.ThisSeqno, Guarantee: m.Guarantee, Payload: payload})
			plain := m
			plain.Payload = payload
			if got := encodeMcast(&plain); !bytes.Equal(got, want) {
				t.Fatalf("size %d encap %v: unframed encoding differs from Append", n, encap)
			}
			buf := make([]byte, McastHeadroom+n)
			copy(buf[McastHeadroom:], payload)
			framed := m
			framed.Payload, framed.frame = buf[McastHeadroom:], buf
			got := encodeMcast(&framed)
			if !bytes.Equal(got, want) || &got[0] != &buf[0] || framed.frame != nil {
				t.Fatalf("size %d encap %v: framed encoding differs from Append, or was not made in place", n, encap)
			}
		}
	}
	r, err := New(Config{Self: 1, Nodes: []wire.NodeID{1, 2}}, 0, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.MulticastFramed(0, make([]byte, McastHeadroom-1)); !errors.Is(err, ErrNoHeadroom) {
		t.Fatalf("short buffer: %v, want ErrNoHeadroom", err)
	}
	if err := r.MulticastFramed(0, make([]byte, McastHeadroom+MaxPayload+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v, want ErrTooLarge", err)
	}
	if r.Backlog() != 0 {
		t.Fatalf("refused messages queued: backlog %d", r.Backlog())
	}
}

// TestDecodeJoinIntoScratch: JOINs decoded one after another into the same
// scratch, whose lists reuse the arrays of the JOIN before, read as a fresh
// Decode reads them, whether the lists grow, shrink or are empty, and a
// malformed JOIN in between leaves the next one whole.
func TestDecodeJoinIntoScratch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	list := func() []wire.NodeID {
		var l []wire.NodeID
		for id := wire.NodeID(1); id <= 300; id++ {
			if rng.IntN(4) == 0 {
				l = append(l, id)
			}
			if len(l) == 0 && rng.IntN(40) == 0 {
				return nil
			}
		}
		if rng.IntN(5) == 0 {
			return nil
		}
		return l
	}
	var s decodeScratch
	var prev *Join
	hits := 0
	for i := range 2000 {
		j := &Join{Sender: 2, Origin: 2, RingSeq: uint64(i), ProcList: list(), FailedList: list()}
		switch {
		case prev != nil && i%3 == 1: // the lists of the JOIN before: not decoded again
			j.ProcList, j.FailedList = prev.ProcList, prev.FailedList
		case prev != nil && i%3 == 2 && len(prev.ProcList) > 1: // one id fewer
			j.ProcList, j.FailedList = slices.Clone(prev.ProcList[1:]), prev.FailedList
		}
		prev = j
		b := Append(nil, j)
		if i%7 == 3 {
			if _, err := decode(b[:len(b)-1], &s); err == nil {
				t.Fatal("a truncated JOIN decoded")
			}
		}
		if i%11 == 5 { // cut after the ring seq: no lists at all
			if _, err := decode(b[:headerLen+12], &s); err == nil {
				t.Fatal("a JOIN without lists decoded")
			}
		}
		want, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decode(b, &s)
		if err != nil {
			t.Fatal(err)
		}
		if s.jnSame {
			hits++
		}
		g, w := got.(*Join), want.(*Join)
		if g.Sender != w.Sender || g.Origin != w.Origin || g.RingSeq != w.RingSeq ||
			!slices.Equal(g.ProcList, w.ProcList) || !slices.Equal(g.FailedList, w.FailedList) {
			t.Fatalf("JOIN %d into scratch:\n got %+v\nwant %+v", i, g, w)
		}
		if !bytes.Equal(Append(nil, got), b) {
			t.Fatalf("JOIN %d: re-encoding the scratch decode differs", i)
		}
	}
	if hits < 400 {
		t.Fatalf("only %d JOINs reused the lists of the one before", hits)
	}
}

// TestJoinListsCheckedOnce: a JOIN whose lists are the bytes of the JOIN
// before skips the nodelist check only when that JOIN passed it under
// the same nodelist. A forged JOIN naming an unknown node is dropped
// every time it comes, and a JOIN accepted before a reload that removed
// a node it names is dropped after it.
func TestJoinListsCheckedOnce(t *testing.T) {
	r, err := New(Config{Self: 1, Nodes: []wire.NodeID{1, 2, 3, 4}}, 0, 0, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	forged := func() uint64 { return r.Stats().Dropped[DropForged] }
	send := func(from wire.NodeID, j *Join) {
		j.Sender, j.Origin = from, from
		r.Step(wire.Instant(time.Millisecond), from, Append(nil, j))
	}
	good := func() *Join { return &Join{RingSeq: 4, ProcList: []wire.NodeID{1, 2, 3, 4}} }
	bad := func() *Join { return &Join{RingSeq: 4, ProcList: []wire.NodeID{1, 2, 9}} }

	send(2, bad())
	send(3, bad()) // the same lists, from another sender
	send(3, bad())
	if got := forged(); got != 3 {
		t.Fatalf("a JOIN naming node 9, three times: %d dropped as forged, want 3", got)
	}
	send(2, good())
	send(3, good())
	if got := forged(); got != 3 {
		t.Fatalf("JOINs of configured nodes dropped as forged: %d, want 3", got)
	}
	if !r.scratch.jnSame || !r.scratch.jnChecked {
		t.Fatal("the second JOIN of the same lists was decoded or checked again")
	}
	if err := r.Reload(Config{Self: 1, Nodes: []wire.NodeID{1, 2, 3}}); err != nil {
		t.Fatal(err)
	}
	send(2, good()) // names node 4, gone from the nodelist
	if got := forged(); got != 4 {
		t.Fatalf("after a reload without node 4, its JOIN: %d dropped as forged, want 4", got)
	}
	send(2, &Join{RingSeq: 4, ProcList: []wire.NodeID{1, 2, 3}})
	send(2, bad()) // right after a JOIN that passed
	send(2, bad())
	if got := forged(); got != 6 {
		t.Fatalf("a JOIN naming node 9 twice after one that passed: %d dropped as forged, want 6", got)
	}
}
