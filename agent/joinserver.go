package agent

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// joinTimeout bounds one join connection, the configuration change
// included.
const joinTimeout = 20 * time.Second

// maxJoinConns bounds the join connections served at once; more are
// refused as busy, so a flood of connections costs bounded memory.
const maxJoinConns = 16

// joinStats counts the join listener's outcomes; safe for concurrent use.
type joinStats struct {
	mu sync.Mutex
	m  map[string]uint64
}

func (s *joinStats) add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]uint64{}
	}
	s.m[k]++
}

func (s *joinStats) snapshot() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m)
}

// joinServer is the agent's join listener (see join.go for the protocol).
type joinServer struct {
	ln    net.Listener
	l     *loop
	key   []byte // the cluster authkey
	log   *slog.Logger
	stats *joinStats
	wg    sync.WaitGroup
	slots chan struct{} // len(slots) connections in progress; nil: maxJoinConns
}

// serve accepts connections until the listener is closed.
func (s *joinServer) serve(ctx context.Context) {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("join listener accept failed; nodes cannot join through this agent", "err", err)
			}
			return
		}
		if s.slots == nil {
			s.slots = make(chan struct{}, maxJoinConns)
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.stats.add("refused_busy")
			conn.SetDeadline(time.Now().Add(time.Second))
			conn.Write(appendFrame(nil, frameRefused, []byte("busy: too many joins in progress, retry")))
			conn.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.slots }()
			defer conn.Close()
			s.handle(ctx, conn)
		}()
	}
}

// close stops the listener and waits for the connections in progress.
func (s *joinServer) close() {
	s.ln.Close()
	s.wg.Wait()
}

// refusal is a join refused before or at authentication: counted under
// refused_<reason>, logged with the peer address, and told to the peer in
// clear (the text never holds a secret).
func (s *joinServer) refuse(conn net.Conn, reason, msg string, err error) {
	s.stats.add("refused_" + reason)
	s.log.Warn("join refused", "peer", conn.RemoteAddr().String(), "reason", reason, "err", err)
	conn.Write(appendFrame(nil, frameRefused, []byte(msg)))
}

// frameReason names a readFrame failure for the counters.
func frameReason(err error) string {
	if errors.Is(err, errTruncated) {
		return "truncated"
	}
	return "malformed"
}

// handle runs one join connection.
func (s *joinServer) handle(ctx context.Context, conn net.Conn) {
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	conn.SetDeadline(time.Now().Add(joinTimeout))
	peer := conn.RemoteAddr().String()

	f, err := readFrame(conn)
	if err == nil && f.typ != frameHello {
		err = fmt.Errorf("%w: frame type %d where a hello was due", errMalformed, f.typ)
	}
	if err != nil {
		s.refuse(conn, frameReason(err), "bad hello", err)
		return
	}
	h, err := decodeHello(f.body)
	if err != nil {
		s.refuse(conn, "malformed", "bad hello", err)
		return
	}
	psk := s.key
	var tok struct {
		rec     tokenRecord
		version uint64
	}
	if h.mode == modeToken {
		var terr error
		if err := s.l.inLoop(ctx, func() { tok.rec, tok.version, terr = s.l.lookupToken(h.tokenID, time.Now()) }); err != nil {
			s.refuse(conn, "unavailable", "the agent is stopping", err)
			return
		}
		if terr != nil {
			s.refuse(conn, "token", terr.Error(), fmt.Errorf("token %s: %w", h.tokenID, terr))
			return
		}
		psk = tok.rec.PSK
	}
	var sn [nonceSize]byte
	rand.Read(sn[:])
	challenge := appendFrame(nil, frameChallenge, append([]byte{joinVersion}, sn[:]...))
	if _, err := conn.Write(challenge); err != nil {
		s.stats.add("refused_truncated")
		s.log.Warn("join refused", "peer", peer, "reason", "truncated", "err", err)
		return
	}
	keys, err := deriveKeys(psk, f.raw, challenge)
	if err != nil {
		s.refuse(conn, "internal", "internal error", err)
		return
	}
	f, err = readFrame(conn)
	if err == nil && f.typ != frameRequest {
		err = fmt.Errorf("%w: frame type %d where a request was due", errMalformed, f.typ)
	}
	if err != nil {
		s.refuse(conn, frameReason(err), "bad request frame", err)
		return
	}
	plain, err := keys.open(keys.client, frameRequest, f.body)
	if err != nil {
		what := "wrong authkey"
		if h.mode == modeToken {
			what = "wrong join token secret"
		}
		s.refuse(conn, "auth", "authentication failed: "+what+", or a replayed request", err)
		return
	}
	// From here on the peer has proven it knows the PSK: answers are
	// sealed, so it can trust them in turn.
	reply := s.join(ctx, peer, h, tok.rec, tok.version, plain)
	b, _ := json.Marshal(reply)
	if !reply.OK {
		s.stats.add("refused_request")
		s.log.Warn("join refused", "peer", peer, "reason", "request", "err", reply.Error)
	} else {
		s.stats.add("accepted")
	}
	if _, err := conn.Write(keys.seal(keys.server, frameReply, b)); err != nil {
		s.log.Warn("join reply not delivered; the node is in the configuration but has no copy of it", "peer", peer, "err", err)
	}
}

// join checks an authenticated request and adds the node to the cluster's
// corosync.conf.
func (s *joinServer) join(ctx context.Context, peer string, h hello, rec tokenRecord, version uint64, plain []byte) JoinReply {
	fail := func(format string, args ...any) JoinReply { return JoinReply{Error: fmt.Sprintf(format, args...)} }
	req, err := decodeJoinRequest(plain)
	if err != nil {
		return fail("%v", err)
	}
	links := make([]LinkSpec, 0, len(req.Links))
	for _, l := range req.Links {
		links = append(links, LinkSpec{Number: l.Link, Addr: l.Addr, Priority: -1})
	}
	// The add carries the qdevice client bundle when the new node takes
	// it and the store has one (quorate qdevice setup put it there).
	var bundle []byte
	add := func(b []byte) ([]byte, uint32, error) {
		var id uint32
		nb, err := editConf(ConfigKey, b, func(c *corosyncconf.Config) error {
			var err error
			id, err = addNode(c, req.Name, req.NodeID, req.Votes, links, bundle != nil)
			return err
		})
		return nb, id, err
	}
	// Check first, so that a token is not spent on a request the cluster
	// refuses anyway.
	var pre error
	if err := s.l.inLoop(ctx, func() {
		if b, ok := s.l.node.ReadLocal(BundleKey); ok && req.AcceptBundle {
			bundle = slices.Clone(b.Value)
		}
		e, ok := s.l.node.ReadLocal(ConfigKey)
		switch {
		case s.l.node.ConfigWritable() != nil:
			pre = s.l.node.ConfigWritable()
		case !ok:
			pre = errors.New("the cluster configuration is not in the store yet; retry in a moment")
		default:
			_, _, pre = add(e.Value)
		}
	}); err != nil {
		return fail("%v", err)
	}
	if pre != nil {
		return fail("%v", pre)
	}
	if h.mode == modeToken {
		ch := make(chan error, 1)
		if err := s.l.do(ctx, func() { s.l.consumeToken(h.tokenID, version, rec, req.Name, func(err error) { ch <- err }) }); err != nil {
			return fail("%v", err)
		}
		select {
		case err := <-ch:
			if err != nil {
				return fail("%v", err)
			}
		case <-ctx.Done():
			return fail("the join token could not be consumed in time")
		}
	}
	var id uint32
	nb, err := s.l.editClusterConfig(ctx, func(b []byte) ([]byte, error) {
		nb, nid, err := add(b)
		id = nid
		return nb, err
	})
	if err != nil {
		return fail("%v", err)
	}
	s.log.Info("node joined the cluster configuration", "peer", peer, "name", req.Name, "nodeid", id)
	reply := JoinReply{OK: true, NodeID: id, Config: string(nb), AuthKey: s.key}
	if c, err := corosyncconf.Parse(ConfigKey, nb); err == nil && c.Quorum.Device != nil {
		reply.QdeviceBundle = bundle
	}
	return reply
}

// inLoop runs f in the loop goroutine and waits until it has run.
func (l *loop) inLoop(ctx context.Context, f func()) error {
	done := make(chan struct{})
	if err := l.do(ctx, func() { f(); close(done) }); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
