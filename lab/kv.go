package lab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/sim"
)

// The kv workload on real agents: one client per named node issues
// operations on the replicated store through the node's admin socket at
// Poisson times, one at a time, with the simulator's semantics (sim/kv.go)
// and the simulator's streams, so one seed draws the same arrivals and
// operations: an arrival while the previous operation is still open, or
// while the node is down, is skipped; an answer that does not come within
// the workload's timeout, or a connection the dying agent drops, makes the
// outcome unknown and the client carries on under a new process id.

type kvOp struct {
	sim.KVOp
	refused bool
}

type kvSeen struct {
	version uint64
	value   string
}

// kvRun is the whole workload; ops are appended by the clients.
type kvRun struct {
	mu      sync.Mutex
	ops     []kvOp
	nextPID int
	skipped int64
}

func (kv *kvRun) add(op kvOp) {
	kv.mu.Lock()
	kv.ops = append(kv.ops, op)
	kv.mu.Unlock()
}

func (kv *kvRun) newPID() int {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	p := kv.nextPID
	kv.nextPID++
	return p
}

func (kv *kvRun) done() []kvOp {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return kv.ops
}

// startWorkload starts the kv clients (multicast load is started with
// the agents; see load.go).
func (l *lab) startWorkload(ctx context.Context, wg *sync.WaitGroup) error {
	w := l.sc.Workload
	if w == nil || w.Kind != "kv" {
		return nil
	}
	l.kv = &kvRun{}
	names := w.Clients
	if names == nil {
		names = l.sc.NodeNames()
	}
	mean := time.Duration(1e9 / (w.Rate / float64(len(names))))
	for _, name := range names {
		n := l.nodes[l.nodeIdx[name]]
		id := l.sc.Cluster.Nodes[n.idx].ID
		s, err := netmodel.NewSampler(netmodel.Dist{Kind: netmodel.DistExponential, Mean: mean},
			l.streams.Source(fmt.Sprintf("workload/%d", id)))
		if err != nil {
			return err
		}
		c := &kvClient{l: l, n: n, gap: s, rnd: l.streams.Rand(fmt.Sprintf("workload/%d/ops", id)),
			pid: l.kv.newPID(), last: map[string]kvSeen{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run(ctx)
		}()
	}
	return nil
}

type kvClient struct {
	l       *lab
	n       *node
	gap     *netmodel.Sampler
	rnd     *rand.Rand
	pid     int
	counter uint64
	last    map[string]kvSeen
}

func (c *kvClient) run(ctx context.Context) {
	l, w := c.l, c.l.sc.Workload
	stopAt := l.sc.Duration - w.Timeout - time.Second
	next := c.gap.Sample()
	for next <= stopAt {
		if d := next - l.now(); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		next += c.gap.Sample()
		c.op(ctx)
		// The arrivals that came while the operation was open.
		for next < l.now() && next <= stopAt {
			l.kv.mu.Lock()
			l.kv.skipped++
			l.kv.mu.Unlock()
			next += c.gap.Sample()
		}
	}
}

// alive says whether the node's agent runs now.
func (l *lab) alive(n *node) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	up := false
	for _, e := range l.events {
		if e.fault < 0 && e.node == n.idx {
			up = e.up
		}
	}
	return up
}

// op draws and performs one operation, as sim's kvTick does.
func (c *kvClient) op(ctx context.Context) {
	l, w := c.l, c.l.sc.Workload
	key := fmt.Sprintf("k%d", c.rnd.IntN(w.Keys))
	x := c.rnd.Float64()
	if !l.alive(c.n) {
		l.kv.mu.Lock()
		l.kv.skipped++
		l.kv.mu.Unlock()
		return
	}
	op := kvOp{KVOp: sim.KVOp{Node: c.n.name, Client: c.pid, Key: key, Call: l.now()}}
	req := agent.Request{Path: key}
	switch {
	case x < w.Mix.Read:
		op.Kind = "read"
		req.Cmd = agent.CmdCfsGet
		req.Ordered = w.ReadMode != "local"
		op.Local = !req.Ordered
	case x < w.Mix.Read+w.Mix.Write:
		op.Kind = "write"
		c.counter++
		op.Value = fmt.Sprintf("%s-%d", c.n.name, c.counter)
		req.Cmd, req.Value = agent.CmdCfsPut, []byte(op.Value)
	default:
		op.Kind = "cas"
		c.counter++
		op.Value = fmt.Sprintf("%s-%d", c.n.name, c.counter)
		prev := c.last[key]
		op.Expect = prev.value
		v := prev.version
		req.Cmd, req.Value, req.IfVersion = agent.CmdCfsPut, []byte(op.Value), &v
	}
	cctx, cancel := context.WithTimeout(ctx, w.Timeout)
	resp, err := agent.Call(cctx, c.n.admin, req)
	cancel()
	op.Return = l.now()
	switch {
	case err != nil:
		c.unknown(&op)
	case resp.OK:
		op.OK = true
		if op.Kind == "read" {
			op.Out = string(resp.Entry.Value)
			c.last[key] = kvSeen{version: resp.Entry.Version, value: op.Out}
		} else {
			c.last[key] = kvSeen{version: resp.Entry.Version, value: op.Value}
		}
	case resp.Code == agent.CodeNotFound && op.Kind == "read":
		op.OK = true
		c.last[key] = kvSeen{}
	case resp.Code == agent.CodeConflict && op.Kind == "cas":
		// A definite "did not apply because the version moved".
		seen := kvSeen{value: "?"}
		if resp.Entry != nil {
			seen.version = resp.Entry.Version
		}
		c.last[key] = seen
	case resp.Code == agent.CodeIndeterminate || resp.Code == agent.CodeStopped:
		c.unknown(&op)
	case resp.Code == agent.CodeReadOnly:
		op.refused = true
	default:
		// Aborted or refused before it took effect anywhere: out of the
		// history, as in the simulator.
		op.Kind = ""
	}
	l.kv.add(op)
}

// unknown closes an operation whose outcome the client cannot know.
func (c *kvClient) unknown(op *kvOp) {
	op.Unknown = true
	c.pid = c.l.kv.newPID()
	if op.Kind != "read" {
		c.last[op.Key] = kvSeen{value: "?"}
	}
}

// replica reads node n's local replica of the workload's keys, and a
// digest of every entry's path, version and size.
func (l *lab) replica(n *node) (map[string]string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	vals := map[string]string{}
	for k := 0; k < l.sc.Workload.Keys; k++ {
		key := fmt.Sprintf("k%d", k)
		r, err := agent.Call(ctx, n.admin, agent.Request{Cmd: agent.CmdCfsGet, Path: key})
		if err == nil && r.OK && r.Entry != nil {
			vals[key] = string(r.Entry.Value)
		}
	}
	h := sha256.New()
	r, err := agent.Call(ctx, n.admin, agent.Request{Cmd: agent.CmdCfsLs})
	if err != nil || !r.OK {
		return vals, "unreadable"
	}
	for _, e := range r.Entries {
		fmt.Fprintf(h, "%s\x00%d\x00%d\n", e.Path, e.Version, e.Size)
	}
	return vals, hex.EncodeToString(h.Sum(nil))[:16]
}
