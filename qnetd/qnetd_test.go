package qnetd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/internal/testlog"
)

// syncBuffer is a log sink shared by the daemon's goroutines and the test.
type syncBuffer = testlog.Buffer

// startServer runs a daemon on 127.0.0.1 with a fresh data directory.
func startServer(t *testing.T) (*Server, string, *syncBuffer) {
	t.Helper()
	dir := t.TempDir()
	logs := &syncBuffer{}
	s, err := Listen(Config{Listen: "127.0.0.1:0", DataDir: dir, SANs: []string{"127.0.0.1", "localhost"},
		AdminSocket: filepath.Join(dir, "admin.sock"),
		Logger:      slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return s, dir, logs
}

func enroll(t *testing.T, dir, cluster string) *Bundle {
	t.Helper()
	pem, err := Enroll(dir, cluster, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseBundle("test.pem", pem, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dialCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitCounter waits until the counter reaches want (the daemon counts
// after it answered).
func waitCounter(t *testing.T, what string, get func() uint64, want uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for get() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %d, want %d", what, get(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProbeAccepted(t *testing.T) {
	s, dir, _ := startServer(t)
	b := enroll(t, dir, "lab")
	c, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", b, 0)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	// The server name is checked: the certificate does not name 127.0.0.2.
	if _, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.2", b, 0); err == nil ||
		!strings.Contains(err.Error(), "127.0.0.2") {
		t.Fatalf("dial with a host the certificate does not name: %v", err)
	}
}

func TestWrongCARefused(t *testing.T) {
	s, dir, logs := startServer(t)
	other := enroll(t, t.TempDir(), "lab") // another daemon's CA
	own := enroll(t, dir, "lab")

	// A client of another CA does not trust this daemon.
	if _, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", other, 1); err == nil ||
		!strings.Contains(err.Error(), "unknown authority") {
		t.Fatalf("client trusting another CA: %v", err)
	}
	// A client that trusts this daemon but presents another CA's
	// certificate is refused by the daemon.
	mixed := &Bundle{Cluster: "lab", CA: own.CA, Cert: other.Cert}
	if _, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", mixed, 1); err == nil {
		t.Fatal("client certificate of another CA accepted")
	}
	waitCounter(t, "handshake failures", s.stats.handshakeFailed.Load, 2)
	if !strings.Contains(logs.String(), "TLS handshake failed") || !strings.Contains(logs.String(), "peer=127.0.0.1:") {
		t.Errorf("refusal not logged with the peer address:\n%s", logs.String())
	}
}

func TestWrongClusterRefused(t *testing.T) {
	s, dir, logs := startServer(t)
	b := enroll(t, dir, "lab")
	liar := *b
	liar.Cluster = "prod"
	_, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", &liar, 1)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `certificate is for cluster "lab"`) {
		t.Fatalf("client claiming another cluster: %v", err)
	}
	waitCounter(t, "wrong cluster", s.stats.wrongCluster.Load, 1)
	if !strings.Contains(logs.String(), "connection refused") || !strings.Contains(logs.String(), "peer=127.0.0.1:") {
		t.Errorf("refusal not logged with the peer address:\n%s", logs.String())
	}
	st, err := QueryStatus(dialCtx(t), filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 0 || st.Stats["wrong_cluster"] != 1 {
		t.Errorf("status after a refusal: %+v", st)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(s)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if m := mf.GetMetric(); len(m) == 1 && m[0].Counter != nil {
			got[mf.GetName()] = m[0].Counter.GetValue()
		}
	}
	if got["quorate_qnetd_wrong_cluster_total"] != 1 || got["quorate_qnetd_connections_accepted_total"] != 1 {
		t.Errorf("metrics: %v", got)
	}
}

func TestBundleErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := Enroll(dir, "lab", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := loadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	expired, err := ca.enroll("lab", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	otherDir := t.TempDir()
	otherPEM, err := Enroll(otherDir, "lab", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	blocks := splitPEM(good)
	other := splitPEM(otherPEM)
	cases := []struct {
		name, text, want string
	}{
		{"good", string(good), ""},
		{"garbled", "this is not PEM\n", "no PEM data"},
		{"empty", "", "no PEM data"},
		{"no key", blocks[0] + blocks[1], "no private key"},
		{"no CA", blocks[1] + blocks[2], "no CA certificate"},
		{"no client certificate", blocks[0] + blocks[2], "no client certificate"},
		{"key of another certificate", blocks[0] + blocks[1] + other[2], "does not match"},
		{"signed by another CA", other[0] + blocks[1] + blocks[2], "not signed by the bundle's CA"},
		{"expired", string(expired), "expired at"},
		{"corrupt certificate", blocks[0] + strings.Replace(blocks[1], "M", "A", 5) + blocks[2], "PEM block 2"},
		{"foreign block", blocks[0] + "-----BEGIN RSA PUBLIC KEY-----\nAAAA\n-----END RSA PUBLIC KEY-----\n", "unexpected type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "qdevice.pem")
			if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := LoadBundle(path)
			if c.want == "" {
				if err != nil || b.Cluster != "lab" {
					t.Fatalf("LoadBundle: %v, %+v", err, b)
				}
				return
			}
			if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadBundle = %v; want ErrBundle naming %s with %q", err, path, c.want)
			}
		})
	}
	if _, err := LoadBundle(filepath.Join(dir, "missing.pem")); !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), "missing.pem") {
		t.Errorf("missing file: %v", err)
	}
}

// splitPEM returns the PEM blocks of b as text.
func splitPEM(b []byte) []string {
	var out []string
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return out
		}
		out = append(out, string(pem.EncodeToMemory(blk)))
	}
}

func TestEnrollFileModeAndNames(t *testing.T) {
	dir := t.TempDir()
	if _, err := Enroll(dir, "bad name", time.Hour); !errors.Is(err, ErrClusterName) {
		t.Error("cluster name with a blank accepted")
	}
	if _, err := Init(dir, []string{"qnetd.example", "192.0.2.7"}); err != nil {
		t.Fatal(err)
	}
	for file, mode := range map[string]os.FileMode{"ca.key": 0o600, "server.key": 0o600, "ca.crt": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", file, fi.Mode().Perm(), mode)
		}
	}
	_, leaf, err := serverConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if leaf.VerifyHostname("qnetd.example") != nil || leaf.VerifyHostname("192.0.2.7") != nil {
		t.Errorf("server certificate names %v %v", leaf.DNSNames, leaf.IPAddresses)
	}
}

// connect opens an accepted stream as node 1 of cluster lab.
func connect(t *testing.T, s *Server, dir string) *tls.Conn {
	t.Helper()
	c, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", enroll(t, dir, "lab"), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	s, dir, _ := startServer(t)
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"oversized", binary.BigEndian.AppendUint32(nil, MaxFrame+1)},
		{"empty", binary.BigEndian.AppendUint32(nil, 0)},
		{"truncated", append(binary.BigEndian.AppendUint32(nil, 100), 1, 2, 3)},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn := connect(t, s, dir)
			if _, err := conn.Write(c.bytes); err != nil {
				t.Fatal(err)
			}
			if c.name == "truncated" {
				conn.CloseWrite()
			}
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, io.EOF) {
				t.Logf("read after bad frame: %v", err)
			}
			waitCounter(t, "bad frames", s.stats.badFrames.Load, uint64(i+1))
		})
	}
	// The daemon still serves, and a good exchange works.
	conn := connect(t, s, dir)
	init := quorum.DevMsg{Kind: quorum.DevInit, Seq: 1, NodeID: 1, Heartbeat: 8 * time.Second, Nodes: []wire.NodeID{1, 2}}
	if err := WriteFrame(conn, quorum.AppendDevMsg(nil, init)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := ReadFrame(conn)
	if err != nil {
		t.Fatal(err)
	}
	m, err := quorum.DecodeDevMsg(f)
	if err != nil || m.Kind != quorum.DevInitReply || m.Error != quorum.InitOK || m.Seq != 1 {
		t.Fatalf("init reply %+v, %v", m, err)
	}
	st, err := QueryStatus(dialCtx(t), filepath.Join(dir, "admin.sock"))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Clusters) != 1 || st.Clusters[0].Name != "lab" || len(st.Clusters[0].Clients) != 1 ||
		st.Clusters[0].Clients[0].Algorithm != "ffsplit" || fmt.Sprint(st.Clusters[0].Clients[0].Config) != "[1 2]" {
		t.Fatalf("status: %+v", st)
	}
	if out := st.Format(); !strings.Contains(out, `Cluster "lab"`) || !strings.Contains(out, "Node ID 1") {
		t.Errorf("formatted status:\n%s", out)
	}
}

func TestFrames(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want []byte
		err  error
	}{
		{"one frame", []byte{0, 0, 0, 2, 7, 8}, []byte{7, 8}, nil},
		{"clean end", nil, nil, io.EOF},
		{"header cut", []byte{0, 0}, nil, ErrTruncated},
		{"body cut", []byte{0, 0, 0, 3, 1}, nil, ErrTruncated},
		{"empty", []byte{0, 0, 0, 0}, nil, ErrFrameEmpty},
		{"too large", []byte{0, 1, 0, 1}, nil, ErrFrameTooLarge},
	}
	for _, c := range cases {
		got, err := ReadFrame(bytes.NewReader(c.in))
		if !errors.Is(err, c.err) || !bytes.Equal(got, c.want) {
			t.Errorf("%s: ReadFrame = %v, %v; want %v, %v", c.name, got, err, c.want, c.err)
		}
	}
	h := Hello{Cluster: "lab", Node: 3}
	if got, err := DecodeHello(AppendHello(nil, h)); err != nil || got != h {
		t.Errorf("hello round trip: %+v, %v", got, err)
	}
	r := HelloReply{Reason: "no"}
	if got, err := DecodeHelloReply(AppendHelloReply(nil, r)); err != nil || got != r {
		t.Errorf("reply round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, []byte("QNTD"), append([]byte("QNTD\x02"), 0, 0, 0, 1, 1, 'a'),
		append([]byte("QNTD\x01"), 0, 0, 0, 1, 2, 'a'), append([]byte("QNTD\x01"), 0, 0, 0, 1, 1, '\n')} {
		if _, err := DecodeHello(bad); !errors.Is(err, ErrBadHello) {
			t.Errorf("DecodeHello(%q) = %v", bad, err)
		}
	}
}

// FuzzReadFrame feeds untrusted bytes to the frame reader and the hello
// decoders: they return an error or a value that encodes back to the
// same bytes, and never panic or allocate beyond MaxFrame.
func FuzzReadFrame(f *testing.F) {
	f.Add(AppendFrame(nil, AppendHello(nil, Hello{Cluster: "lab", Node: 1})))
	f.Add(AppendFrame(nil, AppendHelloReply(nil, HelloReply{OK: true})))
	f.Add(AppendFrame(nil, quorum.AppendDevMsg(nil, quorum.DevMsg{Kind: quorum.DevEcho, Seq: 3})))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 9, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			p, err := ReadFrame(r)
			if err != nil {
				return
			}
			if len(p) == 0 || len(p) > MaxFrame {
				t.Fatalf("frame of %d bytes accepted", len(p))
			}
			if h, err := DecodeHello(p); err == nil && !bytes.Equal(AppendHello(nil, h), p) {
				t.Fatalf("hello %+v does not encode back to %x", h, p)
			}
			if h, err := DecodeHelloReply(p); err == nil && !bytes.Equal(AppendHelloReply(nil, h), p) {
				t.Fatalf("reply %+v does not encode back to %x", h, p)
			}
		}
	})
}

// readMsg reads one DevMsg frame within a bound.
func readMsg(t *testing.T, c *tls.Conn) (quorum.DevMsg, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	f, err := ReadFrame(c)
	if err != nil {
		return quorum.DevMsg{}, err
	}
	return quorum.DecodeDevMsg(f)
}

// TestArbiterCloseAfterReply: an init the arbiter refuses gets its reply
// before the daemon closes the stream.
func TestArbiterCloseAfterReply(t *testing.T) {
	s, dir, _ := startServer(t)
	conn := connect(t, s, dir)
	bad := quorum.DevMsg{Kind: quorum.DevInit, Seq: 1, NodeID: 1, Heartbeat: 8 * time.Second, Nodes: []wire.NodeID{2, 3}}
	if err := WriteFrame(conn, quorum.AppendDevMsg(nil, bad)); err != nil {
		t.Fatal(err)
	}
	m, err := readMsg(t, conn)
	if err != nil || m.Kind != quorum.DevInitReply || m.Error != quorum.InitInvalidNodeList {
		t.Fatalf("reply %+v, %v", m, err)
	}
	if _, err := readMsg(t, conn); !errors.Is(err, io.EOF) {
		t.Fatalf("after a refused init: %v, want EOF", err)
	}
}

// TestReconnectReplaces: a node that connects again replaces its old
// stream, which the daemon closes.
func TestReconnectReplaces(t *testing.T) {
	s, dir, _ := startServer(t)
	first := connect(t, s, dir)
	second := connect(t, s, dir)
	if _, err := readMsg(t, first); !errors.Is(err, io.EOF) {
		t.Fatalf("old stream: %v, want EOF", err)
	}
	waitCounter(t, "replaced", s.stats.replaced.Load, 1)
	echo := quorum.DevMsg{Kind: quorum.DevInit, Seq: 7, NodeID: 1, Heartbeat: 8 * time.Second, Nodes: []wire.NodeID{1, 2}}
	if err := WriteFrame(second, quorum.AppendDevMsg(nil, echo)); err != nil {
		t.Fatal(err)
	}
	if m, err := readMsg(t, second); err != nil || m.Kind != quorum.DevInitReply || m.Seq != 7 {
		t.Fatalf("new stream: %+v, %v", m, err)
	}
}

// TestHandshakesBounded: connections that never finish their handshake
// hold at most maxHandshakes slots; the next is closed at once and
// counted, and once they go an honest client gets through again.
func TestHandshakesBounded(t *testing.T) {
	s, dir, _ := startServer(t)
	b := enroll(t, dir, "lab")
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for range maxHandshakes {
		c, err := net.Dial("tcp", s.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	waitCounter(t, "accepted", s.stats.accepted.Load, maxHandshakes)
	extra, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	extra.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := extra.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("connection beyond the limit: read %d, %v; want EOF", n, err)
	}
	waitCounter(t, "handshakes_busy", s.stats.handshakesBusy.Load, 1)
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := Dial(dialCtx(t), s.Addr().String(), "127.0.0.1", b, 0)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("an honest client after the flood: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
