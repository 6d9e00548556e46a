package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/client"
)

// quorumLoss is how long a node of threeNodeConf takes to see that it is
// cut off and lose quorum: the token timeout for three nodes (token 1000
// ms + token_coefficient 650 ms per node beyond two) and then the
// consensus timeout (1.2 x that token timeout), after which the new ring of
// one is inquorate (totem.md §4).
const quorumLoss = 1650*time.Millisecond + 1980*time.Millisecond

// slack is added to quorumLoss for scheduling on a loaded machine: the
// processes, the watch stream and the service's SIGTERM.
const slack = 6 * time.Second

// TestApplicationAPI runs three agent processes and, against them, the
// client package (status, the store calls and their errors, the watch
// stream), `quorate watch`, and the example service of docs/ops.md §16:
// it runs only while its node is quorate, stops within the quorum-loss
// time when its node is cut off (its peers frozen with SIGSTOP), and
// starts again once the partition heals.
func TestApplicationAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
	dir := t.TempDir()
	example := filepath.Join(dir, "onlyquorate")
	if out, err := exec.Command("go", "build", "-o", example, "../../client/example/onlyquorate").CombinedOutput(); err != nil {
		t.Fatalf("build the example: %v\n%s", err, out)
	}
	ps := newProcAgents(t, dir)
	alpha, bravo, charlie := ps[0], ps[1], ps[2]
	t.Cleanup(func() {
		for _, p := range ps {
			if p.cmd != nil {
				p.cmd.Process.Signal(syscall.SIGCONT)
			}
			p.kill(t, syscall.SIGTERM)
		}
		logProcAgents(t, ps)
	})
	for _, p := range ps {
		p.start(t)
	}
	for _, p := range ps {
		waitMembers(t, &p.runningAgent, 3)
	}
	ctx, cancel := context.WithTimeout(context.Background(), agentWait)
	defer cancel()
	ca, cb := client.New(alpha.admin), client.New(bravo.admin)

	st, err := ca.Status(ctx)
	if err != nil || st.Node != "alpha" || st.Cluster != "lab3" || !st.Quorate || strings.Join(st.Members, " ") != "alpha bravo charlie" ||
		st.ConfigVersion != 3 || st.TotalVotes != 3 || st.Quorum != 2 || !strings.HasPrefix(st.Ring, "1.") {
		t.Fatalf("Status: %+v %v", st, err)
	}

	// The watch stream: a snapshot, then bravo's write as a store event
	// carrying the ring and config_version.
	w, err := ca.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := w.Next()
	if err != nil || first.Type != client.EventState || !first.Quorate || first.Ring != st.Ring || len(first.Members) != 3 || first.ConfigVersion != 3 {
		t.Fatalf("first event: %+v %v", first, err)
	}
	// quorate watch prints the same stream as JSON lines.
	cli := exec.Command(os.Args[0], "watch", "--admin", alpha.admin)
	cli.Env = append(os.Environ(), beMain+"=1")
	cliOut, err := cli.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Start(); err != nil {
		t.Fatal(err)
	}
	cliLines := bufio.NewScanner(cliOut)
	if !cliLines.Scan() || !strings.Contains(cliLines.Text(), `"type":"state"`) {
		t.Fatalf("quorate watch: first line %q", cliLines.Text())
	}
	v, err := cb.Put(ctx, "app/leader", []byte("bravo"))
	if err != nil || v == 0 {
		t.Fatalf("Put: %d %v", v, err)
	}
	// The next store event (a link or quorum event may come first).
	e, err := w.Next()
	for err == nil && e.Type != client.EventStore {
		e, err = w.Next()
	}
	if err != nil || e.Type != client.EventStore || e.Path != "app/leader" || e.Op != "put" || e.Version != v ||
		e.Ring != st.Ring || e.ConfigVersion != 3 || !e.Quorate || e.Node != "alpha" {
		t.Fatalf("store event: %+v %v", e, err)
	}
	var line client.Event
	for line.Type != client.EventStore && cliLines.Scan() {
		if err := json.Unmarshal(cliLines.Bytes(), &line); err != nil {
			t.Fatalf("quorate watch: %q: %v", cliLines.Text(), err)
		}
	}
	if line.Type != client.EventStore || line.Path != "app/leader" || line.Version != v {
		t.Fatalf("quorate watch: no store event, last line %q", cliLines.Text())
	}
	cli.Process.Signal(syscall.SIGTERM)
	if err := cli.Wait(); err != nil {
		t.Fatalf("quorate watch after SIGTERM: %v", err)
	}
	w.Close()

	// The store calls and their errors.
	if got, err := ca.GetOrdered(ctx, "app/leader"); err != nil || string(got.Value) != "bravo" || got.Version != v {
		t.Errorf("GetOrdered: %+v %v", got, err)
	}
	if _, err := ca.CompareAndSet(ctx, "app/leader", v+100, []byte("alpha")); !errors.Is(err, client.ErrConflict) {
		t.Errorf("CompareAndSet with a stale version: %v, want ErrConflict", err)
	}
	if v2, err := ca.CompareAndSet(ctx, "app/leader", v, []byte("alpha")); err != nil || v2 <= v {
		t.Errorf("CompareAndSet: %d %v", v2, err)
	}
	if _, err := ca.Lock(ctx, "priv/lock/app", "", 30*time.Second); err != nil {
		t.Errorf("Lock: %v", err)
	}
	if _, err := cb.Lock(ctx, "priv/lock/app", "", 30*time.Second); !errors.Is(err, client.ErrLocked) {
		t.Errorf("Lock held by alpha, taken by bravo: %v, want ErrLocked", err)
	}
	if got, err := cb.Get(ctx, "priv/lock/app"); err != nil || got.Lock != "alpha" {
		t.Errorf("the lock on bravo: %+v %v", got, err)
	}
	if err := ca.Delete(ctx, "priv/lock/app"); err != nil {
		t.Errorf("Delete (unlock): %v", err)
	}
	if _, err := cb.Get(ctx, "no/such"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get of a missing entry: %v, want ErrNotFound", err)
	}
	if _, err := client.New(filepath.Join(dir, "none.sock")).Status(ctx); !errors.Is(err, client.ErrUnreachable) {
		t.Errorf("Status without an agent: %v, want ErrUnreachable", err)
	}

	// The example service on alpha.
	svc := exec.Command(example, "--admin", alpha.admin, "--grace", "10s", "--", "sleep", "1000")
	stderr, err := svc.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(); err != nil {
		t.Fatal(err)
	}
	type logLine struct {
		at   time.Time
		text string
	}
	lines := make(chan logLine, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- logLine{time.Now(), sc.Text()}
		}
		close(lines)
	}()
	var seen []string
	await := func(re *regexp.Regexp) (logLine, []string) {
		t.Helper()
		timeout := time.After(agentWait)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the example exited; its log:\n%s", strings.Join(seen, "\n"))
				}
				seen = append(seen, l.text)
				if m := re.FindStringSubmatch(l.text); m != nil {
					return l, m
				}
			case <-timeout:
				t.Fatalf("no %q in the example's log:\n%s", re, strings.Join(seen, "\n"))
			}
		}
	}
	started := regexp.MustCompile(`alpha is quorate \(ring [0-9a-f.]+, members \[alpha bravo charlie\]\): started pid (\d+)`)
	_, m := await(started)
	pid := m[1]

	// Cut alpha off: its peers stop answering.
	w2, err := ca.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w2.Close()
	if e, err := w2.Next(); err != nil || e.Type != client.EventState {
		t.Fatalf("first event: %+v %v", e, err)
	}
	cut := time.Now()
	for _, p := range []*procAgent{bravo, charlie} {
		p.cmd.Process.Signal(syscall.SIGSTOP)
	}
	stopped, m := await(regexp.MustCompile(`alpha lost quorum \(ring [0-9a-f.]+, members \[[a-z ]*\]\): stopped pid (\d+)`))
	took := stopped.at.Sub(cut)
	t.Logf("the example stopped its service %v after alpha was cut off (quorum-loss time %v)", took.Round(time.Millisecond), quorumLoss)
	if m[1] != pid {
		t.Errorf("stopped pid %s, started %s", m[1], pid)
	}
	if took > quorumLoss+slack {
		t.Errorf("the service stopped %v after the cut, more than the quorum-loss time %v (+%v for a loaded machine)", took, quorumLoss, slack)
	}
	if n := atoi(t, pid); syscall.Kill(n, 0) == nil {
		t.Errorf("pid %d still runs after the example stopped it", n)
	}
	// The stream told the story: links to bravo down, a ring of one, no
	// quorum, each event with the ring it happened in.
	var linkDown, ringOfOne, lost bool
	for !(linkDown && ringOfOne && lost) {
		e, err := w2.Next()
		if err != nil {
			t.Fatalf("watch during the cut: %v (link down %v, ring of one %v, quorum lost %v)", err, linkDown, ringOfOne, lost)
		}
		switch {
		case e.Type == client.EventLink && e.Link != nil && e.Link.Peer == "bravo" && !e.Link.Up:
			linkDown = true
		case e.Type == client.EventMembership && strings.Join(e.Members, " ") == "alpha" && e.Ring != st.Ring:
			ringOfOne = true
		case e.Type == client.EventQuorum && !e.Quorate && e.Ring != st.Ring && e.TotalVotes == 1 && e.ConfigVersion == 3:
			lost = true
		}
	}
	if _, err := ca.Put(ctx, "app/leader", []byte("x")); !errors.Is(err, client.ErrNotQuorate) {
		t.Errorf("Put on alpha alone: %v, want ErrNotQuorate", err)
	}

	// Heal: the service starts again (with bravo, or charlie, or both: the
	// first quorate ring after the heal need not hold all three).
	for _, p := range []*procAgent{bravo, charlie} {
		p.cmd.Process.Signal(syscall.SIGCONT)
	}
	_, m = await(regexp.MustCompile(`alpha is quorate \(ring [0-9a-f.]+, members \[alpha [a-z ]+\]\): started pid (\d+)`))
	svc.Process.Signal(syscall.SIGTERM)
	await(regexp.MustCompile(`exiting: stopped pid ` + m[1]))
	if err := svc.Wait(); err != nil {
		t.Errorf("the example after SIGTERM: %v", err)
	}
}

// TestExampleInDocs: docs/ops.md shows the example service exactly as the
// test runs it.
func TestExampleInDocs(t *testing.T) {
	src, err := os.ReadFile("../../client/example/onlyquorate/main.go")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/ops.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+string(src)+"```\n") {
		t.Errorf("docs/ops.md does not hold client/example/onlyquorate/main.go verbatim in a go block")
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a pid: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
