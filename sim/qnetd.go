package sim

import (
	"fmt"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/scenarios"
)

// The qnetd arbiter runs on its own simulated host. Each node's qdevice
// talks to it over a reliable, ordered stream (TCP with TLS in real life)
// with its own latency: messages are never lost or reordered while both
// ends live, and a stream's epoch changes whenever it is redialled, so
// bytes of an old stream are never delivered on a new one.

const (
	arbDial uint8 = iota + 1
	arbHangup
	arbData
	arbConnected
	arbClosed
)

// arbMsg is one message on a node's stream, in either direction.
type arbMsg struct {
	host    int32
	epoch   uint32
	kind    uint8
	payload []byte
}

// arbiterHost is the simulated qnetd host.
type arbiterHost struct {
	arb     *quorum.Arbiter
	up      bool
	gen     uint32
	wakeAt  wire.Instant
	msgs    []arbMsg
	free    []int32
	lat     []*netmodel.Sampler // per node
	toArb   []wire.Instant      // per node: last arrival at the arbiter (FIFO)
	fromArb []wire.Instant      // per node: last arrival at the node (FIFO)
	epoch   []uint32            // per node: the current stream
	open    []bool              // per node: the node believes its stream is open
}

func (r *run) startArbiter() error {
	var lat *scenarios.Distribution
	if d := r.sc.Cluster.Quorum.Device; d != nil {
		lat = &d.Latency
	} else {
		// The arbiter's host of a device that a qdevice_setup configures
		// later: the first setup's latency, 2ms by default.
		for _, f := range r.sc.Faults {
			if f.Action == "qdevice_setup" && lat == nil {
				lat = &scenarios.Distribution{Dist: "constant", Value: 2 * time.Millisecond}
				if f.Latency != nil {
					lat = f.Latency
				}
			}
		}
	}
	if lat == nil {
		return nil
	}
	n := len(r.hosts)
	a := &arbiterHost{arb: quorum.NewArbiter(), up: true, lat: make([]*netmodel.Sampler, n),
		toArb: make([]wire.Instant, n), fromArb: make([]wire.Instant, n), epoch: make([]uint32, n), open: make([]bool, n)}
	dd, err := dist(*lat)
	if err != nil {
		return err
	}
	for i, h := range r.hosts {
		if a.lat[i], err = netmodel.NewSampler(dd, r.streams.Source(fmt.Sprintf("qnetd/%d", h.id))); err != nil {
			return err
		}
	}
	r.qnetd = a
	return nil
}

func (a *arbiterHost) alloc(m arbMsg) int32 {
	if n := len(a.free); n > 0 {
		s := a.free[n-1]
		a.free = a.free[:n-1]
		a.msgs[s] = m
		return s
	}
	a.msgs = append(a.msgs, m)
	return int32(len(a.msgs) - 1)
}

func (a *arbiterHost) take(s int32) arbMsg {
	m := a.msgs[s]
	a.msgs[s] = arbMsg{}
	a.free = append(a.free, s)
	return m
}

// toArbiter sends m from its node to the arbiter, after the stream latency.
func (r *run) toArbiter(m arbMsg) {
	a := r.qnetd
	at := max(r.k.Now().Add(a.lat[m.host].Sample()), a.toArb[m.host])
	a.toArb[m.host] = at
	r.k.Schedule(at, Event{Kind: evArbIn, Ref: a.alloc(m)})
}

// toNode sends m from the arbiter to its node.
func (r *run) toNode(m arbMsg) {
	a := r.qnetd
	at := max(r.k.Now().Add(a.lat[m.host].Sample()), a.fromArb[m.host])
	a.fromArb[m.host] = at
	r.k.Schedule(at, Event{Kind: evArbOut, Ref: a.alloc(m)})
}

// streamOps performs a node's qdevice stream operations.
func (r *run) streamOps(h *host, ops []quorum.StreamOp) {
	a := r.qnetd
	if a == nil {
		return
	}
	for _, op := range ops {
		i := int32(h.idx)
		switch {
		case op.Dial:
			a.epoch[i]++
			a.open[i] = false
			r.toArbiter(arbMsg{host: i, epoch: a.epoch[i], kind: arbDial})
		case op.Hangup:
			r.toArbiter(arbMsg{host: i, epoch: a.epoch[i], kind: arbHangup})
			a.epoch[i]++
			a.open[i] = false
		default:
			r.toArbiter(arbMsg{host: i, epoch: a.epoch[i], kind: arbData, payload: op.Payload})
		}
	}
}

// arbIn delivers a message at the arbiter.
func (r *run) arbIn(s int32) {
	a := r.qnetd
	m := a.take(s)
	h := r.hosts[m.host]
	if !a.up {
		r.trace.Begin(r.k.Now(), "qnetd_drop").Str("node", h.name).End()
		return
	}
	now := r.k.Now()
	switch m.kind {
	case arbDial:
		a.arb.Connect(now, h.id)
		r.toNode(arbMsg{host: m.host, epoch: m.epoch, kind: arbConnected})
	case arbHangup:
		a.arb.Disconnect(now, h.id)
	case arbData:
		if m.epoch != a.epoch[m.host] {
			return // bytes of a stream the node has since redialled
		}
		a.arb.Receive(now, h.id, m.payload)
	}
	r.flushArbiter()
}

// arbOut delivers a message from the arbiter at a node.
func (r *run) arbOut(s int32) {
	a := r.qnetd
	m := a.take(s)
	h := r.hosts[m.host]
	if !h.up || m.epoch != a.epoch[m.host] {
		return
	}
	now := r.k.Now()
	switch m.kind {
	case arbConnected:
		a.open[m.host] = true
		h.node.ArbiterConnected(now)
	case arbClosed:
		a.open[m.host] = false
		a.epoch[m.host]++
		h.node.ArbiterClosed(now)
	case arbData:
		h.node.ArbiterReceive(now, m.payload)
	}
	r.flush(h)
}

// flushArbiter performs the arbiter's Ready batch.
func (r *run) flushArbiter() {
	a := r.qnetd
	rd := a.arb.Ready()
	for _, o := range rd.Out {
		i, ok := r.byID[o.To]
		if !ok {
			continue
		}
		kind := arbData
		if o.Close {
			kind = arbClosed
		}
		r.toNode(arbMsg{host: int32(i), epoch: a.epoch[i], kind: kind, payload: o.Payload})
	}
	for _, e := range rd.Events {
		r.trace.Begin(r.k.Now(), "qnetd").Str("event", e.String()).End()
	}
	a.arb.Ack()
	if rd.Deadline != 0 && rd.Deadline != a.wakeAt {
		a.gen++
		a.wakeAt = rd.Deadline
		r.k.Schedule(rd.Deadline, Event{Kind: evArbWake, Arg: a.gen})
	}
}

func (r *run) arbWake(gen uint32) {
	a := r.qnetd
	if !a.up || gen != a.gen {
		return
	}
	a.wakeAt = 0
	a.arb.Advance(r.k.Now())
	r.flushArbiter()
}

// nodeGone tells the arbiter a node's process died: a crash closes its
// socket (the kernel sends FIN), a power-off says nothing.
func (r *run) nodeGone(h *host, crashed bool) {
	a := r.qnetd
	if a == nil {
		return
	}
	i := int32(h.idx)
	if crashed && a.open[i] {
		r.toArbiter(arbMsg{host: i, epoch: a.epoch[i], kind: arbHangup})
	}
	a.epoch[i]++
	a.open[i] = false
}

// qnetdDown: the arbiter's host fails silently.
func (r *run) qnetdDown() {
	r.qnetd.up = false
	r.qnetd.gen++
}

// qnetdUp: the arbiter's host comes back with a fresh qnetd; every stream
// that was open gets a reset on its next exchange.
func (r *run) qnetdUp() {
	a := r.qnetd
	if a.up {
		return
	}
	a.arb = quorum.NewArbiter()
	a.up = true
	a.wakeAt = 0
	for i := range r.hosts {
		if a.open[i] {
			r.toNode(arbMsg{host: int32(i), epoch: a.epoch[i], kind: arbClosed})
		}
	}
}
