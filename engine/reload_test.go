package engine

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// splitmix is a deterministic Rand for these tests.
type splitmix uint64

func (s *splitmix) Uint64() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// testConfig is node self's configuration in a cluster of the given nodes:
// two links, a 1 s token, one vote each.
func testConfig(self wire.NodeID, nodes ...wire.NodeID) Config {
	cfg := Config{
		NodeID: self, Nodes: slices.Clone(nodes),
		Links: []links.LinkConfig{{Number: 0}, {Number: 1}},
		Totem: totem.Config{Token: time.Second},
	}
	for _, id := range nodes {
		cfg.Quorum.Nodes = append(cfg.Quorum.Nodes, quorum.NodeConfig{ID: id, Votes: 1})
	}
	return cfg
}

// testNet drives engine nodes over a lossless network with a constant
// latency on every link: a test double of the simulator, so that the
// engine's own behaviour under Reload is tested here.
type testNet struct {
	t     *testing.T
	now   Instant
	nodes map[wire.NodeID]*Node
	queue []flightDG
	// events records every node's events, in order.
	events map[wire.NodeID][]wire.Event
	// drop, when set, loses the datagrams it returns true for.
	drop func(now Instant, d wire.Datagram) bool
	// onReady, when set, sees every batch before it is acknowledged.
	onReady func(id wire.NodeID, rd Ready)
}

type flightDG struct {
	at Instant
	d  wire.Datagram
}

func newTestNet(t *testing.T) *testNet {
	return &testNet{t: t, nodes: map[wire.NodeID]*Node{}, events: map[wire.NodeID][]wire.Event{}}
}

func (tn *testNet) start(cfg Config) *Node {
	tn.t.Helper()
	r := splitmix(cfg.NodeID)
	n, err := New(cfg, tn.now, State{}, &r)
	if err != nil {
		tn.t.Fatal(err)
	}
	tn.nodes[cfg.NodeID] = n
	tn.flush()
	return n
}

// flush moves every node's outbox into the network.
func (tn *testNet) flush() {
	for _, id := range mapsKeys(tn.nodes) {
		n := tn.nodes[id]
		rd := n.Ready()
		tn.events[id] = append(tn.events[id], rd.Events...)
		if tn.onReady != nil {
			tn.onReady(id, rd)
		}
		for _, d := range rd.Outbox {
			if tn.drop != nil && tn.drop(tn.now, d) {
				continue
			}
			tn.queue = append(tn.queue, flightDG{at: tn.now.Add(time.Millisecond), d: d})
		}
		n.Ack(rd)
	}
	slices.SortStableFunc(tn.queue, func(a, b flightDG) int { return int(a.at - b.at) })
}

func mapsKeys(m map[wire.NodeID]*Node) []wire.NodeID {
	out := make([]wire.NodeID, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// run advances the network by d.
func (tn *testNet) run(d time.Duration) {
	end := tn.now.Add(d)
	for {
		next := end
		for _, n := range tn.nodes {
			if dl := n.Ready().Deadline; dl != 0 && dl < next {
				next = dl
			}
		}
		if len(tn.queue) > 0 && tn.queue[0].at < next {
			next = tn.queue[0].at
		}
		tn.now = next
		if len(tn.queue) > 0 && tn.queue[0].at == next {
			f := tn.queue[0]
			tn.queue = tn.queue[1:]
			if n := tn.nodes[f.d.To]; n != nil {
				n.StepShared(tn.now, f.d)
			}
		} else {
			for _, n := range tn.nodes {
				if dl := n.Ready().Deadline; dl != 0 && dl <= tn.now {
					n.Advance(tn.now)
				}
			}
		}
		tn.flush()
		if next == end {
			return
		}
	}
}

// A node added by Reload on every member (pvecm add, then the new node
// starts with the new corosync.conf) joins the ring, is counted by
// votequorum on every node, and its store replica catches up.
func TestReloadAddsNodeThatJoinsAndVotes(t *testing.T) {
	tn := newTestNet(t)
	for _, id := range []wire.NodeID{1, 2} {
		tn.start(testConfig(id, 1, 2))
	}
	tn.run(10 * time.Second)
	for id, n := range tn.nodes {
		if _, _, m := n.Ring(); !slices.Equal(m, []wire.NodeID{1, 2}) {
			t.Fatalf("node %d: members %v before the reload, want [1 2]", id, m)
		}
		if q := n.Quorum(); !q.Quorate || q.TotalVotes != 2 {
			t.Fatalf("node %d before the reload: %+v", id, q)
		}
	}
	if _, err := tn.nodes[1].Put(tn.now, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	tn.flush()
	tn.run(2 * time.Second)

	for _, id := range []wire.NodeID{1, 2} {
		if err := tn.nodes[id].Reload(tn.now, testConfig(id, 1, 2, 3)); err != nil {
			t.Fatalf("node %d: Reload: %v", id, err)
		}
	}
	tn.flush()
	for id, n := range tn.nodes {
		if q := n.Quorum(); q.ExpectedVotes != 3 || !q.Quorate {
			t.Fatalf("node %d right after the reload: expected %d quorate %v, want 3 and quorate", id, q.ExpectedVotes, q.Quorate)
		}
	}
	tn.start(testConfig(3, 1, 2, 3))
	tn.run(15 * time.Second)
	for id, n := range tn.nodes {
		if _, _, m := n.Ring(); !slices.Equal(m, []wire.NodeID{1, 2, 3}) {
			t.Fatalf("node %d: members %v after the add, want [1 2 3]", id, m)
		}
		q := n.Quorum()
		if !q.Quorate || q.TotalVotes != 3 || q.ExpectedVotes != 3 || q.Quorum != 2 {
			t.Fatalf("node %d after the add: quorate %v total %d expected %d quorum %d", id, q.Quorate, q.TotalVotes, q.ExpectedVotes, q.Quorum)
		}
		if e, ok := n.ReadLocal("k"); !ok || string(e.Value) != "v" {
			t.Fatalf("node %d: store key k = %q, %v after the add", id, e.Value, ok)
		}
		if st, ok := n.LinkStatus(peerOf(id)); !ok || st.Active == wire.NoLink {
			t.Fatalf("node %d: link to %d: %+v %v", id, peerOf(id), st, ok)
		}
	}

	// Removing node 3 again by Reload (delnode after it was stopped) leaves
	// a quorate pair that no longer pings it.
	// The operator runs delnode once the survivors' ring has re-formed
	// without it: while node 3 still counts as a member, votequorum grows
	// expected votes back to the votes present.
	delete(tn.nodes, 3)
	tn.run(10 * time.Second)
	for _, id := range []wire.NodeID{1, 2} {
		if err := tn.nodes[id].Reload(tn.now, testConfig(id, 1, 2)); err != nil {
			t.Fatalf("node %d: Reload: %v", id, err)
		}
	}
	tn.flush()
	tn.run(15 * time.Second)
	for id, n := range tn.nodes {
		if _, _, m := n.Ring(); !slices.Equal(m, []wire.NodeID{1, 2}) {
			t.Fatalf("node %d: members %v after the removal, want [1 2]", id, m)
		}
		if q := n.Quorum(); !q.Quorate || q.ExpectedVotes != 2 {
			t.Fatalf("node %d after the removal: %+v", id, q)
		}
		if _, ok := n.LinkStatus(3); ok {
			t.Fatalf("node %d still has links to the removed node", id)
		}
	}
}

// peerOf is another node of {1,2,3} than id.
func peerOf(id wire.NodeID) wire.NodeID { return id%3 + 1 }

func TestReloadRefusals(t *testing.T) {
	base := testConfig(1, 1, 2)
	tests := []struct {
		name    string
		edit    func(c *Config)
		restart bool
		want    error
	}{
		{"own node id", func(c *Config) { c.NodeID = 2 }, true, nil},
		{"self removed", func(c *Config) { c.Nodes = []wire.NodeID{2}; c.Quorum.Nodes = c.Quorum.Nodes[1:] }, false, ErrSelfMissing},
		{"duplicate node", func(c *Config) { c.Nodes = []wire.NodeID{1, 2, 2} }, false, ErrBadNodelist},
		{"node id 0", func(c *Config) { c.Nodes = []wire.NodeID{0, 1, 2} }, false, ErrBadNodelist},
		{"link mode", func(c *Config) { c.LinkMode = links.ModeActive }, true, nil},
		{"no links", func(c *Config) { c.Links = nil }, false, links.ErrNoLinks},
		{"bad link priority", func(c *Config) { c.Links = []links.LinkConfig{{Number: 0, Priority: 300}} }, false, links.ErrPriority},
		{"quorum device with two_node", func(c *Config) { c.Quorum.TwoNode, c.Quorum.Device = true, &quorum.DeviceConfig{Votes: 1} }, false, quorum.ErrTwoNodeDevice},
		{"wait_for_all", func(c *Config) { c.Quorum.WaitForAll = true }, true, nil},
		{"last_man_standing", func(c *Config) { c.Quorum.LastManStanding = true }, true, nil},
		{"auto_tie_breaker", func(c *Config) { c.Quorum.AutoTieBreaker = true }, true, nil},
		{"bad totem timers", func(c *Config) { c.Totem.WindowSize = -1 }, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := splitmix(1)
			n, err := New(base, 0, State{}, &r)
			if err != nil {
				t.Fatal(err)
			}
			n.Ack(n.Ready())
			cfg := testConfig(1, 1, 2)
			tt.edit(&cfg)
			err = n.Reload(0, cfg)
			switch {
			case err == nil:
				t.Fatal("Reload accepted the change")
			case tt.restart != errors.Is(err, ErrRestartRequired):
				t.Fatalf("Reload: %v; restart required %v, want %v", err, errors.Is(err, ErrRestartRequired), tt.restart)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Reload: %v, want %v", err, tt.want)
			}
			if !slices.Equal(n.cfg.Nodes, []wire.NodeID{1, 2}) || n.cfg.NodeID != 1 || len(n.links.Peers()) != 1 {
				t.Fatalf("a refused reload changed the node: nodes %v peers %v", n.cfg.Nodes, n.links.Peers())
			}
		})
	}
}

// Reloading the running configuration, or one that only changes votes or
// timers, is accepted.
func TestReloadAccepts(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *Config)
	}{
		{"same configuration", func(c *Config) {}},
		{"more votes", func(c *Config) { c.Quorum.Nodes[1].Votes = 2 }},
		{"token", func(c *Config) { c.Totem.Token = 2 * time.Second }},
		{"link added", func(c *Config) { c.Links = append(c.Links, links.LinkConfig{Number: 2}) }},
		{"link removed", func(c *Config) { c.Links = c.Links[1:] }},
		{"link priority", func(c *Config) { c.Links = []links.LinkConfig{{Number: 0, Priority: 9}, {Number: 1}} }},
		{"heartbeat", func(c *Config) { c.PingInterval, c.PingTimeout = 300*time.Millisecond, 900*time.Millisecond }},
		{"node added in any order", func(c *Config) {
			c.Nodes = []wire.NodeID{3, 1, 2}
			c.Quorum.Nodes = append(c.Quorum.Nodes, quorum.NodeConfig{ID: 3, Votes: 1})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := splitmix(1)
			n, err := New(testConfig(1, 1, 2), 0, State{}, &r)
			if err != nil {
				t.Fatal(err)
			}
			n.Ack(n.Ready())
			cfg := testConfig(1, 1, 2)
			tt.edit(&cfg)
			if err := n.Reload(0, cfg); err != nil {
				t.Fatalf("Reload: %v", err)
			}
			want := slices.Sorted(slices.Values(cfg.Nodes))
			if !slices.Equal(n.cfg.Nodes, want) {
				t.Fatalf("nodes %v, want %v", n.cfg.Nodes, want)
			}
			if peers := n.links.Peers(); len(peers) != len(want)-1 {
				t.Fatalf("link peers %v for nodelist %v", peers, want)
			}
		})
	}
}

// Links added, retuned and removed on a running cluster by Reload, as
// corosync 3 applies a corosync.conf with a new interface: the new link
// comes up to every peer, traffic follows the priorities, and neither the
// ring nor votequorum notices (no membership change, never inquorate).
func TestReloadLinksLive(t *testing.T) {
	tn := newTestNet(t)
	ids := []wire.NodeID{1, 2, 3}
	for _, id := range ids {
		tn.start(testConfig(id, ids...))
	}
	tn.run(10 * time.Second)
	for id, n := range tn.nodes {
		if _, _, m := n.Ring(); !slices.Equal(m, ids) {
			t.Fatalf("node %d: members %v before the reload", id, m)
		}
	}
	// From here on every batch is watched.
	step, batches := "", 0
	tn.onReady = func(id wire.NodeID, rd Ready) {
		batches++
		for _, e := range rd.Events {
			if e.Kind == wire.EventMembership {
				t.Errorf("%s: node %d: membership event %v", step, id, e)
			}
		}
		if q := tn.nodes[id].Quorum(); !q.Quorate {
			t.Errorf("%s: node %d inquorate", step, id)
		}
	}
	steps := []struct {
		name  string
		links []links.LinkConfig
		check func(st links.PeerStatus) bool
	}{
		{"add link 2 with the highest priority", []links.LinkConfig{{Number: 0}, {Number: 1}, {Number: 2, Priority: 50}},
			func(st links.PeerStatus) bool { return st.Configured[2] && st.Up[2] && st.Active == 2 }},
		{"prefer link 1", []links.LinkConfig{{Number: 0}, {Number: 1, Priority: 90}, {Number: 2, Priority: 50}},
			func(st links.PeerStatus) bool { return st.Up[2] && st.Active == 1 }},
		{"remove links 0 and 1", []links.LinkConfig{{Number: 2, Priority: 50}},
			func(st links.PeerStatus) bool { return !st.Configured[0] && !st.Configured[1] && st.Active == 2 }},
	}
	for _, s := range steps {
		step = s.name
		for _, id := range ids {
			cfg := testConfig(id, ids...)
			cfg.Links = s.links
			if err := tn.nodes[id].Reload(tn.now, cfg); err != nil {
				t.Fatalf("%s: node %d: Reload: %v", s.name, id, err)
			}
		}
		tn.flush()
		tn.run(5 * time.Second)
		for _, id := range ids {
			for _, p := range ids {
				if p == id {
					continue
				}
				if st, ok := tn.nodes[id].LinkStatus(p); !ok || !s.check(st) {
					t.Fatalf("%s: node %d: link status to %d: %+v", s.name, id, p, st)
				}
			}
		}
	}
	for id, n := range tn.nodes {
		if _, _, m := n.Ring(); !slices.Equal(m, ids) {
			t.Fatalf("node %d: members %v after the link changes", id, m)
		}
	}
	if batches < 100 {
		t.Fatalf("only %d batches watched", batches)
	}
}

// RestartDelay staggers the members of a ring by node id, one slot apart,
// so that a change needing a restart never restarts them all at once.
func TestRestartDelayStaggers(t *testing.T) {
	tn := newTestNet(t)
	ids := []wire.NodeID{1, 2, 3}
	for _, id := range ids {
		tn.start(testConfig(id, ids...))
	}
	tn.run(10 * time.Second)
	cfg := testConfig(1, ids...)
	cfg.LinkMode = links.ModeActive
	tm, err := cfg.Timers()
	if err != nil {
		t.Fatal(err)
	}
	slot := 2*(tm.Token+tm.Consensus) + time.Second
	for k, id := range ids {
		c := testConfig(id, ids...)
		c.LinkMode = links.ModeActive
		if err := tn.nodes[id].CanReload(c); !errors.Is(err, ErrRestartRequired) {
			t.Fatalf("node %d: CanReload(link mode) = %v, want ErrRestartRequired", id, err)
		}
		if got, want := tn.nodes[id].RestartDelay(c), RestartGrace+time.Duration(k)*slot; got != want {
			t.Errorf("node %d: RestartDelay %v, want %v", id, got, want)
		}
	}
}

// Events that drivers act on or record are typed: a membership event
// carries its new ring, a quorum event votequorum's verdict and ring, and
// every event its layer's own kind.
func TestTypedEvents(t *testing.T) {
	tn := newTestNet(t)
	var memberships, quorums int
	tn.onReady = func(id wire.NodeID, rd Ready) {
		for _, e := range rd.Events {
			layered := e.Kind == wire.EventTotem || e.Kind == wire.EventMembership || e.Kind == wire.EventQuorum ||
				e.Kind == wire.EventQuorumInfo || e.Kind == wire.EventStore
			if layered && e.Sub == "" {
				t.Errorf("node %d: event without its layer's kind: %+v", id, e)
			}
			switch e.Kind {
			case wire.EventMembership:
				memberships++
				_, ring, _ := tn.nodes[id].Ring()
				if e.Ring.IsZero() || e.Ring != (wire.RingRef{Rep: ring.Rep, Seq: ring.Seq}) || e.Sub != "membership" {
					t.Errorf("node %d: membership event %+v, ring %v", id, e, ring)
				}
			case wire.EventQuorum:
				quorums++
				if e.Sub == "quorate" && (!e.Quorate || e.Ring.IsZero()) {
					t.Errorf("node %d: quorate event %+v", id, e)
				}
			}
		}
	}
	ids := []wire.NodeID{1, 2, 3}
	for _, id := range ids {
		tn.start(testConfig(id, ids...))
	}
	tn.run(10 * time.Second)
	if memberships < 3 || quorums < 3 {
		t.Fatalf("%d membership and %d quorum events seen", memberships, quorums)
	}
}

// corosync's config_version check: a node whose first ring of several
// members carries a higher config_version than its own non-zero one must
// stop; members already joined, a node with the highest version and a
// node with version 0 go on.
func TestConfigVersionCheck(t *testing.T) {
	for _, tt := range []struct {
		name     string
		late     uint64 // the third node's config_version
		wantStop bool
	}{
		{"older joiner stops", 4, true},
		{"newer joiner runs", 6, false},
		{"same version", 5, false},
		{"no version", 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tn := newTestNet(t)
			ids := []wire.NodeID{1, 2, 3}
			for _, id := range ids[:2] {
				c := testConfig(id, ids...)
				c.ConfigVersion = 5
				tn.start(c)
			}
			tn.run(5 * time.Second)
			c := testConfig(3, ids...)
			c.ConfigVersion = tt.late
			tn.start(c)
			tn.run(10 * time.Second)
			for _, id := range ids[:2] {
				if s := tn.nodes[id].Ready().Stop; s != nil {
					t.Errorf("node %d asked to stop: %v", id, s)
				}
			}
			s := tn.nodes[3].Ready().Stop
			if (s != nil) != tt.wantStop {
				t.Fatalf("node 3: stop %v, want %v", s, tt.wantStop)
			}
			if s != nil && (s.Reason != StopConfigVersion || s.Received != 5 || s.ConfigVersion != 4 ||
				s.String() != "Received config version (5) is different than my config version (4)! Exiting") {
				t.Fatalf("node 3: %+v %q", s, s)
			}
		})
	}
}
