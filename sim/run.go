package sim

import (
	"errors"
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/invariant"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// Kernel event kinds of a run.
const (
	evWake      EventKind = iota + 1 // Node: host; Arg: wake generation
	evDeliver                        // Ref: in-flight packet slot, Node: its destination host
	evFault                          // Ref: index into the scenario's faults
	evBoot                           // Node: host
	evClient                         // Ref: workload client
	evArbIn                          // Ref: message slot, node -> qnetd
	evArbOut                         // Ref: message slot, qnetd -> node
	evArbWake                        // Arg: qnetd wake generation
	evStatus                         // the --status-at probe
	evKV                             // Ref: kv client arrival
	evKVTimeout                      // Ref: kv client; Arg: the operation's number
	evRestart                        // Node: host restarting its engine for a new configuration
	evICMP                           // Ref: in-flight slot of an ICMP error (d.To is the packet's sender)
	evConfApply                      // Node: host taking the cluster's newer configuration
	evDeferred                       // Node: busy host; Ref: its group of deferred deliveries (sim/cpu.go)
)

// Options tune one run.
type Options struct {
	// Seed overrides the scenario's seed when SeedSet.
	Seed    uint64
	SeedSet bool
	// Trace receives trace.jsonl; nil keeps only the hash.
	Trace io.Writer
	// Command is how a person reproduces this run; it goes into the result.
	Command string
	// HistoryHTML, when set, is where a failed linearizability check
	// writes porcupine's visualisation of the failing key.
	HistoryHTML string
	// StatusAt, when StatusSet, renders `pvecm status` of StatusNodes (nil:
	// every node) at that simulated instant into the result.
	StatusAt    time.Duration
	StatusSet   bool
	StatusNodes []string
	// MaxMemory, when positive, is the most memory the process may hold:
	// a scenario estimated to need more is refused before it starts, and a
	// run that grows past it stops (both ErrMemoryLimit).
	MaxMemory int64
	// Strict fails a by or within expectation that holds vacuously (it
	// already held before the fault it follows) instead of warning.
	Strict bool

	verify func(line []byte)
}

// host is one simulated machine: its engine node while the process runs.
type host struct {
	idx  int
	name string
	id   wire.NodeID
	cfg  engine.Config
	node *engine.Node // nil while down
	up   bool
	// off: the machine is powered off, not only its process gone; a
	// powered machine answers packets to its closed port with ICMP.
	off bool
	// busyUntil and backlog are the processing-cost model
	// (cluster.packet_cost, sim/cpu.go): until when the node is busy, and
	// how many packets wait in its receive queue.
	busyUntil wire.Instant
	backlog   int
	// group is 1 + the index of the node's last group of deferred
	// deliveries while more may join it, else 0.
	group int32
	// outside: a machine of cluster.new_nodes not added yet, which has no
	// cluster service to start; standalone: a node separated from the
	// cluster, running as a cluster of one.
	outside, standalone bool
	// restart is the engine's request to restart for a newer
	// configuration (Ready.Restart), until evRestart performs it.
	restart *engine.Restart
	disk    engine.State   // what the node persisted; survives crashes
	proc    *check.Process // the current incarnation's delivery history
	incs    int
	rnd     *rand.Rand
	wakeAt  wire.Instant
	gen     uint32
}

type inflight struct {
	d    wire.Datagram
	id   uint64
	sent wire.Instant
}

// run is the state of one simulation.
type run struct {
	sc      *scenarios.Scenario
	opt     Options
	seed    uint64
	k       *Kernel
	streams Streams
	net     *netmodel.Model
	hosts   []*host
	byID    map[wire.NodeID]int
	linkNos []wire.LinkNo
	trace   *Trace
	obs     *observer

	pkts   []inflight
	free   []int32
	pktID  uint64
	counts reports.Packets

	res        *reports.Result
	lastChange wire.Instant // last fault or boot: where liveness starts counting
	qnetd      *arbiterHost // nil without a quorum device
	kv         *kvState     // nil without a kv workload
	hist       check.History
	// configVersion is corosync.conf's config_version, bumped by delnode
	// as pvecm does when it writes the new file.
	configVersion uint64
	// conf and confText are the cluster's corosync.conf (nil without
	// cluster.corosync_conf), as the store holds it: what the operator's
	// changes edit.
	conf     *corosyncconf.Config
	confText []byte
	clients  []*client
	// wlBuf is the workload payload being multicast (sim/workload.go).
	wlBuf []byte
	// refusals counts the operator actions the cluster refused.
	refusals int64
	// recorded holds each node's final store in a Recording (nil in a
	// simulated run, where the engines are asked).
	recorded []recordedReplica
	// extraChecks are a Recording's own verdicts, combined with the
	// checkers' (nil in a simulated run).
	extraChecks map[string]check.CheckResult
	ops         int64
	opsOK       int64
	memErr      error // set when the run stopped over Options.MaxMemory
	// triggers are the faults fired by protocol state (when:), checked
	// against every engine event.
	triggers []*trigger
	// coverage: the cells the faults visited (sim/coverage.go).
	coverage []reports.CoverageCell
	// cur is the host whose engine the current event runs, when one does:
	// an assertion names it. violation is the broken engine invariant
	// that stopped the run, if any.
	cur       *host
	violation *invariant.Violation
	// groups hold the deliveries deferred to busy nodes (sim/cpu.go);
	// freeGroups are the indexes of groups done with, for reuse.
	groups     []deferGroup
	freeGroups []int32
	// memNext: the run's memory is looked at when Processed reaches it.
	memNext uint64
	// hugePages: the heap's new mappings are advised to use transparent
	// huge pages as the run goes (sim/hugepages.go).
	hugePages bool
	// pcrc is the CRC of the last payload sent (sim/crc.go).
	pcrc payloadCRC
}

// castagnoli is CRC-32C, which the CPU computes at memory speed: every
// packet's payload is fingerprinted in the trace.
var castagnoli = sync.OnceValue(func() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) })

// ErrAssertion marks a run stopped by a broken engine invariant.
var ErrAssertion = errors.New("sim: engine assertion failed")

// Run executes scenario sc and returns its result. An error is returned only
// for input the simulator cannot run (an input error: exit 2); a failed
// expectation or a broken invariant is a result with OK false.
func Run(sc *scenarios.Scenario, opt Options) (res *reports.Result, err error) {
	if err := Unsupported(sc); err != nil {
		return nil, err
	}
	if err := tooLarge(sc, opt.MaxMemory); err != nil {
		return nil, err
	}
	start := time.Now()
	r, err := newRun(sc, opt)
	if err != nil {
		return nil, err
	}
	failure := r.loop()
	if r.memErr == nil {
		r.memErr = r.overMemory()
	}
	if r.memErr != nil {
		return nil, r.memErr
	}
	res = r.result(failure)
	res.WallS = time.Since(start).Seconds()
	res.Reproduce = opt.Command
	if err := r.trace.Close(wire.Instant(sc.Duration)); err != nil {
		return res, fmt.Errorf("sim: writing trace: %w", err)
	}
	return res, nil
}

func newRun(sc *scenarios.Scenario, opt Options) (*run, error) {
	est, _ := Estimate(sc)
	hugePages := est <= hugePageRunMax && hugePagesOnRequest()
	if hugePages {
		prepareHeap(est)
	}
	seed := sc.Seed
	if opt.SeedSet {
		seed = opt.Seed
	}
	r := &run{
		hugePages: hugePages,
		sc:        sc,
		opt:       opt,
		seed:      seed,
		k:         NewKernel(1024),
		streams:   NewStreams(seed),
		byID:      make(map[wire.NodeID]int),
		trace:     NewTrace(opt.Trace),

		configVersion: 1,
		conf:          sc.Cluster.Conf,
		confText:      sc.Cluster.CorosyncConfSource,
	}
	r.trace.setVerify(opt.verify)
	topo, err := topology(sc)
	if err != nil {
		return nil, err
	}
	r.net, err = netmodel.New(topo, func(label string) rand.Source { return r.streams.Source(label) })
	if err != nil {
		return nil, err
	}
	for _, l := range sc.Network.Links {
		r.linkNos = append(r.linkNos, wire.LinkNo(l.Number))
	}
	for i, n := range sc.Cluster.Nodes {
		var cfg engine.Config
		if !n.Added {
			if cfg, err = EngineConfig(sc, n); err != nil {
				return nil, err
			}
		}
		h := &host{idx: i, name: n.Name, id: wire.NodeID(n.ID), cfg: cfg, outside: n.Added,
			rnd: r.streams.Rand(fmt.Sprintf("node/%d", n.ID))}
		r.hosts = append(r.hosts, h)
		r.byID[h.id] = i
	}
	r.obs = newObserver(r)
	r.header()
	for i, n := range sc.Cluster.Nodes {
		if !n.Added {
			r.k.Schedule(wire.Instant(n.BootAt), Event{Kind: evBoot, Node: int32(i)})
		}
	}
	for i, f := range sc.Faults {
		if f.When == nil {
			r.k.Schedule(wire.Instant(f.At), Event{Kind: evFault, Ref: int32(i)})
		}
	}
	r.armTriggers()
	if err := r.startWorkload(); err != nil {
		return nil, err
	}
	if err := r.startArbiter(); err != nil {
		return nil, err
	}
	if opt.StatusSet {
		r.res = &reports.Result{}
		r.k.Schedule(wire.Instant(opt.StatusAt), Event{Kind: evStatus})
	}
	return r, nil
}

// header is the first trace line: enough to replay the run without the
// scenario file. It names the file by its base name only, so that the hash
// depends on what was run, not on the directory it was run from.
func (r *run) header() {
	t := r.trace.Begin(0, "header").Int("format", TraceFormat).Str("scenario", r.sc.Name).
		Uint("seed", r.seed).Str("file", filepath.Base(r.sc.Path)).Str("source", string(r.sc.Source))
	if r.sc.Cluster.CorosyncConf != "" {
		t.Str("corosync_conf", string(r.sc.Cluster.CorosyncConfSource))
	}
	t.End()
}

// loop runs events until the scenario's duration. It returns the reason the
// run stopped early (an engine assertion), or "".
func (r *run) loop() (failure string) {
	defer func() {
		if p := recover(); p != nil {
			where := ""
			t := r.trace.Begin(r.k.Now(), "assertion")
			if r.cur != nil {
				where = " on " + r.cur.name
				t.Str("node", r.cur.name)
			}
			if v, ok := p.(*invariant.Violation); ok {
				r.violation = v
				t.Str("layer", v.Layer).Str("what", v.What).Str("detail", v.Detail)
			}
			t.Str("panic", fmt.Sprint(p)).End()
			failure = fmt.Sprintf("%v at %v%s: %v", ErrAssertion, r.k.Now(), where, p)
		}
	}()
	end := wire.Instant(r.sc.Duration)
	r.memNext = (r.k.Processed()/memCheckEvery + 1) * memCheckEvery
	for {
		t, ok := r.k.PeekTime()
		if !ok || t > end {
			break
		}
		ev, _ := r.k.Next()
		r.dispatch(ev)
		if (r.hugePages || r.opt.MaxMemory > 0) && r.k.Processed() >= r.memNext {
			// A group of deferred deliveries counts as many events as
			// it holds: every memCheckEvery events, however they come.
			r.memNext = (r.k.Processed()/memCheckEvery + 1) * memCheckEvery
			if r.memErr = r.lookAtMemory(); r.memErr != nil {
				return ""
			}
		}
	}
	return ""
}

func (r *run) dispatch(ev Event) {
	r.cur = nil
	switch ev.Kind {
	case evWake:
		h := r.hosts[ev.Node]
		r.cur = h
		if !h.up || ev.Arg != h.gen {
			return // stale wake of a dead or rescheduled node
		}
		if r.busy(h, ev) {
			return
		}
		h.wakeAt = 0
		h.node.Advance(r.k.Now())
		r.flush(h)
	case evDeliver:
		if r.queued(ev) {
			return
		}
		r.deliver(ev.Ref, r.hosts[ev.Node])
	case evDeferred:
		r.deliverDeferred(ev)
	case evFault:
		r.fault(ev.Ref)
	case evBoot:
		r.boot(r.hosts[ev.Node])
	case evClient:
		r.clientOp(ev.Ref)
	case evArbIn:
		r.arbIn(ev.Ref)
	case evArbOut:
		r.arbOut(ev.Ref)
	case evArbWake:
		r.arbWake(ev.Arg)
	case evStatus:
		r.statusProbe(r.k.Now())
	case evKV:
		r.kvTick(ev.Ref)
	case evKVTimeout:
		r.kvTimeout(ev.Ref, ev.Arg)
	case evRestart:
		r.confRestart(r.hosts[ev.Node])
	case evICMP:
		r.icmpArrive(ev.Ref)
	case evConfApply:
		r.confApply(r.hosts[ev.Node])
	}
}

// boot starts the node's process (power on, restart, cold start).
func (r *run) boot(h *host) {
	if h.up || h.outside {
		return
	}
	r.lastChange = r.k.Now()
	r.cur = h
	h.proc = &check.Process{Node: h.id, Name: h.name, Inc: h.incs, Start: r.k.Now()}
	h.incs++
	r.hist.Attach(h.proc)
	n, err := engine.New(h.cfg, r.k.Now(), h.disk, h.rnd)
	if err != nil {
		panic(fmt.Sprintf("node %s does not start: %v", h.name, err))
	}
	h.node, h.up, h.off, h.wakeAt = n, true, false, 0
	h.busyUntil = 0
	h.gen++
	r.trace.Begin(r.k.Now(), "boot").Str("node", h.name).End()
	r.obs.nodeUp(h, true, r.k.Now())
	r.obs.quorum(h, r.k.Now())
	r.obs.configVersion(h, r.k.Now())
	r.flush(h)
}

// kill ends the node's process at once; in-flight packets to it are lost.
func (r *run) kill(h *host, why string) {
	if !h.up {
		return
	}
	h.node, h.up, h.wakeAt = nil, false, 0
	h.restart = nil // the request died with the engine that made it
	h.gen++
	h.proc.End = r.k.Now()
	r.nodeGone(h, why == "crash")
	r.kvCrash(h)
	r.trace.Begin(r.k.Now(), "down").Str("node", h.name).Str("why", why).End()
	r.obs.nodeUp(h, false, r.k.Now())
}

// flush performs a node's Ready batch: send, record, re-arm its timer.
func (r *run) flush(h *host) {
	rd := h.node.Ready()
	if rd.Persist != nil {
		// Written before anything of this batch is sent, as the
		// contract of Ready demands; a crash keeps it.
		h.disk = *rd.Persist
		r.trace.Begin(r.k.Now(), "persist").Str("node", h.name).Uint("ring_seq", rd.Persist.RingSeq).End()
	}
	// rd.Rebind needs nothing here: the simulated network routes by node
	// id and link, whatever the addresses.
	r.charge(h, len(rd.Outbox))
	for _, d := range rd.Outbox {
		r.send(d)
	}
	for _, e := range rd.Events {
		r.event(h, e)
	}
	for _, d := range rd.Deliver {
		r.record(h, d)
	}
	for _, res := range rd.Results {
		r.kvResult(h, res)
	}
	if dc := rd.Device; dc != nil {
		// A live reload started or stopped the node's qdevice; the
		// simulated qnetd host needs no bundle, and the stream follows
		// the engine's own operations below.
		r.trace.Begin(r.k.Now(), "qdevice").Str("node", h.name).Bool("start", dc.Start).Uint("config_version", dc.ConfigVersion).End()
	}
	r.streamOps(h, rd.Arbiter)
	if rd.QuorumChanged {
		r.obs.quorum(h, r.k.Now())
	}
	h.node.Ack(rd)
	if rd.Stop != nil {
		// The process exits, as corosync does (its persisted state stays).
		r.kill(h, "stop: "+rd.Stop.String())
		return
	}
	if rd.Restart != nil {
		// The engine's turn in a rolling restart: performed as its own
		// event, once this batch is done.
		h.restart = rd.Restart
		r.k.Schedule(r.k.Now(), Event{Kind: evRestart, Node: int32(h.idx)})
	}
	if rd.Deadline != 0 && rd.Deadline != h.wakeAt {
		h.gen++
		h.wakeAt = rd.Deadline
		r.k.Schedule(rd.Deadline, Event{Kind: evWake, Node: int32(h.idx), Arg: h.gen})
	}
}

func (r *run) send(d wire.Datagram) {
	r.pktID++
	r.counts.Sent++
	r.trace.Send(r.k.Now(), r.pktID, uint64(d.From), uint64(d.To), uint64(d.Link), int64(d.Len()),
		uint64(r.pcrc.frameCRC(d)))
	arr, n, v := r.net.Route(r.k.Now(), d)
	if v.Dropped() {
		r.drop(r.pktID, v.String())
		return
	}
	// The destination is looked up once per packet: a busy node's
	// deferred delivery is handled without the packet table or the map.
	to := int32(r.byID[d.To])
	for i := range n {
		slot := r.alloc(inflight{d: d, id: r.pktID, sent: r.k.Now()})
		r.k.Schedule(arr[i].At, Event{Kind: evDeliver, Node: to, Ref: slot})
	}
}

func (r *run) drop(id uint64, why string) {
	if r.counts.Dropped == nil {
		r.counts.Dropped = map[string]uint64{}
	}
	r.counts.Dropped[why]++
	r.trace.Begin(r.k.Now(), "drop").Uint("id", id).Str("why", why).End()
}

func (r *run) alloc(p inflight) int32 {
	if n := len(r.free); n > 0 {
		s := r.free[n-1]
		r.free = r.free[:n-1]
		r.pkts[s] = p
		return s
	}
	r.pkts = append(r.pkts, p)
	return int32(len(r.pkts) - 1)
}

func (r *run) deliver(slot int32, h *host) {
	p := r.pkts[slot]
	r.pkts[slot] = inflight{}
	r.free = append(r.free, slot)
	if !h.up {
		r.drop(p.id, "node_down")
		if !h.off {
			r.portUnreachable(p)
		}
		return
	}
	// The path is checked again on arrival: a packet in flight when a
	// switch fails or a partition starts is lost with it.
	if v := r.net.PathVerdict(p.d.From, p.d.To, p.d.Link); v.Dropped() {
		r.drop(p.id, v.String())
		return
	}
	r.counts.Delivered++
	r.cur = h
	r.trace.Recv(r.k.Now(), p.id)
	r.charge(h, 1)
	// A packet in flight is never modified or reused: the node may keep it.
	h.node.StepShared(r.k.Now(), p.d)
	r.flush(h)
}

// event traces one engine event and feeds the observer.
func (r *run) event(h *host, e wire.Event) {
	t := r.trace.Begin(r.k.Now(), e.Kind.String()).Str("node", h.name)
	if b, ok := r.byID[e.Peer]; ok {
		t.Str("peer", r.hosts[b].name)
	} else if e.Peer != 0 {
		t.Uint("peer", uint64(e.Peer))
	}
	switch e.Kind {
	case wire.EventLinkUp, wire.EventLinkDown:
		t.Uint("link", uint64(e.Link))
	case wire.EventActiveLink:
		t.Int("active", int64(e.Active))
	case wire.EventPacketRejected:
		t.Uint("link", uint64(e.Link)).Str("why", e.Detail)
	case wire.EventMembership, wire.EventTotem, wire.EventQuorum, wire.EventQuorumInfo, wire.EventStore, wire.EventSync:
		if e.Nodes != nil {
			t.Str("nodes", r.names(e.Nodes))
		}
		t.Str("detail", e.Detail)
	}
	t.End()
	r.obs.linkEvent(h, e, r.k.Now())
	r.engineEvent(h, e)
}

// nodesOf resolves names to hosts; nil names mean every node.
func (r *run) nodesOf(names []string) []*host {
	if names == nil {
		return slices.Clone(r.hosts)
	}
	var out []*host
	for _, n := range names {
		for _, h := range r.hosts {
			if h.name == n {
				out = append(out, h)
			}
		}
	}
	return out
}

// names prints node ids as the scenario's node names.
func (r *run) names(ids []wire.NodeID) string { return strings.Join(r.idNames(ids), ",") }
