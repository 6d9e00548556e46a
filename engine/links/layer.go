package links

import (
	"cmp"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// link is the heartbeat state of one link to one peer (knet's struct
// knet_link, restricted to what the link decision needs).
type link struct {
	number   wire.LinkNo
	priority int // effective: a configured 0 counts as 1

	pingInterval time.Duration
	pingTimeout  time.Duration
	pongCount    int

	connected bool
	// transportDown is knet's transport_connected == 0: an ICMP error
	// for this link arrived while it was up (Unreachable); the next
	// heartbeat pass takes the link down.
	transportDown bool
	pinged        bool // a ping has been sent since the layer started
	pingLast      wire.Instant
	hasPong       bool // a pong arrived since the link last went down
	pongLast      wire.Instant
	receivedPong  int // good pongs counted towards pong_count while down
	backoff       int
	latencyAve    time.Duration
	samples       int
	timeoutAdj    time.Duration
}

// peer is everything the layer knows about one remote node.
type peer struct {
	id     wire.NodeID
	links  []link // parallel to Config.Links
	active int8   // link number in use (passive) or lowest usable; NoLink
	rrNext int    // index into links of the next rr candidate

	txSeq uint64 // data sequence number of the last frame sent to the peer

	rxInc  uint64 // peer incarnation the dedup window belongs to
	rxHigh uint64 // highest data sequence received
	rxSeen [dedupWindow / 64]uint64

	// frags are the packets being reassembled from fragments, oldest
	// first, at most maxAssemblies.
	frags []assembly
}

// assembly is one fragmented packet being put back together in buf, each
// fragment copied to its place (the driver may reuse the frame's buffer):
// every fragment but the last is exactly wire.FragmentSize.
type assembly struct {
	inc, seq uint64
	count    int
	have     uint64 // bit i: fragment i is in (wire.MaxFragments < 64)
	buf      []byte // count × FragmentSize; cut to the packet's length when complete
	size     int    // bytes filed so far
}

// maxAssemblies bounds the packets a peer may have half-received: knet
// keeps a few defragmentation buffers per host and drops the oldest. A
// packet whose fragment was lost is never completed; Totem retransmits
// the message, as a new packet.
const maxAssemblies = 4

// Layer is the knet-style link layer of one node: per peer and link it runs
// the ping/pong heartbeat, decides which links are up, and picks the link(s)
// each packet to a peer travels on. Upper layers address nodes, never links.
//
// A Layer is a pure state machine: the driver passes the time into every
// call, and collects the datagrams to send and the events to record with
// Outbox and Events.
type Layer struct {
	cfg         Config
	peers       []peer
	index       peerIndex
	slots       linkSlots // link number -> position in Config.Links and in every peer's links
	incarnation uint64

	nextWake  wire.Instant
	wakeCount int

	out    []wire.Datagram
	events []wire.Event
	stats  Stats
	// headers is where frame headers are written: each datagram's Header
	// is a FrameHeaderLen piece of it, never written again once handed
	// out, and a full slab is left to the datagrams that still hold its
	// pieces (the garbage collector frees it after the last). One
	// allocation serves headerSlab frames, and a frame's payload is the
	// upper layer's buffer itself, shared by the frames to every peer.
	headers []byte
}

// headerSlab is how many frame headers one allocation of Layer.headers
// holds (8 KiB).
const headerSlab = 256

// Stats counts what the layer did; all counters only grow.
type Stats struct {
	PingsSent, PongsSent, PongsReceived, PongsDiscarded uint64
	DataSent, DataReceived, DataDuplicates, DataNoLink  uint64
	DataUnreachable                                     uint64 // data from a peer with no usable link, discarded
	// DataTooLarge counts packets over wire.MaxPacket, not sent;
	// DataReassembled packets put back together from fragments;
	// FragmentsEvicted fragments of half-received packets dropped for
	// newer ones; FragmentsDiscarded duplicate or inconsistent fragments.
	DataTooLarge, DataReassembled, FragmentsEvicted, FragmentsDiscarded uint64
	// TransportErrors counts the ICMP errors reported for up links
	// (Unreachable); the others are ignored, as knet ignores them.
	TransportErrors uint64
	Rejected        uint64
}

// PeerStatus is the layer's view of one peer, for status output and checks.
type PeerStatus struct {
	// Active is the link number carrying traffic to the peer in passive mode,
	// the lowest usable link in active and rr modes, or wire.NoLink.
	Active     int8
	Configured [wire.MaxLinks]bool
	Up         [wire.MaxLinks]bool
	Latency    [wire.MaxLinks]time.Duration // knet's mean pong latency
}

// New returns the link layer of cfg.Self, started at now. incarnation
// identifies this process start to the peers (draw it from the node's random
// stream); phase, in [0, TimerRes), offsets this node's heartbeat thread so
// that nodes do not wake in lockstep.
func New(cfg Config, now wire.Instant, incarnation uint64, phase time.Duration) (*Layer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.PongCount == 0 {
		cfg.PongCount = DefaultPongCount
	}
	if cfg.Precision == 0 {
		cfg.Precision = DefaultPrecision
	}
	if phase < 0 || phase >= TimerRes {
		phase = 0
	}
	l := &Layer{
		cfg:         cfg,
		slots:       makeLinkSlots(cfg.Links),
		incarnation: incarnation,
		nextWake:    now.Add(phase),
	}
	l.peers = make([]peer, len(cfg.Peers))
	for i, id := range cfg.Peers {
		l.peers[i] = l.newPeer(id)
	}
	l.index.rebuild(l.peers)
	return l, nil
}

// newPeer returns the state of a peer not heard from yet: every configured
// link down, with the heartbeat timers of its link configuration.
func (l *Layer) newPeer(id wire.NodeID) peer {
	p := peer{id: id, active: wire.NoLink, links: make([]link, len(l.cfg.Links))}
	for j, lc := range l.cfg.Links {
		prio := lc.Priority
		if prio == 0 {
			prio = 1 // corosync: a configured 0 is treated as 1
		}
		lk := link{
			number:       lc.Number,
			priority:     prio,
			pingInterval: cmp.Or(lc.PingInterval, l.cfg.PingInterval),
			pingTimeout:  cmp.Or(lc.PingTimeout, l.cfg.PingTimeout),
			pongCount:    cmp.Or(lc.PongCount, l.cfg.PongCount),
			backoff:      PongTimeoutBackoff,
		}
		lk.timeoutAdj = lk.pingTimeout * PongTimeoutBackoff
		p.links[j] = lk
	}
	return p
}

// AddPeer starts talking to a node that joined the nodelist (pvecm add and a
// configuration reload): its links are created down, on the layer's link
// configuration, and the next heartbeat wake pings it; they come up as its
// pongs arrive, as for a peer configured at start. Id 0, the local node and
// a peer already known are refused with ErrPeer and change nothing.
func (l *Layer) AddPeer(id wire.NodeID) error {
	if _, ok := l.index.get(id); ok || id == 0 || id == l.cfg.Self {
		return ErrPeer
	}
	l.cfg.Peers = append(slices.Clone(l.cfg.Peers), id)
	slices.Sort(l.cfg.Peers)
	l.peers = append(l.peers, l.newPeer(id))
	slices.SortFunc(l.peers, func(a, b peer) int { return cmp.Compare(a.id, b.id) })
	l.index.rebuild(l.peers)
	return nil
}

// RemovePeer forgets a peer that left the nodelist (pvecm delnode and a
// configuration reload): no more heartbeats to it, and its datagrams are
// rejected as coming from an unlisted host.
func (l *Layer) RemovePeer(id wire.NodeID) {
	i, ok := l.index.get(id)
	if !ok {
		return
	}
	l.peers = slices.Delete(l.peers, i, i+1)
	l.cfg.Peers = slices.DeleteFunc(slices.Clone(l.cfg.Peers), func(p wire.NodeID) bool { return p == id })
	l.index.rebuild(l.peers)
}

// Deadline is the next instant the layer needs Advance: its heartbeat wake.
func (l *Layer) Deadline() wire.Instant { return l.nextWake }

// Advance runs every heartbeat wake due at or before now, each at its own
// instant (as knet's heartbeat thread would have run it).
func (l *Layer) Advance(now wire.Instant) {
	for l.nextWake <= now {
		l.wake(l.nextWake)
		l.nextWake = l.nextWake.Add(TimerRes)
	}
}

// wake is one pass of knet's heartbeat thread (threads_heartbeat.c,
// _handle_heartbt_thread): about once a second lower every link's pong
// timeout backoff, then ping every link that is due and declare down every
// link whose last pong is too old.
func (l *Layer) wake(t wire.Instant) {
	l.wakeCount++
	if l.wakeCount%int(time.Second/TimerRes) == 0 {
		l.adjustPongTimeouts()
	}
	for i := range l.peers {
		p := &l.peers[i]
		for j := range p.links {
			lk := &p.links[j]
			if lk.transportDown {
				// send_ping: a transport that saw an ICMP error takes
				// the link down at once, and nothing else happens to
				// the link in this pass.
				lk.transportDown = false
				l.linkDown(p, lk)
				continue
			}
			if !lk.pinged || t.Sub(lk.pingLast) >= lk.pingInterval {
				l.emit(p.id, lk.number, wire.FramePing, uint64(t), nil)
				lk.pinged, lk.pingLast = true, t
				l.stats.PingsSent++
			}
			if lk.hasPong && t.Sub(lk.pongLast) >= lk.timeoutAdj {
				l.linkDown(p, lk)
			}
		}
	}
}

// adjustPongTimeouts is knet's _adjust_pong_timeouts: the backoff decays by
// one per second down to 1, and the timeout tolerates twice the mean latency.
func (l *Layer) adjustPongTimeouts() {
	for i := range l.peers {
		for j := range l.peers[i].links {
			lk := &l.peers[i].links[j]
			if lk.backoff > 1 {
				lk.backoff--
			}
			lk.timeoutAdj = lk.pingTimeout*time.Duration(lk.backoff) + lk.latencyAve*PongTimeoutLatMul
		}
	}
}

// linkDown is knet's _link_down: the pong bookkeeping restarts and the
// timeout backs off to ten times, so a link that just failed needs a long
// quiet time before it can fail again.
func (l *Layer) linkDown(p *peer, lk *link) {
	lk.transportDown = false
	lk.receivedPong = 0
	lk.hasPong = false
	lk.backoff = PongTimeoutBackoff
	if lk.connected {
		lk.connected = false
		l.events = append(l.events, wire.Event{Kind: wire.EventLinkDown, Peer: p.id, Link: lk.number})
		l.reselect(p)
	}
}

func (l *Layer) linkUp(p *peer, lk *link) {
	lk.connected = true
	l.events = append(l.events, wire.Event{Kind: wire.EventLinkUp, Peer: p.id, Link: lk.number})
	l.reselect(p)
}

// reselect recomputes the link that carries traffic to p
// (kronosnet libknet/host.c, _host_dstcache_update_sync): in passive mode the
// usable link with the highest priority, the lower number on a tie; in the
// other modes the lowest usable link stands for the set.
func (l *Layer) reselect(p *peer) {
	best := int8(wire.NoLink)
	bestPrio := -1
	for j := range p.links {
		lk := &p.links[j]
		if !lk.connected {
			continue
		}
		if l.cfg.Mode != ModePassive {
			if best == wire.NoLink || int8(lk.number) < best {
				best = int8(lk.number)
			}
			continue
		}
		// Links are iterated in configuration order; compare numbers so
		// the tie rule holds whatever that order is.
		if lk.priority > bestPrio || (lk.priority == bestPrio && int8(lk.number) < best) {
			best, bestPrio = int8(lk.number), lk.priority
		}
	}
	if best == p.active {
		return
	}
	p.active = best
	if best == wire.NoLink {
		// knet clears the host's defragmentation and dedup buffers when it
		// becomes unreachable.
		p.rxInc, p.rxHigh, p.rxSeen = 0, 0, [dedupWindow / 64]uint64{}
		p.frags = nil
	}
	l.events = append(l.events, wire.Event{Kind: wire.EventActiveLink, Peer: p.id, Active: best})
}

func (l *Layer) emit(to wire.NodeID, n wire.LinkNo, typ wire.FrameType, stamp uint64, payload []byte) {
	l.emitFrame(wire.Frame{Type: typ, Link: n, From: l.cfg.Self, To: to, Incarnation: l.incarnation, Stamp: stamp, Payload: payload})
}

// emitFrame queues f as a datagram: its header written into the layer's
// header slab, its payload the caller's bytes as they are (immutable, as
// the bytes of every datagram; see wire.Datagram).
func (l *Layer) emitFrame(f wire.Frame) {
	if cap(l.headers)-len(l.headers) < wire.FrameHeaderLen {
		l.headers = make([]byte, 0, headerSlab*wire.FrameHeaderLen)
	}
	at := len(l.headers)
	l.headers = l.headers[:at+wire.FrameHeaderLen]
	h := l.headers[at : at+wire.FrameHeaderLen : at+wire.FrameHeaderLen]
	wire.PutFrameHeader(h, f)
	var payload []byte
	if f.Type == wire.FrameData {
		payload = f.Payload
	}
	l.out = append(l.out, wire.Datagram{From: l.cfg.Self, To: f.To, Link: f.Link, Header: h, Payload: payload})
}

// emitData queues one data packet on link n: one frame, or, when it is
// larger than wire.FragmentSize, one frame per fragment, all with the
// packet's sequence number. It returns the number of frames.
func (l *Layer) emitData(to wire.NodeID, n wire.LinkNo, seq uint64, payload []byte) int {
	if len(payload) <= wire.FragmentSize {
		l.emit(to, n, wire.FrameData, seq, payload)
		return 1
	}
	count := (len(payload) + wire.FragmentSize - 1) / wire.FragmentSize
	for i := range count {
		piece := payload[i*wire.FragmentSize : min((i+1)*wire.FragmentSize, len(payload))]
		l.emitFrame(wire.Frame{Type: wire.FrameData, Link: n, From: l.cfg.Self, To: to, Incarnation: l.incarnation,
			Stamp: seq, FragIndex: uint8(i), FragCount: uint8(count), Payload: piece})
	}
	return count
}

// Outbox returns the datagrams produced since the last Clear, in send order.
// The slice belongs to the layer until Clear.
func (l *Layer) Outbox() []wire.Datagram { return l.out }

// Events returns the events produced since the last Clear, in order.
func (l *Layer) Events() []wire.Event { return l.events }

// Clear forgets the outbox and events once the driver has taken them.
func (l *Layer) Clear() {
	clear(l.out)
	l.out = l.out[:0]
	l.events = l.events[:0]
}

// Stats returns the counters.
func (l *Layer) Stats() Stats { return l.stats }

// Peers returns the configured peer ids in configuration order.
func (l *Layer) Peers() []wire.NodeID { return l.cfg.Peers }

// Status returns the layer's view of peer id; ok is false for an unknown peer.
func (l *Layer) Status(id wire.NodeID) (st PeerStatus, ok bool) {
	i, ok := l.index.get(id)
	if !ok {
		return st, false
	}
	p := &l.peers[i]
	st.Active = p.active
	for j := range p.links {
		lk := &p.links[j]
		st.Configured[lk.number] = true
		st.Up[lk.number] = lk.connected
		st.Latency[lk.number] = lk.latencyAve
	}
	return st, true
}

// Reachable reports whether some link to id is usable.
func (l *Layer) Reachable(id wire.NodeID) bool {
	i, ok := l.index.get(id)
	return ok && l.peers[i].active != wire.NoLink
}

// Reconfigure applies a new link configuration to the running layer, as
// corosync 3 does on a configuration reload (totemknet_reconfigure and
// knet_link_set_config / knet_link_clear_config / knet_link_set_priority /
// knet_link_set_ping_timers): a link new to the configuration is created
// down on every peer and comes up as its pongs arrive; a link gone from it
// is dropped (its traffic moves to the next usable link at once); a link
// that stays keeps its heartbeat state and takes its new priority and
// timers. The peers, the node id and the link mode are not changed here.
// A configuration the layer would refuse at start is refused and changes
// nothing.
func (l *Layer) Reconfigure(cfg Config) error {
	cfg.Self, cfg.Peers, cfg.Mode = l.cfg.Self, l.cfg.Peers, l.cfg.Mode
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.PongCount == 0 {
		cfg.PongCount = DefaultPongCount
	}
	if cfg.Precision == 0 {
		cfg.Precision = DefaultPrecision
	}
	l.cfg = cfg
	l.slots = makeLinkSlots(cfg.Links)
	for i := range l.peers {
		p := &l.peers[i]
		fresh := l.newPeer(p.id)
		for j := range fresh.links {
			nl := &fresh.links[j]
			old := p.linkByNumber(nl.number)
			if old == nil {
				continue
			}
			keep := *old
			keep.priority, keep.pongCount = nl.priority, nl.pongCount
			if keep.pingInterval != nl.pingInterval || keep.pingTimeout != nl.pingTimeout {
				keep.pingInterval, keep.pingTimeout = nl.pingInterval, nl.pingTimeout
				keep.timeoutAdj = keep.pingTimeout*time.Duration(keep.backoff) + keep.latencyAve*PongTimeoutLatMul
			}
			*nl = keep
		}
		for j := range p.links {
			if lk := &p.links[j]; lk.connected && fresh.linkByNumber(lk.number) == nil {
				l.events = append(l.events, wire.Event{Kind: wire.EventLinkDown, Peer: p.id, Link: lk.number})
			}
		}
		p.links = fresh.links
		p.rrNext = 0
		l.reselect(p)
	}
	return nil
}
