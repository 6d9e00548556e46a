package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// Options tune one lab run.
type Options struct {
	// Seed overrides the scenario's seed when SeedSet. The seed draws the
	// same things as in the simulator (cold-start boot delays, the kv
	// workload's arrivals and operations); the run itself is real and
	// not repeatable.
	Seed    uint64
	SeedSet bool
	// Out is the run's directory: result.json, history.html, and per node
	// its data directory (journal, config.db), log and admin socket.
	Out string
	// Binary is the quorate executable the agents run; "" runs this
	// process's own executable.
	Binary string
	// Log receives a line per step (faults as they are carried out); nil
	// discards them.
	Log io.Writer
	// Command is how a person reproduces the run; it goes into the result.
	Command string
	// RunID names everything the run creates; "" draws one.
	RunID string
}

// ErrSetup marks a lab that cannot start here (not root, a kernel without
// namespaces, bridges or nf_tables, no agent binary): nothing was run.
var ErrSetup = errors.New("lab: cannot set up the lab here")

// node is one node's agent as the lab runs it.
type node struct {
	idx     int
	name    string
	dir     string
	admin   string
	log     string
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	started time.Duration
}

// deliveries is the agent's delivery log (agent/deliveries.go).
func (n *node) deliveries() string { return filepath.Join(n.dir, "deliveries.jsonl") }

// lab is one run.
type lab struct {
	sc      *scenarios.Scenario
	opt     Options
	seed    uint64
	id      string
	out     string
	bin     string
	conf    string
	fab     *fabric
	fw      *firewall
	cuts    *cuts
	nodes   []*node
	t0      time.Time
	logw    io.Writer
	streams sim.Streams

	// qnetd is the quorum device's daemon while it runs.
	qnetd     *exec.Cmd
	qnetdDone chan struct{}
	bundle    string

	// delays is each (node, link)'s send delay, applied to the agent
	// through its admin socket at every start and on set_latency.
	delays map[lossKey]netmodel.Dist

	mu      sync.Mutex
	events  []event // what the lab did, with when
	kv      *kvRun
	nodeIdx map[string]int
}

// event is one thing the lab did, at an offset from the run's start.
type event struct {
	at    time.Duration
	fault int // index into sc.Faults, or -1
	node  int // NodeUp events: the node
	up    bool
}

// Run carries out scenario sc on real agents in network namespaces and
// judges it as the simulator judges a simulated run. It returns an error
// only when the lab could not run (ErrSetup, or a scenario the lab does
// not support: scenarios.ErrorList); a failed expectation is a result
// with OK false. Everything it created is gone when it returns, and when
// ctx is cancelled (SIGINT) it stops early, tears down and returns
// ctx's error.
func Run(ctx context.Context, sc *scenarios.Scenario, opt Options) (res *reports.Result, err error) {
	if err := Supported(sc); err != nil {
		return nil, err
	}
	if err := Check(opt.Binary); err != nil {
		return nil, err
	}
	l, err := newLab(sc, opt)
	if err != nil {
		return nil, err
	}
	defer func() {
		if terr := l.teardown(); terr != nil && err == nil {
			err = terr
		}
	}()
	if err := l.setup(); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := l.execute(ctx); err != nil {
		return nil, err
	}
	res, err = l.collect()
	if err != nil {
		return nil, err
	}
	res.WallS = time.Since(start).Seconds()
	res.Reproduce = opt.Command
	res.Driver = "lab"
	return res, nil
}

func newLab(sc *scenarios.Scenario, opt Options) (*lab, error) {
	l := &lab{sc: sc, opt: opt, seed: sc.Seed, id: opt.RunID, logw: opt.Log, nodeIdx: map[string]int{}}
	if opt.SeedSet {
		l.seed = opt.Seed
	}
	l.streams = sim.NewStreams(l.seed)
	if l.logw == nil {
		l.logw = io.Discard
	}
	if l.id == "" {
		b := make([]byte, 3)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		l.id = hex.EncodeToString(b)
	}
	l.bin = opt.Binary
	if l.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		l.bin = exe
	}
	l.out = opt.Out
	if l.out == "" {
		d, err := os.MkdirTemp("", "quorate-lab-"+l.id+"-")
		if err != nil {
			return nil, err
		}
		l.out = d
	}
	if err := os.MkdirAll(l.out, 0o755); err != nil {
		return nil, err
	}
	var links []int
	swOf := map[int]int{}
	var switches []string
	for _, lk := range sc.Network.Links {
		links = append(links, lk.Number)
		k := slices.Index(switches, lk.Switch)
		if k < 0 {
			k = len(switches)
			switches = append(switches, lk.Switch)
		}
		swOf[lk.Number] = k
	}
	l.fab = &fabric{id: l.id, links: links, switches: switches, swOf: swOf, qnetd: sc.Cluster.Quorum.Device != nil}
	l.cuts = newCuts(len(sc.Cluster.Nodes), links)
	l.delays = map[lossKey]netmodel.Dist{}
	for _, lk := range sc.Network.Links {
		d, err := sim.Dist(lk.Latency)
		if err != nil {
			return nil, err
		}
		for i := range sc.Cluster.Nodes {
			l.cuts.loss[lossKey{i, lk.Number}] = lk.Loss
			l.delays[lossKey{i, lk.Number}] = d
		}
	}
	for i, n := range sc.Cluster.Nodes {
		dir := filepath.Join(l.out, "nodes", n.Name)
		l.nodes = append(l.nodes, &node{idx: i, name: n.Name, dir: dir,
			admin: filepath.Join(l.out, "nodes", n.Name+".sock"), log: filepath.Join(l.out, "nodes", n.Name+".log")})
		l.nodeIdx[n.Name] = i
	}
	return l, nil
}

func (l *lab) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var at time.Duration
	if !l.t0.IsZero() {
		at = time.Since(l.t0)
	}
	fmt.Fprintf(l.logw, "lab %s %8.3fs  %s\n", l.id, at.Seconds(), fmt.Sprintf(format, args...))
}

// setup builds the network and writes the agents' configuration.
func (l *lab) setup() error {
	if err := l.fab.build(len(l.nodes)); err != nil {
		return err
	}
	l.fw = &firewall{table: tableName(l.id), ns: l.fab.nodeNS}
	if err := l.fw.render(l.cuts); err != nil {
		return err
	}
	for _, n := range l.nodes {
		// A fresh data directory: a lab run starts from nothing, as a
		// simulated one does.
		if err := os.RemoveAll(n.dir); err != nil {
			return err
		}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return err
		}
		os.Remove(n.admin)
	}
	key := filepath.Join(l.out, "authkey")
	os.Remove(key)
	if err := udp.GenerateKey(key, udp.DefaultKeySize); err != nil {
		return err
	}
	if l.fab.qnetd {
		// What `pvecm qdevice setup` does on the qnetd host: a client
		// bundle for the cluster from the daemon's CA.
		l.bundle = filepath.Join(l.out, "qdevice.pem")
		out, err := exec.Command(l.bin, "qnetd", "enroll", clusterName(l.sc), "--out", l.bundle, "--force",
			"--data-dir", filepath.Join(l.out, "qnetd")).CombinedOutput()
		if err != nil {
			return fmt.Errorf("lab: quorate qnetd enroll: %v: %s", err, out)
		}
	}
	l.conf = filepath.Join(l.out, "corosync.conf")
	return os.WriteFile(l.conf, []byte(corosyncConf(l.sc, key, QnetdAddr.String())), 0o644)
}

// now is the offset from the run's start.
func (l *lab) now() time.Duration { return time.Since(l.t0) }

func (l *lab) record(e event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

// start runs node n's agent in its namespace.
func (l *lab) start(n *node) error {
	if n.cmd != nil {
		return nil
	}
	f, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	args := []string{"agent", "--config", l.conf, "--node", n.name,
		"--admin", n.admin, "--data-dir", n.dir, "--join-listen", "off", "--deliveries", n.deliveries()}
	if l.bundle != "" {
		args = append(args, "--qdevice-bundle", l.bundle)
	}
	cmd := exec.Command(l.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group, so that a SIGINT at the terminal reaches the
	// lab alone, which then stops the agents itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startIn(l.fab.nodeNS[n.idx], cmd); err != nil {
		return fmt.Errorf("lab: starting %s's agent: %w", n.name, err)
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	go func() { cmd.Wait(); close(n.done) }()
	n.started = l.now()
	l.record(event{at: n.started, fault: -1, node: n.idx, up: true})
	l.logf("%s: agent started (pid %d)", n.name, cmd.Process.Pid)
	go l.configure(n, n.done)
	return nil
}

// startQnetd starts a fresh quorum device daemon on its host.
func (l *lab) startQnetd() error {
	if l.qnetd != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(l.out, "qnetd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd := exec.Command(l.bin, "qnetd", "--listen", QnetdAddr.String()+":5403", "--data-dir", filepath.Join(l.out, "qnetd"),
		"--admin", filepath.Join(l.out, "qnetd.sock"), "--san", QnetdAddr.String())
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := startIn(l.fab.qnetdNS, cmd); err != nil {
		return fmt.Errorf("lab: starting qnetd: %w", err)
	}
	l.qnetd, l.qnetdDone = cmd, make(chan struct{})
	done := l.qnetdDone
	go func() { cmd.Wait(); close(done) }()
	l.logf("qnetd started (pid %d)", cmd.Process.Pid)
	return nil
}

// killQnetd ends the daemon with SIGKILL.
func (l *lab) killQnetd() {
	if l.qnetd == nil {
		return
	}
	l.qnetd.Process.Kill()
	<-l.qnetdDone
	l.qnetd = nil
}

// kill ends node n's agent with SIGKILL (crash, power_off) and waits.
func (l *lab) kill(n *node, why string) {
	if n.cmd == nil {
		return
	}
	n.cmd.Process.Kill()
	<-n.done
	n.cmd = nil
	l.record(event{at: l.now(), fault: -1, node: n.idx, up: false})
	l.logf("%s: agent killed (%s)", n.name, why)
}

// stop ends every agent with SIGTERM (each writes its stop record), or
// SIGKILL after a grace period.
func (l *lab) stop() {
	for _, n := range l.nodes {
		if n.cmd != nil {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, n := range l.nodes {
		if n.cmd == nil {
			continue
		}
		select {
		case <-n.done:
		case <-time.After(10 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
		}
		n.cmd = nil
	}
}

// teardown stops whatever still runs and deletes the network.
func (l *lab) teardown() error {
	l.killQnetd()
	for _, n := range l.nodes {
		if n.cmd != nil {
			n.cmd.Process.Kill()
			<-n.done
			n.cmd = nil
		}
	}
	return l.fab.teardown()
}

// timed is one action at an offset from the start.
type timed struct {
	at  time.Duration
	seq int
	do  func() error
}

// execute boots the nodes and carries out the faults in wall-clock time,
// with the workload running beside them, until the scenario's duration.
func (l *lab) execute(ctx context.Context) error {
	var plan []timed
	add := func(at time.Duration, do func() error) {
		plan = append(plan, timed{at: at, seq: len(plan), do: do})
	}
	if l.fab.qnetd {
		add(0, l.startQnetd)
	}
	for i, n := range l.sc.Cluster.Nodes {
		nd := l.nodes[i]
		add(n.BootAt, func() error { return l.start(nd) })
	}
	for i := range l.sc.Faults {
		add(l.sc.Faults[i].At, func() error { return l.fault(i, add) })
	}
	l.t0 = time.Now()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if err := l.startWorkload(wctx, &wg); err != nil {
		return err
	}
	defer wg.Wait()
	end := l.sc.Duration
	for {
		slices.SortStableFunc(plan, func(a, b timed) int {
			if a.at != b.at {
				return int(a.at - b.at)
			}
			return a.seq - b.seq
		})
		if len(plan) == 0 || plan[0].at > end {
			break
		}
		next := plan[0]
		plan = plan[1:]
		if d := next.at - l.now(); d > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		if err := next.do(); err != nil {
			return err
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(end - l.now()):
	}
	cancel()
	wg.Wait()
	return nil
}

// collect reads the agents' end state, stops them, and judges the run
// from their journals.
func (l *lab) collect() (*reports.Result, error) {
	end := l.sc.Duration
	tf, err := os.Create(filepath.Join(l.out, "trace.jsonl"))
	if err != nil {
		return nil, err
	}
	defer tf.Close()
	rec, err := sim.NewRecording(l.sc, l.seed, tf)
	if err != nil {
		return nil, err
	}
	nodes := map[string]reports.NodeResult{}
	var loads []loadReading
	var packets reports.Packets
	packets.Dropped = map[string]uint64{}
	for _, n := range l.nodes {
		nr, st := l.snapshot(n)
		nodes[n.name] = nr
		if st != nil {
			packets.Sent += st.Sent
			packets.Delivered += st.Received
			for k, v := range st.Dropped {
				packets.Dropped[k] += v
			}
			loads = append(loads, loadReading{name: n.name, info: st.Load})
		}
		if l.kv != nil && n.cmd != nil {
			vals, digest := l.replica(n)
			if err := rec.Replica(n.name, vals, digest); err != nil {
				return nil, err
			}
		}
	}
	if w := l.sc.Workload; w != nil && w.Kind == "multicast" {
		judgeLoad(rec, loads)
	}
	stopAt := l.now()
	l.stop()
	l.killQnetd()
	feed, err := l.feed(stopAt)
	if err != nil {
		return nil, err
	}
	if l.kv != nil {
		// Each operation's invocation and outcome, in time order with the
		// rest (the trace's kv and kv_done lines pair by id).
		for i, op := range l.kv.done() {
			id := uint64(i + 1)
			feed = append(feed, fed{at: op.Call, order: 2, seq: len(feed), apply: func(rec *sim.Recording, at time.Duration) error {
				rec.KVCall(op.KVOp, id, op.refused)
				return nil
			}})
			feed = append(feed, fed{at: op.Return, order: 2, seq: len(feed), apply: func(rec *sim.Recording, at time.Duration) error {
				return rec.KV(op.KVOp, id, op.refused)
			}})
		}
		sortFeed(feed)
	}
	for _, f := range feed {
		if f.at > end {
			f.at = end
		}
		if err := f.apply(rec, f.at); err != nil {
			return nil, err
		}
	}
	res := rec.Finish(nodes, packets, filepath.Join(l.out, "history.html"))
	if err := rec.Close(); err != nil {
		return nil, fmt.Errorf("lab: writing the trace: %w", err)
	}
	return res, tf.Sync()
}

// snapshot asks node n's admin socket for its end state.
func (l *lab) snapshot(n *node) (reports.NodeResult, *agent.StatsInfo) {
	nr := reports.NodeResult{Links: map[string]reports.PeerLinks{}}
	if n.cmd == nil {
		return nr, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	call := func(cmd string) *agent.Response {
		r, err := agent.Call(ctx, n.admin, agent.Request{Cmd: cmd})
		if err != nil || !r.OK {
			return nil
		}
		return r
	}
	st, mem, lk, stats := call(agent.CmdStatus), call(agent.CmdMembers), call(agent.CmdLinks), call(agent.CmdStats)
	if st == nil || mem == nil || lk == nil {
		return nr, nil
	}
	nr.Up = true
	q := st.Status.Quorum
	nr.Quorate, nr.ExpectedVotes, nr.HighestExpected = q.Quorate, q.ExpectedVotes, q.HighestExpected
	nr.TotalVotes, nr.Quorum, nr.Flags = q.TotalVotes, q.Quorum, q.Flags
	nr.State, nr.RingID = mem.Members.State, mem.Members.Ring
	for _, m := range mem.Members.Members {
		nr.Members = append(nr.Members, m.Name)
	}
	slices.Sort(nr.Members)
	maxLink := 0
	for _, lkn := range l.fab.links {
		maxLink = max(maxLink, lkn)
	}
	for _, p := range lk.Links.Peers {
		pl := reports.PeerLinks{Active: p.Active, Up: make([]bool, maxLink+1)}
		for _, li := range p.Links {
			if li.Link >= 0 && li.Link <= maxLink {
				pl.Up[li.Link] = li.Up
			}
		}
		nr.Links[p.Name] = pl
	}
	if stats == nil {
		return nr, nil
	}
	return nr, stats.Stats
}
