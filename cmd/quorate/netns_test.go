package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/scenarios/journal"
	"github.com/quorate/quorate/sim"
)

// The network-namespace test runs three real `quorate agent` processes,
// one per namespace, wired to two bridges (two switches, one per link) in
// a fourth "fabric" namespace by veth pairs, on private addresses that
// exist only inside those namespaces. It breaks the fabric as an incident
// would, checks the agents through their admin sockets, then imports their
// journals and replays the incident in the simulator.

// netnsNodes are the nodes, one namespace each; node i has 10.99.L.(i+1)
// on link L.
var netnsNodes = []string{"hp1", "hp2", "hp3"}

// netnsLab is one test's namespaces and agents.
type netnsLab struct {
	t      *testing.T
	id     string // unique per run, in every namespace name
	fabric string
	ns     []string
	dir    string
	bin    string
	conf   string
	procs  []*exec.Cmd
	logs   []string
}

// netnsAvailable skips the test unless it can create namespaces: root, the
// ip tool, and a kernel that allows it. Under CI=true as root a missing ip
// is a failure, as make setup installs it.
func netnsAvailable(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("network-namespace test skipped under -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("network-namespace test needs root (creates namespaces, bridges and veth pairs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and root, but the ip tool is missing (make setup installs iproute2): %v", err)
		}
		t.Skipf("network-namespace test needs the ip tool (iproute2; make setup installs it): %v", err)
	}
	probe := "qprobe-" + randomID(t)
	if out, err := exec.Command("ip", "netns", "add", probe).CombinedOutput(); err != nil {
		t.Skipf("cannot create a network namespace here: %v: %s", err, out)
	}
	exec.Command("ip", "netns", "del", probe).Run()
}

func randomID(t *testing.T) string {
	b := make([]byte, 3)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// ip runs one ip command and fails the test with its output.
func (l *netnsLab) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// newNetnsLab builds the namespaces, the bridges and the veth pairs.
// Cleanup kills the agents and deletes every namespace, which takes the
// bridges and veth pairs with it, whatever state the test left.
func newNetnsLab(t *testing.T) *netnsLab {
	l := &netnsLab{t: t, id: randomID(t), dir: t.TempDir()}
	l.fabric = "qfab-" + l.id
	for i := range netnsNodes {
		l.ns = append(l.ns, fmt.Sprintf("q%d-%s", i+1, l.id))
	}
	t.Cleanup(func() {
		for _, p := range l.procs {
			if p.Process != nil && p.ProcessState == nil {
				p.Process.Kill()
				p.Wait()
			}
		}
		for _, ns := range append([]string{l.fabric}, l.ns...) {
			exec.Command("ip", "netns", "del", ns).Run()
		}
		if t.Failed() {
			for i, lg := range l.logs {
				b, _ := os.ReadFile(lg)
				j, _ := os.ReadFile(l.journal(i))
				t.Logf("log of %s:\n%s\njournal of %s:\n%s", netnsNodes[i], b, netnsNodes[i], j)
			}
		}
	})
	l.ip("netns", "add", l.fabric)
	for _, ns := range l.ns {
		l.ip("netns", "add", ns)
		l.ip("-n", ns, "link", "set", "lo", "up")
	}
	for link := range 2 {
		br := fmt.Sprintf("br%d", link)
		l.ip("-n", l.fabric, "link", "add", br, "type", "bridge")
		l.ip("-n", l.fabric, "link", "set", br, "up")
		for i, ns := range l.ns {
			port := fmt.Sprintf("n%dl%d", i+1, link)
			nic := fmt.Sprintf("eth%d", link)
			l.ip("-n", l.fabric, "link", "add", port, "type", "veth", "peer", "name", nic, "netns", ns)
			l.ip("-n", l.fabric, "link", "set", port, "master", br, "up")
			l.ip("-n", ns, "addr", "add", fmt.Sprintf("10.99.%d.%d/24", link, i+1), "dev", nic)
			l.ip("-n", ns, "link", "set", nic, "up")
		}
	}
	return l
}

// build compiles quorate once for the agents.
func (l *netnsLab) build() {
	l.t.Helper()
	l.bin = filepath.Join(l.dir, "quorate")
	if out, err := exec.Command("go", "build", "-o", l.bin, ".").CombinedOutput(); err != nil {
		l.t.Fatalf("go build: %v\n%s", err, out)
	}
	key := filepath.Join(l.dir, "authkey")
	if code, out, errOut := capture(l.t, "keygen", "-k", key); code != 0 {
		l.t.Fatalf("keygen: exit %d\n%s%s", code, out, errOut)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "totem {\n  version: 2\n  cluster_name: netns3\n  config_version: 1\n  secauth: on\n  keyfile: %s\n  token: 1000\n"+
		"  interface {\n    linknumber: 0\n  }\n  interface {\n    linknumber: 1\n  }\n}\n\nnodelist {\n", key)
	for i, name := range netnsNodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: 1\n    ring0_addr: 10.99.0.%d\n    ring1_addr: 10.99.1.%d\n  }\n",
			name, i+1, i+1, i+1)
	}
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n}\n")
	l.conf = filepath.Join(l.dir, "corosync.conf")
	if err := os.WriteFile(l.conf, []byte(b.String()), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *netnsLab) admin(i int) string   { return filepath.Join(l.dir, netnsNodes[i]+".sock") }
func (l *netnsLab) journal(i int) string { return filepath.Join(l.dir, netnsNodes[i], "journal.jsonl") }

// start runs the agent of node i inside its namespace.
func (l *netnsLab) start(i int) {
	l.t.Helper()
	name := netnsNodes[i]
	lg := filepath.Join(l.dir, name+".log")
	f, err := os.OpenFile(lg, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ip", "netns", "exec", l.ns[i], l.bin, "agent", "--config", l.conf, "--node", name,
		"--admin", l.admin(i), "--data-dir", filepath.Join(l.dir, name))
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	for len(l.procs) <= i {
		l.procs = append(l.procs, nil)
		l.logs = append(l.logs, "")
	}
	l.procs[i], l.logs[i] = cmd, lg
}

// stop sends SIGTERM to every agent and waits: each writes its stop record.
func (l *netnsLab) stop() {
	l.t.Helper()
	for _, p := range l.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for i, p := range l.procs {
		if err := p.Wait(); err != nil {
			l.t.Errorf("%s: %v", netnsNodes[i], err)
		}
	}
}

// nodeView is what one agent's admin socket says.
type nodeView struct {
	quorate bool
	ring    string
	members []string
	active  map[string]int // peer -> active link
}

func (v nodeView) String() string {
	return fmt.Sprintf("quorate=%t members=%v active=%v", v.quorate, v.members, v.active)
}

func (l *netnsLab) view(i int) (nodeView, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var v nodeView
	st, err := agent.Call(ctx, l.admin(i), agent.Request{Cmd: agent.CmdStatus})
	if err != nil {
		return v, err
	}
	m, err := agent.Call(ctx, l.admin(i), agent.Request{Cmd: agent.CmdMembers})
	if err != nil {
		return v, err
	}
	lk, err := agent.Call(ctx, l.admin(i), agent.Request{Cmd: agent.CmdLinks})
	if err != nil {
		return v, err
	}
	if !st.OK || !m.OK || !lk.OK {
		return v, errors.New("admin request refused")
	}
	v.quorate = st.Status.Quorum.Quorate && !st.Status.Quorum.Syncing
	v.ring = m.Members.Ring
	for _, mi := range m.Members.Members {
		v.members = append(v.members, mi.Name)
	}
	slices.Sort(v.members)
	v.active = map[string]int{}
	for _, p := range lk.Links.Peers {
		v.active[p.Name] = p.Active
	}
	return v, nil
}

// await polls node i until ok holds of its view.
func (l *netnsLab) await(i int, what string, ok func(nodeView) bool) {
	l.t.Helper()
	var last string
	for deadline := time.Now().Add(agentWait); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		v, err := l.view(i)
		if err == nil && ok(v) {
			return
		}
		last = fmt.Sprint(v, err)
	}
	l.t.Fatalf("%s: never %s; last: %s", netnsNodes[i], what, last)
}

func quorateWith(members ...string) func(nodeView) bool {
	return func(v nodeView) bool { return v.quorate && slices.Equal(v.members, members) }
}

func TestNetnsAgents(t *testing.T) {
	netnsAvailable(t)
	began := time.Now()
	l := newNetnsLab(t)
	l.build()
	t.Logf("lab %s built in %v", l.id, time.Since(began).Round(time.Millisecond))
	// The agents start one after the other, each once the ones before it
	// formed a ring: started together, which partial ring forms first
	// depends on the heartbeats' phases, which no journal records.
	all := []string{"hp1", "hp2", "hp3"}
	var started time.Time
	for i := range netnsNodes {
		started = time.Now()
		l.start(i)
		l.await(i, "in a ring with the nodes started before it", func(v nodeView) bool { return slices.Equal(v.members, all[:i+1]) })
	}
	for i := range netnsNodes {
		l.await(i, "quorate with all three", func(v nodeView) bool {
			return quorateWith(all...)(v) && len(v.active) == 2 && v.active[netnsNodes[(i+1)%3]] == 0
		})
	}
	// knet starts every link with ten times the pong timeout and lowers
	// the multiplier by one a second: a link cut in an agent's first
	// seconds is noticed only after the token is lost. A failover that
	// keeps the membership needs the links settled first, as on a node
	// that has been up a while.
	time.Sleep(time.Until(started.Add(links.PongTimeoutBackoff * time.Second)))
	rings := make([]string, len(netnsNodes))
	for i := range netnsNodes {
		v, err := l.view(i)
		if err != nil || !quorateWith(all...)(v) {
			t.Fatalf("%s before the fault: %s %v", netnsNodes[i], v, err)
		}
		rings[i] = v.ring
	}

	// Switch 0 fails: every pair moves to link 1, the membership stays.
	l.ip("-n", l.fabric, "link", "set", "br0", "down")
	for i := range netnsNodes {
		l.await(i, "on link 1 with all three after br0 down", func(v nodeView) bool {
			for _, a := range v.active {
				if a != 1 {
					return false
				}
			}
			return quorateWith(all...)(v)
		})
	}
	time.Sleep(2 * time.Second) // an outage, not a blip
	for i := range netnsNodes {
		if v, _ := l.view(i); !quorateWith(all...)(v) || v.ring != rings[i] {
			t.Errorf("%s: membership changed while link 1 was up: ring %s, was %s: %s", netnsNodes[i], v.ring, rings[i], v)
		}
	}
	l.ip("-n", l.fabric, "link", "set", "br0", "up")
	for i := range netnsNodes {
		l.await(i, "back on link 0", func(v nodeView) bool {
			return quorateWith(all...)(v) && v.active[netnsNodes[(i+1)%3]] == 0 && v.active[netnsNodes[(i+2)%3]] == 0
		})
	}

	// hp3 loses both switches: it is alone and inquorate, hp1 and hp2
	// keep quorum.
	l.ip("-n", l.fabric, "link", "set", "n3l0", "down")
	l.ip("-n", l.fabric, "link", "set", "n3l1", "down")
	l.await(2, "alone and inquorate", func(v nodeView) bool { return !v.quorate && slices.Equal(v.members, []string{"hp3"}) })
	l.await(0, "quorate with hp2", quorateWith("hp1", "hp2"))
	l.await(1, "quorate with hp1", quorateWith("hp1", "hp2"))
	if code, out, _ := capture(t, "status", "--admin", l.admin(2)); code != exitNotQuorate || !strings.Contains(out, "Quorate:          No\n") {
		t.Errorf("status of the cut-off node: exit %d\n%s", code, out)
	}
	// Without quorum hp3's store is read-only (exit 1); the majority's
	// is not, and what it writes reaches hp3 once it is back.
	if code, _, errOut := cli(t, "cut off", "cfs", "put", "netns/during-cut", "--admin", l.admin(2)); code != 1 || !strings.Contains(errOut, "read-only") {
		t.Errorf("cfs put on the cut-off node: exit %d, want 1 with a read-only error\n%s", code, errOut)
	}
	if code, _, errOut := cli(t, "majority", "cfs", "put", "netns/during-cut", "--admin", l.admin(0)); code != 0 {
		t.Errorf("cfs put on the quorate side: exit %d\n%s", code, errOut)
	}

	// Heal: hp3 rejoins.
	l.ip("-n", l.fabric, "link", "set", "n3l0", "up")
	l.ip("-n", l.fabric, "link", "set", "n3l1", "up")
	for i := range netnsNodes {
		l.await(i, "quorate with all three after the heal", quorateWith(all...))
	}
	if code, out, errOut := cli(t, "", "cfs", "get", "netns/during-cut", "--ordered", "--admin", l.admin(2)); code != 0 || out != "majority" {
		t.Errorf("cfs get on the healed node: exit %d, %q, want the majority's write\n%s", code, out, errOut)
	}
	// hp2's agent is killed and started again: its journal ends without a
	// stop record, which the importer must read as a crash. The pause
	// keeps the kill well clear of the rejoin: the importer places events
	// to within about a ping interval, and a kill in the same second as
	// the merge could land on either side of it in the replay.
	time.Sleep(2 * time.Second)
	if err := l.procs[1].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	l.procs[1].Wait()
	l.await(0, "quorate with hp3 after hp2's crash", quorateWith("hp1", "hp3"))
	l.await(2, "quorate with hp1 after hp2's crash", quorateWith("hp1", "hp3"))
	l.start(1)
	for i := range netnsNodes {
		l.await(i, "quorate with all three after hp2's restart", quorateWith(all...))
	}
	l.stop()
	real := time.Since(began)

	// The journals, imported, replay the same membership changes.
	var js []*journal.Journal
	for i := range netnsNodes {
		j, err := journal.ReadFile(l.journal(i))
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
	}
	im, err := journal.Import(js, "netns-incident")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported scenario:\n%s", im.YAML)
	res, err := sim.Run(im.Scenario, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Errorf("the imported scenario fails in the simulator: %s", res.Failure)
	}
	simulated := journal.Sequences{}
	for _, e := range res.Timeline {
		if e.Event == "membership" {
			simulated.Add(e.Node, e.Members)
		}
	}
	t.Logf("membership in reality:\n%sin the simulator:\n%s", im.Membership, simulated)
	if d := im.Membership.Diff(simulated); d != "" {
		t.Errorf("the simulator does not reproduce the observed membership changes: %s", d)
	}
	for _, want := range []string{"action: switch_down, switch: link0", "action: switch_up, switch: link0", "action: isolate, node: hp3", "action: heal",
		"action: crash, node: hp2", "action: restart, node: hp2"} {
		if !strings.Contains(string(im.YAML), want) {
			t.Errorf("imported scenario lacks %q", want)
		}
	}
	t.Logf("agents %v, whole test %v", real.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
