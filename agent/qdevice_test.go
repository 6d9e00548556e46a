package agent

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/qnetd"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// testQnetd is an in-process qnetd on 127.0.0.1 that can be stopped and
// started again on the same port and data directory.
type testQnetd struct {
	t      *testing.T
	dir    string
	addr   string
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
	srv    *qnetd.Server
}

func (q *testQnetd) start() {
	q.t.Helper()
	listen := cmp.Or(q.addr, "127.0.0.1:0")
	var err error
	for range 50 { // the port of a stopped daemon may take a moment to free
		q.srv, err = qnetd.Listen(qnetd.Config{Listen: listen, DataDir: q.dir, SANs: []string{"127.0.0.1"},
			Logger: slog.New(slog.NewTextHandler(q.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		q.t.Fatal(err)
	}
	q.addr = q.srv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	q.cancel, q.done = cancel, make(chan error, 1)
	go func() { q.done <- q.srv.Serve(ctx) }()
}

func (q *testQnetd) stop() {
	if q.cancel == nil {
		return
	}
	q.cancel()
	q.cancel = nil
	if err := <-q.done; err != nil {
		q.t.Errorf("qnetd: %v", err)
	}
}

// qdeviceConf is a two-node corosync.conf (alpha, bravo) with a quorum
// device at addr (ffsplit, votes 1, device timeout 3 s so that the test's
// reconnects take seconds, not tens of seconds).
func qdeviceConf(keyfile string, port int, addr string) string {
	host, qport, _ := strings.Cut(addr, ":")
	return fmt.Sprintf(`totem {
  version: 2
  cluster_name: lab2
  config_version: 4
  secauth: on
  keyfile: %s
  token: 1000
  interface {
    linknumber: 0
    mcastport: %d
  }
}

nodelist {
  node {
    name: alpha
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 127.0.0.1
  }
  node {
    name: bravo
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 127.0.0.2
  }
}

quorum {
  provider: corosync_votequorum
  device {
    model: net
    votes: 1
    timeout: 3000
    net {
      host: %s
      port: %s
      algorithm: ffsplit
      tls: on
    }
  }
}
`, keyfile, port, host, qport)
}

// qdeviceCluster starts a qnetd and prepares alpha and bravo with a bundle
// enrolled for cluster lab2.
func qdeviceCluster(t *testing.T) (*testCluster, *testQnetd) {
	t.Helper()
	dir := t.TempDir()
	q := &testQnetd{t: t, dir: filepath.Join(dir, "qnetd"), log: &syncBuffer{}}
	q.start()
	bundle, err := qnetd.Enroll(q.dir, "lab2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	bundlePath := filepath.Join(dir, "qdevice.pem")
	if err := os.WriteFile(bundlePath, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "authkey")
	if err := udp.GenerateKey(key, 0); err != nil {
		t.Fatal(err)
	}
	port := freePorts(t)
	conf := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(conf, []byte(qdeviceConf(key, port, q.addr)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &testCluster{t: t, conf: conf, port: port}
	for _, name := range []string{"alpha", "bravo"} {
		c.agents = append(c.agents, &testAgent{name: name, admin: filepath.Join(dir, name, "admin.sock"),
			data: filepath.Join(dir, name, "data"), log: &syncBuffer{}, bundle: bundlePath})
	}
	t.Cleanup(func() {
		for _, a := range c.agents {
			c.stop(a)
		}
		q.stop()
		if t.Failed() {
			for _, a := range c.agents {
				t.Logf("log of %s:\n%s", a.name, a.log.String())
			}
			t.Logf("log of qnetd:\n%s", q.log.String())
		}
	})
	return c, q
}

// waitDevice waits until agent a shows the given quorum numbers (corosync-
// quorumtool's Total votes, Quorum, Quorate) with members ring members.
func waitDevice(t *testing.T, a *testAgent, members, total, quorumN int, quorate bool) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s has %d members, total votes %d, quorum %d, quorate %v", a.name, members, total, quorumN, quorate),
		func() (bool, string) {
			resp, err := ask(a, Request{Cmd: CmdStatus})
			if err != nil || !resp.OK {
				return false, fmt.Sprint(err)
			}
			q := resp.Status.Quorum
			return len(q.Members) == members && q.TotalVotes == total && q.Quorum == quorumN &&
				q.Quorate == quorate && !q.Syncing, q.String()
		})
}

// TestQdeviceOverTLS runs docs/reference/quorum.md §5 rows 34 and 36 on
// real sockets: two nodes and a qnetd (ffsplit, device votes 1).
func TestQdeviceOverTLS(t *testing.T) {
	skipShort(t)
	c, q := qdeviceCluster(t)
	alpha, bravo := c.agents[0], c.agents[1]
	c.start(alpha)
	c.start(bravo)

	// Row 34: all up, qnetd up: expected 3, total 3, quorum 2, the device
	// votes on both nodes.
	waitDevice(t, alpha, 2, 3, 2, true)
	waitDevice(t, bravo, 2, 3, 2, true)
	st := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Qdevice
	if st == nil || !st.Connected || st.FramesSent == 0 || st.FramesReceived == 0 {
		t.Fatalf("alpha's qdevice stats: %+v", st)
	}

	// bravo stops: alpha keeps quorum with its own vote and the device's
	// (2 of 3), as qnetd's tie-breaker (lowest nodeid) gives it the vote.
	c.stop(bravo)
	waitDevice(t, alpha, 1, 2, 2, true)

	// qnetd stops as well: the ffsplit client votes NACK at once and alpha
	// alone is not quorate (row 36: 1 of 3).
	q.stop()
	waitDevice(t, alpha, 1, 1, 2, false)
	// Its redials are refused meanwhile; they are counted, and the engine's
	// connect timeout paces them.
	waitFor(t, "alpha counts a failed dial", func() (bool, string) {
		st := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Qdevice
		return st.DialFailures > 0 && !st.Connected, fmt.Sprintf("%+v", st)
	})

	// qnetd comes back on the same address and data directory: the
	// qdevice reconnects with the same bundle and alpha is quorate again.
	q.start()
	waitDevice(t, alpha, 1, 2, 2, true)
	st = mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Qdevice
	if st.Reconnects == 0 || !st.Connected {
		t.Errorf("after qnetd's restart: %+v", st)
	}
}

// TestQdeviceBundleErrors: a quorum.device without a usable bundle is a
// configuration error naming the file, before any socket is bound.
func TestQdeviceBundleErrors(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "authkey")
	if err := udp.GenerateKey(key, 0); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(conf, []byte(qdeviceConf(key, 5405, "127.0.0.1:5403")), 0o644); err != nil {
		t.Fatal(err)
	}
	other, err := qnetd.Enroll(filepath.Join(dir, "ca"), "another", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other.pem")
	garbled := filepath.Join(dir, "garbled.pem")
	os.WriteFile(otherPath, other, 0o600)
	os.WriteFile(garbled, []byte("not a bundle"), 0o600)
	conf2 := filepath.Join(dir, "2nodelms.conf")
	if err := os.WriteFile(conf2, []byte(strings.Replace(qdeviceConf(key, 5405, "127.0.0.1:5403"),
		"algorithm: ffsplit", "algorithm: 2nodelms", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	err = Run(context.Background(), Options{ConfigPath: conf2, NodeName: "alpha", DataDir: filepath.Join(dir, "data"),
		AdminSocket: filepath.Join(dir, "admin.sock"), Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "2nodelms is not supported") {
		t.Errorf("2nodelms: %v", err)
	}
	cases := []struct{ name, bundle, want string }{
		{"missing default", "", filepath.Join(dir, "data", "qdevice.pem")},
		{"garbled", garbled, garbled + ": no PEM data"},
		{"other cluster", otherPath, `issued for cluster "another", not "lab2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(context.Background(), Options{ConfigPath: conf, NodeName: "alpha", DataDir: filepath.Join(dir, "data"),
				AdminSocket: filepath.Join(dir, "admin.sock"), QdeviceBundle: tc.bundle,
				Logger: slog.New(slog.DiscardHandler)})
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v; want a config error containing %q", err, tc.want)
			}
		})
	}
}

// TestQdeviceEpochs: a Dial replaces the stream of the previous one; what
// the old stream reports afterwards is dropped before it reaches the
// engine, and its connection is closed.
func TestQdeviceEpochs(t *testing.T) {
	dir := t.TempDir()
	q := &testQnetd{t: t, dir: dir, log: &syncBuffer{}}
	q.start()
	t.Cleanup(q.stop)
	pem, err := qnetd.Enroll(dir, "lab2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	b, err := qnetd.ParseBundle("bundle.pem", pem, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	qd := &qdevice{log: slog.New(slog.DiscardHandler), bundle: b, addr: q.addr, host: "127.0.0.1", node: 1,
		dialTO: 5 * time.Second, events: make(chan qdevEvent, qdevEventsLen), ctx: ctx, cancel: cancel}
	t.Cleanup(qd.close)
	// The loop part under test never reaches the engine: stale events
	// return before it.
	l := &loop{log: qd.log, qdev: qd, cl: &cluster{name: "alpha"}}

	next := func() qdevEvent {
		t.Helper()
		select {
		case ev := <-qd.events:
			return ev
		case <-time.After(waitTimeout):
			t.Fatalf("no qdevice event in %v", waitTimeout)
			return qdevEvent{}
		}
	}
	qd.op(quorum.StreamOp{Dial: true})
	first := next()
	if first.kind != qdevConnected || first.epoch != 1 {
		t.Fatalf("first dial: %+v", first)
	}
	qd.op(quorum.StreamOp{Dial: true}) // the engine redials before it heard
	l.qdevEvent(first)
	if qd.stats.Dropped != 1 || qd.cur != nil {
		t.Fatalf("stale connect: dropped %d, cur %v", qd.stats.Dropped, qd.cur)
	}
	select {
	case <-first.conn.closed:
	default:
		t.Fatal("the stale stream is still open")
	}
	second := next()
	for second.epoch == 1 { // the old stream's close
		l.qdevEvent(second)
		second = next()
	}
	if second.kind != qdevConnected || second.epoch != 2 {
		t.Fatalf("second dial: %+v", second)
	}
	// A payload with no current stream is dropped and counted.
	before := qd.stats.Dropped
	qd.op(quorum.StreamOp{Payload: []byte{1}})
	if qd.stats.Dropped != before+1 || qd.stats.FramesSent != 0 {
		t.Errorf("write without a stream: %+v", qd.stats)
	}
}

// TestQdeviceSetupClusterWide adds a quorum device to a running two-node
// cluster through one agent's admin socket, as `quorate qdevice setup`
// does: the bundle travels in the store, every agent writes the new
// corosync.conf, installs the bundle and takes the device live, as
// corosync 3 does (total votes 3); `remove` undoes it on every node. The
// journals record no membership change and no node inquorate from the
// setup to the end, and no engine restarts.
func TestQdeviceSetupClusterWide(t *testing.T) {
	skipShort(t)
	c, q := qdeviceCluster(t)
	plain, err := os.ReadFile(c.conf)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err = corosyncconf.RemoveDevice(plain); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.conf, plain, 0o644); err != nil {
		t.Fatal(err)
	}
	alpha, bravo := c.agents[0], c.agents[1]
	bundle, err := os.ReadFile(alpha.bundle)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.agents {
		a.bundle = "" // DATA-DIR/qdevice.pem, installed from the store
		c.start(a)
	}
	waitDevice(t, alpha, 2, 2, 2, true)
	waitDevice(t, bravo, 2, 2, 2, true)

	host, portS, _ := strings.Cut(q.addr, ":")
	port, _ := strconv.Atoi(portS)
	marks := make([]int, len(c.agents))
	for i, a := range c.agents {
		marks[i] = len(journalRecords(t, a))
	}
	setup := Request{Cmd: CmdQdeviceSetup, Host: host, Port: port, Bundle: bundle}
	if resp, _ := ask(alpha, Request{Cmd: CmdQdeviceSetup, Host: host, Port: port, Bundle: []byte("garbage")}); resp == nil ||
		resp.OK || !resp.BadRequest {
		t.Fatalf("setup with a garbled bundle: %+v", resp)
	}
	var resp *Response
	waitFor(t, "qdevice setup accepted", func() (bool, string) {
		// The lowest member seeds the store with corosync.conf just after
		// the ring forms; until then the edit asks to retry.
		resp, err = ask(alpha, setup)
		return err == nil && resp.OK, fmt.Sprint(resp, err)
	})
	// The file started at 5 (4, and one for the device removed above).
	if resp.ConfigVersion != 6 {
		t.Errorf("config_version after setup: %d, want 6", resp.ConfigVersion)
	}
	waitDevice(t, alpha, 2, 3, 2, true)
	waitDevice(t, bravo, 2, 3, 2, true)
	for _, a := range c.agents {
		got, err := os.ReadFile(filepath.Join(a.data, BundleFile))
		if err != nil || !bytes.Equal(got, bundle) {
			t.Errorf("%s: installed bundle: %v", a.name, err)
		}
		if st := mustCall(t, a, Request{Cmd: CmdStats}).Stats.Qdevice; st == nil || !st.Connected {
			t.Errorf("%s: qdevice stats %+v", a.name, st)
		}
	}
	if resp, _ := ask(bravo, setup); resp == nil || resp.OK || !resp.BadRequest || !strings.Contains(resp.Error, "already") {
		t.Errorf("second setup: %+v", resp)
	}
	conf, err := corosyncconf.Load(c.conf)
	if err != nil || conf.Quorum.Device == nil || conf.ConfigVersion != 6 {
		t.Fatalf("corosync.conf after setup: %v %+v", err, conf)
	}

	resp = mustCall(t, bravo, Request{Cmd: CmdQdeviceRemove})
	if resp.ConfigVersion != 7 {
		t.Errorf("config_version after remove: %d, want 7", resp.ConfigVersion)
	}
	waitDevice(t, alpha, 2, 2, 2, true)
	waitDevice(t, bravo, 2, 2, 2, true)
	waitFor(t, "bundles removed", func() (bool, string) {
		for _, a := range c.agents {
			if _, err := os.Stat(filepath.Join(a.data, BundleFile)); !errors.Is(err, fs.ErrNotExist) {
				return false, a.name + ": " + fmt.Sprint(err)
			}
		}
		return true, ""
	})
	if e, err := ask(alpha, Request{Cmd: CmdCfsGet, Path: BundleKey}); err != nil || e.OK {
		t.Errorf("bundle still in the store: %+v %v", e, err)
	}
	for i, a := range c.agents {
		recs := journalRecords(t, a)[marks[i]:]
		memberships, inquorate := disruptions(recs)
		t.Logf("%s: %d journal records from the setup on, %d membership changes, %d inquorate", a.name, len(recs), memberships, inquorate)
		if memberships != 0 || inquorate != 0 || len(recs) == 0 {
			t.Errorf("%s: %d membership changes and %d inquorate records in %d records: the device was not set up live",
				a.name, memberships, inquorate, len(recs))
		}
		if strings.Contains(a.log.String(), "engine restarted") {
			t.Errorf("%s restarted its engine for the quorum device", a.name)
		}
	}
}
