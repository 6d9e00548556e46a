package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/internal/testlog"
	"github.com/quorate/quorate/netmodel/udp"
)

// The agent tests run real agents on 127.0.0.1-3 inside the test process
// and drive them with the CLI. Every wait is bounded; nothing sleeps.

// agentWait bounds every wait for an agent: generous, so that a loaded
// machine (CI on two busy cores) never fails a test by the clock.
const agentWait = 2 * time.Minute

// lockedBuffer collects an agent's log from its goroutines.
type lockedBuffer = testlog.Buffer

// runningAgent is one agent started by startAgents.
type runningAgent struct {
	name, admin string
	log         *lockedBuffer
	cancel      context.CancelFunc
	done        chan error
}

func (a *runningAgent) stop(t *testing.T) {
	t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("%s: %v", a.name, err)
		}
	case <-time.After(agentWait):
		t.Fatalf("%s did not stop", a.name)
	}
}

// threeNodeConf writes an authkey with keygen and a corosync.conf of three
// nodes on 127.0.0.1-3 (link 1 on 127.0.0.21-23) with a fast token.
func threeNodeConf(t *testing.T, dir string) string {
	t.Helper()
	key := filepath.Join(dir, "authkey")
	if code, out, errOut := capture(t, "keygen", "-k", key); code != 0 {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	var port int
	for port == 0 || port > 65000 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		port = c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "totem {\n  version: 2\n  cluster_name: lab3\n  config_version: 3\n  secauth: on\n  keyfile: %s\n  token: 1000\n"+
		"  interface {\n    linknumber: 0\n    mcastport: %d\n  }\n  interface {\n    linknumber: 1\n    mcastport: %d\n  }\n}\n\nnodelist {\n",
		key, port, port+1)
	for i, name := range []string{"alpha", "bravo", "charlie"} {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: 1\n    ring0_addr: 127.0.0.%d\n    ring1_addr: 127.0.0.%d\n  }\n",
			name, i+1, i+1, 21+i)
	}
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n}\n")
	return write(t, "corosync.conf", b.String())
}

// startAgents runs the three agents of conf, each with its own admin socket
// and data directory, and waits until all answer and are quorate.
func startAgents(t *testing.T, conf string) []*runningAgent {
	t.Helper()
	dir := t.TempDir()
	var as []*runningAgent
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		ctx, cancel := context.WithCancel(context.Background())
		a := &runningAgent{name: name, admin: filepath.Join(dir, name+".sock"), log: &lockedBuffer{},
			cancel: cancel, done: make(chan error, 1)}
		opt := agent.Options{ConfigPath: conf, NodeName: name, AdminSocket: a.admin,
			DataDir: filepath.Join(dir, name), Logger: slog.New(slog.NewTextHandler(a.log, nil))}
		go func() { a.done <- agent.Run(ctx, opt) }()
		as = append(as, a)
	}
	t.Cleanup(func() {
		for _, a := range as {
			a.stop(t)
		}
		if t.Failed() {
			for _, a := range as {
				t.Logf("log of %s:\n%s", a.name, a.log.String())
			}
		}
	})
	for _, a := range as {
		waitMembers(t, a, 3)
	}
	return as
}

// waitMembers polls a's admin socket until it is quorate with n members.
func waitMembers(t *testing.T, a *runningAgent, n int) {
	t.Helper()
	deadline := time.NewTimer(agentWait)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := agent.Call(ctx, a.admin, agent.Request{Cmd: agent.CmdStatus})
		cancel()
		if err == nil && resp.OK {
			q := resp.Status.Quorum
			if q.Quorate && len(q.Members) == n && !q.Syncing {
				return
			}
			last = q.String()
		} else {
			last = fmt.Sprint(err)
		}
		select {
		case <-deadline.C:
			t.Fatalf("%s not quorate with %d members within %v: %s", a.name, n, agentWait, last)
		case <-tick.C:
		}
	}
}

// TestAgentCommands drives a three-node cluster with the management
// commands and checks pvecm's layout and exit codes.
func TestAgentCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
	as := startAgents(t, threeNodeConf(t, t.TempDir()))
	alpha, bravo, charlie := as[0], as[1], as[2]

	code, out, errOut := capture(t, "status", "--admin", alpha.admin)
	if code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"Cluster information\n-------------------\nName:             lab3\nConfig Version:   3\nTransport:        knet\nSecure auth:      on\n\n",
		"Quorum provider:  corosync_votequorum\nNodes:            3\nNode ID:          0x00000001\n",
		"Quorate:          Yes\n",
		"Expected votes:   3\nHighest expected: 3\nTotal votes:      3\nQuorum:           2  \nFlags:            Quorate \n",
		"    Nodeid      Votes Name\n0x00000001          1 127.0.0.1 (local)\n0x00000002          1 127.0.0.2\n0x00000003          1 127.0.0.3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = capture(t, "nodes", "--admin", bravo.admin)
	if want := "\nMembership information\n----------------------\n    Nodeid      Votes Name\n" +
		"         1          1 alpha\n         2          1 bravo (local)\n         3          1 charlie\n"; code != 0 || out != want {
		t.Errorf("nodes: exit %d\n%q\nwant\n%q", code, out, want)
	}
	if code, out, _ = capture(t, "links", "--admin", alpha.admin); code != 0 || !strings.Contains(out, "nodeid: 2 (bravo) reachable") {
		t.Errorf("links: exit %d\n%s", code, out)
	}
	if code, out, _ = capture(t, "members", "--admin", charlie.admin); code != 0 || !strings.Contains(out, "Totem state: OPERATIONAL") {
		t.Errorf("members: exit %d\n%s", code, out)
	}

	// The load generator: 20 messages from bravo arrive at charlie in order.
	if code, out, errOut = capture(t, "load", "--count", "20", "--size", "100", "--window", "1", "--admin", bravo.admin); code != 0 {
		t.Fatalf("load: exit %d\n%s%s", code, out, errOut)
	}
	for deadline := time.Now().Add(agentWait); ; time.Sleep(50 * time.Millisecond) {
		_, out, _ = capture(t, "load", "--show", "--admin", charlie.admin)
		if strings.Contains(out, "Delivered:      20 (bravo 20)\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("charlie never delivered bravo's 20 load messages:\n%s", out)
		}
	}
	if !strings.Contains(out, "Order:          digest ") || !strings.Contains(out, "gaps 0, reorders 0\n") ||
		!strings.Contains(out, "Peer latency:   p50 ") {
		t.Errorf("load --show:\n%s", out)
	}
	// --measure: a window with bravo's load running on charlie.
	if code, _, errOut = capture(t, "load", "--count", "1000000", "--size", "100", "--rate", "200", "--admin", bravo.admin); code != 0 {
		t.Fatalf("load: exit %d %s", code, errOut)
	}
	code, out, errOut = capture(t, "load", "--measure", "1s", "--admin", bravo.admin)
	capture(t, "load", "--count", "0", "--admin", bravo.admin)
	if m := regexp.MustCompile(`^window_s=1\.\d+ delivered=(\d+) msgs_per_s=\d+ own=(\d+) lat_p50_us=[\d.]+ lat_p99_us=[\d.]+ gaps=0 reorders=0\n$`).FindStringSubmatch(out); code != 0 || m == nil || m[1] == "0" || m[2] == "0" {
		t.Errorf("load --measure: exit %d %q %s", code, out, errOut)
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"load", "--count", "1", "--size", "8"}, 2, "a load message has 28 to 1048575 bytes"},
		{[]string{"load"}, 2, "give --count N"},
		{[]string{"load", "--measure", "0s"}, 2, "--measure takes a positive duration"},
		{[]string{"load", "--measure", "1s", "--show"}, 2, "--measure takes a positive duration"},
		{[]string{"expected", "1"}, 1, "Unable to set expected votes: CS_ERR_INVALID_PARAM"},
		{[]string{"expected", "0"}, 2, "not a positive number"},
		{[]string{"expected", "x"}, 2, "not a positive number"},
		{[]string{"delnode", "alpha"}, 2, "Cannot delete myself from cluster!"},
		{[]string{"delnode", "zulu"}, 2, "Node/IP: zulu is not a known host of the cluster."},
		{[]string{"status", "extra"}, 2, "accepts 0 arg"},
	} {
		code, _, errOut := capture(t, append(tt.args, "--admin", alpha.admin)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
	// The command returns once the change is sent; stopping a node before
	// every member has seen it would race votequorum's messages with the
	// membership change.
	waitFor := func(a *runningAgent, want string) string {
		t.Helper()
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for deadline := time.Now().Add(agentWait); time.Now().Before(deadline); <-tick.C {
			if _, out, _ := capture(t, "status", "--admin", a.admin); strings.Contains(out, want) {
				return out
			}
		}
		t.Fatalf("%s never showed %q", a.name, want)
		return ""
	}
	if code, _, errOut = capture(t, "expected", "4", "--admin", alpha.admin); code != 0 {
		t.Fatalf("expected 4: exit %d: %s", code, errOut)
	}
	// bravo's change must come after alpha's in the total order, or the
	// last one delivered is 4.
	waitFor(bravo, "Expected votes:   4\n")
	if code, _, errOut = capture(t, "expected", "3", "--admin", bravo.admin); code != 0 {
		t.Fatalf("expected 3: exit %d: %s", code, errOut)
	}
	for _, a := range as {
		waitFor(a, "Expected votes:   3\nHighest expected: 3\n")
	}

	charlie.stop(t)
	waitMembers(t, alpha, 2)
	waitMembers(t, bravo, 2)
	code, out, errOut = capture(t, "delnode", "charlie", "--admin", alpha.admin)
	if code != 0 || !strings.Contains(out, "Removed node charlie (nodeid 3)") {
		t.Fatalf("delnode charlie: exit %d\n%s%s", code, out, errOut)
	}
	out = waitFor(bravo, "Expected votes:   2\n")
	if !strings.Contains(out, "Config Version:   4\n") || !strings.Contains(out, "Quorum:           2  \n") {
		t.Errorf("status after delnode:\n%s", out)
	}

	// Alone, alpha is not quorate: status exits 3 (corosync-quorumtool -s
	// exits 2), and a bad flag beside it exits 2 with nothing on stdout, so
	// a script tells the two apart by the exit status alone.
	bravo.stop(t)
	waitFor(alpha, "Quorate:          No\n")
	code, out, _ = capture(t, "status", "--admin", alpha.admin)
	if code != exitNotQuorate || !strings.Contains(out, "Quorum:           2 Activity blocked\n") {
		t.Errorf("inquorate status: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{{"status", "--bogus"}, {"status", "extra"}, {"status", "-H"}} {
		code, out, errOut = capture(t, append(args, "--admin", alpha.admin)...)
		if code != exitBadInput || out != "" || !strings.Contains(errOut, "quorate status") {
			t.Errorf("%v on an inquorate node: exit %d, stdout %q, stderr %q; want 2, nothing on stdout", args, code, out, errOut)
		}
	}
}

// TestManagementWithoutAgent: every management command says where it
// looked and exits 1, as corosync's tools do without corosync: the answer
// is unknown, and the same command may work once the agent runs. 2 is
// kept for bad input.
func TestManagementWithoutAgent(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nothing.sock")
	for _, args := range [][]string{
		{"status"}, {"nodes"}, {"expected", "2"}, {"delnode", "x"}, {"links"}, {"members"}, {"load", "--show"},
		{"cfs", "get", "x"}, {"cfs", "ls"}, {"conf", "history"}, {"join-token"},
	} {
		code, out, errOut := capture(t, append(args, "--admin", sock)...)
		if want := "cannot reach the agent at " + sock + ": is `quorate agent` running?"; code != exitFailed || out != "" || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestAgentBadInput: flags and corosync.conf errors exit 2 before anything
// is bound, naming file:line.
func TestAgentBadInput(t *testing.T) {
	dir := t.TempDir()
	conf := write(t, "bad.conf", "totem {\n  version: 2\n  token: 3s\n}\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"agent"}, "--config is required"},
		{[]string{"agent", "--config", conf, "--admin", filepath.Join(dir, "a.sock")}, "bad.conf:3"},
		{[]string{"agent", "--config", "/nonexistent/corosync.conf"}, "/nonexistent/corosync.conf"},
		{[]string{"agent", "--config", conf, "--log-level", "loud"}, "--log-level"},
		{[]string{"agent", "--bogus"}, "unknown flag"},
	} {
		code, _, errOut := capture(t, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestKeygen: a 256-byte key with mode 0400, no silent overwrite.
func TestKeygen(t *testing.T) {
	key := filepath.Join(t.TempDir(), "authkey")
	if code, out, errOut := capture(t, "keygen", "-k", key); code != 0 || !strings.Contains(out, "Writing quorate key to "+key) {
		t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Size() != udp.DefaultKeySize || fi.Mode().Perm() != 0o400 {
		t.Fatalf("key: %v size %d mode %v", err, fi.Size(), fi.Mode())
	}
	first, _ := os.ReadFile(key)
	if code, _, errOut := capture(t, "keygen", "-k", key); code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("overwrite without --force: exit %d %q", code, errOut)
	}
	if code, _, errOut := capture(t, "keygen", "-k", key, "--force", "--size", "512"); code != 0 {
		t.Errorf("--force: exit %d %q", code, errOut)
	}
	second, _ := os.ReadFile(key)
	if len(second) != 512 || bytes.Equal(first, second[:len(first)]) {
		t.Errorf("--force --size 512 wrote %d bytes, same prefix %v", len(second), bytes.Equal(first, second[:len(first)]))
	}
	if _, err := udp.LoadKey(key); err != nil {
		t.Errorf("the agent cannot load the key: %v", err)
	}
	for _, size := range []string{"64", "5000", "x"} {
		if code, _, _ := capture(t, "keygen", "-k", key+size, "--size", size); code != 2 {
			t.Errorf("--size %s: exit %d, want 2", size, code)
		}
	}
}
