package quorum

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// sampleMessages has one of every votequorum message.
var sampleMessages = []Message{
	NodeInfo{NodeID: 3, Votes: 1, ExpectedVotes: 5, Flags: FlagQuorate | FlagQdeviceRegistered | FlagQdeviceAlive},
	NodeInfo{NodeID: 0, Votes: 4},
	Reconfigure{NodeID: 1, Value: 3, Param: ParamExpectedVotes},
	Reconfigure{NodeID: 2, Value: 2, Param: ParamNodeVotes},
	Reconfigure{NodeID: 2, Param: ParamCancelWFA},
	QdeviceReg{Op: QdeviceRegister, Name: "Qdevice"},
	QdeviceReg{Op: QdeviceUnregister, Name: ""},
	QdeviceRename{OldName: "Qdevice", NewName: "Other"},
	SyncBarrier{Ring: RingID{Rep: 1, Seq: 0x1c}},
	NodelistDel{NodeID: 4},
}

// sampleDevMsgs has one of every client↔arbiter message.
var sampleDevMsgs = []DevMsg{
	{Kind: DevInit, Seq: 1, NodeID: 2, Algorithm: AlgorithmLMS, TieBreaker: TieBreaker{Mode: TieBreakerNodeID, Node: 3},
		Heartbeat: 8 * time.Second, Nodes: ids(1, 2, 3)},
	{Kind: DevInit, Seq: 1, NodeID: 1, Heartbeat: time.Second, Nodes: ids(1)},
	{Kind: DevInitReply, Seq: 1, Error: InitUnsupportedAlgorithm},
	{Kind: DevMembership, Seq: 2, Ring: RingID{Rep: 1, Seq: 8}, Nodes: ids(1, 2)},
	{Kind: DevQuorum, Seq: 3, Quorate: true, Nodes: ids(1, 2)},
	{Kind: DevReply, Seq: 2, Reply: DevMembership, Ring: RingID{Rep: 1, Seq: 8}, Vote: VoteWaitForReply},
	{Kind: DevVoteInfo, Seq: 7, Ring: RingID{Rep: 1, Seq: 8}, Vote: VoteACK},
	{Kind: DevVoteInfoReply, Seq: 7},
	{Kind: DevEcho, Seq: 9},
	{Kind: DevEchoReply, Seq: 9},
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages {
		b := AppendMessage(nil, m)
		got, err := DecodeMessage(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%v: decoded %v, %v", m, got, err)
		}
		if !bytes.Equal(AppendMessage(nil, got), b) {
			t.Errorf("%v: re-encoding differs", m)
		}
	}
	for _, m := range sampleDevMsgs {
		b := AppendDevMsg(nil, m)
		got, err := DecodeDevMsg(b)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("%v: decoded %v, %v", m, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	nodeinfo := AppendMessage(nil, sampleMessages[0])
	cases := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrShort},
		{"truncated", nodeinfo[:len(nodeinfo)-1], ErrShort},
		{"trailing", append(append([]byte{}, nodeinfo...), 0), ErrTrailing},
		{"kind", []byte{0x7f}, ErrKind},
		{"param", []byte{byte(MsgReconfigure), 0, 0, 0, 1, 0, 0, 0, 1, 9}, ErrField},
		{"op", []byte{byte(MsgQdeviceReg), 3, 0}, ErrField},
		{"long_name", append([]byte{byte(MsgQdeviceReg), 1, 255}, make([]byte, 255)...), ErrField},
	}
	for _, c := range cases {
		if _, err := DecodeMessage(c.b); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
	dev := []struct {
		name string
		b    []byte
		err  error
	}{
		{"empty", nil, ErrShort},
		{"kind", []byte{0, 0, 0, 0, 1}, ErrKind},
		{"vote", []byte{byte(DevVoteInfo), 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 9}, ErrField},
		{"bool", []byte{byte(DevQuorum), 0, 0, 0, 1, 2, 0, 0}, ErrField},
		{"list", []byte{byte(DevMembership), 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 2, 0, 0, 0, 1}, ErrShort},
	}
	for _, c := range dev {
		if _, err := DecodeDevMsg(c.b); !errors.Is(err, c.err) {
			t.Errorf("dev %s: err %v, want %v", c.name, err, c.err)
		}
	}
}

// FuzzDecode feeds arbitrary bytes to both decoders and to the state
// machines that consume them: nothing may panic, every accepted input must
// re-encode to the same bytes, and every rejected one must be counted.
func FuzzDecode(f *testing.F) {
	for _, m := range sampleMessages {
		f.Add(AppendMessage(nil, m))
	}
	for _, m := range sampleDevMsgs {
		f.Add(AppendDevMsg(nil, m))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := DecodeMessage(b); err == nil {
			if !bytes.Equal(AppendMessage(nil, m), b) {
				t.Fatalf("votequorum message %v does not round-trip", m)
			}
		}
		if m, err := DecodeDevMsg(b); err == nil {
			if !bytes.Equal(AppendDevMsg(nil, m), b) {
				t.Fatalf("device message %v does not round-trip", m)
			}
		}
		q := fuzzNode(t)
		before := q.Stats()
		q.Deliver(wire.Instant(time.Second), 2, b)
		if _, err := DecodeMessage(b); err != nil && q.Stats().Dropped != before.Dropped+1 {
			t.Fatalf("undecodable message not counted")
		}
		q.Deliver(wire.Instant(time.Second), 1, b) // as if from this node
		q.ArbiterReceive(wire.Instant(time.Second), b)
		q.Advance(wire.Instant(time.Hour))
		q.Configuration(wire.Instant(time.Hour), RingID{Rep: 1, Seq: 8}, ids(1, 2, 3))
		q.Advance(wire.Instant(2 * time.Hour))
		plain, _ := New(Config{Self: 1, Nodes: []NodeConfig{{ID: 1}, {ID: 2}}}, 0)
		plain.Configuration(0, RingID{Rep: 1, Seq: 4}, ids(1, 2))
		plain.Deliver(1, 1, b)
		plain.Deliver(1, 2, b)
		plain.Configuration(2, RingID{Rep: 1, Seq: 8}, ids(1, 2))
		plain.Advance(wire.Instant(time.Hour))
		_ = plain.Status()
		a := NewArbiter()
		a.Connect(0, 2)
		a.Receive(0, 2, AppendDevMsg(nil, sampleDevMsgs[0]))
		a.Receive(1, 2, b)
		a.Advance(wire.Instant(time.Hour))
	})
}

// fuzzNode is node 1 of a 3-node cluster with a device, in ring {1,2}.
func fuzzNode(t *testing.T) *Quorum {
	q, err := New(Config{Self: 1, Nodes: []NodeConfig{{ID: 1}, {ID: 2}, {ID: 3}},
		Device: &DeviceConfig{Algorithm: AlgorithmLMS}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	q.Configuration(0, RingID{Rep: 1, Seq: 4}, ids(1, 2))
	return q
}
