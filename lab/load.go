package lab

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/sim"
)

// The multicast workload on real agents: each client node's agent runs its
// load generator (agent/load.go) at the node's share of the workload's
// rate with the workload's message size, from its start to the end of the
// run. Every agent checks the load messages it delivers: each sender's
// messages in sequence without gaps or reorders, and a digest of the
// delivery order that nodes which delivered the same messages must share.
// Those verdicts join the simulator's total_order check.

// loadCount is "until told otherwise": more messages than a run sends.
const loadCount = 1 << 30

// multicastClient says whether node n runs the load generator.
func (l *lab) multicastClient(n *node) bool {
	w := l.sc.Workload
	if w == nil || w.Kind != "multicast" {
		return false
	}
	return w.Clients == nil || slices.Contains(w.Clients, n.name)
}

// configure sets node n's link delays and starts its load generator once
// its admin socket answers.
func (l *lab) configure(n *node, done <-chan struct{}) {
	var reqs []agent.Request
	for _, lk := range l.fab.links {
		if d, ok := l.delayOf(n.idx, lk); ok {
			reqs = append(reqs, agent.Request{Cmd: agent.CmdDelay, Delay: &agent.DelaySpec{Link: lk, Dist: d}})
		}
	}
	if l.multicastClient(n) {
		w := l.sc.Workload
		clients := len(w.Clients)
		if w.Clients == nil {
			clients = len(l.nodes)
		}
		spec := &agent.LoadSpec{Count: loadCount, Size: max(w.Size, loadHeaderLen), Rate: w.Rate / float64(clients)}
		reqs = append(reqs, agent.Request{Cmd: agent.CmdLoad, Load: spec})
	}
	for _, req := range reqs {
		if !l.call(n, req, done) {
			l.logf("%s: %s did not take effect", n.name, req.Cmd)
		}
	}
}

// call sends req to node n's agent, retrying while the agent starts.
func (l *lab) call(n *node, req agent.Request, done <-chan struct{}) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r, err := agent.Call(ctx, n.admin, req)
		cancel()
		if err == nil && r.OK {
			return true
		}
		if err == nil {
			l.logf("%s: %s refused: %s", n.name, req.Cmd, r.Error)
			return false
		}
		select {
		case <-done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// loadHeaderLen is the load generator's header (agent/load.go).
const loadHeaderLen = 28

// loadReading is one node's load counters at the end.
type loadReading struct {
	name string
	info *agent.LoadInfo
}

// judgeLoad adds the agents' own check of the load messages to
// total_order: no node may deliver a sender's messages out of their
// order. (Gaps are no failure: a partition's other side never delivers
// what was sent in it, as extended virtual synchrony allows; the
// simulator's checkers judge agreement and gaps from the delivery logs.)
func judgeLoad(rec *sim.Recording, readings []loadReading) {
	var problems []string
	for _, r := range readings {
		if r.info != nil && r.info.Reorders > 0 {
			problems = append(problems, fmt.Sprintf("%s delivered %d load messages after a later one of the same sender", r.name, r.info.Reorders))
		}
	}
	rec.Check("total_order", len(problems) == 0, strings.Join(problems, "; "))
}
