package sim

import (
	"errors"
	"fmt"
	"math/rand/v2"
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

// kvOp is one recorded operation.
type kvOp struct {
	pid      int // porcupine client id: a client that lost track of an op gets a new one
	kind     kvKind
	key      string
	value    string // write, cas: the new value (unique per write)
	expect   string // cas: the value the client last saw (its version is what the store compares)
	call     wire.Instant
	ret      wire.Instant
	done     bool
	unknown  bool
	ok       bool   // write, cas: applied; cas false: conflict
	out      string // read: the value ("" = absent)
	local    bool   // read answered from the local replica
	timedOut Timer
}

type seen struct {
	version uint64
	value   string
}

type kvClient struct {
	host    *host
	gap     *netmodel.Sampler
	rnd     *rand.Rand
	pid     int
	open    *kvOp
	openID  store.OpID
	counter uint64
	last    map[string]seen // lookups only
}

// kvState is the run's kv workload.
type kvState struct {
	clients []*kvClient
	ops     []*kvOp
	nextPID int
	skipped int64
	refused int64
}

func (r *run) startKV() error {
	w := r.sc.Workload
	hosts := r.nodesOf(w.Clients)
	mean := time.Duration(1e9 / (w.Rate / float64(len(hosts))))
	r.kv = &kvState{}
	for _, h := range hosts {
		s, err := netmodel.NewSampler(netmodel.Dist{Kind: netmodel.DistExponential, Mean: mean},
			r.streams.Source(fmt.Sprintf("workload/%d", h.id)))
		if err != nil {
			return err
		}
		c := &kvClient{host: h, gap: s, rnd: r.streams.Rand(fmt.Sprintf("workload/%d/ops", h.id)),
			pid: r.kv.nextPID, last: map[string]seen{}}
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
	op := &kvOp{pid: c.pid, key: fmt.Sprintf("k%d", c.rnd.IntN(w.Keys)), call: now}
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
	switch op.kind {
	case kvRead:
		if w.ReadMode == "local" {
			e, ok := h.node.ReadLocal(op.key)
			op.local, op.done, op.ret = true, true, now
			if ok {
				op.out = string(e.Value)
			}
			r.kv.ops = append(r.kv.ops, op)
			r.opsOK++
			r.trace.Begin(now, "kv").Str("node", h.name).Str("op", "read_local").Str("key", op.key).Str("out", op.out).End()
			return
		}
		id, err = h.node.ReadOrdered(now, op.key)
	case kvWrite:
		c.counter++
		op.value = fmt.Sprintf("%s-%d", h.name, c.counter)
		id, err = h.node.Put(now, op.key, []byte(op.value))
	case kvCAS:
		c.counter++
		op.value = fmt.Sprintf("%s-%d", h.name, c.counter)
		prev := c.last[op.key]
		op.expect = prev.value
		id, err = h.node.CompareAndSet(now, op.key, prev.version, []byte(op.value))
	}
	t := r.trace.Begin(now, "kv").Str("node", h.name).Str("op", kindWord(op.kind)).Str("key", op.key)
	if op.value != "" {
		t.Str("value", op.value)
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
	op.timedOut = r.k.Schedule(now.Add(w.Timeout), Event{Kind: evKVTimeout, Ref: i})
	r.kv.ops = append(r.kv.ops, op)
	r.flush(h)
}

// latencies summarises invocation -> answer of the operations that
// completed successfully through the total order: all of them, and the
// writes alone.
func (kv *kvState) latencies() (ops, writes *reports.Quantiles) {
	var all, w []float64
	for _, op := range kv.ops {
		if !op.done || !op.ok || op.local || op.kind == 0 {
			continue
		}
		ms := op.ret.Sub(op.call).Seconds() * 1e3
		all = append(all, ms)
		if op.kind == kvWrite {
			w = append(w, ms)
		}
	}
	return reports.Quantile(all), reports.Quantile(w)
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
		r.k.Cancel(op.timedOut)
		op.ret = now
		switch {
		case res.OK:
			op.done, op.ok = true, true
			if op.kind == kvRead {
				if res.Found {
					op.out = string(res.Value)
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
			c.last[op.key] = seen{version: res.Version, value: "?"}
		case errors.Is(res.Err, store.ErrIndeterminate):
			r.kvUnknown(c, op)
		default:
			// Refused or aborted before it took effect anywhere.
			op.done, op.ok = true, false
			op.kind = 0 // left out of the history
		}
		r.trace.Begin(now, "kv_done").Str("node", h.name).Uint("op_id", uint64(res.Op)).Bool("ok", res.OK).
			Str("err", errText(res.Err)).End()
		return
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
		c.last[op.key] = seen{value: "?"}
	}
}

// kvTimeout gives up on client i's open operation.
func (r *run) kvTimeout(i int32) {
	c := r.kv.clients[i]
	if c.open == nil {
		return
	}
	r.trace.Begin(r.k.Now(), "kv_timeout").Str("node", c.host.name).Uint("op_id", uint64(c.openID)).End()
	r.kvUnknown(c, c.open)
}

// kvCrash marks every open operation of a crashed node unknown.
func (r *run) kvCrash(h *host) {
	if r.kv == nil {
		return
	}
	for _, c := range r.kv.clients {
		if c.host == h && c.open != nil {
			r.k.Cancel(c.open.timedOut)
			r.kvUnknown(c, c.open)
		}
	}
}
