package netmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Verdict is the fate of one datagram, or of a path (PathVerdict).
type Verdict uint8

// Verdicts. Only Delivered lets a packet through.
const (
	// Delivered: the packet arrives (Route) or the path is open (PathVerdict).
	Delivered Verdict = iota
	// DroppedLoss: the link's random loss took the packet.
	DroppedLoss
	// DroppedPartition: a partition, isolate or drop cuts the path.
	DroppedPartition
	// DroppedSwitchDown: the switch of the link is down.
	DroppedSwitchDown
	// DroppedNICDown: the sender's or the receiver's NIC on the link is down.
	DroppedNICDown
	// DroppedNoLink: the topology has no link with that number.
	DroppedNoLink
	// DroppedUnknownNode: the sender or the receiver is not in the topology.
	DroppedUnknownNode
)

var verdictNames = [...]string{
	Delivered:          "delivered",
	DroppedLoss:        "loss",
	DroppedPartition:   "partition",
	DroppedSwitchDown:  "switch_down",
	DroppedNICDown:     "nic_down",
	DroppedNoLink:      "no_link",
	DroppedUnknownNode: "unknown_node",
}

// String returns the short word the trace records ("loss", "switch_down").
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Dropped reports whether v is anything but Delivered.
func (v Verdict) Dropped() bool { return v != Delivered }

// Arrival is one copy of a routed datagram.
type Arrival struct {
	// At is when the datagram reaches the destination NIC. The kernel
	// should check PathVerdict again at that instant.
	At wire.Instant
}

// Model is the simulated network: topology, fault state, and per-path
// random streams. It is a pure value driven by the sim kernel; it never reads
// a clock or schedules anything. It is not safe for concurrent use.
type Model struct {
	lk         lookup
	links      []linkState // in Topology.Links order
	switches   []string    // sorted, distinct
	switchDown []bool      // by switch position
	streams    StreamFunc
	wait       float64       // the host wait's mean, in nanoseconds
	waitMax    time.Duration // its cap
}

// linkState is one link and everything per node or per pair on it. Slices
// are indexed by node position (per node) or from*n+to (per pair).
type linkState struct {
	number    wire.LinkNo
	sw        int
	duplicate float64
	reorder   bool
	latency   []Dist    // by sender
	loss      []float64 // by sender
	nicDown   []bool    // by node
	cut       []bool    // by directed pair
	pairs     []pairState
}

// pairState is the state of one directed pair on one link.
type pairState struct {
	src  rand.Source // nil until the pair's first packet
	rng  *rand.Rand  // wraps src, for the loss and duplicate draws
	lat  Sampler     // draws from src too
	last wire.Instant
	// pcg and r hold the pair's generator in place when its stream is a
	// PCG (as the simulator's are): src and rng then point here, beside
	// the rest of the pair, instead of at two small objects of their own.
	// At 128 nodes the 16,256 pairs' generators outgrow the cache, and
	// every packet's draws waited for memory twice.
	pcg rand.PCG
	r   rand.Rand
}

// New validates t and returns a model with every switch and NIC up and no
// cuts. streams supplies the per-pair random sources.
func New(t Topology, streams StreamFunc) (*Model, error) {
	lk, err := t.validate()
	if err != nil {
		return nil, err
	}
	if streams == nil {
		return nil, fmt.Errorf("%w: nil StreamFunc", ErrBadTopology)
	}
	mean := t.HostWait
	if mean == 0 {
		mean = HostWait
	}
	m := &Model{lk: lk, streams: streams, wait: float64(mean), waitMax: hostWaitMeans * mean}
	for _, l := range t.Links {
		if name := l.switchName(); !slices.Contains(m.switches, name) {
			m.switches = append(m.switches, name)
		}
	}
	slices.Sort(m.switches)
	m.switchDown = make([]bool, len(m.switches))
	n := len(lk.nodes)
	for _, l := range t.Links {
		sw, _ := slices.BinarySearch(m.switches, l.switchName())
		ls := linkState{
			number:    l.Number,
			sw:        sw,
			duplicate: l.Duplicate,
			reorder:   l.Reorder,
			latency:   make([]Dist, n),
			loss:      make([]float64, n),
			nicDown:   make([]bool, n),
			cut:       make([]bool, n*n),
			pairs:     make([]pairState, n*n),
		}
		for i := range n {
			ls.latency[i], ls.loss[i] = l.Latency, l.Loss
		}
		for i := range ls.pairs {
			ls.pairs[i].last = math.MinInt64
		}
		m.links = append(m.links, ls)
	}
	return m, nil
}

// Switches returns the switch names, sorted. The caller owns the slice.
func (m *Model) Switches() []string { return slices.Clone(m.switches) }

// Nodes returns the node ids in topology order. The caller owns the slice.
func (m *Model) Nodes() []wire.NodeID { return slices.Clone(m.lk.nodes) }

// Latency returns the distribution packets sent by node on link get now.
func (m *Model) Latency(node wire.NodeID, link wire.LinkNo) (Dist, error) {
	li, ni, err := m.nodeLink(node, link)
	if err != nil {
		return Dist{}, err
	}
	return m.links[li].latency[ni], nil
}

// Loss returns the loss rate of packets sent by node on link now.
func (m *Model) Loss(node wire.NodeID, link wire.LinkNo) (float64, error) {
	li, ni, err := m.nodeLink(node, link)
	if err != nil {
		return 0, err
	}
	return m.links[li].loss[ni], nil
}

func (m *Model) nodeLink(node wire.NodeID, link wire.LinkNo) (li, ni int, err error) {
	if li = m.lk.link(link); li < 0 {
		return 0, 0, fmt.Errorf("%w: %d", ErrUnknownLink, link)
	}
	if ni = m.lk.node(node); ni < 0 {
		return 0, 0, fmt.Errorf("%w: %d", ErrUnknownNode, node)
	}
	return li, ni, nil
}

// PathVerdict says whether a packet from -> to on link could pass right now,
// from topology faults alone (no random draw). The checks run in this order
// and the first that fails decides: unknown node, no such link, switch
// down, either NIC down, cut (partition, isolate or drop). The kernel calls
// it again when a packet arrives, so a packet in flight when its switch or a
// NIC fails, or a partition starts, is dropped.
func (m *Model) PathVerdict(from, to wire.NodeID, link wire.LinkNo) Verdict {
	v, _, _, _ := m.path(from, to, link)
	return v
}

// path is PathVerdict that also returns the positions it looked up.
func (m *Model) path(from, to wire.NodeID, link wire.LinkNo) (v Verdict, ls *linkState, fi, ti int) {
	fi, ti = m.lk.node(from), m.lk.node(to)
	if fi < 0 || ti < 0 {
		return DroppedUnknownNode, nil, fi, ti
	}
	li := m.lk.link(link)
	if li < 0 {
		return DroppedNoLink, nil, fi, ti
	}
	ls = &m.links[li]
	switch {
	case m.switchDown[ls.sw]:
		return DroppedSwitchDown, ls, fi, ti
	case ls.nicDown[fi] || ls.nicDown[ti]:
		return DroppedNICDown, ls, fi, ti
	case ls.cut[fi*len(m.lk.nodes)+ti]:
		return DroppedPartition, ls, fi, ti
	}
	return Delivered, ls, fi, ti
}

// Route decides the fate of d, sent at now. It returns n (0, 1 or 2)
// arrivals in arr[:n], in non-decreasing time order, and a verdict: n is 0
// exactly when v is not Delivered, and 2 when the link duplicated the packet.
//
// Draws, all from the stream of (d.From, d.To, d.Link) and in this order,
// only when the path is open: (1) one Float64 for loss, always; if lost,
// stop; (2) one latency sample (constant draws nothing) and one exponential
// draw for the host wait; (3) one Float64 for duplication, always; (4) if
// duplicated, a second latency sample and host wait. Without
// Reorder each arrival is clamped to be no earlier than the last arrival on
// that (from, to, link), so the pair stays FIFO (the kernel's queue breaks
// equal times by insertion order). Route does not allocate once the pair
// has sent its first packet.
func (m *Model) Route(now wire.Instant, d wire.Datagram) (arr [2]Arrival, n int, v Verdict) {
	v, ls, fi, ti := m.path(d.From, d.To, d.Link)
	if v != Delivered {
		return arr, 0, v
	}
	p := &ls.pairs[fi*len(m.lk.nodes)+ti]
	if p.rng == nil {
		m.initPair(ls, p, fi, ti)
	}
	if p.rng.Float64() < ls.loss[fi] {
		return arr, 0, DroppedLoss
	}
	arr[0].At = p.arrive(now, p.lat.Sample()+m.hostWait(p), ls.reorder)
	n = 1
	if p.rng.Float64() < ls.duplicate {
		arr[1].At = p.arrive(now, p.lat.Sample()+m.hostWait(p), ls.reorder)
		n = 2
		if arr[1].At < arr[0].At { // only possible with Reorder
			arr[0], arr[1] = arr[1], arr[0]
		}
	}
	return arr, n, Delivered
}

// HostWait is the mean time a datagram waits for the receiving daemon on
// top of the link's latency when Topology.HostWait does not set another,
// drawn for every arrival from an exponential distribution capped at 20
// means. No real host hands datagrams to its
// daemon with zero variance: the receive queue, the scheduler and knet's
// threads add a wait that is usually short and now and then long.
//
// The mean is sized by Corosync itself (docs/fidelity.md, "Two rings that
// fail each other"): two groups of nodes that fail each other re-form
// their rings in step, and on real hosts they leave that cycle after 4 to
// 90 rounds, once the rounds' relative timing has drifted far enough. With
// a uniform wait of at most 10 µs the simulator never left it; with an
// exponential wait of mean 50 µs it leaves after 4 to 133 rounds (median
// 35, Corosync's 31) and 13 to 644 ms (median 150, Corosync's 134). Some
// wait is needed in any case: without it a constant latency lets whole
// clusters lock into membership rounds that repeat to the nanosecond.
const HostWait = 50 * time.Microsecond

// hostWaitMeans caps one datagram's host wait at that many means, which an
// exponential draw exceeds with probability e^-20 (2 in a billion): a
// bound keeps every arrival within a known distance of its latency.
const hostWaitMeans = 20

// HostWaitMax is the cap at the default mean.
const HostWaitMax = hostWaitMeans * HostWait

// hostWait draws one arrival's wait for the receiving daemon.
func (m *Model) hostWait(p *pairState) time.Duration {
	return min(time.Duration(p.rng.ExpFloat64()*m.wait), m.waitMax)
}

// arrive returns now+lat, clamped for FIFO unless reorder, and records it.
func (p *pairState) arrive(now wire.Instant, lat time.Duration, reorder bool) wire.Instant {
	at := now.Add(lat)
	if !reorder {
		at = max(at, p.last)
	}
	p.last = max(p.last, at)
	return at
}

// PairLabel returns the stream label of (from, to, link): "link/1-2/0".
func PairLabel(from, to wire.NodeID, link wire.LinkNo) string {
	return "link/" + from.String() + "-" + to.String() + "/" + strconv.Itoa(int(link))
}

// initPair creates the stream of a pair on its first packet.
func (m *Model) initPair(ls *linkState, p *pairState, fi, ti int) {
	src := m.streams(PairLabel(m.lk.nodes[fi], m.lk.nodes[ti], ls.number))
	if src == nil {
		panic("netmodel: StreamFunc returned nil for " + PairLabel(m.lk.nodes[fi], m.lk.nodes[ti], ls.number))
	}
	if pcg, ok := src.(*rand.PCG); ok {
		// The same generator in the same state, moved into the pair
		// (the pairs never move: ls.pairs is allocated once).
		p.pcg = *pcg
		src = &p.pcg
		p.r = *rand.New(src)
		p.src, p.rng = src, &p.r
	} else {
		p.src, p.rng = src, rand.New(src)
	}
	p.setLatency(ls.latency[fi])
}

// setLatency rebuilds the pair's sampler on its own source; d is valid.
func (p *pairState) setLatency(d Dist) {
	s, err := makeSampler(d, p.src)
	if err != nil {
		panic("netmodel: " + err.Error()) // d was validated before it was stored
	}
	p.lat = s
}
