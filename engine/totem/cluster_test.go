package totem

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// arrival is one datagram in flight in the simulated network.
type arrival struct {
	at      wire.Instant
	seq     uint64
	from    wire.NodeID
	to      int // node index
	payload []byte
}

type arrivals []arrival

func (a arrivals) Len() int { return len(a) }
func (a arrivals) Less(i, j int) bool {
	return a[i].at < a[j].at || (a[i].at == a[j].at && a[i].seq < a[j].seq)
}
func (a arrivals) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *arrivals) Push(x any)   { *a = append(*a, x.(arrival)) }
func (a *arrivals) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}

// record is one line of a node's history: a delivery, or a restart marker.
type record struct {
	at  wire.Instant
	inc int // incarnation of the node when it happened
	d   Delivery
}

// node is one simulated processor.
type node struct {
	id        wire.NodeID
	ring      *Ring // nil while crashed
	inc       int
	persisted uint64
	rnd       *rand.Rand
	hist      []record
	sent      []string // payloads multicast by the current incarnation
	group     int      // partition group
}

// cluster is a deterministic in-memory network of Rings: a virtual clock,
// a (time, seq)-ordered queue of datagrams with random delay, loss and
// duplication drawn from one seeded PCG, partitions, crashes and restarts.
type cluster struct {
	cfg      Config // template; Self and Nodes are filled per node
	ids      []wire.NodeID
	nodes    []*node
	now      wire.Instant
	q        arrivals
	qseq     uint64
	rnd      *rand.Rand
	loss     float64
	dup      float64
	minDelay time.Duration
	maxDelay time.Duration
	origin   map[string]wire.NodeID // payload → multicasting node
	msgN     int
	trace    func(format string, args ...any) // optional event printer
	traceAll bool                             // also print sends
	lastHeal wire.Instant
	steps    int // processed datagrams and timer firings
	// input is how datagrams are handed to Step (TestStepBufferOwnership).
	input   inputMode
	scratch []byte
	// kept: with inputShared, the last byte of every buffer passed to
	// StepShared, to recognise a delivery that kept it without a copy.
	kept   map[*byte]bool
	budget int // 0 = unlimited; beyond it the cluster stops (livelock guard)
}

// formedCluster starts n nodes with testConfig and returns once they
// share one operational ring.
func formedCluster(t *testing.T, n int, seed uint64) *cluster {
	t.Helper()
	c := newCluster(n, testConfig(), seed)
	for i := range c.nodes {
		c.start(i)
	}
	if c.stabilize(30*time.Second) < 0 {
		t.Fatalf("no ring:\n%s", c.status())
	}
	return c
}

func newCluster(n int, cfg Config, seed uint64) *cluster {
	c := &cluster{
		cfg:      cfg,
		rnd:      rand.New(rand.NewPCG(seed, 0x70de)),
		minDelay: 100 * time.Microsecond,
		maxDelay: 500 * time.Microsecond,
		origin:   map[string]wire.NodeID{},
	}
	for i := range n {
		c.ids = append(c.ids, wire.NodeID(i+1))
	}
	for i, id := range c.ids {
		c.nodes = append(c.nodes, &node{id: id, rnd: rand.New(rand.NewPCG(seed, uint64(i)+1))})
	}
	return c
}

func (c *cluster) idx(id wire.NodeID) int { return slices.Index(c.ids, id) }

func (c *cluster) start(i int) {
	nd := c.nodes[i]
	cfg := c.cfg
	cfg.Self, cfg.Nodes = nd.id, c.ids
	r, err := New(cfg, c.now, nd.persisted, nd.rnd)
	if err != nil {
		panic(err)
	}
	nd.ring = r
	nd.inc++
	nd.sent = nil
	c.logf("n%d: start (persisted ring seq %x)", nd.id, nd.persisted)
	c.collect(i)
}

func (c *cluster) crash(i int) {
	c.nodes[i].ring = nil
	c.logf("n%d: crash", c.nodes[i].id)
}

func (c *cluster) logf(format string, args ...any) {
	if c.trace != nil {
		c.trace("%8.1fms "+format, append([]any{c.now.Millis()}, args...)...)
	}
}

// multicast asks node i to multicast a fresh, unique payload.
func (c *cluster) multicast(i int, text string) string {
	nd := c.nodes[i]
	if nd.ring == nil {
		return ""
	}
	c.msgN++
	p := fmt.Sprintf("%s#%d", text, c.msgN)
	if text == "" {
		p = fmt.Sprintf("n%d-%d", nd.id, c.msgN)
	}
	c.origin[p] = nd.id
	nd.sent = append(nd.sent, p)
	if err := nd.ring.Multicast(c.now, []byte(p)); err != nil {
		panic(err)
	}
	c.collect(i)
	return p
}

// injectJoin sends j, as its origin would multicast it, through the
// network to the nodes at indexes to (the origin need not be running).
func (c *cluster) injectJoin(j *Join, to []int) {
	raw := Append(nil, j)
	var ids []wire.NodeID
	for _, k := range to {
		ids = append(ids, c.ids[k])
		c.route(c.idx(j.Origin), k, raw)
	}
	c.logf("n%d: join proc=%v failed=%v to %v", j.Origin, j.ProcList, j.FailedList, ids)
}

// connected reports whether datagrams flow from node i to node j.
func (c *cluster) connected(i, j int) bool { return c.nodes[i].group == c.nodes[j].group }

// collect performs node i's Ready: persist, route sends, record deliveries.
func (c *cluster) collect(i int) {
	nd := c.nodes[i]
	if nd.ring == nil {
		return
	}
	rd := nd.ring.Ready()
	if rd.PersistRingSeq != 0 {
		nd.persisted = rd.PersistRingSeq
	}
	for _, e := range rd.Events {
		if e.Kind == EventState || e.Kind == EventTokenLost || e.Kind == EventConsensusTimeout ||
			e.Kind == EventFailedToReceive || e.Kind == EventDropped && strings.HasPrefix(e.Detail, "forged") {
			c.logf("n%d: %s", nd.id, e)
		}
	}
	for _, s := range rd.Sends {
		for j := range c.nodes {
			if j == i || (s.To != 0 && c.ids[j] != s.To) {
				continue
			}
			assert(s.To != nd.id, "no send to self")
			c.route(i, j, s.Payload)
		}
	}
	for _, d := range rd.Deliver {
		nd.hist = append(nd.hist, record{at: c.now, inc: nd.inc, d: d})
		if d.Kind != DeliverMessage || c.traceAll {
			c.logf("n%d: %s", nd.id, d)
		}
	}
	nd.ring.Ack()
}

func (c *cluster) route(i, j int, payload []byte) {
	if !c.connected(i, j) || (c.loss > 0 && c.rnd.Float64() < c.loss) {
		return
	}
	copies := 1
	if c.dup > 0 && c.rnd.Float64() < c.dup {
		copies = 2
	}
	for range copies {
		d := c.minDelay
		if c.maxDelay > c.minDelay {
			d += time.Duration(c.rnd.Int64N(int64(c.maxDelay - c.minDelay)))
		}
		c.qseq++
		heap.Push(&c.q, arrival{at: c.now.Add(d), seq: c.qseq, from: c.ids[i], to: j, payload: payload})
	}
}

// inputMode is how the test network hands a datagram to a ring.
type inputMode int

const (
	inputPlain  inputMode = iota // Step with the in-flight buffer
	inputReused                  // Step with a scratch buffer overwritten after each call
	inputShared                  // StepShared with the in-flight buffer
)

// next returns the earliest pending instant (arrival or timer), 0 if none.
func (c *cluster) next() wire.Instant {
	var t wire.Instant
	if len(c.q) > 0 {
		t = c.q[0].at
	}
	for _, nd := range c.nodes {
		if nd.ring == nil {
			continue
		}
		if d := nd.ring.Ready().Deadline; d != 0 && (t == 0 || d < t) {
			t = d
		}
	}
	return t
}

// stepOnce advances the clock to the next instant (not beyond limit) and
// processes everything due then. It reports false if nothing was due.
func (c *cluster) stepOnce(limit wire.Instant) bool {
	t := c.next()
	if t == 0 || t > limit || (c.budget > 0 && c.steps > c.budget) {
		return false
	}
	if t > c.now {
		c.now = t
	}
	for len(c.q) > 0 && c.q[0].at <= c.now {
		a := heap.Pop(&c.q).(arrival)
		c.steps++
		nd := c.nodes[a.to]
		if nd.ring == nil {
			continue
		}
		switch c.input {
		case inputReused:
			// A driver that reads every datagram into one buffer: the
			// ring must not keep it, so it is scribbled over at once.
			c.scratch = append(c.scratch[:0], a.payload...)
			nd.ring.Step(c.now, a.from, c.scratch)
			for k := range c.scratch {
				c.scratch[k] = 0xff
			}
		case inputShared:
			if len(a.payload) > 0 {
				c.kept[&a.payload[len(a.payload)-1]] = true
			}
			nd.ring.StepShared(c.now, a.from, a.payload)
		default:
			nd.ring.Step(c.now, a.from, a.payload)
		}
		c.collect(a.to)
	}
	for i, nd := range c.nodes {
		if nd.ring != nil {
			if d := nd.ring.Ready().Deadline; d != 0 && d <= c.now {
				c.steps++
				nd.ring.Advance(c.now)
				c.collect(i)
			}
		}
	}
	return true
}

// runFor advances virtual time by d.
func (c *cluster) runFor(d time.Duration) {
	limit := c.now.Add(d)
	for c.stepOnce(limit) {
	}
	c.now = limit
}

// partition splits the nodes into groups (each a list of node ids).
func (c *cluster) partition(groups ...[]wire.NodeID) {
	for _, nd := range c.nodes {
		nd.group = -1 - int(nd.id) // alone unless listed
	}
	for g, ids := range groups {
		for _, id := range ids {
			c.nodes[c.idx(id)].group = g
		}
	}
}

func (c *cluster) heal() {
	for _, nd := range c.nodes {
		nd.group = 0
	}
	c.lastHeal = c.now
}

// live returns the indexes of running nodes.
func (c *cluster) live() []int {
	var out []int
	for i, nd := range c.nodes {
		if nd.ring != nil {
			out = append(out, i)
		}
	}
	return out
}

// converged reports whether all live nodes are OPERATIONAL on one ring
// whose membership is exactly the live nodes.
func (c *cluster) converged() bool {
	live := c.live()
	if len(live) == 0 {
		return true
	}
	var want []wire.NodeID
	for _, i := range live {
		want = append(want, c.ids[i])
	}
	first := c.nodes[live[0]].ring.RingID()
	for _, i := range live {
		r := c.nodes[i].ring
		if r.State() != StateOperational || r.RingID() != first || !slices.Equal(r.Members(), want) {
			return false
		}
	}
	return true
}

// stabilize runs until converged (then a little longer for deliveries), or
// until limit elapses; it returns the time it took to converge, or -1.
func (c *cluster) stabilize(limit time.Duration) time.Duration {
	start := c.now
	end := start.Add(limit)
	for !c.converged() {
		if !c.stepOnce(end) {
			c.now = end
			return -1
		}
	}
	took := c.now.Sub(start)
	c.runFor(50 * time.Millisecond)
	return took
}

func (c *cluster) status() string {
	var b strings.Builder
	for _, nd := range c.nodes {
		if nd.ring == nil {
			fmt.Fprintf(&b, "n%d: down\n", nd.id)
			continue
		}
		r := nd.ring
		fmt.Fprintf(&b, "n%d: %s ring=%s members=%v\n", nd.id, r.State(), r.RingID(), r.Members())
	}
	return b.String()
}

// testConfig is a fast configuration for simulations: T = 200ms + (N−2) × 50ms.
func testConfig() Config {
	return Config{Token: 200 * time.Millisecond, TokenCoefficient: 50 * time.Millisecond}
}

// TestStepBufferOwnership: Step never keeps the caller's buffer (a driver
// reusing its read buffer still delivers every payload intact and in
// total order), and StepShared keeps it without a copy (a delivered
// payload of another node's multicast is the received buffer itself).
func TestStepBufferOwnership(t *testing.T) {
	for _, mode := range []inputMode{inputReused, inputShared} {
		c := newCluster(4, testConfig(), 7)
		c.input, c.kept = mode, map[*byte]bool{}
		for i := range c.nodes {
			c.start(i)
		}
		c.stabilize(10 * time.Second)
		for k := range 40 {
			c.multicast(k%len(c.nodes), "")
			c.runFor(3 * time.Millisecond)
		}
		c.runFor(2 * time.Second)
		if errs := c.check(); len(errs) > 0 {
			t.Fatalf("mode %d: %s", mode, strings.Join(errs, "\n"))
		}
		foreign, aliased := 0, 0
		for _, nd := range c.nodes {
			for _, r := range nd.hist {
				d := r.d
				if d.Kind != DeliverMessage || d.Sender == nd.id || len(d.Payload) == 0 {
					continue
				}
				foreign++
				if c.kept[&d.Payload[len(d.Payload)-1]] {
					aliased++
				}
			}
		}
		if foreign < 40*3 {
			t.Fatalf("mode %d: %d deliveries of other nodes' messages, want at least %d", mode, foreign, 40*3)
		}
		if mode == inputShared && aliased != foreign {
			t.Errorf("StepShared: %d of %d deliveries are the received buffer, want all (a copy was made)", aliased, foreign)
		}
		if mode == inputReused && aliased != 0 {
			t.Errorf("Step: %d deliveries alias a buffer handed to StepShared", aliased)
		}
	}
}
