package store

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		cfg  Config
		want error
	}{
		{Config{Self: 1, Nodes: []wire.NodeID{1, 2}}, nil},
		{Config{Self: 3, Nodes: []wire.NodeID{1, 2}}, ErrSelfMissing},
		{Config{Self: 0, Nodes: []wire.NodeID{1}}, ErrSelfMissing},
		{Config{Self: 1, Nodes: []wire.NodeID{1, 0}}, ErrBadNodeList},
		{Config{Self: 1, Nodes: []wire.NodeID{2, 1, 2}}, ErrBadNodeList},
		{Config{Self: 1, Nodes: []wire.NodeID{1, 2}, Headroom: -1}, ErrBadHeadroom},
		{Config{Self: 1, Nodes: []wire.NodeID{1, 2}, Headroom: 30}, nil},
	}
	for _, tc := range tests {
		if _, err := New(tc.cfg, 0, Snapshot{}); !errors.Is(err, tc.want) {
			t.Errorf("New(%+v): %v, want %v", tc.cfg, err, tc.want)
		}
	}
}

// solo returns a one-node store, synced and quorate, its output drained.
func solo(t *testing.T) *Store {
	t.Helper()
	s, err := New(Config{Self: 1, Nodes: []wire.NodeID{1}}, 0, Snapshot{})
	if err != nil {
		t.Fatal(err)
	}
	s.Configuration(0, ConfigRegular, ring8, []wire.NodeID{1})
	s.SetQuorate(0, true)
	loop(s)
	if !s.Status().Writable {
		t.Fatalf("solo store not writable: %+v", s.Status())
	}
	return s
}

// loop delivers a lone store's own multicasts back to it until it is idle,
// and returns the results it released.
func loop(s *Store) []Result {
	var res []Result
	for range 100 {
		rd := s.Ready()
		s.Ack()
		res = append(res, rd.Results...)
		if len(rd.Multicast) == 0 {
			return res
		}
		for _, m := range rd.Multicast {
			s.Deliver(0, s.ID(), m)
		}
	}
	panic("solo store does not settle")
}

func TestClientErrorsAtOnce(t *testing.T) {
	s := solo(t)
	big := make([]byte, MaxValueSize+1)
	checks := []struct {
		name string
		err  error
		want error
	}{
		{"empty key", second(s.Put(0, "", nil)), ErrBadKey},
		{"long key", second(s.Delete(0, string(make([]byte, MaxKeySize+1)))), ErrBadKey},
		{"large value", second(s.Put(0, "k", big)), ErrTooLarge},
		{"large cas value", second(s.CompareAndSet(0, "k", 0, big)), ErrTooLarge},
		{"lock without holder", second(s.Lock(0, "k", "", time.Second)), ErrBadLock},
		{"lock without ttl", second(s.Lock(0, "k", "h", 0)), ErrBadLock},
		{"max value fits a message", second(s.Put(0, "k", big[:MaxValueSize])), nil},
	}
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
	for _, m := range s.Ready().Multicast {
		if len(m) >= 1<<20 {
			t.Fatalf("a multicast of %d bytes would not fit Totem", len(m))
		}
	}
	if res := loop(s); len(res) != 1 || !res[0].OK {
		t.Fatalf("results %+v", res)
	}
}

func second(_ OpID, err error) error { return err }

func TestReadyIsStableUntilAck(t *testing.T) {
	s := solo(t)
	if _, err := s.Put(0, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	a, b := s.Ready(), s.Ready()
	if len(a.Multicast) != 1 || len(b.Multicast) != 1 {
		t.Fatalf("Ready twice: %d then %d multicasts", len(a.Multicast), len(b.Multicast))
	}
	s.Ack()
	if rd := s.Ready(); len(rd.Multicast)+len(rd.Results)+len(rd.Events) != 0 || rd.Persist != nil {
		t.Fatalf("work left after Ack: %+v", rd)
	}
	s.Deliver(0, 1, a.Multicast[0])
	rd := s.Ready()
	if rd.Persist == nil || rd.Persist.Version != 1 {
		t.Fatal("an applied write must be persisted")
	}
	if len(rd.Multicast) != 1 || len(rd.Results) != 0 {
		t.Fatal("want the confirmation, and no result before it is delivered")
	}
	s.Ack()
	s.Deliver(0, 1, rd.Multicast[0])
	if rd := s.Ready(); len(rd.Results) != 1 || !rd.Results[0].OK || rd.Persist != nil {
		t.Fatalf("after the confirmation: %+v", rd)
	}
}

// TestOddInputDropped: nothing a peer sends is an error or a panic; it is
// dropped and counted.
func TestOddInputDropped(t *testing.T) {
	s, _ := New(Config{Self: 1, Nodes: []wire.NodeID{1, 2, 3}}, 0, Snapshot{})
	state := func(from wire.NodeID) []byte {
		return AppendMessage(nil, Message{Kind: MsgState, Ring: ring8})
	}
	s.Deliver(0, 2, state(2))
	if s.Stats().Dropped[DropStale] != 1 {
		t.Fatal("message before any configuration not dropped")
	}
	s.Configuration(0, ConfigRegular, RingRef{Rep: 2, Seq: 8}, []wire.NodeID{2, 3})
	if s.Status().Phase != PhaseStart {
		t.Fatal("configuration without this node accepted")
	}
	s.Configuration(0, ConfigRegular, ring8, []wire.NodeID{1, 2})
	s.Configuration(0, ConfigRegular, RingRef{Rep: 1, Seq: 4}, []wire.NodeID{1, 2})
	if s.Status().Ring != ring8 {
		t.Fatal("older ring accepted")
	}
	cases := []struct {
		from   wire.NodeID
		b      []byte
		reason DropReason
	}{
		{2, []byte{1, 2, 3}, DropMalformed},
		{3, state(3), DropForged}, // not a member
		{2, AppendMessage(nil, Message{Kind: MsgUnlock, Ring: ring8, Key: "k"}), DropForged}, // not the lowest
		{2, AppendMessage(nil, Message{Kind: MsgApplied, Ring: RingRef{Rep: 1, Seq: 4}}), DropStale},
		{2, AppendMessage(nil, Message{Kind: MsgSnapshot, Ring: ring8, Count: 1}), DropStale}, // no leader yet
		{2, AppendMessage(nil, Message{Kind: MsgQuorate, Ring: RingRef{Rep: 2, Seq: 12}}), DropStale},
	}
	for i, c := range cases {
		before := s.Stats().Dropped[c.reason]
		s.Deliver(0, c.from, c.b)
		if s.Stats().Dropped[c.reason] != before+1 {
			t.Errorf("case %d: not dropped as %s", i, c.reason)
		}
	}
	s.Deliver(0, 2, state(2))
	s.Deliver(0, 2, state(2))
	if s.Stats().Dropped[DropDuplicate] != 1 {
		t.Fatal("second state not dropped")
	}
	s.Deliver(0, 1, state(1)) // all states in: leader 1, nobody lags
	if st := s.Status(); st.Phase != PhaseSynced || st.Leader != 1 {
		t.Fatalf("status %+v", st)
	}
	before := s.Stats().Dropped[DropStale]
	s.Deliver(0, 1, AppendMessage(nil, Message{Kind: MsgSnapshot, Ring: ring8, Count: 1}))
	if s.Stats().Dropped[DropStale] != before+1 {
		t.Fatal("snapshot piece after the sync not dropped")
	}
	if slices.IndexFunc(s.Ready().Events, func(e Event) bool { return e.Kind == EventDropped }) < 0 {
		t.Fatal("drops not reported as events")
	}
}

// TestTransferVerified: a snapshot that does not match the leader's State
// is refused and leaves the node unsynced.
func TestTransferVerified(t *testing.T) {
	s, _ := New(Config{Self: 2, Nodes: []wire.NodeID{1, 2}}, 0, Snapshot{})
	s.Configuration(0, ConfigRegular, ring8, []wire.NodeID{1, 2})
	leaderState := sampleSnapshot()
	st := stateOf(leaderState)
	s.Deliver(0, 1, AppendMessage(nil, Message{Kind: MsgState, Ring: ring8, Epoch: st.epoch, Version: st.version, Digest: st.digest() ^ 1}))
	s.Deliver(0, 2, AppendMessage(nil, Message{Kind: MsgState, Ring: ring8}))
	body := AppendSnapshot(nil, leaderState)
	s.Deliver(0, 1, AppendMessage(nil, Message{Kind: MsgSnapshot, Ring: ring8, Count: 1, Value: body}))
	if s.Status().Phase != PhaseSync || s.Stats().Dropped[DropTransfer] != 1 || s.Status().Version != 0 {
		t.Fatalf("unverified snapshot installed: %+v", s.Status())
	}
}

func TestStringers(t *testing.T) {
	for _, s := range []string{
		OpCAS.String(), OpKind(99).String(), MsgSnapshot.String(), MsgKind(0).String(), ConfigRegular.String(),
		ConfigKind(9).String(), PhaseSynced.String(), Phase(9).String(), EventLeader.String(), EventKind(0).String(),
		DropTransfer.String(), DropReason(9).String(),
		Event{Kind: EventLeader, Ring: ring8, Node: 2, Nodes: []wire.NodeID{3}, Detail: "x"}.String(),
	} {
		if s == "" {
			t.Fatal("empty name")
		}
	}
	if e := (Event{Kind: EventSynced, Ring: ring8}).String(); e != "synced ring=1.8" {
		t.Fatalf("event string %q", e)
	}
}
