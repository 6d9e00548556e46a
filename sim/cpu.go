package sim

import "time"

// The processing-cost model (cluster.packet_cost). Every packet a node
// receives or sends costs it that much time, one packet after the other,
// as one daemon's thread handles them. A packet that arrives while the
// node is busy waits in the node's receive queue, in arrival order, and a
// timer due meanwhile fires when the node is free again. So a message
// storm takes time and stretches every timer of the nodes it reaches, as
// on an overloaded machine. The queue holds at most rxQueueLen packets, as
// a socket buffer does; more are dropped (rx_overflow). Without a cost
// (the default) none of this runs and traces are unchanged.

// rxQueueLen bounds a node's receive queue under the cost model: about
// what a 4 MiB socket buffer holds of knet's packets.
const rxQueueLen = 4096

// evDeliver's Arg marks a delivery that already waited in the queue.
const deferred = 1

// charge makes h busy for n packets' processing from now (or from when its
// current work ends).
func (r *run) charge(h *host, n int) {
	c := r.sc.Cluster.PacketCost
	if c == 0 || n == 0 {
		return
	}
	if now := r.k.Now(); h.busyUntil < now {
		h.busyUntil = now
	}
	h.busyUntil = h.busyUntil.Add(c * time.Duration(n))
}

// queued defers a delivery to a busy node to the instant it is free, and
// reports whether it did so or dropped the packet on a full queue.
func (r *run) queued(ev Event) bool {
	if r.sc.Cluster.PacketCost == 0 {
		return false
	}
	p := &r.pkts[ev.Ref]
	h := r.hosts[r.byID[p.d.To]]
	if ev.Arg == deferred {
		h.backlog--
	}
	if !h.up || h.busyUntil <= r.k.Now() {
		return false
	}
	if ev.Arg != deferred && h.backlog >= rxQueueLen {
		id := p.id
		r.pkts[ev.Ref] = inflight{}
		r.free = append(r.free, ev.Ref)
		r.drop(id, "rx_overflow")
		return true
	}
	h.backlog++
	r.k.Schedule(h.busyUntil, Event{Kind: evDeliver, Ref: ev.Ref, Arg: deferred})
	return true
}

// busy defers a timer wake of a busy node to the instant it is free.
func (r *run) busy(h *host, ev Event) bool {
	if r.sc.Cluster.PacketCost == 0 || h.busyUntil <= r.k.Now() {
		return false
	}
	h.wakeAt = h.busyUntil
	r.k.Schedule(h.busyUntil, Event{Kind: evWake, Node: ev.Node, Arg: ev.Arg})
	return true
}
