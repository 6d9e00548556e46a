// Package totem implements the Totem single-ring ordering and membership
// protocol (Totem SRP) as corosync 3 runs it: a token circulates among the
// members of a ring in ascending nodeid order; holding it is the only
// permission to multicast, and it carries the sequence numbers, flow
// control and retransmission requests that give every member the same total
// order of messages. When the token is lost or another ring is detected,
// the members GATHER, agree on a new membership, COMMIT it with two
// rotations of a commit token, RECOVER the old ring's messages, and return
// to OPERATIONAL after delivering transitional and regular configurations
// in extended-virtual-synchrony order. The protocol reference is
// docs/reference/totem.md; comments cite its sections (§) and the
// corosync functions of exec/totemsrp.c they mirror.
//
// # Driving a Ring
//
// A Ring is a pure, deterministic state machine. It never reads a clock,
// opens a socket, starts a goroutine or draws global randomness. The driver
// owns all of that and talks to the ring through four calls:
//
//	r, err := totem.New(cfg, now, persistedRingSeq, rnd)
//	for {
//		rd := r.Ready()
//		if rd.PersistRingSeq != 0 {
//			persist(rd.PersistRingSeq)   // durably, before sending
//		}
//		for _, s := range rd.Sends {
//			if s.To == 0 { multicastToEveryOtherNode(s.Payload) } else { unicast(s.To, s.Payload) }
//		}
//		for _, d := range rd.Deliver { app(d) }  // messages and configurations, in order
//		for _, e := range rd.Events { trace(e) }
//		r.Ack()
//		// wait for a datagram or rd.Deadline, whichever comes first, then:
//		r.Step(now, from, datagram)   // or
//		r.Advance(now)                // fires every timer due at now
//		// and, whenever the application wants to send:
//		r.Multicast(now, payload)
//	}
//
// New validates the configuration (Derive gives the same errors corosync
// prints), starts in GATHER as corosync does at startup, and already has a
// JOIN in its first Ready. persistedRingSeq is the last value the driver
// wrote from Ready.PersistRingSeq (0 on first start); it keeps ring ids
// strictly increasing across restarts (spec §8).
//
// Step takes one received datagram and the link-layer sender. Malformed,
// forged, stale or out-of-place input is dropped, counted in Stats and
// reported as an Event; Step never returns an error and never panics on
// input. A multicast (Send.To == 0) goes to every other node of the
// configured nodelist, members or not, like knet. The ring processes its
// own multicasts and tokens addressed to itself internally, so a driver
// never sends to its own node.
//
// Advance(now) fires every timer whose deadline is at or before now. Ready
// reports the earliest pending deadline; a driver that calls Advance at
// that instant (or later) reproduces corosync's timers: token loss,
// token retransmit, hold, join, consensus, merge detect and send_join.
//
// Deliveries are the application-visible stream: agreed-order messages of
// the current ring, and on every membership change a transitional
// configuration (old ∩ new), the recovered old-ring messages, and the
// regular configuration of the new ring (spec §7.4). Messages multicast
// while the ring is not OPERATIONAL wait in a queue and are sent once it is.
// The messages queued between two visits of the token share a frame, as
// corosync's totempg packs them (pack.go); each is delivered on its own,
// with its place in the frame (Delivery.Part).
//
// Time, randomness and the wire encoding are all explicit, so two runs with
// the same inputs produce identical outputs, byte for byte.
package totem
