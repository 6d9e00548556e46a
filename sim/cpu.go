package sim

import (
	"time"

	"github.com/quorate/quorate/engine/wire"
)

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
	h := r.hosts[ev.Node]
	if ev.Arg == deferred {
		h.backlog--
	}
	if !h.up || h.busyUntil <= r.k.Now() {
		return false
	}
	if ev.Arg != deferred && h.backlog >= rxQueueLen {
		id := r.pkts[ev.Ref].id
		r.pkts[ev.Ref] = inflight{}
		r.free = append(r.free, ev.Ref)
		r.drop(id, "rx_overflow")
		return true
	}
	h.backlog++
	r.deferDelivery(h, ev.Ref)
	return true
}

// deferGroup is a run of deliveries deferred to a busy node that would be
// consecutive events of the kernel, all due at the same instant, if each
// were queued on its own. A node under a backlog of k packets has them all
// due at the instant it is free; it takes one and the other k-1 are
// deferred again, so queued one by one they would cost k kernel events per
// packet taken (a 128-node cluster under load spent three quarters of its
// time in them). As one event that runs them in turn they come to the same
// thing, in the same order against every other event: nothing is queued
// between two of them (a group takes a packet only while the kernel's
// sequence has not moved since it took the last one), so the events they
// would be have consecutive places at that instant, and the kernel's
// count of processed events includes each of them.
type deferGroup struct {
	slots []int32 // in-flight packet slots, in arrival order, from head on
	head  int
	at    wire.Instant // when they are due
	seq   uint64       // the kernel's sequence when the last one joined
}

// deferDelivery defers the delivery of packet slot to h until h is free.
func (r *run) deferDelivery(h *host, slot int32) {
	at := h.busyUntil
	if h.group > 0 {
		if g := &r.groups[h.group-1]; g.at == at && g.seq == r.k.Seq() {
			g.slots = append(g.slots, slot)
			return
		}
	}
	var gi int32
	if n := len(r.freeGroups); n > 0 {
		gi = r.freeGroups[n-1]
		r.freeGroups = r.freeGroups[:n-1]
	} else {
		r.groups = append(r.groups, deferGroup{})
		gi = int32(len(r.groups) - 1)
	}
	r.k.Schedule(at, Event{Kind: evDeferred, Node: int32(h.idx), Ref: gi})
	g := &r.groups[gi]
	g.slots, g.head = append(g.slots[:0], slot), 0
	g.at, g.seq = at, r.k.Seq()
	h.group = gi + 1
}

// deliverDeferred runs a group of deferred deliveries as the events they
// stand for, one after the other: each is delivered, or deferred again
// while the node is still busy. Once one is deferred again so are all
// after it (nothing runs between them that could free the node), so the
// rest of the group is queued again as it is, without a copy.
func (r *run) deliverDeferred(ev Event) {
	h := r.hosts[ev.Node]
	if h.group == ev.Ref+1 {
		h.group = 0 // nothing joins a group once it is due
	}
	g := &r.groups[ev.Ref]
	r.k.AddProcessed(uint64(len(g.slots) - g.head - 1))
	for i := g.head; i < len(g.slots); i++ {
		r.cur = nil
		// queued, for a delivery that waited: the node takes it when
		// it is down (to drop it) or free, else it waits again.
		if !h.up || h.busyUntil <= r.k.Now() {
			h.backlog--
			r.deliver(g.slots[i], h)
			g = &r.groups[ev.Ref] // the delivery may have grown r.groups
			continue
		}
		at := h.busyUntil
		if h.group > 0 {
			if j := &r.groups[h.group-1]; j.at == at && j.seq == r.k.Seq() {
				j.slots = append(j.slots, g.slots[i:]...)
				break
			}
		}
		g.head = i
		if g.head > len(g.slots)/2 {
			g.slots = g.slots[:copy(g.slots, g.slots[g.head:])]
			g.head = 0
		}
		r.k.Schedule(at, Event{Kind: evDeferred, Node: ev.Node, Ref: ev.Ref})
		g.at, g.seq = at, r.k.Seq()
		h.group = ev.Ref + 1
		return
	}
	g.slots, g.head = g.slots[:0], 0
	r.freeGroups = append(r.freeGroups, ev.Ref)
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
