package engine

import "github.com/quorate/quorate/engine/wire"

// Unreachable tells the node that a datagram it sent to peer on link came
// back as an ICMP error (port, host or network unreachable) or that a send
// on that link failed with one. Both drivers call it: the simulated
// network when it answers a packet to a crashed process or across a failed
// switch, the real transport when the socket reports the error. The link
// layer reacts as knet does (links.Layer.Unreachable): an up link goes
// down at the next heartbeat pass.
func (n *Node) Unreachable(now Instant, link wire.LinkNo, peer wire.NodeID) {
	n.links.Advance(now)
	n.links.Unreachable(link, peer)
	n.collect(now)
}
