package links

import "github.com/quorate/quorate/engine/wire"

// Unreachable is the transport's report that a datagram this node sent to
// peer on link n came back as an ICMP error the Linux stack reports on a
// UDP socket: port unreachable (ECONNREFUSED: the peer's host is up but no
// process listens, e.g. after kill -9), host or network unreachable
// (EHOSTUNREACH, ENETUNREACH: the path is cut), or a local network-down
// error on send. knet 1.25 (transport_udp.c, read_errs_from_sock) marks
// the link's transport disconnected when the link is up, and its heartbeat
// thread takes the link down at its next pass (threads_heartbeat.c,
// send_ping) instead of waiting for the pong timeout. Errors for a link
// that is already down, an unknown peer or link are ignored.
func (l *Layer) Unreachable(n wire.LinkNo, peer wire.NodeID) {
	i, ok := l.index.get(peer)
	if !ok {
		return
	}
	slot := l.slots.at(n)
	if slot < 0 {
		return
	}
	lk := &l.peers[i].links[slot]
	if !lk.connected {
		return
	}
	lk.transportDown = true
	l.stats.TransportErrors++
}
