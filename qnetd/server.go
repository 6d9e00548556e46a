package qnetd

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// Timeouts of a connection. The handshake and hello must complete within
// handshakeTimeout; afterwards a client that sends nothing for idleTimeout
// is dropped (above qnetd's largest dead-peer interval, 1.5 × 2 min, so the
// arbiter's own detection normally comes first); a write that cannot
// complete within writeTimeout closes the connection.
const (
	handshakeTimeout = 10 * time.Second
	idleTimeout      = 200 * time.Second
	writeTimeout     = 10 * time.Second
	// outLen bounds the frames queued for one client; a client that lets
	// it fill is not reading and is disconnected.
	outLen = 256
	// maxHandshakes bounds the connections in their handshake and hello at
	// once: each costs a goroutine and a TLS handshake for up to
	// handshakeTimeout, so a flood of idle connections could otherwise
	// pile them up. Beyond it a new connection is closed at once (and
	// counted); an honest qdevice retries at its next connect timeout.
	maxHandshakes = 64
)

// Config configures the daemon.
type Config struct {
	// Listen is the TCP address (default ":5403").
	Listen string
	// DataDir holds the CA and server certificate (default DefaultDataDir).
	DataDir string
	// SANs are the server certificate's names when it is first created
	// (default DefaultSANs()).
	SANs []string
	// AdminSocket, when set, serves `quorate qnetd status` there.
	AdminSocket string
	// MetricsAddr, when set, serves Prometheus metrics at /metrics there.
	MetricsAddr string
	// Logger receives the logs; nil logs text to stderr.
	Logger *slog.Logger
}

// Server is a running daemon: one arbiter per cluster name, owned by one
// goroutine (the loop); connections feed it through a channel.
type Server struct {
	cfg   Config
	log   *slog.Logger
	ln    net.Listener
	tls   *tls.Config
	start time.Time
	stats counters

	events chan event
	admin  *adminServer
	// handshakes holds a token per connection in its handshake and hello.
	handshakes chan struct{}
	wg         sync.WaitGroup

	// owned by the loop
	clusters map[string]*clusterState
	nextID   uint64
}

// counters are the daemon's statistics, readable from any goroutine.
type counters struct {
	accepted, handshakeFailed, wrongCluster, badHello atomic.Uint64
	handshakesBusy                                    atomic.Uint64
	badFrames, framesIn, framesOut, slowClients       atomic.Uint64
	replaced, clusters, clients, arbiterDropped       atomic.Uint64
}

// clusterState is one cluster's arbiter and its clients' connections.
type clusterState struct {
	name    string
	arb     *quorum.Arbiter
	conns   map[wire.NodeID]*conn
	dropped uint64 // the arbiter's Dropped count already added to the total
}

// conn is one client connection after a successful hello.
type conn struct {
	id      uint64
	nc      net.Conn
	peer    string
	cluster string
	node    wire.NodeID
	since   time.Time
	out     chan []byte // framed bytes; nil closes after what came before
	closed  chan struct{}
	once    sync.Once

	// what the loop learnt from the traffic, for status
	algo      quorum.Algorithm
	tie       quorum.TieBreaker
	heartbeat time.Duration
	config    []wire.NodeID
	inited    bool
	ring      quorum.RingID
	members   []wire.NodeID
	vote      quorum.Vote
}

func (c *conn) close() { c.once.Do(func() { close(c.closed); c.nc.Close() }) }

// send queues framed bytes without blocking; a full queue disconnects the
// client.
func (c *conn) send(b []byte) bool {
	select {
	case c.out <- b:
		return true
	default:
		c.close()
		return false
	}
}

type evKind uint8

const (
	evOpen evKind = iota
	evFrame
	evClosed
	evAdmin
)

type event struct {
	kind    evKind
	c       *conn
	payload []byte
	admin   chan<- Status
}

// Listen prepares the data directory (creating the CA and server
// certificate on first start) and binds the TCP listener, the admin socket
// and the metrics server. Serve runs the daemon.
func Listen(cfg Config) (*Server, error) {
	cfg.Listen = cmp.Or(cfg.Listen, fmt.Sprintf(":%d", DefaultPort))
	cfg.DataDir = cmp.Or(cfg.DataDir, DefaultDataDir)
	if cfg.SANs == nil {
		cfg.SANs = DefaultSANs()
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	created, err := Init(cfg.DataDir, cfg.SANs)
	if err != nil {
		return nil, err
	}
	for _, f := range created {
		log.Info("created certificate", "file", f)
	}
	tc, leaf, err := serverConfig(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if time.Now().After(leaf.NotAfter) {
		return nil, fmt.Errorf("qnetd: the server certificate in %s expired at %s; remove server.crt and server.key to issue a new one",
			cfg.DataDir, leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("qnetd: %w", err)
	}
	s := &Server{cfg: cfg, log: log, ln: ln, tls: tc, start: time.Now(),
		events: make(chan event, 1024), clusters: map[string]*clusterState{},
		handshakes: make(chan struct{}, maxHandshakes)}
	if cfg.AdminSocket != "" {
		if s.admin, err = listenAdmin(cfg.AdminSocket, s.events, log); err != nil {
			ln.Close()
			return nil, err
		}
	}
	log.Info("qnetd listening", "addr", ln.Addr().String(), "data_dir", cfg.DataDir,
		"server_names", slices.Concat(leaf.DNSNames, ipStrings(leaf.IPAddresses)),
		"admin", cfg.AdminSocket, "metrics", cfg.MetricsAddr)
	return s, nil
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

// Addr is the bound TCP address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run listens and serves until ctx is done.
func Run(ctx context.Context, cfg Config) error {
	s, err := Listen(cfg)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Serve accepts connections and runs the arbiters until ctx is done; then
// it closes every connection (the clients see their streams close) and
// returns nil.
func (s *Server) Serve(ctx context.Context) error {
	if s.cfg.MetricsAddr != "" {
		stop, err := serveMetrics(s.cfg.MetricsAddr, s, s.log)
		if err != nil {
			s.ln.Close()
			if s.admin != nil {
				s.admin.close()
			}
			return err
		}
		defer stop()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if s.admin != nil {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.admin.serve(ctx) }()
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.accept(ctx) }()
	s.loop(ctx)
	s.ln.Close()
	if s.admin != nil {
		s.admin.close()
	}
	for _, cs := range s.clusters {
		for _, c := range cs.conns {
			c.close()
		}
	}
	s.wg.Wait()
	s.log.Info("qnetd stopped")
	return nil
}

// accept hands each new connection to its own goroutine.
func (s *Server) accept(ctx context.Context) {
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("accept failed", "err", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return
		}
		s.stats.accepted.Add(1)
		select {
		case s.handshakes <- struct{}{}:
		default:
			if s.stats.handshakesBusy.Add(1)%100 == 1 {
				s.log.Warn("too many connections in their handshake; closing new ones",
					"peer", nc.RemoteAddr().String(), "limit", maxHandshakes)
			}
			nc.Close()
			continue
		}
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.serveConn(ctx, nc) }()
	}
}

// serveConn runs the handshake and hello, then reads frames into the loop
// until the stream ends; a writer goroutine drains the client's queue.
func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	handshaking := true
	done := func() {
		if handshaking {
			handshaking = false
			<-s.handshakes
		}
	}
	defer done()
	peer := nc.RemoteAddr().String()
	tc := tls.Server(nc, s.tls)
	stop := context.AfterFunc(ctx, func() { tc.Close() })
	defer stop()
	tc.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.HandshakeContext(ctx); err != nil {
		s.stats.handshakeFailed.Add(1)
		s.log.Warn("TLS handshake failed", "peer", peer, "err", err)
		tc.Close()
		return
	}
	certCluster := tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	b, err := ReadFrame(tc)
	if err != nil {
		s.refuse(tc, peer, certCluster, "badhello", fmt.Errorf("reading hello: %w", err))
		return
	}
	h, err := DecodeHello(b)
	if err != nil {
		s.refuse(tc, peer, certCluster, "badhello", err)
		return
	}
	if h.Cluster != certCluster {
		s.refuse(tc, peer, certCluster, "cluster",
			fmt.Errorf("client claims cluster %q but its certificate is for cluster %q", h.Cluster, certCluster))
		return
	}
	if h.Node == 0 {
		s.log.Info("probe accepted", "peer", peer, "cluster", h.Cluster)
		WriteFrame(tc, AppendHelloReply(nil, HelloReply{OK: true}))
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	done()
	c := &conn{nc: tc, peer: peer, cluster: h.Cluster, node: h.Node, since: time.Now(),
		out: make(chan []byte, outLen), closed: make(chan struct{})}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.write(c) }()
	if !s.post(ctx, event{kind: evOpen, c: c}) {
		c.close()
		return
	}
	for {
		tc.SetReadDeadline(time.Now().Add(idleTimeout))
		b, err := ReadFrame(tc)
		if err != nil {
			select {
			case <-c.closed: // closed by the daemon
			case <-ctx.Done(): // the daemon is stopping
			default:
				if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrFrameEmpty) || errors.Is(err, ErrTruncated) {
					s.stats.badFrames.Add(1)
					s.log.Warn("bad frame, closing the connection", "peer", peer, "cluster", c.cluster,
						"node", uint32(c.node), "err", err)
				} else if !errors.Is(err, io.EOF) {
					s.log.Info("connection lost", "peer", peer, "cluster", c.cluster, "node", uint32(c.node), "err", err)
				}
			}
			c.close()
			s.post(ctx, event{kind: evClosed, c: c})
			return
		}
		s.stats.framesIn.Add(1)
		if !s.post(ctx, event{kind: evFrame, c: c, payload: b}) {
			c.close()
			return
		}
	}
}

// post hands an event to the loop; false once the daemon is stopping.
func (s *Server) post(ctx context.Context, ev event) bool {
	select {
	case s.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// refuse answers a failed hello with the reason and closes the connection.
func (s *Server) refuse(tc *tls.Conn, peer, certCluster, what string, err error) {
	if what == "cluster" {
		s.stats.wrongCluster.Add(1)
	} else {
		s.stats.badHello.Add(1)
	}
	s.log.Warn("connection refused", "peer", peer, "cert_cluster", certCluster, "err", err)
	tc.SetWriteDeadline(time.Now().Add(time.Second))
	WriteFrame(tc, AppendHelloReply(nil, HelloReply{Reason: err.Error()}))
	tc.Close()
}

// write drains c's queue onto the stream; nil in the queue closes it.
func (s *Server) write(c *conn) {
	defer c.close()
	for {
		select {
		case <-c.closed:
			return
		case b := <-c.out:
			if b == nil {
				return
			}
			c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := c.nc.Write(b); err != nil {
				s.log.Info("write failed, closing the connection", "peer", c.peer, "cluster", c.cluster,
					"node", uint32(c.node), "err", err)
				return
			}
			s.stats.framesOut.Add(1)
		}
	}
}

// now reads the monotonic clock as an arbiter instant.
func (s *Server) now() wire.Instant { return wire.Instant(time.Since(s.start)) }

// loop owns the arbiters: it applies each connection event, performs the
// arbiter's Ready and re-arms the timer for the earliest deadline.
func (s *Server) loop(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			now := s.now()
			for _, cs := range s.clusters {
				cs.arb.Advance(now)
				s.flush(cs)
			}
		case ev := <-s.events:
			s.handle(ev)
		}
		s.rearm(timer)
	}
}

// handle applies one event.
func (s *Server) handle(ev event) {
	c := ev.c
	switch ev.kind {
	case evAdmin:
		ev.admin <- s.status()
		return
	case evOpen:
		cs := s.clusters[c.cluster]
		if cs == nil {
			cs = &clusterState{name: c.cluster, arb: quorum.NewArbiter(), conns: map[wire.NodeID]*conn{}}
			s.clusters[c.cluster] = cs
			s.log.Info("cluster appeared", "cluster", c.cluster)
		}
		if old := cs.conns[c.node]; old != nil {
			s.stats.replaced.Add(1)
			s.log.Info("node reconnected; dropping its old connection", "cluster", c.cluster,
				"node", uint32(c.node), "old_peer", old.peer, "peer", c.peer)
			old.close()
		}
		s.nextID++
		c.id = s.nextID
		cs.conns[c.node] = c
		s.log.Info("client connected", "cluster", c.cluster, "node", uint32(c.node), "peer", c.peer)
		c.send(AppendFrame(nil, AppendHelloReply(nil, HelloReply{OK: true})))
		cs.arb.Connect(s.now(), c.node)
		s.flush(cs)
	case evFrame:
		cs := s.clusters[c.cluster]
		if cs == nil || cs.conns[c.node] != c {
			return // an old stream of a node that has since reconnected
		}
		s.snoopIn(c, ev.payload)
		cs.arb.Receive(s.now(), c.node, ev.payload)
		s.flush(cs)
	case evClosed:
		cs := s.clusters[c.cluster]
		if cs == nil || cs.conns[c.node] != c {
			return
		}
		delete(cs.conns, c.node)
		s.log.Info("client disconnected", "cluster", c.cluster, "node", uint32(c.node), "peer", c.peer)
		cs.arb.Disconnect(s.now(), c.node)
		s.flush(cs)
	}
}

// flush performs a cluster's arbiter output in order and forgets a
// cluster without clients, as corosync-qnetd does.
func (s *Server) flush(cs *clusterState) {
	rd := cs.arb.Ready()
	for _, o := range rd.Out {
		c := cs.conns[o.To]
		if c == nil {
			continue
		}
		if o.Close {
			c.send(nil)
			delete(cs.conns, o.To)
			continue
		}
		s.snoopOut(c, o.Payload)
		if !c.send(AppendFrame(nil, o.Payload)) {
			s.stats.slowClients.Add(1)
			s.log.Warn("client does not read its messages; disconnecting it", "cluster", cs.name,
				"node", uint32(c.node), "peer", c.peer)
		}
	}
	for _, e := range rd.Events {
		s.log.Info("arbiter", "cluster", cs.name, "event", e.String())
	}
	cs.arb.Ack()
	if d := cs.arb.Stats().Dropped; d > cs.dropped {
		s.stats.arbiterDropped.Add(d - cs.dropped)
		cs.dropped = d
	}
	if len(cs.arb.Clients()) == 0 && len(cs.conns) == 0 {
		delete(s.clusters, cs.name)
		s.log.Info("cluster has no clients left", "cluster", cs.name)
	}
	var clients int
	for _, cs := range s.clusters {
		clients += len(cs.conns)
	}
	s.stats.clusters.Store(uint64(len(s.clusters)))
	s.stats.clients.Store(uint64(clients))
}

// rearm sets the timer to the earliest arbiter deadline.
func (s *Server) rearm(timer *time.Timer) {
	var next wire.Instant
	for _, cs := range s.clusters {
		if d := cs.arb.Ready().Deadline; d != 0 && (next == 0 || d < next) {
			next = d
		}
	}
	timer.Stop()
	if next != 0 {
		timer.Reset(max(time.Duration(next-s.now()), 0))
	}
}

// snoopIn records what a client's message says about it, for status.
func (s *Server) snoopIn(c *conn, b []byte) {
	m, err := quorum.DecodeDevMsg(b)
	if err != nil {
		return
	}
	switch m.Kind {
	case quorum.DevInit:
		c.algo, c.tie, c.heartbeat, c.inited = m.Algorithm, m.TieBreaker, m.Heartbeat, true
		c.config = slices.Sorted(slices.Values(m.Nodes))
		if c.ring == (quorum.RingID{}) {
			c.ring = m.Ring
		}
	case quorum.DevMembership:
		c.ring, c.members = m.Ring, slices.Clone(m.Nodes)
	}
}

// snoopOut records the decision the arbiter sent.
func (s *Server) snoopOut(c *conn, b []byte) {
	m, err := quorum.DecodeDevMsg(b)
	if err != nil {
		return
	}
	switch m.Kind {
	case quorum.DevReply, quorum.DevVoteInfo:
		if m.Vote == quorum.VoteACK || m.Vote == quorum.VoteNACK {
			c.vote = m.Vote
		}
	case quorum.DevInitReply:
		if m.Error != quorum.InitOK {
			c.inited = false
		}
	}
}
