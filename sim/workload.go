package sim

import (
	"encoding/binary"
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"math"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
)

// workloadMagic starts every multicast the workload sends, so that the
// checkers can tell workload messages from other traffic on the ring.
const workloadMagic = 0x514d574c // "QMWL"

// workloadHeader is magic, origin node, counter.
const workloadHeader = 4 + 4 + 8

// workloadID is the id of a workload message: origin in the top 24 bits,
// the origin's counter below.
func workloadID(origin wire.NodeID, n uint64) uint64 { return uint64(origin)<<40 | n }

// encodeWorkload builds a workload payload of the given size in buf when
// it is that long (reused: the engine copies what it multicasts; only the
// header is ever written, so the rest stays zero) and returns it.
func encodeWorkload(buf []byte, origin wire.NodeID, n uint64, size int) []byte {
	b := buf
	if len(b) != max(size, workloadHeader) {
		b = make([]byte, max(size, workloadHeader))
	}
	binary.BigEndian.PutUint32(b[0:], workloadMagic)
	binary.BigEndian.PutUint32(b[4:], uint32(origin))
	binary.BigEndian.PutUint64(b[8:], n)
	return b
}

// decodeWorkload returns the id of a workload payload, or 0.
func decodeWorkload(b []byte) uint64 {
	if len(b) < workloadHeader || binary.BigEndian.Uint32(b) != workloadMagic {
		return 0
	}
	return workloadID(wire.NodeID(binary.BigEndian.Uint32(b[4:])), binary.BigEndian.Uint64(b[8:]))
}

// client is one workload client attached to a node: it multicasts at
// exponentially distributed intervals (a Poisson stream) from its own
// random stream, so adding a client shifts no other.
type client struct {
	host    *host
	gap     *netmodel.Sampler
	counter uint64
}

// startWorkload sets up the clients of a multicast workload.
func (r *run) startWorkload() error {
	w := r.sc.Workload
	if w == nil {
		return nil
	}
	if w.Kind == "kv" {
		return r.startKV()
	}
	hosts := r.nodesOf(w.Clients)
	perClient := w.Rate / float64(len(hosts))
	mean := math.Round(1e9 / perClient)
	for _, h := range hosts {
		s, err := netmodel.NewSampler(netmodel.Dist{Kind: netmodel.DistExponential, Mean: time.Duration(mean)},
			r.streams.Source(fmt.Sprintf("workload/%d", h.id)))
		if err != nil {
			return err
		}
		c := &client{host: h, gap: s}
		r.clients = append(r.clients, c)
		r.k.Schedule(wire.Instant(0).Add(s.Sample()), Event{Kind: evClient, Ref: int32(len(r.clients) - 1)})
	}
	return nil
}

// workloadPayload encodes the payload of a workload multicast into the
// run's one buffer: Node.Multicast copies it, so one allocation serves the
// whole run instead of one per message.
func (r *run) workloadPayload(origin wire.NodeID, n uint64) []byte {
	r.wlBuf = encodeWorkload(r.wlBuf, origin, n, r.sc.Workload.Size)
	return r.wlBuf
}

// clientOp is one multicast of client i; it schedules the next.
func (r *run) clientOp(i int32) {
	c := r.clients[i]
	h := c.host
	now := r.k.Now()
	r.k.Schedule(now.Add(c.gap.Sample()), Event{Kind: evClient, Ref: i})
	if !h.up {
		return
	}
	c.counter++
	id := workloadID(h.id, c.counter)
	r.ops++
	if err := h.node.Multicast(now, r.workloadPayload(h.id, c.counter)); err != nil {
		r.trace.Begin(now, "mcast_refused").Str("node", h.name).Str("why", err.Error()).End()
		r.flush(h)
		return
	}
	r.hist.Sent.Add(id, check.SentMsg{Proc: h.proc, At: now})
	r.trace.Begin(now, "mcast").Str("node", h.name).Uint("id", id).End()
	r.flush(h)
}

// record adds one delivery of node h to the history and the trace.
func (r *run) record(h *host, ed engine.Delivery) {
	d := ed.Delivery
	now := r.k.Now()
	dl := check.Delivery{At: now, Ring: check.RingRef{Rep: d.RingID.Rep, Seq: d.RingID.Seq}, Seq: d.Seq, Part: d.Part, Sender: d.Sender}
	switch d.Kind {
	case totem.DeliverMessage:
		dl.Kind = check.KindMsg
		if ed.Service == engine.ServiceApp {
			dl.ID = decodeWorkload(d.Payload)
		}
		r.trace.DeliverMsg(now, h.name, uint64(uint32(dl.Ring.Rep)), dl.Ring.Seq, uint64(d.Seq), uint64(d.Part), uint64(d.Sender), uint64(ed.Service), dl.ID)
		if dl.ID != 0 && h.proc.Node == d.Sender {
			r.opsOK++
		}
	case totem.DeliverTransitional, totem.DeliverRegular:
		dl.Kind = check.KindTrans
		if d.Kind == totem.DeliverRegular {
			dl.Kind = check.KindRegular
		}
		dl.Members = d.Members
		r.trace.Begin(now, "deliver").Str("node", h.name).
			Str("config", d.Kind.String()).Str("ring", dl.Ring.String()).Str("members", r.names(d.Members)).End()
	default:
		r.trace.Begin(now, "deliver").Str("node", h.name).End()
	}
	h.proc.Add(dl)
	if dl.Kind == check.KindRegular {
		r.obs.regular(h, dl, now)
		r.mergeCatchUp(h, d.Members)
	}
}
