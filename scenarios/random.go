package scenarios

import (
	"fmt"
	"github.com/quorate/quorate/engine/quorum"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/totem"
)

// Families of random scenarios for seed sweeps. Each draws a cluster
// (Options) and a fault schedule from its seed, ends every fault with a
// heal, and leaves the cluster quiet for long enough that liveness can be
// judged.
var Families = []string{"crash", "restart", "partition", "loss", "reorder", "cold-start", "mixed", "store", "config"}

// Options is the cluster a random scenario runs on, drawn from the seed
// within the ranges corosync accepts. The families draw it first, so a
// fault schedule is always run against some configuration the sweeps have
// not fixed in advance: sizes, votes, links and their modes, Totem timers,
// every votequorum option and a quorum device.
type Options struct {
	Nodes      int           // 2..16: 8% two, 88% three to five
	Votes      []int         // per node, 1 unless drawn otherwise
	Links      int           // 1..3
	LinkMode   string        // passive | active | rr
	Priorities []int         // per link, knet_link_priority
	Latency    Distribution  // of every link at the start
	Loss       float64       // of every link at the start; the schedule ends it
	Token      time.Duration // totem.token
	Coef       time.Duration // totem.token_coefficient
	Consensus  time.Duration // 0: derived (1.2 x effective token)
	Join       time.Duration // totem.join

	TwoNode         bool // only with two nodes, as corosync means it
	WaitForAll      bool
	LastManStanding bool
	LMSWindow       time.Duration
	AutoTieBreaker  bool
	ATBNode         string   // lowest | highest | list
	ATBList         []uint32 // when ATBNode is list
	Device          *Device  // nil: no quorum device

	Workload Workload
}

// Random returns the YAML of a random scenario of family, drawn from seed.
// The same family and seed always give the same text, so a failing seed is
// reproduced from its YAML or from the two values alone.
func Random(family string, seed uint64) (string, error) {
	s, _, err := RandomScenario(family, seed)
	if err != nil {
		return "", err
	}
	src, err := Encode(s)
	return string(src), err
}

// RandomScenario draws the scenario of family and seed as a value, with the
// options its cluster was drawn from. Its YAML (Encode) loads back to it.
func RandomScenario(family string, seed uint64) (*Scenario, *Options, error) {
	s, o, _, err := draw(family, seed, nil)
	return s, o, err
}

// RandomGuided draws the scenario of family and seed against the coverage
// state guide (see Guide): its fault kinds, the events that fire them and
// the options that make cells reachable (a quorum device for qnetd
// outages) are weighted toward the cells guide misses. It returns the
// cells its faults aimed at, for the next round's Guide. The same family,
// seed and guide always give the same scenario; a nil guide is the plain
// draw (RandomScenario). The scenario's YAML reproduces it by itself.
func RandomGuided(family string, seed uint64, guide *Guide) (*Scenario, []Cell, error) {
	if guide == nil {
		guide = &Guide{}
	}
	s, _, aims, err := draw(family, seed, guide)
	return s, aims, err
}

func draw(family string, seed uint64, guide *Guide) (*Scenario, *Options, []Cell, error) {
	if !slices.Contains(Families, family) {
		return nil, nil, nil, fmt.Errorf("scenarios: unknown family %q (families: %s)", family, strings.Join(Families, ", "))
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x51554f52415445)), family: family,
		w: rand.New(rand.NewPCG(seed, 0x5748454e)), guide: guide}
	device := 3
	if guide != nil {
		// Draw a quorum device more often while the qnetd outages it
		// makes possible still have cells to reach.
		device += int(6 * guide.kindPull("qnetd_down"))
		g.w = rand.New(rand.NewPCG(seed, 0x4755494445))
	}
	g.o = drawOptions(g.r, family == "store", device)
	if family == "config" {
		g.configOptions()
	}
	s := g.scenario(seed)
	if family == "config" {
		// The cluster comes from the corosync.conf: let the loader map it
		// (the one mapping of configuration) and return what it loaded.
		src, err := Encode(s)
		if err != nil {
			return nil, nil, nil, err
		}
		if s, err = Parse(s.Name+".yaml", src); err != nil {
			return nil, nil, nil, fmt.Errorf("scenarios: family %s seed %d: %w", family, seed, err)
		}
	}
	return s, &g.o, g.aims, nil
}

// DrawOptions draws a cluster configuration. store asks for a kv workload
// with ordered reads (the linearizability checker's subject); otherwise the
// workload is multicast.
func DrawOptions(r *rand.Rand, store bool) Options { return drawOptions(r, store, 3) }

// drawOptions is DrawOptions with a quorum device in device of ten
// clusters that may have one (3: the plain draw).
func drawOptions(r *rand.Rand, store bool, device int) Options {
	o := Options{}
	switch p := r.IntN(100); {
	case p < 8:
		o.Nodes = 2
	case p < 96:
		o.Nodes = 3 + r.IntN(3)
	default:
		o.Nodes = 6 + r.IntN(11)
	}
	o.Votes = make([]int, o.Nodes)
	for i := range o.Votes {
		o.Votes[i] = 1
	}
	switch p := r.IntN(20); {
	case p < 9:
		o.Links = 1
	case p < 17:
		o.Links = 2
	default:
		o.Links = 3
	}
	o.LinkMode = []string{"passive", "active", "rr"}[r.IntN(3)]
	for range o.Links {
		o.Priorities = append(o.Priorities, r.IntN(256))
	}
	o.Latency = drawLatency(r)
	if r.IntN(5) == 0 {
		o.Loss = 0.02 * r.Float64()
	}
	// Timers: token 800ms..1.5s (corosync's minimum is 30ms, but knet pings
	// no more often than every 200ms, a quarter of the effective token), a
	// coefficient up to the default, consensus derived or set between 1.2
	// and 2 effective tokens.
	o.Token = time.Duration(800+r.IntN(701)) * time.Millisecond
	o.Coef = time.Duration(r.IntN(651)) * time.Millisecond
	if o.Nodes > 5 {
		o.Coef = time.Duration(r.IntN(201)) * time.Millisecond
	}
	o.Join = time.Duration(50+r.IntN(151)) * time.Millisecond
	if r.IntN(2) == 0 {
		eff := effectiveToken(o.Token, o.Coef, o.Nodes)
		o.Consensus = (eff*time.Duration(120+r.IntN(81))/100)/time.Millisecond*time.Millisecond + time.Millisecond
	}

	// Quorum options, each combination corosync accepts.
	o.WaitForAll = r.IntN(3) == 0
	o.LMSWindow = time.Duration(1000+r.IntN(14001)) * time.Millisecond
	switch k := r.IntN(10); {
	case o.Nodes == 2 && k < 6 && !store:
		// Not in the store family: two_node keeps both halves of a
		// partition quorate (corosync counts on fencing), and the
		// simulator always judges the store's linearizability.
		o.TwoNode = true
	case k < device && !store:
		o.Device = drawDevice(r, o.Nodes)
	}
	if o.Device == nil {
		o.LastManStanding = r.IntN(4) == 0
		o.AutoTieBreaker = r.IntN(4) == 0 && !(o.LastManStanding && o.Nodes%2 == 1)
	}
	o.ATBNode = []string{"lowest", "highest", "list"}[r.IntN(3)]
	if o.ATBNode == "list" {
		for _, i := range r.Perm(o.Nodes)[:1+r.IntN(o.Nodes)] {
			o.ATBList = append(o.ATBList, uint32(i+1))
		}
	}
	// Extra votes, but never an odd vote total under auto_tie_breaker with
	// last_man_standing, which votequorum refuses.
	if o.Device == nil && r.IntN(6) == 0 && !(o.LastManStanding && o.AutoTieBreaker) {
		o.Votes[r.IntN(o.Nodes)] = 2 + r.IntN(2)
	}

	if store {
		o.withoutTwoQuorateSides()
		read := 0.2 + 0.4*r.Float64()
		write := (1 - read) * (0.5 + 0.4*r.Float64())
		o.Workload = Workload{Kind: "kv", Rate: float64(20 + r.IntN(41)), Keys: 1 + r.IntN(5),
			Mix: Mix{Read: read, Write: write, Cas: 1 - read - write}, ReadMode: "ordered",
			Timeout: time.Duration(2+r.IntN(4)) * time.Second}
	} else {
		o.Workload = *defaultWorkload()
		o.Workload.Kind, o.Workload.Rate, o.Workload.Size = "multicast", float64(20+r.IntN(81)), 64<<r.IntN(5)
	}
	return o
}

func drawDevice(r *rand.Rand, nodes int) *Device {
	d := &Device{Algorithm: []string{"ffsplit", "lms"}[r.IntN(2)],
		Latency: Distribution{Dist: "uniform", Min: time.Millisecond, Max: time.Duration(2+r.IntN(9)) * time.Millisecond}}
	switch r.IntN(3) {
	case 0:
		d.TieBreaker = "lowest"
	case 1:
		d.TieBreaker = "highest"
	default:
		d.TieBreaker = strconv.Itoa(1 + r.IntN(nodes))
	}
	return d
}

// drawLatency draws a one-way latency of a LAN: every distribution the
// format knows, with medians under a millisecond.
func drawLatency(r *rand.Rand) Distribution {
	us := func(lo, hi int) time.Duration { return time.Duration(lo+r.IntN(hi-lo+1)) * time.Microsecond }
	switch r.IntN(8) {
	case 0:
		return Distribution{Dist: "constant", Value: us(50, 500)}
	case 1:
		return Distribution{Dist: "normal", Mean: us(200, 800), Stddev: us(10, 100)}
	case 2:
		return Distribution{Dist: "lognormal", Median: us(100, 500), Sigma: 0.1 + 0.4*r.Float64()}
	case 3:
		return Distribution{Dist: "exponential", Mean: us(100, 500)}
	case 4:
		return Distribution{Dist: "pareto", Min: us(50, 200), Alpha: 2 + 2*r.Float64()}
	default:
		lo := us(50, 200)
		return Distribution{Dist: "uniform", Min: lo, Max: lo + us(50, 800)}
	}
}

func effectiveToken(token, coef time.Duration, nodes int) time.Duration {
	if nodes > 2 {
		token += time.Duration(nodes-2) * coef
	}
	return token
}

// Quiet is how long a random scenario leaves the cluster alone after its
// last fault: the simulator's liveness bound for these options (a link
// comeback, a token loss, three consensus rounds, a merge and ten joins)
// plus two seconds, so that liveness is always judged.
func (o *Options) Quiet() time.Duration {
	eff, cons := o.timers(o.Nodes)
	tm := totem.Timers{Token: eff, Consensus: cons, Merge: 200 * time.Millisecond, Join: o.Join}
	return totem.SettleBound(tm, links.LinkUpBound(eff/4), o.Nodes) + 2*time.Second
}

type gen struct {
	r *rand.Rand
	// w draws which faults the protocol's state fires (triggered): its
	// own stream, so the schedule's times and targets are those r draws
	// without triggers.
	w      *rand.Rand
	family string
	// guide, when set, weights the draws toward the cells it misses;
	// aims are the cells the drawn faults aimed at.
	guide  *Guide
	aims   []Cell
	o      Options
	nodes  []string
	faults []Fault
	t      time.Duration // time of the last fault
	// added are the config family's nodes outside the initial nodelist
	// (cluster.new_nodes); settle is when the quorum device changes
	// are over at the latest.
	added  []string
	settle time.Duration
}

func (g *gen) fault(f Fault) {
	f.Index = len(g.faults)
	g.faults = append(g.faults, f)
	g.t = max(g.t, f.At)
}

func (g *gen) node() string { return g.nodes[g.r.IntN(len(g.nodes))] }

// split draws a partition of the nodes into two or three non-empty groups.
func (g *gen) split() [][]string { return g.splitOf(g.nodes) }

// splitOf draws a partition of nodes into two or three non-empty groups.
// Every node is in one: a node in no group would keep talking to every
// group, a bridge rather than a partition.
func (g *gen) splitOf(nodes []string) [][]string {
	k := min(2+g.r.IntN(2), len(nodes))
	perm := g.r.Perm(len(nodes))
	groups := make([][]string, k)
	for i, p := range perm {
		groups[i%k] = append(groups[i%k], nodes[p])
	}
	return groups
}

func (g *gen) boot(maxMs int) *Distribution {
	return &Distribution{Dist: "uniform", Max: time.Duration(500+g.r.IntN(maxMs)) * time.Millisecond}
}

func (g *gen) loss() float64 {
	// Three decimals, as a person would write it.
	return float64(g.r.IntN(51)) / 1000
}

func (g *gen) scenario(seed uint64) *Scenario {
	o := &g.o
	n := o.Nodes
	for i := range n {
		g.nodes = append(g.nodes, fmt.Sprintf("n%d", i+1))
	}
	start := 5 * time.Second
	window := 20 * time.Second
	t := start
	step := func() time.Duration {
		t += time.Duration(500+g.r.IntN(4000)) * time.Millisecond
		return t
	}
	switch g.family {
	case "crash", "restart":
		down := map[string]bool{}
		for t < start+window {
			at := step()
			v := g.node()
			if down[v] {
				g.fault(Fault{At: at, Action: "restart", Node: v})
				down[v] = false
			} else if g.family == "crash" || len(down) < n/2 {
				g.fault(Fault{At: at, Action: "crash", Node: v})
				down[v] = true
			}
		}
		for _, v := range g.nodes {
			if down[v] {
				g.fault(Fault{At: step(), Action: "restart", Node: v})
			}
		}
	case "partition":
		kinds := []string{"partition", "isolate", "drop"}
		for t < start+window {
			switch g.pick(3, func(i int) float64 { return g.casePull(kinds[i], "heal") }) {
			case 0:
				g.fault(Fault{At: step(), Action: "partition", Groups: g.split()})
			case 1:
				g.fault(Fault{At: step(), Action: "isolate", Node: g.node()})
			default:
				a, b := g.node(), g.node()
				if a != b {
					g.fault(Fault{At: step(), Action: "drop", From: []string{a}, To: []string{b}})
				}
			}
			g.fault(Fault{At: step(), Action: "heal"})
		}
	case "loss":
		for t < start+window {
			g.fault(Fault{At: step(), Action: "set_loss", Link: g.r.IntN(o.Links), Loss: g.loss()})
		}
	case "reorder":
		for t < start+window {
			g.fault(Fault{At: step(), Action: "set_latency", Link: g.r.IntN(o.Links),
				Latency: &Distribution{Dist: "uniform", Min: 100 * time.Microsecond, Max: time.Duration(1+g.r.IntN(20)) * time.Millisecond}})
		}
	case "cold-start":
		g.fault(Fault{At: step(), Action: "power_off"})
		g.fault(Fault{At: step(), Action: "cold_start", Boot: g.boot(5000)})
	case "config":
		// Configuration changes (a redundant link added, re-prioritised,
		// removed) through random nodes, mixed with crashes, partitions
		// and loss; an edit through a down or inquorate node is refused.
		version, link1 := 1, false
		edit := func() {
			version++
			conf := g.conf(version, link1)
			g.fault(Fault{At: step(), Action: "edit_conf", On: g.node(), ConfText: conf})
		}
		link1 = true
		edit()
		for t < start+window {
			switch g.r.IntN(6) {
			case 0, 1:
				// Remove the link, add it back, or re-prioritise it.
				link1 = !link1 || g.r.IntN(2) == 0
				edit()
			case 5:
				if link1 {
					g.fault(Fault{At: step(), Action: "switch_down", Switch: "sw0"})
					g.fault(Fault{At: step(), Action: "switch_up", Switch: "sw0"})
				}
			case 2:
				v := g.node()
				g.fault(Fault{At: step(), Action: "crash", Node: v})
				g.fault(Fault{At: step(), Action: "restart", Node: v})
			case 3:
				g.fault(Fault{At: step(), Action: "partition", Groups: g.split()})
				g.fault(Fault{At: step(), Action: "heal"})
			default:
				g.fault(Fault{At: step(), Action: "set_loss", Link: 0, Loss: g.loss()})
			}
		}
		g.fault(Fault{At: step(), Action: "set_loss", Link: 0})
		g.fault(Fault{At: step(), Action: "heal"})
		g.membership(step, func(d time.Duration) time.Duration { t += d; return t })
	case "mixed", "store":
		if g.family == "store" && g.r.IntN(4) == 0 {
			g.fault(Fault{At: step(), Action: "power_off"})
			g.fault(Fault{At: step(), Action: "cold_start", Boot: g.boot(3000)})
		}
		// The plain draw's four cases; a guided one adds isolations,
		// one-way drops and, with a quorum device, qnetd outages.
		cases := [][]string{{"crash", "restart"}, {"partition", "heal"}, {"set_loss"}, {"switch_down", "switch_up"},
			{"isolate", "heal"}, {"drop", "heal"}, {"qnetd_down", "qnetd_up"}}
		n := 4
		if g.guide != nil {
			n = 6
			if o.Device != nil {
				n = 7
			}
		}
		for t < start+window {
			switch g.pick(n, func(i int) float64 { return g.casePull(cases[i]...) }) {
			case 0:
				v := g.node()
				g.fault(Fault{At: step(), Action: "crash", Node: v})
				g.fault(Fault{At: step(), Action: "restart", Node: v})
			case 1:
				g.fault(Fault{At: step(), Action: "partition", Groups: g.split()})
				g.fault(Fault{At: step(), Action: "heal"})
			case 2:
				g.fault(Fault{At: step(), Action: "set_loss", Link: g.r.IntN(o.Links), Loss: g.loss()})
			case 3:
				if o.Links >= 2 {
					sw := fmt.Sprintf("sw%d", g.r.IntN(o.Links))
					g.fault(Fault{At: step(), Action: "switch_down", Switch: sw})
					g.fault(Fault{At: step(), Action: "switch_up", Switch: sw})
				}
			case 4:
				g.fault(Fault{At: step(), Action: "isolate", Node: g.node()})
				g.fault(Fault{At: step(), Action: "heal"})
			case 5:
				if a, b := g.node(), g.node(); a != b {
					g.fault(Fault{At: step(), Action: "drop", From: []string{a}, To: []string{b}})
					g.fault(Fault{At: step(), Action: "heal"})
				}
			default:
				g.fault(Fault{At: step(), Action: "qnetd_down"})
				g.fault(Fault{At: step(), Action: "qnetd_up"})
			}
		}
		g.fault(Fault{At: step(), Action: "heal"})
	}
	if g.guide != nil {
		g.guidedTriggersDraw()
	} else {
		g.triggers()
	}
	// Every schedule ends lossless, so that liveness is judged.
	if o.Loss > 0 || g.family == "loss" || g.family == "mixed" || g.family == "store" || g.family == "config" {
		for l := range o.Links {
			g.fault(Fault{At: step(), Action: "set_loss", Link: l})
		}
	}
	return g.build(seed)
}

// triggerDraws are the states and events a drawn trigger names: the
// windows where membership and the services are in motion.
var triggerDraws = [][2]string{
	{"totem", "gather"}, {"totem", "commit"}, {"totem", "recovery"}, {"totem", "token_lost"},
	{"totem", "retransmit"}, {"totem", "membership"}, {"quorum", "sync"}, {"quorum", "inquorate"},
	{"store", "sync_start"}, {"store", "transfer"},
}

// triggers turns about one crash or partition in three into a fault the
// protocol's state fires: armed from the previous fault's time, so that
// the protocol's answer to that fault fires it, and disarmed at the next
// fault's, so it fires in its slot of the schedule or not at all (the
// fault that follows it, a restart or a heal, stays in order).
func (g *gen) triggers() {
	for i := 1; i+1 < len(g.faults); i++ {
		f := &g.faults[i]
		if (f.Action != "crash" && f.Action != "partition" && f.Action != "isolate") || g.w.IntN(3) != 0 {
			continue
		}
		next := g.faults[i+1].At
		if next <= f.At {
			continue
		}
		d := triggerDraws[g.w.IntN(len(triggerDraws))]
		t := &Trigger{Layer: d[0], Event: d[1], Probability: 1, Before: next}
		f.At = g.faults[i-1].At
		if g.w.IntN(2) == 0 {
			t.Node = g.nodes[g.w.IntN(len(g.nodes))]
		}
		if g.w.IntN(4) == 0 {
			t.Delay = time.Duration(1+g.w.IntN(200)) * time.Millisecond
		}
		f.When = t
	}
}

// build assembles the scenario value from the options and the schedule.
func (g *gen) build(seed uint64) *Scenario {
	o := &g.o
	quiet := o.Quiet()
	if len(g.added) > 0 {
		// The nodes an add_node joins lengthen the effective token and
		// so the liveness bound after the last change (config seeds
		// 8653 and 8661 ended too soon to be judged).
		grown := *o
		grown.Nodes += len(g.added)
		quiet = max(quiet, grown.Quiet())
	}
	s := &Scenario{
		Name:        fmt.Sprintf("random-%s-%d", g.family, seed),
		Description: fmt.Sprintf("random %s schedule drawn from seed %d", g.family, seed),
		Seed:        seed,
		Duration:    (max(g.t, g.settle) + quiet).Round(time.Millisecond),
		Faults:      g.faults,
	}
	if g.family == "config" {
		// The cluster starts from a corosync.conf (inline) on link 0; the
		// wire of link 1 is there for the edits that add it.
		s.Cluster.CorosyncConf = g.conf(1, false)
	}
	for i, name := range g.nodes {
		s.Cluster.Nodes = append(s.Cluster.Nodes, Node{Name: name, ID: uint32(i + 1), Votes: o.Votes[i]})
	}
	for i, name := range g.added {
		s.Cluster.Nodes = append(s.Cluster.Nodes, Node{Name: name, ID: uint32(len(g.nodes) + i + 1), Votes: 1, Added: true})
	}
	s.Cluster.PacketCost = DefaultPacketCost
	s.Cluster.Totem = Totem{
		Token: o.Token, TokenCoefficient: o.Coef, Consensus: o.Consensus, Join: o.Join,
		Merge: 200 * time.Millisecond, MaxMessages: 17, WindowSize: 50, TokenRetransmitsBeforeLossConst: 4,
		MissCountConst: 5, SeqnoUnchangedConst: 30, FailRecvConst: 2500,
	}
	q := &s.Cluster.Quorum
	q.TwoNode, q.WaitForAll, q.WaitForAllSet = o.TwoNode, o.WaitForAll, true
	q.LastManStanding, q.LastManStandingWindow = o.LastManStanding, o.LMSWindow
	q.AutoTieBreaker, q.AutoTieBreakerNode = o.AutoTieBreaker, o.ATBNode
	q.AutoTieBreakerNodeList = o.ATBList
	if o.Device != nil {
		d := *o.Device
		q.Device = &d
	}
	s.Network.LinkMode = o.LinkMode
	for l := range o.Links {
		s.Network.Links = append(s.Network.Links, Link{Number: l, Switch: fmt.Sprintf("sw%d", l),
			Priority: o.Priorities[l], Latency: o.Latency, Loss: o.Loss, PongCount: 2,
			Reorder: g.family == "reorder"})
	}
	w := o.Workload
	w.Clients = slices.Clone(g.nodes)
	s.Workload = &w
	for _, c := range []string{"total_order", "virtual_synchrony", "liveness"} {
		s.Expect = append(s.Expect, Expect{Check: c})
	}
	if g.family == "store" {
		zero := 0.0
		s.Expect = append(s.Expect, Expect{Check: "linearizable"}, Expect{Metric: "acked_writes_lost", Equals: &zero})
	}
	return s
}

// configOptions narrows the options to what the config family's
// corosync.conf carries: three to five nodes of one vote, two links in
// passive mode, default quorum options and no quorum device; the drawn
// Totem timers go into the file.
func (g *gen) configOptions() {
	o := &g.o
	o.Nodes = 3 + g.r.IntN(3)
	o.Votes = make([]int, o.Nodes)
	for i := range o.Votes {
		o.Votes[i] = 1
	}
	o.Links, o.LinkMode, o.Priorities = 2, "passive", []int{20, 10}
	o.Loss = 0
	o.TwoNode, o.WaitForAll, o.LastManStanding, o.AutoTieBreaker, o.Device = false, false, false, false, nil
	o.LMSWindow, o.ATBNode, o.ATBList = 10*time.Second, "lowest", nil
	o.Coef = 650 * time.Millisecond
	// The workload is not this family's subject: a light one keeps the
	// long runs cheap.
	o.Workload.Rate = min(o.Workload.Rate, 40)
}

// conf is the corosync.conf of the config family at version: the nodes
// on link 0, and on link 1 too (with a random priority) when link1, with
// the drawn Totem timers.
func (g *gen) conf(version int, link1 bool) string {
	o := &g.o
	var b strings.Builder
	b.WriteString("totem {\n  version: 2\n  cluster_name: random\n")
	fmt.Fprintf(&b, "  config_version: %d\n  token: %d\n  join: %d\n", version, o.Token.Milliseconds(), o.Join.Milliseconds())
	if o.Consensus != 0 {
		fmt.Fprintf(&b, "  consensus: %d\n", o.Consensus.Milliseconds())
	}
	b.WriteString("  interface {\n    linknumber: 0\n    knet_link_priority: 20\n  }\n")
	if link1 {
		fmt.Fprintf(&b, "  interface {\n    linknumber: 1\n    knet_link_priority: %d\n  }\n", 5+g.r.IntN(30))
	}
	b.WriteString("}\nnodelist {\n")
	for i, v := range g.nodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    ring0_addr: 10.0.0.%d\n", v, i+1, i+1)
		if link1 {
			fmt.Fprintf(&b, "    ring1_addr: 10.1.0.%d\n", i+1)
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\nquorum {\n  provider: corosync_votequorum\n}\n")
	return b.String()
}

// membership is the config family's second phase, three or four draws: nodes join
// (add_node of cluster.new_nodes) and leave (delnode), a quorum device is
// set up (with --force on an odd count) and removed, mixed with crashes,
// partitions and loss. Each goes through a random node and is refused
// when that node cannot commit it (down, inquorate, an add while a device
// is configured, a node already removed): the refusal is part of what is
// tested. A device change is live (no restart); the run lasts until the
// qdevices have had their timeout to connect and vote, then quiet.
func (g *gen) membership(step func() time.Duration, wait func(time.Duration) time.Duration) {
	o := &g.o
	all := slices.Clone(g.nodes)
	for i := range 1 + g.r.IntN(2) {
		g.added = append(g.added, fmt.Sprintf("n%d", len(g.nodes)+i+1))
	}
	next, device, lossy := 0, false, false
	settle := o.membershipSettle(len(g.nodes) + len(g.added))
	// A membership change comes only once every configured node is in
	// the ring: the cluster has settled from the fault before it, no loss
	// is cutting members off (a loss drawn in this phase lasts until the
	// next change, which first ends it, a settle time after the fault
	// before it and without a draw), and the next fault comes only once
	// the change is done (an added node in the ring, a removed one gone),
	// as pvecm add waits for the new node to join. A node cut off or not
	// yet joined while the nodelist changes never learns the new
	// corosync.conf (only members get the store's copy) and cannot
	// rejoin: config seed 8653 added n6 while the loss on link 0 had cut
	// n1 and n2 off, 8661 added n7 before n6, added under loss, had
	// joined; both ended as two rings that fail each other to the end of
	// the run.
	op := func(f func(at time.Duration)) {
		if lossy {
			g.fault(Fault{At: wait(settle), Action: "set_loss", Link: 0})
			lossy = false
		}
		wait(settle)
		f(step())
		wait(settle)
	}
	other := func(v string) string {
		for {
			if w := all[g.r.IntN(len(all))]; w != v || len(all) == 1 {
				return w
			}
		}
	}
	for range 3 + g.r.IntN(2) {
		switch g.r.IntN(8) {
		case 0, 1:
			if next < len(g.added) {
				v := g.added[next]
				op(func(at time.Duration) { g.fault(Fault{At: at, Action: "add_node", Node: v, On: g.node()}) })
				all = append(all, v)
				next++
			}
		case 2:
			v := all[g.r.IntN(len(all))]
			op(func(at time.Duration) { g.fault(Fault{At: at, Action: "delnode", Node: v, On: other(v)}) })
		case 3:
			op(func(at time.Duration) {
				if device {
					g.fault(Fault{At: at, Action: "qdevice_remove", On: g.node()})
				} else {
					g.fault(Fault{At: at, Action: "qdevice_setup", On: g.node(), Force: true})
				}
				// Live: the qdevices connect and vote within their
				// timeout (quorum.device.timeout, 10 s by default).
				g.settle = max(g.settle, at+quorum.DefaultDeviceTimeout)
			})
			device = !device
		case 4:
			v := all[g.r.IntN(len(all))]
			g.fault(Fault{At: step(), Action: "crash", Node: v})
			g.fault(Fault{At: step(), Action: "restart", Node: v})
		case 5:
			// The nodes added so far are in the groups too.
			g.fault(Fault{At: step(), Action: "partition", Groups: g.splitOf(all)})
			g.fault(Fault{At: step(), Action: "heal"})
		default:
			f := Fault{At: step(), Action: "set_loss", Link: 0, Loss: g.loss()}
			g.fault(f)
			lossy = f.Loss > 0
		}
	}
	g.fault(Fault{At: step(), Action: "set_loss", Link: 0})
	g.fault(Fault{At: step(), Action: "heal"})
}

// membershipSettle is how long the config family leaves a cluster of n
// nodes alone before and after a membership change: an effective token,
// a consensus timeout and a second, enough for a crashed node to rejoin,
// a healed partition or an ended loss to merge, and an added node to
// join.
func (o *Options) membershipSettle(n int) time.Duration {
	eff, cons := o.timers(n)
	return eff + cons + time.Second
}

// timers returns the effective token and the consensus timeout of the
// drawn options on n nodes (consensus derived as corosync derives it when
// not drawn: 1.2 effective tokens).
func (o *Options) timers(n int) (eff, cons time.Duration) {
	eff = effectiveToken(o.Token, o.Coef, n)
	cons = o.Consensus
	if cons == 0 {
		cons = eff * 12 / 10
	}
	return eff, cons
}

// withoutTwoQuorateSides takes out of a drawn store-family cluster the
// quorum options with which votequorum itself lets two partitions be
// quorate at once, as two_node does (never drawn there): the store would
// acknowledge writes on both sides, and the simulator judges every store
// run's linearizability. They are drawn all the same and removed here, so
// that the draws after them do not move.
//   - last_man_standing lowers expected_votes in the partition that kept
//     quorum; the others, rejoined, are quorate with a majority of the
//     original votes beside it (store seed 8889: {n1,n5} with
//     expected_votes 2, {n2,n3,n4} with 3 of 5).
//   - auto_tie_breaker with a node list denies quorum to a half only when
//     an earlier listed node was in that half's previous membership, so
//     two halves that were apart in their previous rings (a cold start, a
//     node restarted alone, one partition after another) are both quorate
//     (store seeds 369, 505, 506, 794 and 881): lowest instead.
//   - auto_tie_breaker's guard against the other half having quorum
//     counts members, not votes, so with a node of 2 or 3 votes the half
//     holding the tie-breaker and the half holding quorum's votes can both
//     be quorate (store seed 2456): one vote each under it.
//   - auto_tie_breaker with an odd vote total: its "half" is
//     expected_votes/2 rounded down, so a node alone with the
//     tie-breaker, whose previous ring was too small for the guard, is
//     quorate beside the majority (store seeds 7292 and 10193: n3 alone,
//     previous ring {n1,n3}, beside {n1,n2}): none then.
func (o *Options) withoutTwoQuorateSides() {
	o.LastManStanding = false
	if !o.AutoTieBreaker {
		return
	}
	if o.ATBNode == "list" {
		o.ATBNode, o.ATBList = "lowest", nil
	}
	for i := range o.Votes {
		o.Votes[i] = 1
	}
	if o.Nodes%2 == 1 {
		o.AutoTieBreaker = false
	}
}
