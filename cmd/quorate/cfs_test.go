package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/agent/configdb"
	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/wire"
)

// beMain, set in the environment, makes the test binary run as quorate
// itself: the kill -9 test needs agents in processes of their own, and
// re-executing the test binary avoids building one.
const beMain = "QUORATE_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(beMain) == "1" {
		os.Exit(execute(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// procAgent is one `quorate agent` process.
// newProcAgents prepares alpha, bravo and charlie of threeNodeConf as
// agent processes, each with its admin socket, data directory and log in
// dir; start runs them.
func newProcAgents(t *testing.T, dir string) []*procAgent {
	t.Helper()
	conf := threeNodeConf(t, dir)
	var ps []*procAgent
	for i, name := range []string{"alpha", "bravo", "charlie"} {
		ps = append(ps, &procAgent{
			runningAgent: runningAgent{name: name, admin: filepath.Join(dir, name+".sock")},
			id:           wire.NodeID(i + 1), conf: conf,
			data: filepath.Join(dir, name), logPath: filepath.Join(dir, name+".log"),
		})
	}
	return ps
}

// logProcAgents prints every agent's log when the test failed.
func logProcAgents(t *testing.T, ps []*procAgent) {
	if t.Failed() {
		for _, p := range ps {
			b, _ := os.ReadFile(p.logPath)
			t.Logf("log of %s:\n%s", p.name, b)
		}
	}
}

type procAgent struct {
	runningAgent
	id         wire.NodeID
	conf, data string
	logPath    string
	cmd        *exec.Cmd
}

// start runs the agent process and waits until its admin socket answers.
func (p *procAgent) start(t *testing.T) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(os.Args[0], "agent", "--config", p.conf, "--node", p.name,
		"--admin", p.admin, "--data-dir", p.data, "--log-level", "debug")
	p.cmd.Env = append(os.Environ(), beMain+"=1")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// kill sends SIGKILL (or sig) and reaps the process.
func (p *procAgent) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(agentWait):
		p.cmd.Process.Kill()
		t.Errorf("%s did not stop on %v", p.name, sig)
	}
	p.cmd = nil
}

// cli runs the quorate command line in a process of its own with stdin.
func cli(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), beMain+"=1")
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// TestCfsKill9 runs three agent processes on 127.0.0.1-3 with two links
// each and drives the store with quorate cfs: writes replicate; one agent
// is killed with SIGKILL and its config.db holds every write acknowledged
// before; the other two re-form, stay quorate and keep accepting writes;
// the killed one restarts, rejoins with its store and catches up, so every
// acknowledged write is on all three. Last, a node alone refuses writes.
func TestCfsKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
	dir := t.TempDir()
	ps := newProcAgents(t, dir)
	t.Cleanup(func() {
		for _, p := range ps {
			p.kill(t, syscall.SIGTERM)
		}
		logProcAgents(t, ps)
	})
	alpha, bravo, charlie := ps[0], ps[1], ps[2]
	begin := time.Now()
	for _, p := range ps {
		p.start(t)
	}
	for _, p := range ps {
		waitMembers(t, &p.runningAgent, 3)
	}
	t.Logf("quorate with 3 after %v", time.Since(begin).Round(time.Millisecond))

	acked := map[string]string{} // path -> value, every write acknowledged
	put := func(p *procAgent, path, value string) {
		t.Helper()
		deadline := time.Now().Add(agentWait)
		for {
			code, _, errOut := cli(t, value, "cfs", "put", path, "--admin", p.admin)
			if code == 0 {
				acked[path] = value
				return
			}
			// A membership change may abort or leave a write in doubt, and
			// a node may refuse for a moment while a new membership syncs;
			// anything else, or no success in time, fails.
			retry := strings.Contains(errOut, "membership change") || strings.Contains(errOut, "not quorate")
			if code != 1 || !retry || time.Now().After(deadline) {
				t.Fatalf("cfs put %s on %s: exit %d: %s", path, p.name, code, errOut)
			}
		}
	}
	for i := range 6 {
		p := ps[i%3]
		put(p, fmt.Sprintf("nodes/%s/qemu-server/%d.conf", p.name, 100+i), fmt.Sprintf("name: vm%d\nmemory: %d\n", i, 512*(i+1)))
	}
	if code, out, errOut := cli(t, "", "cfs", "get", "nodes/alpha/qemu-server/100.conf", "--ordered", "--admin", charlie.admin); code != 0 || out != acked["nodes/alpha/qemu-server/100.conf"] {
		t.Errorf("ordered get on charlie: exit %d %q %s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"cfs", "get", "nodes/none"}, 1, "cfs: nodes/none: no such entry"},
		{[]string{"cfs", "put", "nodes//x"}, 2, "bad path"},
		{[]string{"cfs", "rm", "nodes/none"}, 1, "no such entry"},
		{[]string{"cfs", "ls", "a", "b"}, 2, "accepts between 0 and 1 arg"},
	} {
		code, _, errOut := cli(t, "v", append(tt.args, "--admin", bravo.admin)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d %q; want %d %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}

	killed := time.Now()
	charlie.kill(t, syscall.SIGKILL)
	st, err := configdb.Read(charlie.data, charlie.id)
	if err != nil {
		t.Fatalf("charlie's config.db after kill -9: %v", err)
	}
	for path, value := range acked {
		if !hasEntry(st, path, value) {
			t.Errorf("acknowledged write %s missing from charlie's config.db after kill -9", path)
		}
	}
	waitMembers(t, &alpha.runningAgent, 2)
	waitMembers(t, &bravo.runningAgent, 2)
	t.Logf("re-formed with 2 after %v", time.Since(killed).Round(time.Millisecond))
	for i := range 4 {
		p := ps[i%2]
		put(p, fmt.Sprintf("nodes/%s/lxc/%d.conf", p.name, 200+i), fmt.Sprintf("hostname: ct%d\n", i))
	}
	put(bravo, "nodes/alpha/qemu-server/100.conf", "name: vm0\nmemory: 4096\n")
	if code, _, errOut := cli(t, "", "cfs", "rm", "nodes/bravo/qemu-server/101.conf", "--admin", alpha.admin); code != 0 {
		t.Fatalf("rm with charlie down: exit %d %s", code, errOut)
	}
	delete(acked, "nodes/bravo/qemu-server/101.conf")

	restarted := time.Now()
	charlie.start(t)
	for _, p := range ps {
		waitMembers(t, &p.runningAgent, 3)
	}
	t.Logf("charlie rejoined after %v", time.Since(restarted).Round(time.Millisecond))
	var want strings.Builder
	for _, p := range ps {
		// A member's local copy is synced before the membership is quorate
		// for writes; poll briefly anyway, the sync may still be running.
		deadline := time.Now().Add(agentWait)
		for {
			// Under nodes/: the store also holds the cluster's corosync.conf.
			code, out, _ := cli(t, "", "cfs", "ls", "nodes", "--admin", p.admin)
			lines := strings.Count(out, "\n") - 1
			if code == 0 && lines == len(acked) || time.Now().After(deadline) {
				if p == alpha {
					want.WriteString(out)
				} else if out != want.String() {
					t.Errorf("ls on %s:\n%s\nalpha's:\n%s", p.name, out, want.String())
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		for path, value := range acked {
			code, out, errOut := cli(t, "", "cfs", "get", path, "--admin", p.admin)
			if code != 0 || out != value {
				t.Errorf("get %s on %s: exit %d %q %s; want %q", path, p.name, code, out, errOut, value)
			}
		}
		if code, _, _ := cli(t, "", "cfs", "get", "nodes/bravo/qemu-server/101.conf", "--admin", p.admin); code != 1 {
			t.Errorf("removed entry on %s: exit %d, want 1", p.name, code)
		}
	}
	put(charlie, "nodes/charlie/back", "yes")

	// Alone, a node refuses writes and still answers local reads.
	bravo.kill(t, syscall.SIGTERM)
	charlie.kill(t, syscall.SIGKILL)
	deadline := time.Now().Add(agentWait)
	for {
		code, _, errOut := cli(t, "x", "cfs", "put", "nodes/alpha/alone", "--admin", alpha.admin)
		if code == 1 && strings.Contains(errOut, "cfs: the cluster is not quorate: the configuration store is read-only") {
			break
		}
		if code == 0 || time.Now().After(deadline) {
			t.Fatalf("put on a node alone: exit %d %s", code, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out, _ := cli(t, "", "cfs", "get", "nodes/charlie/back", "--admin", alpha.admin); code != 0 || out != "yes" {
		t.Errorf("local get without quorum: exit %d %q", code, out)
	}
	t.Logf("total %v", time.Since(begin).Round(time.Millisecond))
}

// hasEntry reports whether st holds path with value.
func hasEntry(st engine.State, path, value string) bool {
	for _, r := range st.Store.Entries {
		if r.Key == path {
			return string(r.Value) == value
		}
	}
	return false
}
