package links

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// TestPeerIndex checks both forms of the peer index against a plain map,
// over random nodelists with small ids (the table) and large ones (the
// map), through AddPeer and RemovePeer, including ids just outside the
// table and the largest id corosync allows.
func TestPeerIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	forms := map[bool]int{}
	for trial := range 400 {
		spread := uint32(16)
		if trial%2 == 1 {
			spread = 1 << 31 // mostly the sparse form
		}
		ids := map[wire.NodeID]bool{}
		var peers []wire.NodeID
		for len(peers) < 1+rng.IntN(40) {
			id := wire.NodeID(2 + rng.Uint32N(spread))
			if !ids[id] {
				ids[id] = true
				peers = append(peers, id)
			}
		}
		slices.Sort(peers)
		cfg := Config{Self: 1, Peers: peers, Links: []LinkConfig{{Number: 0}}, PingInterval: time.Second, PingTimeout: 2 * time.Second}
		l, err := New(cfg, 0, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 30 {
			switch id := wire.NodeID(2 + rng.Uint32N(spread)); {
			case step%3 == 2 && len(l.peers) > 1:
				victim := l.peers[rng.IntN(len(l.peers))].id
				l.RemovePeer(victim)
				delete(ids, victim)
			case !ids[id]:
				if err := l.AddPeer(id); err != nil {
					t.Fatalf("AddPeer(%d): %v", id, err)
				}
				ids[id] = true
			}
			forms[l.index.sparse == nil]++
			for i := range l.peers {
				if j, ok := l.index.get(l.peers[i].id); !ok || j != i {
					t.Fatalf("trial %d: index of peer %d = %d, %v; want %d", trial, l.peers[i].id, j, ok, i)
				}
			}
			for _, probe := range []wire.NodeID{0, 1, wire.NodeID(len(l.index.dense)), wire.NodeID(len(l.index.dense) + 1), 1<<32 - 1, wire.NodeID(2 + rng.Uint32N(spread))} {
				_, ok := l.index.get(probe)
				if ok != ids[probe] {
					t.Fatalf("trial %d: get(%d) found = %v; the nodelist says %v", trial, probe, ok, ids[probe])
				}
			}
		}
	}
	if forms[true] == 0 || forms[false] == 0 {
		t.Fatalf("one form never exercised: table %d, map %d", forms[true], forms[false])
	}
}

// TestLinkSlotsFollowEveryPeer: the layer's link slots give each configured
// link's position in every peer's links, after New, AddPeer and a
// Reconfigure that adds and removes links, and -1 for any other number.
func TestLinkSlotsFollowEveryPeer(t *testing.T) {
	cfg := Config{Self: 1, Peers: []wire.NodeID{2, 3}, Links: []LinkConfig{{Number: 3}, {Number: 0}}, PingInterval: time.Second, PingTimeout: 2 * time.Second}
	l, err := New(cfg, 0, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for n := range wire.LinkNo(wire.MaxLinks + 2) {
			slot := l.slots.at(n)
			configured := slices.ContainsFunc(l.cfg.Links, func(lc LinkConfig) bool { return lc.Number == n })
			if (slot >= 0) != configured {
				t.Fatalf("%s: slot of link %d = %d, configured %v", when, n, slot, configured)
			}
			for i := range l.peers {
				if lk := l.peers[i].linkByNumber(n); configured != (lk != nil) || (lk != nil && lk != &l.peers[i].links[slot]) {
					t.Fatalf("%s: peer %d's link %d is not at slot %d", when, l.peers[i].id, n, slot)
				}
			}
		}
	}
	check("new")
	if err := l.AddPeer(7); err != nil {
		t.Fatal(err)
	}
	check("after AddPeer")
	next := cfg
	next.Links = []LinkConfig{{Number: 0}, {Number: 5}, {Number: 7}}
	if err := l.Reconfigure(next); err != nil {
		t.Fatal(err)
	}
	check("after Reconfigure")
}
