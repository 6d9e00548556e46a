package lab

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/scenarios"
)

// labAvailable skips the test unless the lab can run here; under CI=true a
// machine that cannot run it fails the test, as make setup provides
// everything the lab needs.
func labAvailable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("lab test skipped under -short")
	}
	if err := Check(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, but the lab cannot run: %v", err)
		}
		t.Skip(err)
	}
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// agentBinary builds quorate once for every test of the package.
func agentBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "quorate-lab-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "quorate")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/quorate").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

// assertClean checks that run id left nothing behind: no namespace (and
// so no bridge, veth or nftables table, which live inside them) and no
// agent process.
func assertClean(t *testing.T, id string, out string) {
	t.Helper()
	if left := Leftovers(id); len(left) > 0 {
		t.Errorf("run %s left namespaces behind: %v", id, left)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), out) {
			t.Errorf("run %s left a process behind: %s: %q", id, p, strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if _, err := tables(nsName(id, 0), id); err == nil {
		t.Errorf("run %s: the namespace of node 1 still answers with nftables", id)
	}
}

// TestLabMulticast runs the multicast scenario (a WAN latency through the
// agents' transport, a partition by nftables rules, a heal) on real agents:
// the simulator's ordering checkers judge every agent's delivery log.
func TestLabMulticast(t *testing.T) {
	labAvailable(t)
	sc, err := scenarios.Load("testdata/partition-multicast.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var log strings.Builder
	opt := Options{Out: out, Binary: agentBinary(t), Log: &logWriter{b: &log}, RunID: "t" + randomID(t)}
	res, err := Run(context.Background(), sc, opt)
	t.Logf("lab log:\n%s", log.String())
	assertClean(t, opt.RunID, out)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Errorf("the multicast scenario failed in the lab: %s", res.Failure)
	}
	for _, c := range []string{"total_order", "virtual_synchrony"} {
		if ok, judged := res.Checks[c]; !ok || !judged {
			t.Errorf("check %s: %v (judged %v)", c, ok, judged)
		}
	}
	// Every load message sent is counted from the delivery logs, and most
	// came back to their sender through the total order.
	if res.Stats.Ops < 500 || res.Stats.OpsOK < res.Stats.Ops*9/10 {
		t.Errorf("%d load messages sent, %d delivered back: the delivery logs were not read", res.Stats.Ops, res.Stats.OpsOK)
	}
	b, err := os.ReadFile(filepath.Join(out, "nodes", "hp3.log"))
	if err != nil || !strings.Contains(string(b), "link delay set") {
		t.Errorf("hp3's agent never set the link delay of set_latency (%v)", err)
	}
}

// TestLabInterrupt cancels a run a few seconds in, as SIGINT does, and
// checks that the agents and the network are gone.
func TestLabInterrupt(t *testing.T) {
	labAvailable(t)
	sc, err := scenarios.Load("testdata/switch-crash-kv.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	opt := Options{Out: out, Binary: agentBinary(t), RunID: "t" + randomID(t)}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(3*time.Second, cancel)
	_, err = Run(ctx, sc, opt)
	if err == nil || ctx.Err() == nil {
		t.Fatalf("the interrupted run returned %v", err)
	}
	assertClean(t, opt.RunID, out)
}

// TestCheckWithoutRoot: a lab started without root says so and creates
// nothing.
func TestCheckWithoutRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		if err := Check(""); err == nil || !strings.Contains(err.Error(), "root") {
			t.Fatalf("Check without root: %v", err)
		}
		return
	}
	if testing.Short() {
		t.Skip("needs to start a process as another user")
	}
	// As root, run the check in a child that drops to nobody.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// A copy that nobody may execute (the build cache is root's alone).
	dir, err := os.MkdirTemp("", "quorate-lab-check-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	exe = filepath.Join(dir, "lab.test")
	if err := os.WriteFile(exe, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestCheckWithoutRoot$", "-test.v")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the unprivileged check failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "PASS") {
		t.Fatalf("the unprivileged check did not pass:\n%s", out)
	}
}

func TestSupported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.yaml")
	os.WriteFile(path, []byte(`name: s
duration: 10s
cluster:
  nodes: [{name: a}, {name: b}]
  quorum: {device: {algorithm: ffsplit, latency: {dist: constant, value: 50ms}}}
network:
  links:
    - {number: 0, duplicate: 0.1, latency: {dist: constant, value: 20ms}}
faults:
  - {at: 1s, action: set_latency, link: 0, latency: {dist: constant, value: 5ms}}
`), 0o644)
	sc, err := scenarios.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = Supported(sc)
	if err == nil {
		t.Fatal("a scenario with duplication and 50ms to qnetd is accepted")
	}
	for _, want := range []string{"network.links[0].duplicate", "cluster.quorum.device.latency", "s.yaml:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "set_latency") || strings.Contains(err.Error(), "links[0].latency") {
		t.Errorf("latency is refused, but the agents' transport carries it out: %v", err)
	}
	// The smoke scenario, and one that quorate trace import wrote from
	// the journals of a lab run of it.
	for _, f := range []string{"testdata/switch-crash-kv.yaml", "testdata/imported.yaml"} {
		sc, err = scenarios.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := Supported(sc); err != nil {
			t.Errorf("%s is refused: %v", f, err)
		}
	}
}

type logWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func randomID(t *testing.T) string {
	b := make([]byte, 3)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Read(b)
	const hexd = "0123456789abcdef"
	return string([]byte{hexd[b[0]>>4], hexd[b[0]&15], hexd[b[1]>>4], hexd[b[1]&15], hexd[b[2]>>4], hexd[b[2]&15]})
}
