package agent

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/qnetd"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// BundleFile is the qdevice bundle's name in the data directory, where
// `quorate qdevice setup` installs it.
const BundleFile = "qdevice.pem"

// qdevEventsLen bounds the channel from the stream goroutines to the loop;
// a full channel makes the reader wait (TCP then pushes back on qnetd).
const qdevEventsLen = 256

// qdevOutLen bounds the frames queued for qnetd; a stream that cannot take
// them is broken and is closed.
const qdevOutLen = 256

// defaultDialTimeout bounds one connection attempt (TCP, TLS, hello) when
// quorum.device.net.connect_timeout is not set. The engine gives up on a
// dial after its own connect timeout anyway (heartbeat, 8 s by default)
// and redials; this only bounds the goroutine.
const defaultDialTimeout = 8 * time.Second

// qdevice carries the engine's qdevice stream (Ready.Arbiter) over TCP
// with TLS to quorate qnetd. The loop goroutine calls op and event; dial
// and stream goroutines only send qdevEvents to it. Every Dial starts a new
// epoch: events of an older epoch are dropped, so bytes of an old stream
// never reach the engine as if they belonged to the new one.
type qdevice struct {
	log    *slog.Logger
	bundle *qnetd.Bundle
	addr   string // host:port
	host   string // quorum.device.net.host, checked against the certificate
	node   wire.NodeID
	name   string
	dialTO time.Duration

	events chan qdevEvent
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// owned by the loop
	epoch      uint64
	cur        *qdevConn
	cancelDial context.CancelFunc
	everUp     bool
	lastErr    string
	stats      QdeviceInfo
}

// qdevConn is one established stream.
type qdevConn struct {
	epoch  uint64
	c      net.Conn
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func (c *qdevConn) close() { c.once.Do(func() { close(c.closed); c.c.Close() }) }

type qdevKind uint8

const (
	qdevConnected qdevKind = iota
	qdevFrame
	qdevClosed
	qdevDialFailed
)

// qdevEvent is what a stream goroutine reports to the loop.
type qdevEvent struct {
	epoch   uint64
	kind    qdevKind
	conn    *qdevConn
	payload []byte
	err     error
}

// QdeviceInfo is the qdevice client's state and counters (quorate stats).
type QdeviceInfo struct {
	Host           string `json:"host"`
	Connected      bool   `json:"connected"`
	Dials          uint64 `json:"dials"`
	DialFailures   uint64 `json:"dial_failures"`
	Reconnects     uint64 `json:"reconnects"`
	FramesSent     uint64 `json:"frames_sent"`
	FramesReceived uint64 `json:"frames_received"`
	// Dropped counts stream operations and frames of a stream that was no
	// longer current, and writes that found no open stream.
	Dropped uint64 `json:"dropped"`
}

// loadQdevice prepares the qdevice client when corosync.conf has a
// quorum.device: the bundle (override, else <data-dir>/qdevice.pem) must be
// valid and issued for this cluster. Without a device it returns nil.
func loadQdevice(ctx context.Context, conf *corosyncconf.Config, self wire.NodeID, name, override, dataDir string,
	log *slog.Logger) (*qdevice, error) {
	d := conf.Quorum.Device
	if d == nil {
		return nil, nil
	}
	if a := d.Net.Algorithm; a != "ffsplit" && a != "lms" {
		// corosync-qdevice also knows 2nodelms (and test); the engine's
		// client and quorate qnetd implement ffsplit and lms only.
		return nil, confError(conf, "quorum.device.net.algorithm",
			"quorum.device.net.algorithm %s is not supported by quorate: use ffsplit or lms", a)
	}
	path := override
	if path == "" {
		path = filepath.Join(dataDir, BundleFile)
	}
	b, err := qnetd.LoadBundle(path)
	if err != nil {
		return nil, confError(conf, "quorum.device", "quorum.device needs the qnetd client bundle: %v "+
			"(install it with `quorate qdevice setup`, or pass --qdevice-bundle)", err)
	}
	if b.Cluster != conf.ClusterName {
		return nil, confError(conf, "totem.cluster_name", "the qdevice bundle %s is issued for cluster %q, not %q",
			path, b.Cluster, conf.ClusterName)
	}
	if d.Net.TLS == "off" {
		log.Warn("quorum.device.net.tls is off, but quorate always speaks TLS to qnetd", "bundle", path)
	}
	dialTO := defaultDialTimeout
	if d.Net.ConnectTimeout > 0 {
		dialTO = d.Net.ConnectTimeout
	}
	qctx, cancel := context.WithCancel(ctx)
	return &qdevice{
		log: log, bundle: b, addr: net.JoinHostPort(d.Net.Host, strconv.Itoa(int(d.Net.Port))), host: d.Net.Host,
		node: self, name: name, dialTO: dialTO, events: make(chan qdevEvent, qdevEventsLen),
		ctx: qctx, cancel: cancel, stats: QdeviceInfo{Host: d.Net.Host},
	}, nil
}

// op performs one of the engine's stream operations; called by the loop.
func (q *qdevice) op(op quorum.StreamOp) {
	switch {
	case op.Dial:
		q.hangup()
		q.stats.Dials++
		ctx, cancel := context.WithTimeout(q.ctx, q.dialTO)
		q.cancelDial = cancel
		epoch := q.epoch
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			defer cancel()
			q.dial(ctx, epoch)
		}()
	case op.Hangup:
		q.hangup()
	default:
		if q.cur == nil {
			q.stats.Dropped++
			return
		}
		select {
		case q.cur.out <- qnetd.AppendFrame(nil, op.Payload):
			q.stats.FramesSent++
		default:
			// qnetd does not read: the stream is as good as broken; the
			// reader reports the close.
			q.log.Warn("qnetd does not take the qdevice's messages; closing the stream", "node", q.name, "qnetd", q.addr)
			q.cur.close()
		}
	}
}

// hangup ends the current stream or dial and starts a new epoch.
func (q *qdevice) hangup() {
	q.epoch++
	if q.cancelDial != nil {
		q.cancelDial()
		q.cancelDial = nil
	}
	if q.cur != nil {
		q.cur.close()
		q.cur = nil
		q.stats.Connected = false
	}
}

// post hands an event to the loop unless the agent is stopping.
func (q *qdevice) post(ev qdevEvent) bool {
	select {
	case q.events <- ev:
		return true
	case <-q.ctx.Done():
		return false
	}
}

// dial connects (TCP, TLS, hello) and then reads the stream until it ends.
func (q *qdevice) dial(ctx context.Context, epoch uint64) {
	c, err := qnetd.Dial(ctx, q.addr, q.host, q.bundle, q.node)
	if err != nil {
		q.post(qdevEvent{epoch: epoch, kind: qdevDialFailed, err: err})
		return
	}
	conn := &qdevConn{epoch: epoch, c: c, out: make(chan []byte, qdevOutLen), closed: make(chan struct{})}
	// A stream the loop never learnt of (it stopped first) still closes
	// when the agent stops.
	stop := context.AfterFunc(q.ctx, conn.close)
	defer stop()
	if !q.post(qdevEvent{epoch: epoch, kind: qdevConnected, conn: conn}) {
		conn.close()
		return
	}
	q.wg.Add(1)
	go func() { defer q.wg.Done(); q.write(conn) }()
	for {
		b, err := qnetd.ReadFrame(c)
		if err != nil {
			conn.close()
			q.post(qdevEvent{epoch: epoch, kind: qdevClosed, err: err})
			return
		}
		if !q.post(qdevEvent{epoch: epoch, kind: qdevFrame, payload: b}) {
			conn.close()
			return
		}
	}
}

// write drains the stream's queue.
func (q *qdevice) write(c *qdevConn) {
	defer c.close()
	for {
		select {
		case <-c.closed:
			return
		case b := <-c.out:
			c.c.SetWriteDeadline(time.Now().Add(q.dialTO))
			if _, err := c.c.Write(b); err != nil {
				return
			}
		}
	}
}

// event applies one stream event to the engine; called by the loop, which
// flushes the node's Ready afterwards.
func (l *loop) qdevEvent(ev qdevEvent) {
	q := l.qdev
	if ev.epoch != q.epoch {
		q.stats.Dropped++
		if ev.conn != nil {
			ev.conn.close() // a dial that completed after the engine gave up on it
		}
		return
	}
	now := l.now()
	switch ev.kind {
	case qdevConnected:
		q.cur, q.cancelDial = ev.conn, nil
		q.stats.Connected = true
		if q.everUp {
			q.stats.Reconnects++
		}
		q.everUp, q.lastErr = true, ""
		l.log.Info("qdevice connected to qnetd", "node", l.cl.name, "qnetd", q.addr, "cluster", q.bundle.Cluster)
		l.node.ArbiterConnected(now)
	case qdevFrame:
		q.stats.FramesReceived++
		l.node.ArbiterReceive(now, ev.payload)
	case qdevClosed:
		q.cur = nil
		q.stats.Connected = false
		l.log.Warn("qdevice lost its connection to qnetd", "node", l.cl.name, "qnetd", q.addr, "err", ev.err)
		l.node.ArbiterClosed(now)
	case qdevDialFailed:
		// The engine is not told: its connect timeout gives up on the
		// dial and redials, as corosync-qdevice waits before it
		// reconnects. A refused TCP connection would otherwise make it
		// redial at once, in a loop.
		q.cancelDial = nil
		q.stats.DialFailures++
		msg := ev.err.Error()
		level := slog.LevelWarn
		if msg == q.lastErr {
			level = slog.LevelDebug
		}
		q.lastErr = msg
		if errors.Is(ev.err, qnetd.ErrRefused) {
			level = slog.LevelError
		}
		l.log.Log(context.Background(), level, "qdevice cannot connect to qnetd", "node", l.cl.name, "qnetd", q.addr, "err", msg)
	}
}

// close ends the stream and waits for the goroutines.
func (q *qdevice) close() {
	q.hangup()
	q.cancel()
	q.wg.Wait()
}
