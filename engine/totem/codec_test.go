package totem

import (
	"bytes"
	"errors"
	"reflect"
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
