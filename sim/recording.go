package sim

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/check"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// Recording judges a run of a scenario that happened outside the
// simulator (real agents in the lab) with the simulator's own observer,
// checkers, expectations and result assembly, so that a lab run's
// result.json means exactly what a simulated run's does. The caller feeds
// what happened in time order (instants are offsets from the run's
// start), then calls Finish once.
//
// The network faults are applied to a network model as in a simulated
// run: it is the ground truth for the link detection, failover and
// recovery delays and for which nodes could reach each other at the end.
type Recording struct {
	r     *run
	final []recordedReplica
}

// recordedReplica is what a node's store held at the end of the run.
type recordedReplica struct {
	values map[string]string
	digest string
	known  bool
}

// NewRecording prepares to judge a recorded run of sc drawn from seed.
// trace, when not nil, receives the recorded run as a trace.jsonl in the
// simulator's format (the lines `quorate report` draws: boots, faults,
// link, membership, quorum and kv events); it cannot be replayed.
func NewRecording(sc *scenarios.Scenario, seed uint64, trace io.Writer) (*Recording, error) {
	if err := Unsupported(sc); err != nil {
		return nil, err
	}
	r, err := newRun(sc, Options{Seed: seed, SeedSet: true, Trace: trace})
	if err != nil {
		return nil, err
	}
	if r.kv != nil {
		// A recording's operations come in the order it lists them, not
		// invoked as a run goes: its history is cut at the end only.
		r.kv.hist.online = false
	}
	return &Recording{r: r, final: make([]recordedReplica, len(r.hosts))}, nil
}

func inst(d time.Duration) wire.Instant { return wire.Instant(d) }

func (rc *Recording) hostOf(name string) (*host, error) {
	for _, h := range rc.r.hosts {
		if h.name == name {
			return h, nil
		}
	}
	return nil, fmt.Errorf("sim: recording: unknown node %q", name)
}

// Fault records that fault i of the scenario took effect at at. Network
// faults change the model's ground truth; the node and operator actions
// are recorded through NodeUp and the events that follow them.
func (rc *Recording) Fault(i int, at time.Duration) error {
	r := rc.r
	f := r.sc.Faults[i]
	now := inst(at)
	r.lastChange = now
	detail := faultDetail(f)
	r.trace.Begin(now, "fault").Str("action", f.Action).Str("detail", detail).End()
	r.obs.tl = append(r.obs.tl, reports.TimelineEntry{TMs: now.Millis(), Event: "fault:" + f.Action, Detail: detail})
	var err error
	switch f.Action {
	case "partition", "isolate", "drop", "heal", "switch_down", "switch_up", "link_down", "link_up", "set_latency", "set_loss":
		err = r.apply(int32(i), f)
	}
	r.obs.refreshPaths(now)
	return err
}

// NodeUp records that node's process started (up) or ended at at.
func (rc *Recording) NodeUp(node string, up bool, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	r := rc.r
	now := inst(at)
	if up == h.up {
		return nil
	}
	h.up = up
	if up {
		r.lastChange = now
		h.proc = &check.Process{Node: h.id, Name: h.name, Inc: h.incs, Start: now}
		h.incs++
		r.hist.Attach(h.proc)
		r.trace.Begin(now, "boot").Str("node", h.name).End()
	} else {
		h.proc.End = now
		r.trace.Begin(now, "down").Str("node", h.name).Str("why", "killed").End()
	}
	r.obs.nodeUp(h, up, now)
	return nil
}

// Link records a link event of node about peer: "link_up" or "link_down"
// of link, or "active_link" with link the link now in use (-1: none).
func (rc *Recording) Link(node, peer, kind string, link int, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	p, err := rc.hostOf(peer)
	if err != nil {
		return err
	}
	e := wire.Event{Peer: p.id}
	switch kind {
	case "link_up":
		e.Kind, e.Link = wire.EventLinkUp, wire.LinkNo(link)
	case "link_down":
		e.Kind, e.Link = wire.EventLinkDown, wire.LinkNo(link)
	case "active_link":
		e.Kind, e.Active = wire.EventActiveLink, int8(link)
	default:
		return fmt.Errorf("sim: recording: unknown link event %q", kind)
	}
	if !h.up {
		return nil
	}
	t := rc.r.trace.Begin(inst(at), e.Kind.String()).Str("node", h.name).Str("peer", p.name)
	if e.Kind == wire.EventActiveLink {
		t.Int("active", int64(e.Active))
	} else {
		t.Uint("link", uint64(e.Link))
	}
	t.End()
	rc.r.obs.linkEvent(h, e, inst(at))
	return nil
}

// parseRing reads a ring id as check.RingRef.String writes it ("rep.seq" in hex).
func parseRing(s string) (check.RingRef, error) {
	rep, seq, ok := strings.Cut(s, ".")
	if !ok {
		return check.RingRef{}, fmt.Errorf("sim: recording: ring id %q is not rep.seq", s)
	}
	a, err1 := strconv.ParseUint(rep, 16, 32)
	b, err2 := strconv.ParseUint(seq, 16, 64)
	if err1 != nil || err2 != nil {
		return check.RingRef{}, fmt.Errorf("sim: recording: ring id %q is not rep.seq in hex", s)
	}
	return check.RingRef{Rep: wire.NodeID(a), Seq: b}, nil
}

// Membership records that node installed ring with members (node names).
func (rc *Recording) Membership(node, ring string, members []string, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	ref, err := parseRing(ring)
	if err != nil {
		return err
	}
	var ids []wire.NodeID
	for _, m := range members {
		p, err := rc.hostOf(m)
		if err != nil {
			return err
		}
		ids = append(ids, p.id)
	}
	slices.Sort(ids)
	if !h.up {
		return nil
	}
	d := check.Delivery{At: inst(at), Kind: check.KindRegular, Ring: ref, Members: ids}
	h.proc.Add(d)
	rc.regular(h, d)
	return nil
}

// regular records node h installing the regular configuration d.
func (rc *Recording) regular(h *host, d check.Delivery) {
	r := rc.r
	r.obs.regular(h, d, d.At)
	r.trace.Begin(d.At, "membership").Str("node", h.name).Str("nodes", r.names(d.Members)).
		Str("detail", fmt.Sprintf("membership A new membership (%s) was formed.", d.Ring)).End()
}

// QuorumView is votequorum's view of one node, as its journal reports it.
type QuorumView struct {
	Quorate                         bool
	TotalVotes, ExpectedVotes, Quor int
}

// Quorum records node's votequorum view at at.
func (rc *Recording) Quorum(node string, q QuorumView, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	if !h.up {
		return nil
	}
	rc.r.obs.quorumStatus(h, quorum.Numbers{Quorate: q.Quorate, TotalVotes: q.TotalVotes,
		ExpectedVotes: q.ExpectedVotes, Quorum: q.Quor}, inst(at))
	word := "no"
	if q.Quorate {
		word = "yes"
	}
	rc.r.trace.Begin(inst(at), "quorum").Str("node", h.name).Str("detail",
		fmt.Sprintf("quorate=%s E=%d T=%d Q=%d", word, q.ExpectedVotes, q.TotalVotes, q.Quor)).End()
	return nil
}

// KVOp is one operation of the kv workload as a client saw it.
type KVOp struct {
	Node         string // the client's node
	Client       int    // porcupine client id: a client that lost track of an operation takes a new one
	Kind         string // read | write | cas
	Key          string
	Value        string // write, cas: the new value (unique per write)
	Expect       string // cas: the value the client last saw ("?" unknown)
	Call, Return time.Duration
	Unknown      bool   // the outcome is unknown (timed out, the node died)
	OK           bool   // write, cas: applied; cas false: conflict
	Out          string // read: the value ("" absent)
	Local        bool   // read answered from the local replica
}

// KVCall traces the invocation of operation id (numbered by the caller)
// at op.Call; KV records its outcome at op.Return.
func (rc *Recording) KVCall(op KVOp, id uint64, refused bool) {
	kind := op.Kind
	if op.Local {
		kind = "read_local"
	}
	t := rc.r.trace.Begin(inst(op.Call), "kv").Str("node", op.Node).Str("op", kind).Str("key", op.Key)
	if op.Value != "" {
		t.Str("value", op.Value)
	}
	switch {
	case refused:
		t.Str("refused", "store: not quorate: read-only")
	case !op.Local && op.Kind != "":
		t.Uint("op_id", id)
	}
	t.End()
}

// KV records one operation of the kv workload; a refused one (no effect,
// answered at once) is counted with refused, and one with no Kind (aborted
// by a membership change: no effect) counts as an operation only. id is
// the one KVCall traced.
func (rc *Recording) KV(op KVOp, id uint64, refused bool) error {
	r := rc.r
	if !refused && !op.Local && op.Kind != "" {
		if op.Unknown {
			r.trace.Begin(inst(op.Return), "kv_timeout").Str("node", op.Node).Uint("op_id", id).End()
		} else {
			r.trace.Begin(inst(op.Return), "kv_done").Str("node", op.Node).Uint("op_id", id).Bool("ok", op.OK || op.Kind == "read").End()
		}
	}
	if r.kv == nil {
		return fmt.Errorf("sim: recording: the scenario has no kv workload")
	}
	r.ops++
	if op.Kind == "" {
		return nil // aborted before it took effect: out of the history
	}
	if refused {
		r.kv.refused++
		return nil
	}
	key := slices.Index(r.kv.keys, op.Key)
	if key < 0 {
		return fmt.Errorf("sim: recording: kv key %q is not one of the workload's keys", op.Key)
	}
	expect := r.kv.valueID([]byte(op.Expect))
	if op.Expect == "?" {
		expect = valUnknown
	}
	// The ring of the call is not recorded, so an unknown outcome stays
	// unbounded (the conservative choice for the segmented check).
	o := kvOp{pid: int32(op.Client), key: uint32(key), value: r.kv.valueID([]byte(op.Value)), expect: expect,
		call: inst(op.Call), ret: inst(op.Return), done: true, unknown: op.Unknown, ok: op.OK,
		out: r.kv.valueID([]byte(op.Out)), local: op.Local}
	switch op.Kind {
	case "read":
		o.kind = kvRead
	case "write":
		o.kind = kvWrite
	case "cas":
		o.kind = kvCAS
	default:
		return fmt.Errorf("sim: recording: unknown kv operation %q", op.Kind)
	}
	if !op.Unknown && (op.OK || op.Kind == "read") {
		r.opsOK++
	}
	r.kv.hist.add(&o)
	r.kv.hist.completed(&o)
	return nil
}

// Replica records what node's store held at the end: the workload's keys
// and a digest of the whole store, compared between the nodes of one
// connected group.
func (rc *Recording) Replica(node string, values map[string]string, digest string) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	rc.final[h.idx] = recordedReplica{values: values, digest: digest, known: true}
	return nil
}

// Check adds evidence the recording has beyond the history the checkers
// read (e.g. the agents' own ordering checks of the multicast load): a
// false verdict fails check name with detail whatever the checkers found.
func (rc *Recording) Check(name string, ok bool, detail string) {
	if rc.r.extraChecks == nil {
		rc.r.extraChecks = map[string]check.CheckResult{}
	}
	if prev, seen := rc.r.extraChecks[name]; seen && !prev.OK {
		return
	}
	rc.r.extraChecks[name] = check.CheckResult{OK: ok, Detail: detail}
}

// Ops counts n operations of the workload (multicasts sent).
func (rc *Recording) Ops(n int64) { rc.r.ops += n }

// Finish judges the recorded run: nodes is each node's end state as its
// admin socket reported it, packets what the transports counted,
// historyHTML where a failed linearizability check writes porcupine's
// visualisation ("" for none).
func (rc *Recording) Finish(nodes map[string]reports.NodeResult, packets reports.Packets, historyHTML string) *reports.Result {
	r := rc.r
	r.opt.HistoryHTML = historyHTML
	end := wire.Instant(r.sc.Duration)
	res := &reports.Result{
		Scenario:   r.sc.Name,
		Seed:       r.seed,
		SimulatedS: r.sc.Duration.Seconds(),
		Nodes:      nodes,
		Timeline:   r.obs.tl,
		Checks:     map[string]bool{},
		Links:      r.obs.finish(end),
	}
	res.Stats.Packets = packets
	r.recorded = rc.final
	r.judgeResult(res, "")
	res.Events = r.trace.Lines()
	res.TraceSHA256 = r.trace.Sum()
	return res
}

// Close ends the trace at the run's end.
func (rc *Recording) Close() error { return rc.r.trace.Close(wire.Instant(rc.r.sc.Duration)) }

// readLocal is node h's local value of key at the end of the run.
func (r *run) readLocal(h *host, key string) (string, bool) {
	if h.node == nil {
		if r.recorded != nil && r.recorded[h.idx].known {
			v, ok := r.recorded[h.idx].values[key]
			return v, ok
		}
		return "", false
	}
	e, ok := h.node.ReadLocal(key)
	return string(e.Value), ok
}

// storeDigest is a fingerprint of node h's whole store at the end.
func (r *run) storeDigest(h *host) string {
	if h.node == nil {
		if r.recorded != nil {
			return r.recorded[h.idx].digest
		}
		return ""
	}
	return fmt.Sprintf("%x", h.node.StoreDigest())
}

// Dist converts a scenario distribution into the network model's, as the
// simulator does, for a driver that draws from the same streams.
func Dist(d scenarios.Distribution) (netmodel.Dist, error) { return dist(d) }

// Delivered is one item of the total order a recorded process delivered.
type Delivered struct {
	Kind    string // message | transitional | regular
	Ring    string // "rep.seq" in hex, as ring ids print
	Seq     uint32 // message: its sequence number on Ring
	Part    uint16 // message: its place in the Totem message at Seq (0 for the first or only one)
	Sender  uint32 // message: the sender's node id
	ID      uint64 // message: the workload message id, 0 for other traffic
	Members []uint32
}

// Deliver records that node's current process delivered d at at: what the
// ordering checkers judge. A regular configuration also counts as the
// node installing that ring (as Membership does; give one or the other).
func (rc *Recording) Deliver(node string, d Delivered, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	ref, err := parseRing(d.Ring)
	if err != nil {
		return err
	}
	if !h.up {
		return nil
	}
	dl := check.Delivery{At: inst(at), Ring: ref, Seq: d.Seq, Part: d.Part, Sender: wire.NodeID(d.Sender), ID: d.ID}
	switch d.Kind {
	case "message":
		dl.Kind = check.KindMsg
		if d.ID != 0 && h.id == wire.NodeID(d.Sender) {
			rc.r.opsOK++
		}
	case "transitional", "regular":
		dl.Kind = check.KindTrans
		if d.Kind == "regular" {
			dl.Kind = check.KindRegular
		}
		for _, m := range d.Members {
			dl.Members = append(dl.Members, wire.NodeID(m))
		}
		slices.Sort(dl.Members)
	default:
		return fmt.Errorf("sim: recording: unknown delivery kind %q", d.Kind)
	}
	h.proc.Add(dl)
	if dl.Kind == check.KindRegular {
		rc.regular(h, dl)
	}
	return nil
}

// Sent records that node's current process multicast workload message id
// at at.
func (rc *Recording) Sent(node string, id uint64, at time.Duration) error {
	h, err := rc.hostOf(node)
	if err != nil {
		return err
	}
	if !h.up {
		return nil
	}
	rc.r.ops++
	rc.r.hist.Sent.Add(id, check.SentMsg{Proc: h.proc, At: inst(at)})
	return nil
}
