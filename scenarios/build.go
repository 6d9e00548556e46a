package scenarios

import (
	"fmt"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The raw* types are the file format as viper decodes it: one field per key,
// tagged with its YAML name. Whether a key was given at all is asked of the
// walker's index, so zero values here never stand in for "absent". There are
// no pointers to structs: mapstructure drops a whole pointed-to struct when
// one of its fields fails, which would turn one error into many.
type rawScenario struct {
	Name        string        `mapstructure:"name"`
	Description string        `mapstructure:"description"`
	Seed        uint64        `mapstructure:"seed"`
	Duration    time.Duration `mapstructure:"duration"`
	Cluster     rawCluster    `mapstructure:"cluster"`
	Network     rawNetwork    `mapstructure:"network"`
	Workload    rawWorkload   `mapstructure:"workload"`
	Faults      []rawFault    `mapstructure:"faults"`
	Expect      []rawExpect   `mapstructure:"expect"`
}

type rawCluster struct {
	Name         string        `mapstructure:"name"`
	CorosyncConf string        `mapstructure:"corosync_conf"`
	Nodes        []rawNode     `mapstructure:"nodes"`
	NewNodes     []rawNewNode  `mapstructure:"new_nodes"`
	Totem        rawTotem      `mapstructure:"totem"`
	Quorum       rawQuorum     `mapstructure:"quorum"`
	PacketCost   time.Duration `mapstructure:"packet_cost"`
}

type rawNode struct {
	Name   string        `mapstructure:"name"`
	ID     int64         `mapstructure:"id"`
	Votes  int           `mapstructure:"votes"`
	BootAt time.Duration `mapstructure:"boot_at"`
}

type rawNewNode struct {
	Name  string   `mapstructure:"name"`
	ID    int64    `mapstructure:"id"`
	Votes int      `mapstructure:"votes"`
	Addrs []string `mapstructure:"addrs"`
}

type rawTotem struct {
	Token                           time.Duration `mapstructure:"token"`
	TokenCoefficient                time.Duration `mapstructure:"token_coefficient"`
	Consensus                       time.Duration `mapstructure:"consensus"`
	Join                            time.Duration `mapstructure:"join"`
	Merge                           time.Duration `mapstructure:"merge"`
	MaxMessages                     int           `mapstructure:"max_messages"`
	WindowSize                      int           `mapstructure:"window_size"`
	TokenRetransmit                 time.Duration `mapstructure:"token_retransmit"`
	Hold                            time.Duration `mapstructure:"hold"`
	TokenRetransmitsBeforeLossConst int           `mapstructure:"token_retransmits_before_loss_const"`
	SendJoin                        time.Duration `mapstructure:"send_join"`
	MissCountConst                  int           `mapstructure:"miss_count_const"`
	SeqnoUnchangedConst             int           `mapstructure:"seqno_unchanged_const"`
	FailRecvConst                   int           `mapstructure:"fail_recv_const"`
}

type rawQuorum struct {
	ExpectedVotes         int           `mapstructure:"expected_votes"`
	TwoNode               bool          `mapstructure:"two_node"`
	WaitForAll            bool          `mapstructure:"wait_for_all"`
	LastManStanding       bool          `mapstructure:"last_man_standing"`
	LastManStandingWindow time.Duration `mapstructure:"last_man_standing_window"`
	AutoTieBreaker        bool          `mapstructure:"auto_tie_breaker"`
	AutoTieBreakerNode    any           `mapstructure:"auto_tie_breaker_node"`
	Device                rawDevice     `mapstructure:"device"`
}

type rawDevice struct {
	Algorithm   string        `mapstructure:"algorithm"`
	TieBreaker  any           `mapstructure:"tie_breaker"`
	Votes       int           `mapstructure:"votes"`
	Timeout     time.Duration `mapstructure:"timeout"`
	SyncTimeout time.Duration `mapstructure:"sync_timeout"`
	MasterWins  bool          `mapstructure:"master_wins"`
	Latency     rawDist       `mapstructure:"latency"`
}

type rawDist struct {
	Dist   string        `mapstructure:"dist"`
	Value  time.Duration `mapstructure:"value"`
	Min    time.Duration `mapstructure:"min"`
	Max    time.Duration `mapstructure:"max"`
	Mean   time.Duration `mapstructure:"mean"`
	Stddev time.Duration `mapstructure:"stddev"`
	Median time.Duration `mapstructure:"median"`
	Sigma  float64       `mapstructure:"sigma"`
	Alpha  float64       `mapstructure:"alpha"`
}

type rawNetwork struct {
	LinkMode string        `mapstructure:"link_mode"`
	HostWait time.Duration `mapstructure:"host_wait"`
	Links    []rawLink     `mapstructure:"links"`
}

type rawLink struct {
	Number       int           `mapstructure:"number"`
	Switch       string        `mapstructure:"switch"`
	Priority     int           `mapstructure:"priority"`
	Latency      rawDist       `mapstructure:"latency"`
	Loss         float64       `mapstructure:"loss"`
	Duplicate    float64       `mapstructure:"duplicate"`
	Reorder      bool          `mapstructure:"reorder"`
	PingInterval time.Duration `mapstructure:"ping_interval"`
	PingTimeout  time.Duration `mapstructure:"ping_timeout"`
	PongCount    int           `mapstructure:"pong_count"`
}

type rawWorkload struct {
	Kind     string        `mapstructure:"kind"`
	Size     byteSize      `mapstructure:"size"`
	Clients  []string      `mapstructure:"clients"`
	Rate     rate          `mapstructure:"rate"`
	Keys     int           `mapstructure:"keys"`
	Mix      rawMix        `mapstructure:"mix"`
	ReadMode string        `mapstructure:"read_mode"`
	Timeout  time.Duration `mapstructure:"timeout"`
	Guests   []rawGuest    `mapstructure:"guests"`
}

type rawMix struct {
	Read  float64 `mapstructure:"read"`
	Write float64 `mapstructure:"write"`
	Cas   float64 `mapstructure:"cas"`
}

type rawGuest struct {
	Name   string `mapstructure:"name"`
	Node   string `mapstructure:"node"`
	Onboot bool   `mapstructure:"onboot"`
}

// builder turns the raw decode into a Scenario, filling defaults and checking
// every rule of the format; each problem is reported at the path it concerns.
type builder struct {
	w     *walker
	c     *collector
	taint []string
	s     *Scenario

	refs bool // the scenario lists its nodes, so names can be checked
	// confFailed: cluster.corosync_conf could not be loaded, so the links
	// and nodes it would define are unknown; references to them are not
	// checked (the conf's own error is the root cause, reported first).
	confFailed bool
	names      map[string]bool   // node names
	ids        map[uint32]string // node id -> name
	links      map[int]bool      // link numbers
	switches   map[string]bool
	guests     map[string]bool

	read ReadFunc             // reads cluster.corosync_conf; nil: the file system
	conf *corosyncconf.Config // cluster.corosync_conf, when given and valid
}

func (b *builder) errf(field, format string, args ...any) {
	if tainted(b.taint, field) {
		return
	}
	b.c.add(b.w.valPos(field), field, format, args...)
}

func (b *builder) has(path string) bool { return b.w.has(path) }

// oneOf checks that the value at path, when given, is one of the allowed words.
func (b *builder) oneOf(path, v string, allowed ...string) {
	if b.has(path) && !contains(allowed, v) {
		b.errf(path, "%q is not one of %s%s", v, strings.Join(allowed, ", "), suggest(v, allowed))
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (b *builder) build(r *rawScenario) *Scenario {
	s := &Scenario{Name: r.Name, Description: r.Description, Seed: 1, Duration: r.Duration}
	b.s = s
	if !b.has("name") {
		b.errf("name", "required: the scenario's name, shown in reports")
	} else if strings.TrimSpace(r.Name) == "" {
		b.errf("name", "must not be empty")
	}
	if b.has("seed") {
		s.Seed = r.Seed
	}
	if !b.has("duration") {
		b.errf("duration", "required: the simulated time to run, e.g. 60s")
	} else if r.Duration <= 0 {
		b.errf("duration", "must be greater than 0")
	}
	if !b.has("cluster") {
		b.errf("cluster", "required: the cluster and its nodes")
	}
	b.cluster(&r.Cluster)
	b.network(&r.Network)
	if b.has("workload") {
		s.Workload = b.workload(&r.Workload)
	}
	b.faults(r.Faults)
	b.expects(r.Expect, r.Faults)
	return s
}

func (b *builder) cluster(r *rawCluster) {
	cl := &b.s.Cluster
	cl.Name, cl.CorosyncConf = r.Name, r.CorosyncConf
	cl.PacketCost = r.PacketCost
	if !b.has("cluster.packet_cost") {
		cl.PacketCost = DefaultPacketCost
	}
	if r.PacketCost < 0 || r.PacketCost > MaxPacketCost {
		b.errf("cluster.packet_cost", "%v is out of range: 0 (no cost) up to %v per packet", r.PacketCost, MaxPacketCost)
	}
	b.names, b.ids = map[string]bool{}, map[uint32]string{}
	for i, rn := range r.Nodes {
		p := fmt.Sprintf("cluster.nodes[%d]", i)
		n := Node{Name: rn.Name, Votes: 1, BootAt: rn.BootAt, Pos: b.w.valPos(p)}
		switch {
		case !b.has(p + ".name"):
			b.errf(p+".name", "required: every node needs a name")
		case !nameRE().MatchString(rn.Name):
			b.errf(p+".name", "%q is not a valid node name (letters, digits, '_', '.', '-'; starting with a letter or digit)", rn.Name)
		case b.names[rn.Name]:
			b.errf(p+".name", "node %q is listed twice", rn.Name)
		default:
			b.names[rn.Name] = true
		}
		id, idNote := int64(i+1), " (the default, position+1)"
		if b.has(p + ".id") {
			id, idNote = rn.ID, ""
		}
		if id < 1 || id > 65535 {
			b.errf(p+".id", "%d is out of range: node ids are 1..65535 (0 is reserved, and knet host ids are 16-bit)", id)
		} else {
			n.ID = uint32(id)
			if other, dup := b.ids[n.ID]; dup {
				b.errf(p+".id", "id %d%s is already used by node %q", id, idNote, other)
			} else {
				b.ids[n.ID] = rn.Name
			}
		}
		if b.has(p + ".votes") {
			n.Votes = rn.Votes
			if n.Votes < 0 {
				b.errf(p+".votes", "%d is negative; votes are 0 or more", n.Votes)
			}
		}
		cl.Nodes = append(cl.Nodes, n)
	}
	b.refs = len(cl.Nodes) > 0
	if cl.CorosyncConf != "" {
		b.conf = b.loadConf()
		b.confFailed = b.conf == nil
		if b.conf != nil && len(cl.Nodes) == 0 {
			b.confNodes(b.conf)
		}
	}
	if len(cl.Nodes) == 0 && cl.CorosyncConf == "" && b.has("cluster") {
		b.errf("cluster.nodes", "at least one node is required (or take the nodelist from corosync_conf)")
	}
	b.newNodes(r.NewNodes)
	b.totem(&r.Totem)
	b.quorum(&r.Quorum)
	if b.conf != nil {
		b.confTotem(b.conf)
		b.confQuorum(b.conf)
	}
}

// nodeRef checks that name is a node of the cluster.
func (b *builder) nodeRef(path, name string) {
	if b.refs && !b.names[name] {
		b.errf(path, "unknown node %q (nodes: %s)", name, strings.Join(b.s.NodeNames(), ", "))
	}
}

// nodeRefs checks a list of node names: given, not empty, each known, no repeats.
func (b *builder) nodeRefs(path string, names []string) {
	if len(names) == 0 {
		b.errf(path, "must not be empty")
		return
	}
	seen := map[string]bool{}
	for i, n := range names {
		ep := fmt.Sprintf("%s[%d]", path, i)
		if seen[n] {
			b.errf(ep, "node %q is listed twice", n)
		}
		seen[n] = true
		b.nodeRef(ep, n)
	}
}

// linkRef checks that n is a link number of the network.
func (b *builder) linkRef(path string, n int) {
	if !b.links[n] && !b.confFailed {
		b.errf(path, "unknown link %d (links: %s)", n, b.linkList())
	}
}

func (b *builder) linkList() string {
	var ns []string
	for _, l := range b.s.Network.Links {
		ns = append(ns, strconv.Itoa(l.Number))
	}
	return strings.Join(ns, ", ")
}

// dist converts and checks a latency-style distribution.
func (b *builder) dist(path string, r *rawDist) Distribution {
	d := Distribution{Dist: r.Dist, Value: r.Value, Min: r.Min, Max: r.Max, Mean: r.Mean,
		Stddev: r.Stddev, Median: r.Median, Sigma: r.Sigma, Alpha: r.Alpha}
	names := sortedDists()
	if !b.has(path + ".dist") {
		b.errf(path+".dist", "required: one of %s", strings.Join(names, ", "))
		return d
	}
	params, ok := distParams[r.Dist]
	if !ok {
		b.errf(path+".dist", "unknown distribution %q%s (known: %s)", r.Dist, suggest(r.Dist, names), strings.Join(names, ", "))
		return d
	}
	for _, p := range params {
		if !b.has(path + "." + p) {
			b.errf(path+"."+p, "required for dist %s (it takes: %s)", r.Dist, strings.Join(params, ", "))
		}
	}
	positive := func(key string, ok bool) {
		if b.has(path+"."+key) && !ok {
			b.errf(path+"."+key, "must be greater than 0 for dist %s", r.Dist)
		}
	}
	switch r.Dist {
	case "uniform":
		if d.Min > d.Max {
			b.errf(path+".max", "max (%s) is less than min (%s)", formatDuration(d.Max), formatDuration(d.Min))
		}
	case "lognormal":
		positive("median", d.Median > 0)
		positive("sigma", d.Sigma > 0 && !math.IsInf(d.Sigma, 0))
	case "exponential":
		positive("mean", d.Mean > 0)
	case "pareto":
		positive("min", d.Min > 0)
		positive("alpha", d.Alpha > 0 && !math.IsInf(d.Alpha, 0))
	}
	return d
}

func sortedDists() []string {
	var names []string
	for n := range distParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func constant(d time.Duration) Distribution { return Distribution{Dist: "constant", Value: d} }

// probability checks a value that must lie in [0, 1].
func (b *builder) probability(path string, v float64) {
	if b.has(path) && !(v >= 0 && v <= 1) {
		b.errf(path, "%v is not a probability between 0 and 1", v)
	}
}

// within checks that an instant lies inside the run.
func (b *builder) within(path string, t time.Duration) {
	if b.s.Duration > 0 && t > b.s.Duration {
		b.errf(path, "%s is after the end of the run (duration %s)", formatDuration(t), formatDuration(b.s.Duration))
	}
}
