package sim

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/reports"
)

// The kv workload: one client process per named node issues operations on
// the replicated store at Poisson times, one at a time (an arrival while
// the previous operation is still open is skipped and counted). Each
// operation is recorded with its invocation and completion instants for
// the linearizability check: ok, failed (it had no effect), or unknown
// (timed out, or the node crashed, or the store could not tell).

type kvKind uint8

const (
	kvRead kvKind = iota + 1
	kvWrite
	kvCAS
)

// kvOp is one recorded operation: a fixed-size record (no strings), held
// by the kv history until its segment is checked (kvhistory.go). Keys are
// indexes (key k is "k<k>"); values are ids (see kvState.valueID), 0 for
// an absent key.
type kvOp struct {
	call, ret wire.Instant
	// limit is the latest instant the operation can take effect: ret for a
	// known outcome; for an unknown one the bound computed before the
	// check (math.MaxInt64 when nothing bounds it).
	limit wire.Instant
	// late is when the origin answered an operation its client had given
	// up on (0: never): it had taken effect, or never would, by then.
	late    wire.Instant
	value   uint64        // write, cas: the new value (unique per write)
	expect  uint64        // cas: the value the client last saw (valUnknown: it did not know)
	out     uint64        // read: the value (0 = absent)
	ring    check.RingRef // the origin's regular configuration at the call
	pid     int32         // porcupine client id: a client that lost track of an op gets a new one
	key     uint32
	kind    kvKind
	done    bool
	unknown bool
	ok      bool // write, cas: applied; cas false: conflict
	local   bool // read answered from the local replica
}

// valUnknown is a cas's expected value when the client did not know it.
const valUnknown = ^uint64(0)

type seen struct {
	version uint64
	value   uint64
}

type kvClient struct {
	host    *host
	gap     *netmodel.Sampler
	rnd     *rand.Rand
	pid     int32
	open    *kvOp
	openID  store.OpID
	opGen   uint32 // numbers the client's operations: a stale timeout names an old one
	counter uint64
	last    map[uint32]seen // lookups only
}

// lateKey names an operation a client gave up on: its host and op id.
type lateKey struct {
	host int
	op   store.OpID
}

// kvState is the run's kv workload.
type kvState struct {
	clients []*kvClient
	hist    kvHistory
	spare   []kvOp // newOp hands these out
	nextPID int32
	skipped int64
	refused int64
	keys    []string          // key index -> name
	late    map[lateKey]*kvOp // given up on, still awaiting the origin's answer
	hostIdx map[string]uint64 // host name -> index, for value ids
	hosts   []string          // index -> host name
	alien   map[string]uint64 // values no client wrote (none expected)
	aliens  []string
}

// newOp returns a zeroed operation record. Records are carved from
// chunks: one allocation serves many operations, and a chunk is freed once
// the history has released every operation in it.
func (kv *kvState) newOp() *kvOp {
	if len(kv.spare) == 0 {
		kv.spare = make([]kvOp, 256)
	}
	op := &kv.spare[0]
	kv.spare = kv.spare[1:]
	return op
}

// valueID maps a stored value to its id: a client's write "<host>-<n>" is
// (host index + 1) << 40 | n; anything else gets an id of its own.
func (kv *kvState) valueID(v []byte) uint64 {
	if len(v) == 0 {
		return 0
	}
	if i := bytes.LastIndexByte(v, '-'); i > 0 {
		if h, ok := kv.hostIdx[string(v[:i])]; ok {
			if n, err := strconv.ParseUint(string(v[i+1:]), 10, 40); err == nil && n > 0 && strconv.FormatUint(n, 10) == string(v[i+1:]) {
				return (h+1)<<40 | n
			}
		}
	}
	if id, ok := kv.alien[string(v)]; ok {
		return id
	}
	kv.aliens = append(kv.aliens, string(v))
	id := 1<<63 | uint64(len(kv.aliens))
	kv.alien[string(v)] = id
	return id
}

// valueName prints a value id as the value it stands for.
func (kv *kvState) valueName(id uint64) string {
	switch {
	case id == 0:
		return ""
	case id == valUnknown:
		return "?"
	case id&(1<<63) != 0:
		return kv.aliens[id&^(1<<63)-1]
	}
	return fmt.Sprintf("%s-%d", kv.hosts[id>>40-1], id&(1<<40-1))
}

func (r *run) startKV() error {
	w := r.sc.Workload
	hosts := r.nodesOf(w.Clients)
	mean := time.Duration(1e9 / (w.Rate / float64(len(hosts))))
	r.kv = &kvState{late: map[lateKey]*kvOp{}, hostIdx: map[string]uint64{}, alien: map[string]uint64{}}
	for i := range w.Keys {
		r.kv.keys = append(r.kv.keys, fmt.Sprintf("k%d", i))
	}
	r.kv.hist = newKVHistory(w.Keys, true, r.finalLimit)
	for i, h := range r.hosts {
		r.kv.hostIdx[h.name] = uint64(i)
		r.kv.hosts = append(r.kv.hosts, h.name)
	}
	for _, h := range hosts {
		s, err := netmodel.NewSampler(netmodel.Dist{Kind: netmodel.DistExponential, Mean: mean},
			r.streams.Source(fmt.Sprintf("workload/%d", h.id)))
		if err != nil {
			return err
		}
		c := &kvClient{host: h, gap: s, rnd: r.streams.Rand(fmt.Sprintf("workload/%d/ops", h.id)),
			pid: r.kv.nextPID, last: map[uint32]seen{}}
		r.kv.nextPID++
		r.kv.clients = append(r.kv.clients, c)
		r.k.Schedule(wire.Instant(0).Add(s.Sample()), Event{Kind: evKV, Ref: int32(len(r.kv.clients) - 1)})
	}
	return nil
}

// kvTick is one arrival of client i.
func (r *run) kvTick(i int32) {
	c := r.kv.clients[i]
	now := r.k.Now()
	r.k.Schedule(now.Add(c.gap.Sample()), Event{Kind: evKV, Ref: i})
	h := c.host
	w := r.sc.Workload
	// The clients stop a timeout (plus a second) before the end, so that
	// every operation is answered or timed out and the replicas have
	// applied the same writes when they are compared.
	if now > wire.Instant(r.sc.Duration-w.Timeout-time.Second) {
		return
	}
	if !h.up || c.open != nil {
		r.kv.skipped++
		return
	}
	op := r.kv.newOp()
	*op = kvOp{pid: c.pid, key: uint32(c.rnd.IntN(w.Keys)), call: now}
	if n := len(h.proc.Installs); n > 0 {
		op.ring = h.proc.Installs[n-1].Ring
	}
	key := r.kv.keys[op.key]
	x := c.rnd.Float64()
	switch {
	case x < w.Mix.Read:
		op.kind = kvRead
	case x < w.Mix.Read+w.Mix.Write:
		op.kind = kvWrite
	default:
		op.kind = kvCAS
	}
	r.ops++
	var id store.OpID
	var err error
	var value string
	switch op.kind {
	case kvRead:
		if w.ReadMode == "local" {
			e, ok := h.node.ReadLocal(key)
			op.local, op.done, op.ret = true, true, now
			if ok {
				op.out = r.kv.valueID(e.Value)
			}
			r.kv.hist.add(op)
			r.opsOK++
			r.trace.Begin(now, "kv").Str("node", h.name).Str("op", "read_local").Str("key", key).Str("out", string(e.Value)).End()
			return
		}
		id, err = h.node.ReadOrdered(now, key)
	case kvWrite:
		c.counter++
		op.value = (r.kv.hostIdx[h.name]+1)<<40 | c.counter
		value = r.kv.valueName(op.value)
		id, err = h.node.Put(now, key, []byte(value))
	case kvCAS:
		c.counter++
		op.value = (r.kv.hostIdx[h.name]+1)<<40 | c.counter
		value = r.kv.valueName(op.value)
		prev := c.last[op.key]
		op.expect = prev.value
		id, err = h.node.CompareAndSet(now, key, prev.version, []byte(value))
	}
	t := r.trace.Begin(now, "kv").Str("node", h.name).Str("op", kindWord(op.kind)).Str("key", key)
	if value != "" {
		t.Str("value", value)
	}
	if err != nil {
		// Refused at once (read-only without quorum, too large): it had
		// no effect and is left out of the history.
		r.kv.refused++
		t.Str("refused", err.Error()).End()
		r.flush(h)
		return
	}
	t.Uint("op_id", uint64(id)).End()
	c.open, c.openID = op, id
	r.kv.hist.add(c.open)
	// The timeout is not cancelled when the answer comes (a cancellation
	// costs the kernel a lookup on every event); it names the operation
	// and finds it answered.
	c.opGen++
	r.k.ScheduleInOrder(now.Add(w.Timeout), Event{Kind: evKVTimeout, Ref: i, Arg: c.opGen})
	r.flush(h)
}

// latencies summarises invocation -> answer of the operations that
// completed successfully through the total order: all of them, and the
// writes alone.
func (kv *kvState) latencies() (ops, writes *reports.Quantiles) {
	return reports.Quantile(kv.hist.lat), reports.Quantile(kv.hist.latW)
}

func kindWord(k kvKind) string {
	switch k {
	case kvRead:
		return "read"
	case kvWrite:
		return "write"
	}
	return "cas"
}

// kvResult completes client operations from a node's Ready.Results. The
// driver has written Ready.Persist before it gets here.
func (r *run) kvResult(h *host, res store.Result) {
	if r.kv == nil {
		return
	}
	for _, c := range r.kv.clients {
		if c.host != h || c.open == nil || c.openID != res.Op {
			continue
		}
		op := c.open
		now := r.k.Now()
		c.open = nil
		op.ret = now
		switch {
		case res.OK:
			op.done, op.ok = true, true
			if op.kind == kvRead {
				if res.Found {
					op.out = r.kv.valueID(res.Value)
				}
				c.last[op.key] = seen{version: res.Version, value: op.out}
			} else {
				c.last[op.key] = seen{version: res.Version, value: op.value}
			}
			r.opsOK++
		case op.kind == kvRead && errors.Is(res.Err, store.ErrNotFound):
			op.done, op.ok = true, true
			c.last[op.key] = seen{}
			r.opsOK++
		case op.kind == kvCAS && errors.Is(res.Err, store.ErrConflict):
			op.done = true // a definite "did not apply because the version moved"
			c.last[op.key] = seen{version: res.Version, value: valUnknown}
		case errors.Is(res.Err, store.ErrIndeterminate):
			r.kvUnknown(c, op)
		default:
			// Refused or aborted before it took effect anywhere.
			op.done, op.ok = true, false
			op.kind = 0 // left out of the history
		}
		r.kv.hist.completed(op)
		r.trace.Begin(now, "kv_done").Str("node", h.name).Uint("op_id", uint64(res.Op)).Bool("ok", res.OK).
			Str("err", errText(res.Err)).End()
		return
	}
	// An answer to an operation its client gave up on: a definite one
	// bounds when the operation took effect (it is not traced: the client
	// no longer listens).
	k := lateKey{h.idx, res.Op}
	if op, ok := r.kv.late[k]; ok {
		delete(r.kv.late, k)
		if !errors.Is(res.Err, store.ErrIndeterminate) {
			op.late = r.k.Now()
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// kvUnknown closes an operation whose outcome the client cannot know; the
// client carries on under a new process id, as porcupine requires.
func (r *run) kvUnknown(c *kvClient, op *kvOp) {
	op.done, op.unknown = true, true
	c.open = nil
	c.pid = r.kv.nextPID
	r.kv.nextPID++
	if op.kind != kvRead {
		c.last[op.key] = seen{value: valUnknown}
	}
}

// kvTimeout gives up on client i's open operation.
func (r *run) kvTimeout(i int32, gen uint32) {
	c := r.kv.clients[i]
	if c.open == nil || gen != c.opGen {
		return // answered (or given up) already
	}
	r.trace.Begin(r.k.Now(), "kv_timeout").Str("node", c.host.name).Uint("op_id", uint64(c.openID)).End()
	r.kv.late[lateKey{c.host.idx, c.openID}] = c.open
	r.kvUnknown(c, c.open)
}

// kvCrash marks every open operation of a crashed node unknown.
func (r *run) kvCrash(h *host) {
	if r.kv == nil {
		return
	}
	for _, c := range r.kv.clients {
		if c.host == h && c.open != nil {
			r.kvUnknown(c, c.open)
		}
	}
	// The crashed process answers nothing more.
	for k := range r.kv.late {
		if k.host == h.idx {
			delete(r.kv.late, k)
		}
	}
}
