package agent

import (
	"net/netip"
	"slices"
	"strconv"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// cluster is what the agent knows of the cluster beyond the engine: the
// corosync.conf it started from, the names and addresses status output
// shows, and the nodelist as delnode has changed it. Owned by the loop.
type cluster struct {
	conf   *corosyncconf.Config
	raw    []byte // the file's text, as the configuration distribution compares it
	selfID wire.NodeID
	name   string // the local node's name

	nodes []corosyncconf.Node    // the nodelist, minus deleted nodes
	names map[wire.NodeID]string // nodelist names (ring0 address without one)
	addrs map[wire.NodeID]string // ring0 addresses as written in the file

	local     [wire.MaxLinks]netip.AddrPort // bound address per link
	peerAddrs map[wire.NodeID][wire.MaxLinks]netip.AddrPort
}

// newCluster collects the names and addresses of the nodelist.
func newCluster(c *corosyncconf.Config, self *corosyncconf.Node, tc udp.Config) *cluster {
	cl := &cluster{
		conf: c, selfID: wire.NodeID(self.NodeID), name: nodeName(self),
		nodes: slices.Clone(c.Nodes),
		names: map[wire.NodeID]string{}, addrs: map[wire.NodeID]string{},
		local: tc.Local, peerAddrs: map[wire.NodeID][wire.MaxLinks]netip.AddrPort{},
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		cl.names[wire.NodeID(n.NodeID)] = nodeName(n)
		cl.addrs[wire.NodeID(n.NodeID)] = n.RingAddrs[0]
	}
	for _, p := range tc.Peers {
		cl.peerAddrs[p.ID] = p.Addrs
	}
	return cl
}

// nameOf returns a node's name, or its id when it has none.
func (cl *cluster) nameOf(id wire.NodeID) string {
	if s := cl.names[id]; s != "" {
		return s
	}
	return strconv.FormatUint(uint64(id), 10)
}

// lookup finds a node of the current nodelist by name, ring0 address or
// nodeid, as pvecm delnode accepts a name or an address.
func (cl *cluster) lookup(s string) (wire.NodeID, bool) {
	for _, n := range cl.nodes {
		if n.Name == s || slices.Contains(n.RingAddrs[:], s) && s != "" {
			return wire.NodeID(n.NodeID), true
		}
	}
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		for _, n := range cl.nodes {
			if uint64(n.NodeID) == id {
				return wire.NodeID(id), true
			}
		}
	}
	return 0, false
}

// remove drops a deleted node from the nodelist the agent shows.
func (cl *cluster) remove(id wire.NodeID) {
	cl.nodes = slices.DeleteFunc(cl.nodes, func(n corosyncconf.Node) bool { return wire.NodeID(n.NodeID) == id })
}

// peers returns the other nodes of the current nodelist, ascending.
func (cl *cluster) peers() []wire.NodeID {
	var out []wire.NodeID
	for _, n := range cl.nodes {
		if id := wire.NodeID(n.NodeID); id != cl.selfID {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// remote returns a peer's address on a link.
func (cl *cluster) remote(id wire.NodeID, link int) string {
	if a := cl.peerAddrs[id][link]; a.IsValid() {
		return a.String()
	}
	return ""
}
