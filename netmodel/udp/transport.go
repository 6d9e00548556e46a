package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
)

// Peer is another node of the cluster and its address on each link.
type Peer struct {
	// ID is the peer's corosync nodeid.
	ID wire.NodeID
	// Addrs holds the peer's address per link (ringX_addr and port); the
	// zero AddrPort means the peer has no address on that link.
	Addrs [wire.MaxLinks]netip.AddrPort
}

// Config configures a Transport.
type Config struct {
	// Self is this node's id.
	Self wire.NodeID
	// Local holds the address to bind per link, one socket per configured
	// link (ringX_addr, port 5405+X by default); the zero AddrPort leaves
	// the link unconfigured. Bind a specific address, not a wildcard: the
	// peers accept only packets whose source is the configured address.
	// Port 0 binds an ephemeral port (tests; see LocalAddr).
	Local [wire.MaxLinks]netip.AddrPort
	// Peers lists the other nodes. An entry for Self is ignored, so the
	// whole nodelist may be passed. Every peer address must be on a link
	// configured in Local and of the same IP family.
	Peers []Peer
	// Key is the cluster's authkey, MinKeySize to MaxKeySize bytes.
	Key []byte
	// Delay, if set, returns an extra delay for each packet sent on link;
	// the packet leaves that long after Send at the earliest. It is called
	// from Send's goroutine. Packets on one link keep their order, so a
	// packet waits for a slower one queued before it. It stands in for
	// netem, which the test kernels do not have.
	Delay func(link wire.LinkNo) time.Duration
	// DropFilter, if set, is called by Send for every datagram; true drops
	// it (counted as DropFiltered). For tests.
	DropFilter func(d wire.Datagram) bool
	// Unreachable, if set, is called when the kernel reports an ICMP
	// error (port, host or network unreachable) for a datagram sent to
	// peer on link, or a send to it fails with one; the caller feeds it
	// to engine.Node.Unreachable. It is called from the transport's
	// goroutines and must not block.
	Unreachable func(link wire.LinkNo, peer wire.NodeID)
	// Rejected, if set, is called for every received packet the checks
	// reject, after it was counted: the link, the packet's source address,
	// the peer configured at that address (0 for an unknown source) and
	// the reason. It is called from the readers and must not block; the
	// agent logs auth failures per peer with it.
	Rejected func(link wire.LinkNo, src netip.AddrPort, peer wire.NodeID, r Reason)
}

// queueLen bounds each link's send queue. A full queue drops the datagram
// (DropQueueFull), as a full socket buffer would.
const queueLen = 1024

// Transport is the real netmodel.Transport: one UDP socket per configured
// link, every packet sealed by a Sealer, every received packet checked
// against the nodelist, the key and a replay window before the receive
// callback sees it. Its methods are safe for concurrent use.
type Transport struct {
	cfg       Config
	recv      func(link wire.LinkNo, from wire.NodeID, payload []byte)
	sealer    *Sealer
	peers     map[wire.NodeID]*Peer
	links     [wire.MaxLinks]*link
	maxPacket int
	onReject  func(Reason) // test hook, see listen
	stats     counters
	// rxSpare holds payload buffers handed back by the receiver
	// (Recycle), for the next packets the readers accept.
	rxSpare chan []byte
	// groups is SendBatch's scratch space; guarded by every link's mu.
	groups []group
	// noGSO is set once the kernel refused a segmented write.
	noGSO     atomic.Bool
	writeSegs func(conn *net.UDPConn, buf []byte, seg int, addr netip.AddrPort) error
	closed    atomic.Bool
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	wg        sync.WaitGroup
}

var _ netmodel.Transport = (*Transport)(nil)

// link is one configured link: its socket, send queue and the replay
// windows of its peers.
type link struct {
	no    wire.LinkNo
	conn  *net.UDPConn
	queue chan outgoing
	// mu serializes sealing and writing on the link, so that packets
	// leave in the order of their counters: Send writes a packet itself
	// when nothing is queued (pending 0), as corosync's single thread
	// does, and queues it behind the others otherwise.
	mu      sync.Mutex
	pending int                            // packets queued or being written by the writer; guarded by mu
	buf     []byte                         // Send's sealing buffer; guarded by mu
	sources map[netip.AddrPort]wire.NodeID // configured peer address -> peer
	windows map[wire.NodeID]*window        // owned by the reader goroutine
}

// outgoing is a datagram waiting in a link's send queue.
type outgoing struct {
	d    wire.Datagram // its bytes are immutable (engine.Ready): kept, not copied
	addr netip.AddrPort
	due  time.Time // zero: send at once
}

// hooks are seams for this package's tests.
type hooks struct {
	maxPacket int          // receive size limit instead of MaxPacket, if > 0
	onReject  func(Reason) // called by a reader after counting a rejection
	// writeSegments replaces the segmented write, if set.
	writeSegments func(conn *net.UDPConn, buf []byte, seg int, addr netip.AddrPort) error
}

// Listen binds one UDP socket per configured link of cfg and starts, per
// link, a reader and a writer goroutine. recv is called from the readers,
// concurrently for different links and in arrival order within a link, for
// each packet that comes from the configured address of a known peer on
// that link, authenticates, and is not a replay. recv owns payload. It must
// not block for long: the real agent hands each call to its single loop
// goroutine over a buffered channel (dropping when the channel is full),
// and Close waits for running calls to return.
func Listen(cfg Config, recv func(link wire.LinkNo, from wire.NodeID, payload []byte)) (*Transport, error) {
	return listen(cfg, recv, hooks{})
}

func listen(cfg Config, recv func(link wire.LinkNo, from wire.NodeID, payload []byte), h hooks) (*Transport, error) {
	if recv == nil {
		return nil, fmt.Errorf("%w: nil receive callback", ErrConfig)
	}
	t := &Transport{
		cfg: cfg, recv: recv, maxPacket: MaxPacket, onReject: h.onReject,
		peers: make(map[wire.NodeID]*Peer), done: make(chan struct{}),
		rxSpare: make(chan []byte, rxSpareLen), writeSegs: writeSegments,
	}
	if h.writeSegments != nil {
		t.writeSegs = h.writeSegments
	}
	if h.maxPacket > 0 && h.maxPacket < MaxPacket {
		t.maxPacket = h.maxPacket
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	ids := make([]wire.NodeID, 0, len(t.peers))
	for id := range t.peers {
		ids = append(ids, id)
	}
	s, err := NewSealer(cfg.Key, cfg.Self, ids)
	if err != nil {
		return nil, err
	}
	t.sealer = s
	for n, ap := range cfg.Local {
		if !ap.IsValid() {
			continue
		}
		if err := t.bind(wire.LinkNo(n), ap); err != nil {
			t.closeConns()
			return nil, err
		}
	}
	for _, l := range t.links {
		if l != nil {
			t.wg.Add(2)
			go t.read(l)
			go t.write(l)
		}
	}
	return t, nil
}

// validate checks cfg and fills t.peers.
func (t *Transport) validate() error {
	c := &t.cfg
	if c.Self == 0 {
		return fmt.Errorf("%w: node id 0 is reserved", ErrConfig)
	}
	if err := checkKeySize(len(c.Key)); err != nil {
		return err
	}
	configured := false
	for n := range c.Local {
		c.Local[n] = unmap(c.Local[n])
		configured = configured || c.Local[n].IsValid()
	}
	if !configured {
		return fmt.Errorf("%w: node %d has no link", ErrConfig, c.Self)
	}
	seen := make(map[netip.AddrPort]wire.NodeID)
	for i := range c.Peers {
		p := c.Peers[i]
		switch {
		case p.ID == 0:
			return fmt.Errorf("%w: peer node id 0 is reserved", ErrConfig)
		case p.ID == c.Self:
			continue
		case t.peers[p.ID] != nil:
			return fmt.Errorf("%w: node %d listed twice", ErrConfig, p.ID)
		}
		for n, ap := range p.Addrs {
			ap = unmap(ap)
			p.Addrs[n] = ap
			if !ap.IsValid() {
				continue
			}
			local := c.Local[n]
			if !local.IsValid() {
				return fmt.Errorf("%w: node %d has an address on link %d, which is not configured here", ErrConfig, p.ID, n)
			}
			if ap.Addr().Is4() != local.Addr().Is4() {
				return fmt.Errorf("%w: nodes for link %d have different IP families", ErrConfig, n)
			}
			if other, dup := seen[ap]; dup {
				return fmt.Errorf("%w: nodes %d and %d share address %s", ErrConfig, other, p.ID, ap)
			}
			seen[ap] = p.ID
		}
		t.peers[p.ID] = &p
	}
	return nil
}

// unmap turns an IPv4-mapped IPv6 address into plain IPv4.
func unmap(ap netip.AddrPort) netip.AddrPort {
	if !ap.IsValid() {
		return ap
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// bind opens the socket of link n.
func (t *Transport) bind(n wire.LinkNo, ap netip.AddrPort) error {
	network := "udp6"
	if ap.Addr().Is4() {
		network = "udp4"
	}
	conn, err := net.ListenUDP(network, net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return fmt.Errorf("udp: listen on link %d (%s): %w", n, ap, err)
	}
	// Best effort: the kernel caps these at net.core.{r,w}mem_max, and a
	// smaller buffer only means earlier loss under bursts.
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	if err := enableRecvErr(conn, ap.Addr().Is4()); err != nil {
		conn.Close()
		return fmt.Errorf("udp: IP_RECVERR on link %d (%s): %w", n, ap, err)
	}
	l := &link{
		no: n, conn: conn, queue: make(chan outgoing, queueLen),
		sources: make(map[netip.AddrPort]wire.NodeID),
		windows: make(map[wire.NodeID]*window),
	}
	for id, p := range t.peers {
		if ap := p.Addrs[n]; ap.IsValid() {
			l.sources[ap] = id
			l.windows[id] = new(window)
		}
	}
	t.links[n] = l
	return nil
}

// LocalAddr returns the address link n is bound to, with the port the
// kernel chose if Config.Local asked for port 0; the zero AddrPort if the
// link is not configured.
func (t *Transport) LocalAddr(n wire.LinkNo) netip.AddrPort {
	if int(n) >= len(t.links) || t.links[n] == nil {
		return netip.AddrPort{}
	}
	return unmap(t.links[n].conn.LocalAddr().(*net.UDPAddr).AddrPort())
}

// Epoch returns the random epoch of this transport's Sealer, which every
// packet it sends carries.
func (t *Transport) Epoch() uint32 { return t.sealer.Epoch() }

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats { return t.stats.snapshot() }

// Send seals d and writes it to the peer's address on d.Link. When nothing
// waits in the link's queue and Config.Delay gives none, it writes it
// itself (a UDP write: it waits only for room in the socket buffer);
// otherwise it queues it for the link's writer, which writes it after
// Config.Delay in queue order, and returns at once. Loss is
// silent and counted in Stats.Dropped: an unknown peer or link, an
// oversized payload, a full queue, a DropFilter hit, or a closed transport.
// The transport may keep d.Payload after the call and never modifies it.
func (t *Transport) Send(d wire.Datagram) {
	l, addr, ok := t.route(d)
	if !ok {
		return
	}
	o := outgoing{d: d, addr: addr}
	if t.cfg.Delay != nil {
		if delay := t.cfg.Delay(d.Link); delay > 0 {
			o.due = time.Now().Add(delay)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if o.due.IsZero() && l.pending == 0 {
		// Nothing ahead of it: write it now, without waking the writer
		// (a hand-off between goroutines per packet was a good part of a
		// token hop's time).
		l.buf = t.writeOne(l, l.buf[:0], o)
		return
	}
	t.enqueue(l, o)
}

// drop counts a datagram dropped for reason r.
func (t *Transport) drop(r Drop) { t.stats.dropped[r].Add(1) }

// Bounds of one segmented write (UDP_SEGMENT): the kernel takes at most 64
// segments and one IP datagram's worth of bytes.
const (
	maxSegments = 64
	maxGSOBytes = 60000
	// maxGSOSegment bounds the packets written segmented: a segment must
	// fit the path's MTU, and 1452 bytes fit an IPv6 datagram on an
	// Ethernet MTU of 1500; larger packets go one by one.
	maxGSOSegment = 1452
)

// group is a run of sealed packets of one size to one peer on one link,
// written together by SendBatch.
type group struct {
	l    *link
	to   wire.NodeID
	addr netip.AddrPort
	size int // of each sealed packet
	n    int
	buf  []byte
}

// SendBatch sends ds as Send would send them one after the other, with
// fewer system calls: of the datagrams Send would write at once (nothing
// queued on the link, no Config.Delay), equal-sized ones to one peer on
// one link are sealed into one buffer and written with one call that the
// kernel cuts into the datagrams (UDP generic segmentation offload, which QUIC stacks
// use; knet writes each packet). The runs gathered at a time all have one
// size; a datagram of another size first flushes them, in the order of
// their first datagrams. So each peer receives its datagrams in the order
// of ds, and a datagram never overtakes one of another size sent before
// it (Totem's token leaves after the messages it announces); it may
// overtake equal-sized ones to other peers. Where the kernel cannot
// segment, the packets are written one by one from then on.
func (t *Transport) SendBatch(ds []wire.Datagram) {
	if t.noGSO.Load() || len(ds) < 2 {
		for _, d := range ds {
			t.Send(d)
		}
		return
	}
	// Every link locked, in link order, for the whole batch, so that no
	// Send slips in between.
	for _, l := range t.links {
		if l != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
		}
	}
	groups := t.groups[:0]
	for _, d := range ds {
		l, addr, ok := t.route(d)
		if !ok {
			continue
		}
		if t.cfg.Delay != nil {
			if delay := t.cfg.Delay(d.Link); delay > 0 || l.pending > 0 {
				// As Send: behind the link's queue, or after its delay.
				o := outgoing{d: d, addr: addr}
				if delay > 0 {
					o.due = time.Now().Add(delay)
				}
				t.enqueue(l, o)
				continue
			}
		}
		if l.pending > 0 {
			t.enqueue(l, outgoing{d: d, addr: addr})
			continue
		}
		size := d.Len() + Overhead
		if len(groups) > 0 && groups[0].size != size {
			groups = t.flushGroups(groups)
		}
		k := -1
		for j := range groups {
			if groups[j].l == l && groups[j].to == d.To {
				k = j
				break
			}
		}
		if k >= 0 && (groups[k].n == maxSegments || len(groups[k].buf)+size > maxGSOBytes) {
			groups = t.flushGroups(groups)
			k = -1
		}
		if k < 0 {
			var buf []byte
			if n := len(groups); n < cap(groups) {
				buf = groups[:n+1][n].buf[:0] // reuse the buffer of an earlier batch
			}
			groups = append(groups, group{l: l, to: d.To, addr: addr, size: size, buf: buf})
			k = len(groups) - 1
		}
		g := &groups[k]
		d.Link = l.no
		pkt, err := t.sealer.SealDatagram(g.buf, d)
		if err != nil { // route checked link and size; cannot happen
			panic("udp: seal after SendBatch's checks: " + err.Error())
		}
		g.buf = pkt
		g.n++
	}
	t.groups = t.flushGroups(groups)
}

// enqueue puts o in link l's queue for its writer, or drops it when the
// queue is full; l.mu is held.
func (t *Transport) enqueue(l *link, o outgoing) {
	select {
	case l.queue <- o:
		l.pending++
	default:
		t.drop(DropQueueFull)
	}
}

// route runs Send's checks on d and returns its link and the peer's
// address, or counts a datagram that cannot go.
func (t *Transport) route(d wire.Datagram) (*link, netip.AddrPort, bool) {
	switch {
	case t.closed.Load():
		t.drop(DropClosed)
		return nil, netip.AddrPort{}, false
	case t.cfg.DropFilter != nil && t.cfg.DropFilter(d):
		t.drop(DropFiltered)
		return nil, netip.AddrPort{}, false
	case d.Len() > MaxPayload:
		t.drop(DropOversized)
		return nil, netip.AddrPort{}, false
	}
	p := t.peers[d.To]
	if d.From != t.cfg.Self || p == nil || int(d.Link) >= len(t.links) ||
		t.links[d.Link] == nil || !p.Addrs[d.Link].IsValid() {
		t.drop(DropNoRoute)
		return nil, netip.AddrPort{}, false
	}
	return t.links[d.Link], p.Addrs[d.Link], true
}

// flushGroups writes every group in the order of their first packets and
// returns groups emptied, their buffers kept for reuse. The links are
// locked.
func (t *Transport) flushGroups(groups []group) []group {
	for i := range groups {
		t.writeGroup(&groups[i])
	}
	for i := range groups {
		groups[i] = group{buf: groups[i].buf[:0]}
	}
	return groups[:0]
}

// writeGroup writes g's packets: with one segmented write when there are
// several and the kernel can segment, else one by one.
func (t *Transport) writeGroup(g *group) {
	if g.n == 0 {
		return
	}
	if g.n > 1 && g.size <= maxGSOSegment && !t.noGSO.Load() {
		var err error
		for range sendAttempts {
			if err = t.writeSegs(g.l.conn, g.buf, g.size, g.addr); err == nil || !peerErrno(err) || t.closed.Load() {
				break
			}
			t.socketErrors(g.l)
		}
		switch {
		case err == nil:
			t.stats.sent.Add(uint64(g.n))
			return
		case gsoUnsupported(err):
			t.noGSO.Store(true) // and write them one by one below
		default:
			if !t.closed.Load() {
				t.stats.sendErrors.Add(uint64(g.n))
			}
			return
		}
	}
	for off := 0; off < len(g.buf); off += g.size {
		if err := t.sendTo(g.l, g.buf[off:off+g.size], g.addr); err != nil {
			if !t.closed.Load() {
				t.stats.sendErrors.Add(1)
			}
			continue
		}
		t.stats.sent.Add(1)
	}
}

// writeOne seals o into buf and writes it on link l, counting the
// outcome; l.mu is held. It returns buf for reuse.
func (t *Transport) writeOne(l *link, buf []byte, o outgoing) []byte {
	d := o.d
	d.Link = l.no
	pkt, err := t.sealer.SealDatagram(buf, d)
	if err != nil { // Send checked link and size; cannot happen
		panic("udp: seal after Send's checks: " + err.Error())
	}
	if err := t.sendTo(l, pkt, o.addr); err != nil {
		if !t.closed.Load() {
			t.stats.sendErrors.Add(1)
		}
		return pkt[:0]
	}
	t.stats.sent.Add(1)
	return pkt[:0]
}

// write is link l's writer: it waits out each packet's delay, seals it and
// writes it, in queue order, until Close.
func (t *Transport) write(l *link) {
	defer t.wg.Done()
	buf := make([]byte, 0, MaxPacket)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var o outgoing
		select {
		case <-t.done:
			return
		case o = <-l.queue:
		}
		if !o.due.IsZero() {
			if wait := time.Until(o.due); wait > 0 {
				timer.Reset(wait)
				select {
				case <-t.done:
					timer.Stop()
					return
				case <-timer.C:
				}
			}
		}
		l.mu.Lock()
		buf = t.writeOne(l, buf[:0], o)
		l.pending--
		l.mu.Unlock()
	}
}

// sendAttempts bounds the sends of one datagram that the pending errors of
// earlier ICMP answers can fail.
const sendAttempts = 4

// sendTo sends pkt to addr on link l. With IP_RECVERR, an ICMP error for an
// earlier datagram (to any peer) is returned by the socket's next send,
// and that send puts nothing on the wire: the kernel reports the pending
// error instead (and clears it). So the error queue is read, which says
// which peer the ICMP was about, and the datagram is sent again; without
// the retry, every ping to a dead peer would cost a live peer the next
// packet, its token or JOIN among them.
func (t *Transport) sendTo(l *link, pkt []byte, addr netip.AddrPort) error {
	var err error
	for range sendAttempts {
		if _, err = l.conn.WriteToUDPAddrPort(pkt, addr); err == nil || !peerErrno(err) || t.closed.Load() {
			return err
		}
		t.socketErrors(l)
	}
	return err
}

// read is link l's reader: it reads packets until Close and hands the good
// ones to recv.
func (t *Transport) read(l *link) {
	defer t.wg.Done()
	// One byte more than any acceptable packet, and more than any UDP
	// payload, so a read is never truncated.
	buf := make([]byte, 1<<16)
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if t.closed.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			if peerErrno(err) {
				t.socketErrors(l)
				continue
			}
			t.stats.readErrors.Add(1)
			continue
		}
		src = unmap(src)
		from, payload, r := t.accept(l, buf[:n], src)
		if r != accepted {
			t.stats.rejected[r].Add(1)
			if t.cfg.Rejected != nil {
				t.cfg.Rejected(l.no, src, l.sources[src], r)
			}
			if t.onReject != nil {
				t.onReject(r)
			}
			continue
		}
		t.stats.received.Add(1)
		t.recv(l.no, from, payload)
	}
}

// socketErrors drains link l's error queue and reports each ICMP error
// for a configured peer address to Config.Unreachable.
func (t *Transport) socketErrors(l *link) {
	for _, ap := range drainErrors(l.conn) {
		id, ok := l.sources[ap]
		if !ok {
			continue
		}
		t.stats.icmpErrors.Add(1)
		if t.cfg.Unreachable != nil {
			t.cfg.Unreachable(l.no, id)
		}
	}
}

// accepted is accept's result for a good packet.
const accepted Reason = NumReasons

// accept runs every check on pkt, received on l from src, in the order of
// the Reason constants, and returns the sender and a fresh copy of the
// payload, or the first reason to reject it.
func (t *Transport) accept(l *link, pkt []byte, src netip.AddrPort) (wire.NodeID, []byte, Reason) {
	id, ok := l.sources[src]
	switch {
	case !ok:
		return 0, nil, RejectUnknownSource
	case len(pkt) > t.maxPacket:
		return 0, nil, RejectOversized
	case len(pkt) < Overhead:
		return 0, nil, RejectBadSize
	}
	h, err := ParseHeader(pkt)
	switch {
	case err != nil:
		return 0, nil, RejectBadHeader
	case h.Link != l.no:
		return 0, nil, RejectWrongLink
	case h.From != id:
		return 0, nil, RejectSenderMismatch
	case h.To != t.cfg.Self:
		return 0, nil, RejectWrongDest
	}
	w := l.windows[id]
	if !w.check(h.Epoch, h.Counter) {
		return 0, nil, RejectReplayed
	}
	buf := t.rxBuffer(len(pkt) - Overhead)
	_, payload, err := t.sealer.Open(buf, pkt)
	if err != nil {
		t.Recycle(buf)
		return 0, nil, RejectAuth
	}
	w.commit(h.Epoch, h.Counter)
	return id, payload, accepted
}

// Received payloads up to rxBufferSize bytes are read into buffers of that
// capacity, so that any of them can take the next packet; rxSpareLen bounds
// the buffers kept for reuse (128 KiB).
const (
	rxBufferSize = 2048
	rxSpareLen   = 64
)

// rxBuffer returns an empty buffer for a received payload of n bytes: one
// handed back through Recycle if there is one, else a new one.
func (t *Transport) rxBuffer(n int) []byte {
	if n > rxBufferSize {
		return make([]byte, 0, n)
	}
	select {
	case b := <-t.rxSpare:
		return b
	default:
		return make([]byte, 0, rxBufferSize)
	}
}

// Recycle hands back a payload that the receive callback got and is done
// with, so that a later packet is read into it instead of a new buffer:
// the agent's loop does so once the node has taken the datagram (the
// engine keeps copies of what it stores). The caller must not touch
// payload afterwards. Optional; safe for concurrent use.
func (t *Transport) Recycle(payload []byte) {
	if cap(payload) != rxBufferSize {
		return
	}
	select {
	case t.rxSpare <- payload[:0]:
	default:
	}
}

// Close stops the readers and writers, closes the sockets and waits for the
// goroutines (including running recv calls) to return. Datagrams still
// queued are discarded. Send after Close drops. Close is idempotent; later
// calls return the first call's result.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.closed.Store(true)
		close(t.done)
		t.closeErr = t.closeConns()
		t.wg.Wait()
	})
	return t.closeErr
}

// closeConns closes every open socket and joins the errors.
func (t *Transport) closeConns() error {
	var errs []error
	for _, l := range t.links {
		if l == nil {
			continue
		}
		if err := l.conn.Close(); err != nil {
			errs = append(errs, fmt.Errorf("udp: close link %d: %w", l.no, err))
		}
	}
	return errors.Join(errs...)
}
