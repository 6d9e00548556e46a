package engine

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

func TestSyncMessageCodec(t *testing.T) {
	ring := totem.RingID{Rep: 3, Seq: 0x1a8}
	for _, m := range []SyncMessage{
		{Kind: syncMsgBuild, Ring: ring, Services: []byte{0, 2, 3, 5}},
		{Kind: syncMsgBuild, Ring: ring, Services: []byte{}},
		{Kind: syncMsgBarrier, Ring: ring},
		{Kind: syncMsgCmap, Ring: ring, Version: 1<<64 - 1},
		{Kind: syncMsgDownlist, Ring: ring, Left: []wire.NodeID{2, 7}},
		{Kind: syncMsgDownlist, Ring: ring, Left: []wire.NodeID{}},
	} {
		got, err := DecodeSyncMessage(m.Encode())
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip: got %+v, want %+v", got, m)
		}
	}
	good := SyncMessage{Kind: syncMsgDownlist, Ring: ring, Left: []wire.NodeID{2}}.Encode()
	for _, tt := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:syncHeader-1]},
		{"unknown kind", append([]byte{9}, good[1:]...)},
		{"downlist cut", good[:len(good)-1]},
		{"downlist long", append(slices.Clone(good), 0)},
		{"barrier trailing", append(SyncMessage{Kind: syncMsgBarrier, Ring: ring}.Encode(), 1)},
		{"cmap short", SyncMessage{Kind: syncMsgCmap, Ring: ring}.Encode()[:syncHeader+7]},
		{"build count", append(SyncMessage{Kind: syncMsgBuild, Ring: ring, Services: []byte{1}}.Encode(), 4)},
	} {
		if _, err := DecodeSyncMessage(tt.b); !errors.Is(err, ErrSyncMessage) {
			t.Errorf("%s: err %v, want ErrSyncMessage", tt.name, err)
		}
	}
}

func FuzzDecodeSyncMessage(f *testing.F) {
	ring := totem.RingID{Rep: 1, Seq: 4}
	f.Add(SyncMessage{Kind: syncMsgBuild, Ring: ring, Services: syncServices}.Encode())
	f.Add(SyncMessage{Kind: syncMsgDownlist, Ring: ring, Left: []wire.NodeID{3}}.Encode())
	f.Add(SyncMessage{Kind: syncMsgCmap, Ring: ring, Version: 9}.Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSyncMessage(b)
		if err != nil {
			return
		}
		again, err := DecodeSyncMessage(m.Encode())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encoding %x: %+v, %v", b, again, err)
		}
	})
}

// syncSteps returns node id's sync events and the quorate/inquorate and
// store sync_start events among them, as "kind detail" lines.
func syncSteps(evs []wire.Event) []string {
	var out []string
	for _, e := range evs {
		switch {
		case e.Kind == wire.EventMembership, e.Kind == wire.EventSync:
			out = append(out, e.Kind.String()+" "+e.Detail)
		case e.Kind == wire.EventQuorum && (strings.HasPrefix(e.Detail, "quorate") || strings.HasPrefix(e.Detail, "sync")):
			out = append(out, e.Kind.String()+" "+e.Detail)
		case e.Kind == wire.EventStore && strings.HasPrefix(e.Detail, "sync_start"):
			out = append(out, e.Kind.String()+" "+e.Detail)
		}
	}
	return out
}

// TestServiceSyncOrder: after a ring forms, the services synchronise
// through Totem; the configuration is quorate only once votequorum
// activated, which comes right before "completed", and the store's state
// exchange starts only after it.
func TestServiceSyncOrder(t *testing.T) {
	tn := newTestNet(t)
	for _, id := range []wire.NodeID{1, 2, 3} {
		tn.start(testConfig(id, 1, 2, 3))
	}
	tn.run(10 * time.Second)
	for _, id := range []wire.NodeID{1, 2, 3} {
		steps := syncSteps(tn.events[id])
		q := slices.IndexFunc(steps, func(s string) bool { return strings.HasPrefix(s, "quorum quorate") })
		if q < 1 || q+2 >= len(steps) || !strings.HasPrefix(steps[q-1], "quorum sync") ||
			!strings.HasPrefix(steps[q+1], "sync completed") || !strings.HasPrefix(steps[q+2], "store sync_start") {
			t.Fatalf("node %d: want votequorum's sync, quorate, completed, store sync_start in a row:\n%s", id, strings.Join(steps, "\n"))
		}
		if q := tn.nodes[id].Quorum(); !q.Quorate || q.Syncing {
			t.Fatalf("node %d: %+v", id, q)
		}
	}
}

type fakeSyncOut struct {
	sent   []SyncMessage
	events []string
}

func (f *fakeSyncOut) syncMulticast(_ Instant, m SyncMessage) { f.sent = append(f.sent, m) }
func (f *fakeSyncOut) syncEvent(d string, _ []wire.NodeID)    { f.events = append(f.events, d) }

// TestSyncerRounds walks sync.c's rounds by hand: the service list, then
// for every service its process messages and a barrier that needs every
// member; a missing member holds the round, a new configuration aborts it,
// and the old ring's late messages are discarded.
func TestSyncerRounds(t *testing.T) {
	var s syncer
	out := &fakeSyncOut{}
	r1 := totem.RingID{Rep: 1, Seq: 8}
	members := []wire.NodeID{1, 2, 3}
	s.start(0, out, r1, members)
	if len(out.sent) != 1 || out.sent[0].Kind != syncMsgBuild || !slices.Equal(out.sent[0].Services, syncServices) {
		t.Fatalf("start sent %+v", out.sent)
	}
	all := func(kind byte, upto int) int {
		p := -1
		for _, id := range members[:upto] {
			if r := s.deliver(0, out, id, SyncMessage{Kind: kind, Ring: r1}); r >= 0 {
				p = r
			}
		}
		return p
	}
	all(syncMsgBuild, 2)
	if s.state != syncServiceBuild || len(out.sent) != 1 {
		t.Fatalf("two of three service lists moved on: state %d, sent %+v", s.state, out.sent)
	}
	all(syncMsgBuild, 3)
	// cmap's process step: its message and the barrier.
	if got := out.sent[1:]; len(got) != 2 || got[0].Kind != syncMsgCmap || got[1].Kind != syncMsgBarrier {
		t.Fatalf("cmap step sent %+v", got)
	}
	all(syncMsgBarrier, 3) // cmap activates, cpg runs
	if got := out.sent[3:]; len(got) != 2 || got[0].Kind != syncMsgDownlist || got[1].Kind != syncMsgBarrier {
		t.Fatalf("cpg step sent %+v", got)
	}
	all(syncMsgBarrier, 3) // cpg activates, quorum's process is empty
	if got := out.sent[5:]; len(got) != 1 || got[0].Kind != syncMsgBarrier {
		t.Fatalf("quorum step sent %+v", got)
	}
	if p := all(syncMsgBarrier, 2); p >= 0 || s.current() != "quorum" {
		t.Fatalf("two of three barriers activated quorum: process %d, current %s", p, s.current())
	}
	if p := all(syncMsgBarrier, 3); p != int(syncVotequorum) {
		t.Fatalf("votequorum's turn not handed to the caller: %d", p)
	}
	if s.inService() {
		t.Fatal("in service before votequorum's barrier")
	}
	// A new configuration before votequorum completes aborts the round.
	r2 := totem.RingID{Rep: 1, Seq: 12}
	s.transitional([]wire.NodeID{1, 2})
	s.start(0, out, r2, []wire.NodeID{1, 2})
	if len(out.events) != 1 || !strings.HasPrefix(out.events[0], "aborted ring=1.8 service=votequorum") {
		t.Fatalf("events %q", out.events)
	}
	if s.votequorumDone(quorumRing(r1), out) {
		t.Fatal("the aborted ring completed")
	}
	sent := len(out.sent)
	if s.deliver(0, out, 3, SyncMessage{Kind: syncMsgBarrier, Ring: r1}); len(out.sent) != sent || s.state != syncServiceBuild {
		t.Fatal("a barrier of the old ring was taken")
	}
	for _, kind := range []byte{syncMsgBuild, syncMsgBarrier, syncMsgBarrier, syncMsgBarrier} {
		for _, id := range []wire.NodeID{1, 2} {
			s.deliver(0, out, id, SyncMessage{Kind: kind, Ring: r2})
		}
	}
	if !s.votequorumDone(quorumRing(r2), out) || !s.inService() {
		t.Fatalf("ring 1.c did not complete: state %d idx %d", s.state, s.idx)
	}
	if last := out.events[len(out.events)-1]; last != "completed ring=1.c" {
		t.Fatalf("last event %q", last)
	}
}

func quorumRing(r totem.RingID) quorum.RingID { return quorum.RingID{Rep: r.Rep, Seq: r.Seq} }

// TestCmapConfigVersionDiffers: in the first synchronisation with other
// members, a node whose totem.config_version is lower than the highest one
// received reports it (corosync exits there); the node with the highest
// version does not, and later synchronisations say nothing more.
func TestCmapConfigVersionDiffers(t *testing.T) {
	tn := newTestNet(t)
	for _, id := range []wire.NodeID{1, 2} {
		cfg := testConfig(id, 1, 2)
		cfg.ConfigVersion = uint64(2 + id) // 3 and 4
		tn.start(cfg)
	}
	tn.run(10 * time.Second)
	count := func(id wire.NodeID) int {
		n := 0
		for _, e := range tn.events[id] {
			if e.Kind == wire.EventSync && strings.HasPrefix(e.Detail, "config_version") {
				n++
				if e.Detail != "config_version 3 differs from the highest received 4" {
					t.Fatalf("node %d: %q", id, e.Detail)
				}
			}
		}
		return n
	}
	if got := count(1); got != 1 {
		t.Fatalf("node 1 (version 3) reported %d differences, want 1", got)
	}
	if got := count(2); got != 0 {
		t.Fatalf("node 2 (version 4) reported %d differences, want 0", got)
	}
	if q := tn.nodes[1].Quorum(); !q.Quorate {
		t.Fatalf("node 1 not quorate: %+v", q)
	}
}
