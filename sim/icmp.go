package sim

// ICMP errors of the simulated network. A packet that reaches a machine
// whose process is gone (crash is kill -9: the kernel still runs) is
// answered with ICMP port unreachable, as Linux answers a datagram to a
// UDP port nobody listens on. The error travels back on the same link with
// the latency the packet had, is lost if the path back is cut meanwhile,
// and reaches the sender's engine as Node.Unreachable: knet's reaction
// (the link down at the next heartbeat pass) is the engine's.

// portUnreachable sends the ICMP answer to packet p, whose destination
// process is gone.
func (r *run) portUnreachable(p inflight) {
	back := p.d
	back.From, back.To, back.Header, back.Payload = p.d.To, p.d.From, nil, nil
	at := r.k.Now().Add(r.k.Now().Sub(p.sent))
	slot := r.alloc(inflight{d: back, id: p.id, sent: r.k.Now()})
	r.k.Schedule(at, Event{Kind: evICMP, Ref: slot})
}

// icmpArrive hands an ICMP error to the sender of the packet it answers.
func (r *run) icmpArrive(slot int32) {
	p := r.pkts[slot]
	r.pkts[slot] = inflight{}
	r.free = append(r.free, slot)
	h := r.hosts[r.byID[p.d.To]]
	if !h.up || r.net.PathVerdict(p.d.From, p.d.To, p.d.Link).Dropped() {
		return
	}
	r.counts.ICMP++
	r.trace.Begin(r.k.Now(), "icmp").Uint("id", p.id).Str("node", h.name).
		Str("peer", r.hosts[r.byID[p.d.From]].name).Uint("l", uint64(p.d.Link)).Str("why", "port_unreachable").End()
	h.node.Unreachable(r.k.Now(), p.d.Link, p.d.From)
	r.flush(h)
}
