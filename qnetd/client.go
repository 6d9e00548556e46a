package qnetd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// ErrRefused is wrapped when the daemon answered the hello with a refusal.
var ErrRefused = errors.New("qnetd refused the connection")

// Dial connects to the daemon at addr (host:port) as node of the bundle's
// cluster: TCP, the TLS 1.3 handshake with the daemon's certificate checked
// against host, then the hello exchange. Node 0 probes: the daemon answers
// and closes. ctx bounds the whole exchange. On success the connection is
// ready for DevMsg frames and has no deadline.
func Dial(ctx context.Context, addr, host string, b *Bundle, node wire.NodeID) (*tls.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := tls.Client(raw, b.ClientConfig(host))
	if dl, ok := ctx.Deadline(); ok {
		tc.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { tc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fail := func(err error) (*tls.Conn, error) {
		tc.Close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return nil, err
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail(fmt.Errorf("TLS handshake: %w", err))
	}
	if err := WriteFrame(tc, AppendHello(nil, Hello{Cluster: b.Cluster, Node: node})); err != nil {
		return fail(fmt.Errorf("hello: %w", err))
	}
	f, err := ReadFrame(tc)
	if err != nil {
		// TLS 1.3 reports a refused client certificate only here, at the
		// first read, as an alert from the server.
		return fail(fmt.Errorf("hello reply: %w", err))
	}
	r, err := DecodeHelloReply(f)
	if err != nil {
		return fail(err)
	}
	if !r.OK {
		return fail(fmt.Errorf("%w: %s", ErrRefused, r.Reason))
	}
	if !stop() {
		return fail(ctx.Err())
	}
	tc.SetDeadline(time.Time{})
	return tc, nil
}
