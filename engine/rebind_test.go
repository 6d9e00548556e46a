package engine

import (
	"testing"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// addrsOf is the nodelist's addresses: node N at 10.L.0.N on each link L,
// port 5405+L.
func addrsOf(nodes []wire.NodeID, links ...wire.LinkNo) []NodeAddr {
	var out []NodeAddr
	for _, id := range nodes {
		for _, l := range links {
			out = append(out, NodeAddr{Node: id, Link: l, Addr: "10." + string(rune('0'+l)) + ".0." + string(rune('0'+id)), Port: 5405 + uint16(l)})
		}
	}
	return out
}

// The engine decides when a reload needs new sockets: this node's address
// or port changed, a link of its own came or went, or a peer got a new
// address (a new node included); a peer that left, or lost a link, or a
// change of priorities or timers needs none.
func TestReloadRebind(t *testing.T) {
	ids := []wire.NodeID{1, 2, 3}
	moved := func(c *Config, node wire.NodeID) {
		for i := range c.Addrs {
			if c.Addrs[i].Node == node && c.Addrs[i].Link == 0 {
				c.Addrs[i].Addr = "192.0.2." + string(rune('0'+node))
			}
		}
	}
	tests := []struct {
		name   string
		edit   func(c *Config)
		rebind bool
	}{
		{"nothing", func(c *Config) {}, false},
		{"token", func(c *Config) { c.Totem.Token *= 2 }, false},
		{"own address", func(c *Config) { moved(c, 1) }, true},
		{"peer address", func(c *Config) { moved(c, 3) }, true},
		{"every ring0_addr", func(c *Config) { moved(c, 1); moved(c, 2); moved(c, 3) }, true},
		{"port of link 1", func(c *Config) {
			for i := range c.Addrs {
				if c.Addrs[i].Link == 1 {
					c.Addrs[i].Port = 6000
				}
			}
		}, true},
		{"link 1 removed", func(c *Config) { c.Links, c.Addrs = c.Links[:1], addrsOf(ids, 0) }, true},
		{"node added", func(c *Config) {
			c.Nodes = append(c.Nodes, 4)
			c.Quorum.Nodes = append(c.Quorum.Nodes, quorum.NodeConfig{ID: 4, Votes: 1})
			c.Addrs = addrsOf(append(ids, 4), 0, 1)
		}, true},
		{"node removed", func(c *Config) {
			c.Nodes, c.Quorum.Nodes, c.Addrs = ids[:2], c.Quorum.Nodes[:2], addrsOf(ids[:2], 0, 1)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := splitmix(1)
			base := testConfig(1, ids...)
			base.Addrs = addrsOf(ids, 0, 1)
			n, err := New(base, 0, State{}, &r)
			if err != nil {
				t.Fatal(err)
			}
			n.Ack(n.Ready())
			cfg := testConfig(1, ids...)
			cfg.Addrs = addrsOf(ids, 0, 1)
			cfg.ConfigVersion = 2
			tt.edit(&cfg)
			if err := n.Reload(0, cfg); err != nil {
				t.Fatal(err)
			}
			rb := n.Ready().Rebind
			if (rb != nil) != tt.rebind {
				t.Fatalf("Ready.Rebind %+v, want a rebind %v", rb, tt.rebind)
			}
			if rb != nil && (rb.ConfigVersion != 2 || len(rb.Local) == 0 || rb.Local[0].Node != 1) {
				t.Fatalf("Ready.Rebind %+v: want config_version 2 and node 1's addresses", rb)
			}
			n.Ack(n.Ready())
			if rb := n.Ready().Rebind; rb != nil {
				t.Fatalf("Rebind %+v again after Ack", rb)
			}
		})
	}
}
