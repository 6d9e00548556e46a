package agent

import (
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// The load generator: `quorate load` (CmdLoad) makes the agent multicast
// application messages (engine.ServiceApp) through Totem's total order, so
// that the ordering, throughput and latency of a real cluster can be
// observed on the nodes themselves, as corosync's cpgbench does for CPG.
//
// A load message starts with a header; the rest of its Size bytes is
// padding:
//
//	0   4  magic "qld1"
//	4   8  origin: the sender agent's start instant (CLOCK_MONOTONIC ns),
//	       which tells one run of an agent from the next
//	12  8  seq: 1, 2, 3, … per origin
//	20  8  sent: CLOCK_MONOTONIC ns when Multicast was called
//
// Every agent checks the load messages it delivers (from every sender):
// per origin the seqs must follow each other (Totem delivers a sender's
// messages in the order it sent them), and a running digest of (sender,
// origin, seq) in delivery order must be the same on every node that
// delivered the same messages (agreed order). The latency from the
// sender's Multicast to the delivery here is kept in two histograms: the
// agent's own messages, and the peers'. The latter compares two nodes'
// CLOCK_MONOTONIC, which is only meaningful when they share one kernel
// (agents on one machine, or in network namespaces of one machine).

// loadHeaderLen is the size of the header; a load message is at least
// this long.
const loadHeaderLen = 28

// loadMaxSize is the largest load message: Totem's limit less the service
// byte the engine prefixes.
const loadMaxSize = totem.MaxPayload - 1

// loadMagic marks a load message.
var loadMagic = [4]byte{'q', 'l', 'd', '1'}

// loadBacklog bounds Totem's pending-send queue while the generator runs.
// Totem's Multicast queues without limit; corosync's IPC refuses a client
// with CS_ERR_TRY_AGAIN when its queue is full, and the generator backs
// off the same way: it sends again when the token has taken messages from
// the queue. The queue holds frames (Totem packs the small messages queued
// between two visits into one), and corosync's holds MESSAGE_QUEUE_MAX of
// them, MESSAGE_SIZE_MAX / net_mtu: 1 MiB / 64 KiB = 16 with knet. So 16
// here: a queue of full frames is thousands of small messages, more than
// the ring sends between two refills, so the ring never waits for the
// generator; and a deeper one only adds to every message's latency (64
// frames of 64 B messages held about 57,000 of them, 54 ms at the rate
// three agents deliver).
const loadBacklog = 16

// monoBase and monoBaseNs pin Go's monotonic clock to CLOCK_MONOTONIC, so
// that mono() reads CLOCK_MONOTONIC at the cost of time.Since.
var (
	monoBase   = time.Now()
	monoBaseNs = clockMonotonic()
)

func clockMonotonic() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		// Linux always has CLOCK_MONOTONIC; without it the stamps are
		// relative to the agent's start and still right for its own
		// messages.
		return 0
	}
	return ts.Nano()
}

// mono returns CLOCK_MONOTONIC in nanoseconds.
func mono() int64 { return monoBaseNs + int64(time.Since(monoBase)) }

// validLoad checks a load request and says what is wrong with it.
func validLoad(s *LoadSpec) error {
	switch {
	case s == nil:
		return fmt.Errorf("load: missing the load parameters")
	case s.Count < 0:
		return fmt.Errorf("load: count %d is negative", s.Count)
	case s.Count > 0 && (s.Size < loadHeaderLen || s.Size > loadMaxSize):
		return fmt.Errorf("load: size %d: a load message has %d to %d bytes", s.Size, loadHeaderLen, loadMaxSize)
	case s.Rate < 0:
		return fmt.Errorf("load: rate %g is negative", s.Rate)
	case s.Window < 0:
		return fmt.Errorf("load: window %d is negative", s.Window)
	}
	return nil
}

// loadState is the generator and the receiving side's checks; owned by
// the loop.
type loadState struct {
	// The current run.
	spec      LoadSpec
	remaining int
	runSent   int
	started   time.Time
	timer     *time.Timer // paces a run with a rate; stopped otherwise
	buf       []byte

	origin    int64  // this agent's origin stamp, set at the first run
	seq       uint64 // last seq sent
	throttled uint64
	ownDone   uint64 // own load messages delivered back here

	delivered uint64
	bySender  map[wire.NodeID]uint64
	streams   map[wire.NodeID]stream
	gaps      uint64
	reorders  uint64
	skewed    uint64
	digest    uint64
	own, peer latencyHist
	// onLatency, when set (with --metrics), also gets every latency the
	// histograms take.
	onLatency func(own bool, d time.Duration)
}

// stream is the last load message delivered from one sender.
type stream struct {
	origin int64
	seq    uint64
}

func newLoadState() *loadState {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &loadState{timer: t, bySender: map[wire.NodeID]uint64{}, streams: map[wire.NodeID]stream{},
		digest: fnvOffset}
}

// start replaces the current run with spec (Count 0 stops it).
func (g *loadState) start(spec LoadSpec) {
	g.timer.Stop()
	g.spec, g.remaining, g.runSent, g.started = spec, spec.Count, 0, time.Now()
	if g.origin == 0 {
		g.origin = mono()
	}
	if cap(g.buf) < spec.Size {
		g.buf = make([]byte, spec.Size)
	}
	g.buf = g.buf[:spec.Size]
}

// inflight is the number of own load messages sent and not yet delivered
// back.
func (g *loadState) inflight() int { return int(g.seq - g.ownDone) }

// pump multicasts what the current run allows now: no more than the
// window of own messages in flight, no more than loadBacklog frames in
// Totem's queue, no faster than the rate. It is called after every input
// of the loop, so a run blocked by the window or the backlog continues
// when the token or the own delivery that unblocks it has been processed;
// a run held back by its rate arms the load timer. It returns the number
// of messages sent.
func (l *loop) pump() int {
	g := l.load
	sent := 0
	for g.remaining > 0 {
		if g.spec.Window > 0 && g.inflight() >= g.spec.Window {
			return sent
		}
		if l.node.Backlog() >= loadBacklog {
			if sent == 0 {
				g.throttled++
			}
			return sent
		}
		if g.spec.Rate > 0 {
			due := g.started.Add(time.Duration(float64(g.runSent) / g.spec.Rate * float64(time.Second)))
			if wait := time.Until(due); wait > 0 {
				g.timer.Reset(wait)
				return sent
			}
		}
		g.seq++
		b := g.buf
		copy(b, loadMagic[:])
		binary.BigEndian.PutUint64(b[4:], uint64(g.origin))
		binary.BigEndian.PutUint64(b[12:], g.seq)
		binary.BigEndian.PutUint64(b[20:], uint64(mono()))
		if err := l.node.Multicast(l.now(), b); err != nil {
			// Only an oversize message is refused, and validLoad keeps
			// the size within Totem's limit.
			g.seq--
			l.log.Error("load stopped: Multicast refused", "node", l.cl.name, "err", err)
			g.remaining = 0
			return sent
		}
		l.dlog.sent(g.origin, g.seq)
		g.remaining--
		g.runSent++
		sent++
		if g.remaining == 0 {
			l.log.Info("load run done", "node", l.cl.name, "sent", g.runSent, "size", g.spec.Size,
				"took", time.Since(g.started).Round(time.Millisecond))
		}
	}
	return sent
}

// receive checks and times one delivered application message; payloads
// that are not load messages are left alone.
func (g *loadState) receive(self, sender wire.NodeID, p []byte) {
	if len(p) < loadHeaderLen || [4]byte(p[:4]) != loadMagic {
		return
	}
	now := mono()
	origin := int64(binary.BigEndian.Uint64(p[4:]))
	seq := binary.BigEndian.Uint64(p[12:])
	sentAt := int64(binary.BigEndian.Uint64(p[20:]))

	g.delivered++
	g.bySender[sender]++
	if s, ok := g.streams[sender]; ok && s.origin == origin {
		switch {
		case seq <= s.seq:
			g.reorders++
		case seq > s.seq+1:
			g.gaps += seq - s.seq - 1
		}
	}
	g.streams[sender] = stream{origin: origin, seq: seq}
	g.digest = fnvAdd(g.digest, uint64(sender))
	g.digest = fnvAdd(g.digest, uint64(origin))
	g.digest = fnvAdd(g.digest, seq)

	lat := time.Duration(now - sentAt)
	switch {
	case sender == self && origin == g.origin:
		g.ownDone++
		g.own.add(lat)
		if g.onLatency != nil {
			g.onLatency(true, lat)
		}
	case sender == self:
		// An earlier run of this agent: nothing of it is in flight.
	case lat < 0:
		// The sender's clock is not this one (another machine).
		g.skewed++
	default:
		g.peer.add(lat)
		if g.onLatency != nil {
			g.onLatency(false, lat)
		}
	}
}

// info reports the generator and the checks.
func (l *loop) loadInfo() *LoadInfo {
	g := l.load
	out := &LoadInfo{
		Running: g.remaining > 0, Sent: g.seq, Throttled: g.throttled, InFlight: g.inflight(),
		Delivered: g.delivered, BySender: map[string]uint64{},
		Gaps: g.gaps, Reorders: g.reorders, Skewed: g.skewed,
		Digest:     fmt.Sprintf("%016x", g.digest),
		OwnLatency: g.own.info(), PeerLatency: g.peer.info(),
	}
	if g.spec.Count > 0 {
		spec := g.spec
		out.Spec = &spec
		out.Remaining = g.remaining
	}
	for id, n := range g.bySender {
		out.BySender[l.cl.nameOf(id)] = n
	}
	return out
}

// FNV-1a over the 8 bytes of v, for the order digest.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}
