// Package engine puts the protocol layers of one cluster node together into a
// Node: the knet-style link layer (engine/links) today, Totem, votequorum and
// the replicated store on top of it as they land.
//
// A Node is a deterministic state machine with no I/O. A driver owns it and
// runs this loop:
//
//	n, err := engine.New(cfg, now, rnd) // rnd: the node's own seeded stream
//	for {
//		// 1. hand the node its inputs, each with the current time
//		n.Step(now, link, from, datagram) // for every datagram that arrived
//		n.Advance(now)                    // when now reaches rd.Deadline
//		// 2. take its outputs and act on them, in this order
//		rd := n.Ready()
//		send(rd.Outbox)   // loss is allowed; reordering by the driver is not
//		record(rd.Events) // trace, checks, logs
//		n.Ack(rd)
//		// 3. sleep until rd.Deadline or the next datagram
//	}
//
// The simulator (package sim) runs every node of a cluster this way on one
// virtual clock; the real agent runs one node on the monotonic clock over UDP.
// Both put the same bytes on the wire, so what passes in simulation speaks
// for the daemon.
//
// A running node changes its nodelist in two ways: a delivered NODELIST_DEL
// (pvecm delnode, RemoveNode) drops a node on every member at the same
// point of the total order, and Apply (Reload) installs a new configuration
// as corosync-cfgtool -R does (nodes added or removed, votes, timers,
// links and addresses, the quorum device). What a running node cannot
// change the engine plans as a rolling restart and asks for in
// Ready.Restart at the node's turn. The driver work a change needs is
// decided here too and handed over as typed Ready fields, performed before
// the rest of the batch: Rebind (bind the sockets to new addresses) and
// Device (start or stop the qdevice's stream to qnetd, with the bundle the
// store holds).
package engine
