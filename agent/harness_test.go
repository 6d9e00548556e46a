package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/internal/testlog"
	"github.com/quorate/quorate/netmodel/udp"
)

// Helpers for the socket tests: real agents on 127.0.0.x, every wait
// bounded by a deadline, no sleeping.

// waitTimeout bounds every wait for the cluster to reach a state. Forming
// or re-forming a ring with token 1000 takes about 2 to 4 s on an idle
// machine; the bound is generous so that a loaded one (CI on two busy
// cores) never fails a test by the clock.
const waitTimeout = 2 * time.Minute

// skipShort skips socket tests under -short.
func skipShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
}

// testNodes are the nodes of the generated cluster: link 0 on 127.0.0.N,
// link 1 on 127.0.0.2N, both on the same ports for every node.
var testNodes = []string{"alpha", "bravo", "charlie"}

// freePorts returns a port p such that p and p+1 are free for UDP on
// 127.0.0.1: the config names them before any agent binds. Another
// process may take them in between; on loopback that is unlikely enough.
func freePorts(t *testing.T) int {
	t.Helper()
	for range 50 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c2, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		c.Close()
		if err == nil {
			c2.Close()
			if p+1 < 65536 {
				return p
			}
		}
	}
	t.Fatal("no two consecutive free UDP ports")
	return 0
}

// clusterConf writes a corosync.conf for testNodes with two links and a
// fast token, plus a fresh authkey, and returns the config's path.
func clusterConf(t *testing.T, dir string, port int) string {
	t.Helper()
	key := filepath.Join(dir, "authkey")
	if err := udp.GenerateKey(key, 0); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "corosync.conf")
	if err := os.WriteFile(path, []byte(confText(key, port)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// confText is the corosync.conf of testNodes: link 0 on 127.0.0.N and link
// 1 on 127.0.0.2N, ports port and port+1, token 1000 ms.
func confText(keyfile string, port int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `totem {
  version: 2
  cluster_name: lab3
  config_version: 3
  secauth: on
  keyfile: %s
  token: 1000
  interface {
    linknumber: 0
    mcastport: %d
  }
  interface {
    linknumber: 1
    mcastport: %d
  }
}

nodelist {
`, keyfile, port, port+1)
	for i, name := range testNodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: 1\n    ring0_addr: 127.0.0.%d\n    ring1_addr: 127.0.0.%d\n  }\n",
			name, i+1, i+1, 21+i)
	}
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n}\n")
	return b.String()
}

// syncBuffer is a log sink shared by an agent's goroutines and the test.
type syncBuffer = testlog.Buffer

// testAgent is one running (or stopped) agent of a test cluster.
type testAgent struct {
	name, admin, data, metrics string
	bundle                     string // qnetd client bundle; "" for the default
	log                        *syncBuffer
	cancel                     context.CancelFunc
	done                       chan error
}

// testCluster is a set of agents sharing one generated corosync.conf.
type testCluster struct {
	t      *testing.T
	conf   string
	port   int
	agents []*testAgent
}

// startCluster writes the config and prepares one admin socket and data
// directory per node; start runs them. Stopped at cleanup; the logs are
// printed if the test failed.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	dir := t.TempDir()
	port := freePorts(t)
	c := &testCluster{t: t, conf: clusterConf(t, dir, port), port: port}
	for _, name := range testNodes {
		c.agents = append(c.agents, &testAgent{
			name: name, admin: filepath.Join(dir, name, "admin.sock"),
			data: filepath.Join(dir, name, "data"), log: &syncBuffer{},
		})
	}
	t.Cleanup(func() {
		for _, a := range c.agents {
			c.stop(a)
		}
		if t.Failed() {
			for _, a := range c.agents {
				t.Logf("log of %s:\n%s", a.name, a.log.String())
			}
		}
	})
	return c
}

// start runs agent a with the options tweak may change.
func (c *testCluster) start(a *testAgent) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan error, 1)
	opt := Options{
		ConfigPath: c.conf, NodeName: a.name, AdminSocket: a.admin, DataDir: a.data,
		MetricsAddr: a.metrics, QdeviceBundle: a.bundle,
		Logger: slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	go func() { a.done <- Run(ctx, opt) }()
	// Wait until the admin socket answers (or Run fails).
	waitFor(c.t, a.name+" answers on its admin socket", func() (bool, string) {
		select {
		case err := <-a.done:
			a.done <- err
			c.t.Fatalf("%s stopped at start: %v", a.name, err)
		default:
		}
		_, err := ask(a, Request{Cmd: CmdStatus})
		return err == nil, fmt.Sprint(err)
	})
}

// stop cancels agent a and waits for Run to return.
func (c *testCluster) stop(a *testAgent) {
	c.t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			c.t.Errorf("%s: Run: %v", a.name, err)
		}
	case <-time.After(waitTimeout):
		c.t.Fatalf("%s did not stop within %v", a.name, waitTimeout)
	}
}

// ask sends one request to agent a.
func ask(a *testAgent, req Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return Call(ctx, a.admin, req)
}

// mustCall sends one request that must succeed.
func mustCall(t *testing.T, a *testAgent, req Request) *Response {
	t.Helper()
	resp, err := ask(a, req)
	if err != nil {
		t.Fatalf("%s %s: %v", a.name, req.Cmd, err)
	}
	if !resp.OK {
		t.Fatalf("%s %s: %s", a.name, req.Cmd, resp.Error)
	}
	return resp
}

// waitFor polls cond every 50 ms until it holds, failing the test after
// waitTimeout with cond's last description of the state.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting until %s; last state: %s", waitTimeout, what, state)
		case <-tick.C:
		}
	}
}

// waitQuorate waits until every agent in as is quorate with exactly
// members ring members.
func waitQuorate(t *testing.T, members int, as ...*testAgent) {
	t.Helper()
	for _, a := range as {
		waitFor(t, fmt.Sprintf("%s is quorate with %d members", a.name, members), func() (bool, string) {
			resp, err := ask(a, Request{Cmd: CmdStatus})
			if err != nil || !resp.OK {
				return false, fmt.Sprint(err)
			}
			// A node is quorate alone at startup, before its first ring
			// (ring 0.0); the ring of itself forms a moment later, once its
			// own JOIN and tokens came back through the loopback.
			q := resp.Status.Quorum
			return q.Quorate && q.Ring.Seq > 0 && len(q.Members) == members && !q.Syncing, q.String()
		})
	}
}
