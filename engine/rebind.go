package engine

import (
	"cmp"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// NodeAddr is one node's address on one link as the nodelist writes it
// (ringX_addr, a literal or a host name, and the link's port): the engine
// never opens a socket, but it decides when the driver must bind new ones.
type NodeAddr struct {
	Node wire.NodeID
	Link wire.LinkNo
	Addr string
	Port uint16
}

// Rebind is a Ready's request to bind the node's sockets and peer table to
// the addresses of the configuration just reloaded, before the driver
// sends anything of that Ready: a live reload changed this node's own
// address or port on a link, added or removed one of its links, or gave a
// peer a new address (corosync's totemknet_reconfigure sets the new
// addresses on the knet links). Peers that only left the nodelist need no
// new sockets: the engine drops their packets.
type Rebind struct {
	// ConfigVersion is the configuration's the addresses come from.
	ConfigVersion uint64
	// Local is this node's addresses in the new configuration, by link.
	Local []NodeAddr
}

// sortedAddrs returns addrs in (node, link) order.
func sortedAddrs(addrs []NodeAddr) []NodeAddr {
	out := slices.Clone(addrs)
	slices.SortFunc(out, func(a, b NodeAddr) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Link, b.Link))
	})
	return out
}

// needsRebind reports whether moving from the addresses old to next, for
// node self with the nodelist nodes, changes a socket or a peer address
// the driver holds.
func needsRebind(self wire.NodeID, old, next []NodeAddr, nodes []wire.NodeID) bool {
	of := func(addrs []NodeAddr, id wire.NodeID) []NodeAddr {
		return slices.DeleteFunc(sortedAddrs(addrs), func(a NodeAddr) bool { return a.Node != id })
	}
	if !slices.Equal(of(old, self), of(next, self)) {
		return true
	}
	for _, id := range nodes {
		if id == self {
			continue
		}
		// A peer's addresses changed or appeared (a new node); one that
		// lost addresses on a removed link needs nothing.
		was := of(old, id)
		for _, a := range of(next, id) {
			if !slices.Contains(was, a) {
				return true
			}
		}
	}
	return false
}

// noteRebind records the Rebind a reload from addresses old to cfg needs.
func (n *Node) noteRebind(old []NodeAddr, cfg Config) {
	if !needsRebind(cfg.NodeID, old, cfg.Addrs, cfg.Nodes) {
		return
	}
	local := slices.DeleteFunc(sortedAddrs(cfg.Addrs), func(a NodeAddr) bool { return a.Node != cfg.NodeID })
	n.rebind = &Rebind{ConfigVersion: cfg.ConfigVersion, Local: local}
}
