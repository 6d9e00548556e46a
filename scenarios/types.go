package scenarios

import (
	"fmt"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// Position is a place in a scenario file, for error messages and reports.
type Position struct {
	File string
	Line int // 1-based; 0 when unknown
	Col  int // 1-based; 0 when unknown
}

// String prints file:line:column (file:line when the column is unknown, as
// for YAML syntax errors; just the file when the place is unknown).
func (p Position) String() string {
	if p.Line == 0 {
		return p.File
	}
	if p.Col == 0 {
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Scenario is one loaded and validated scenario file: the public contract of
// docs/reference/scenario-format.md as Go values, with every default filled in.
type Scenario struct {
	Name        string
	Description string
	Seed        uint64
	Duration    time.Duration
	Cluster     Cluster
	Network     Network
	Workload    *Workload // nil when the file has none
	Faults      []Fault   // sorted by At, stable (file order among equal times)
	Expect      []Expect

	// Path is the file the scenario came from; Source its bytes, kept so a
	// trace can embed the scenario and replay it without the file.
	Path   string
	Source []byte

	// positions maps field paths ("faults[2].at") to where the file gives
	// them; see PosOf. Nil for a Scenario built in code.
	positions map[string]Position
}

// Cluster is the `cluster:` section.
type Cluster struct {
	Name         string
	CorosyncConf string // path as written; resolved relative to the scenario file
	// CorosyncConfSource holds the corosync.conf's bytes, so that a trace
	// can embed them and replay without the file.
	CorosyncConfSource []byte
	// Conf is the parsed corosync.conf (nil without one): the simulator
	// starts its nodes from it through the mapping the agent uses, and the
	// scenario's own keys are edits on top.
	Conf   *corosyncconf.Config
	Nodes  []Node // in file order; ids unique
	Totem  Totem
	Quorum Quorum
	// PacketCost is the processing time of every packet a node receives
	// or sends (cluster.packet_cost; DefaultPacketCost when not given, 0s
	// for none). A node is busy for that long per packet; packets arriving
	// meanwhile wait in its receive queue and its timers fire late, so a
	// message storm takes time, as on a loaded machine.
	PacketCost time.Duration
}

// DefaultPacketCost is what corosync spends on one packet sent or received
// on the reference machine, from its CPU-bound rates (docs/fidelity.md,
// "Processing cost"): the CPG flood of 34,900 agreed 64-byte messages/s on
// three nodes saturated both vCPUs at about eight packet handlings per
// message (57 µs), about 7 µs each; the JOIN storm of 240,000 packets/s
// saturated them at about 8 µs per packet sent and received, 4 µs each.
// A node that handled every packet in no time at all processes a burst of
// JOINs in one instant, which locks whole groups of nodes into re-forming
// their rings in step (crash seed 236 re-formed two rings every 6 ms for
// ever); a few microseconds per packet is what real daemons do.
const DefaultPacketCost = 5 * time.Microsecond

// MaxPacketCost bounds cluster.packet_cost.
const MaxPacketCost = 100 * time.Millisecond

// MinHostWait and MaxHostWait bound network.host_wait: without a wait a
// constant latency can lock a cluster into rounds that repeat to the
// nanosecond, and a mean past a few milliseconds is no longer a host's
// wait but a link's latency.
const (
	MinHostWait = time.Microsecond
	MaxHostWait = 5 * time.Millisecond
)

// Node is one entry of cluster.nodes.
type Node struct {
	Name   string
	ID     uint32        // defaults to position+1
	Votes  int           // defaults to 1
	BootAt time.Duration // 0: powered on at the start
	// Added marks a node of cluster.new_nodes: a machine outside the
	// initial nodelist, powered off until an add_node fault joins it;
	// Addrs are its ringX_addr values, in the order of the cluster's
	// links (nil: derived, see NewNodeAddr).
	Added bool
	Addrs []string
	Pos   Position
}

// Totem holds cluster.totem, named as in corosync.conf. Zero values have been
// replaced by corosync 3 defaults, except Consensus, Hold and TokenRetransmit,
// which stay 0 when the corosync rule derives them from the effective token.
type Totem struct {
	Token                           time.Duration // 3000ms
	TokenCoefficient                time.Duration // 650ms
	Consensus                       time.Duration // 0 = 1.2 x effective token
	Join                            time.Duration // 50ms
	Merge                           time.Duration // 200ms
	MaxMessages                     int           // 17
	WindowSize                      int           // 50
	TokenRetransmit                 time.Duration // 0 = derived
	Hold                            time.Duration // 0 = derived
	TokenRetransmitsBeforeLossConst int           // 4
	SendJoin                        time.Duration // 0
	MissCountConst                  int           // 5
	SeqnoUnchangedConst             int           // 30
	FailRecvConst                   int           // 2500
}

// Quorum holds cluster.quorum (votequorum options).
type Quorum struct {
	ExpectedVotes          int
	TwoNode                bool
	WaitForAll             bool
	WaitForAllSet          bool // wait_for_all was given (two_node turns it on unless given as 0)
	LastManStanding        bool
	LastManStandingWindow  time.Duration // 10s
	AutoTieBreaker         bool
	AutoTieBreakerNode     string   // "lowest" | "highest" | "list"
	AutoTieBreakerNodeList []uint32 // when AutoTieBreakerNode == "list"
	Device                 *Device  // nil: no quorum device
}

// Device is cluster.quorum.device: a qdevice client per node plus a qnetd arbiter.
type Device struct {
	Algorithm  string // ffsplit | lms
	TieBreaker string // lowest | highest | node id in decimal
	Votes      int    // 0 = derived (1 for ffsplit, N-1 for lms)
	// Timeout and SyncTimeout are quorum.device.timeout and sync_timeout
	// (0: votequorum's 10 s and 30 s); MasterWins is master_wins.
	Timeout     time.Duration
	SyncTimeout time.Duration
	MasterWins  bool
	Latency     Distribution
}

// Distribution is a latency-style distribution as written in a scenario.
// Only the fields of its Dist are meaningful.
type Distribution struct {
	Dist   string        // constant | uniform | normal | lognormal | exponential | pareto
	Value  time.Duration // constant
	Min    time.Duration // uniform, pareto
	Max    time.Duration // uniform
	Mean   time.Duration // normal, exponential
	Stddev time.Duration // normal
	Median time.Duration // lognormal
	Sigma  float64       // lognormal (unitless)
	Alpha  float64       // pareto (shape)
}

// Network is the `network:` section.
type Network struct {
	LinkMode string // passive | active | rr
	// HostWait is the mean of the exponential wait of every datagram for
	// its receiving daemon (netmodel.Topology.HostWait); 0, when the
	// scenario does not set it, is the network model's default.
	HostWait time.Duration
	Links    []Link // sorted by Number; numbers unique, 0..7
}

// Link is one entry of network.links: link N of every node plugs into Switch.
type Link struct {
	Number    int
	Switch    string // default "link<number>"
	Priority  int    // knet_link_priority 0..255; corosync's default 1
	Latency   Distribution
	Loss      float64 // 0..1
	Duplicate float64 // 0..1, probability a packet is delivered twice
	Reorder   bool    // allow packets of one pair on this link to overtake each other
	// knet heartbeat overrides (corosync interface keys); 0 = derived from the token.
	PingInterval time.Duration
	PingTimeout  time.Duration
	PongCount    int // default 2
	Pos          Position
}

// Workload is the `workload:` section.
type Workload struct {
	Kind     string   // kv | multicast
	Size     int      // bytes, multicast
	Clients  []string // node names; default every node
	Rate     float64  // operations per simulated second, all clients together
	Keys     int
	Mix      Mix
	ReadMode string // ordered | local
	Timeout  time.Duration
	Guests   []Guest
}

// Mix is the operation mix of a kv workload; the fractions sum to 1.
type Mix struct{ Read, Write, Cas float64 }

// Guest is a VM or container with cold-start semantics.
type Guest struct {
	Name   string
	Node   string
	Onboot bool
}

// Fault is one timed entry of `faults:`. Only the fields its Action uses are set.
type Fault struct {
	At      time.Duration
	Action  string
	Node    string
	Nodes   []string // nil: the action's default (all nodes where the contract says so)
	After   time.Duration
	Boot    *Distribution
	Groups  [][]string
	Links   []int // nil: all links
	From    []string
	To      []string
	Switch  string
	Link    int
	Latency *Distribution
	Loss    float64
	Votes   int
	On      string
	// Conf is edit_conf's new corosync.conf, parsed; ConfLine is the
	// scenario line its text starts after (its line N is ConfLine+N).
	Conf     *corosyncconf.Config
	ConfText string // its text, as the scenario gives it
	ConfLine int
	// Algorithm and Force are qdevice_setup's (`quorate qdevice setup
	// --algorithm --force`).
	Algorithm string
	Force     bool
	// Bundle is add_node's: the add carries the qdevice client bundle
	// (quorate add --qdevice-bundle).
	Bundle bool
	// Index is the fault's place in the file's faults list (Faults is
	// sorted by time): what an expectation's fault: N names.
	Index int
	// When, when set, makes the fault state-triggered: it fires at the
	// first matching engine event at or after At (At arms it), not at At.
	When *Trigger
	Pos  Position
}

// Trigger is a fault's `when:` (FoundationDB's BUGGIFY in scenario form):
// the fault fires when a node enters a protocol state or emits an event,
// so that the narrow windows (a crash during COMMIT, a partition while the
// store synchronises) are hit on purpose rather than by luck. The
// simulator evaluates it on the engine's typed events, in its one loop, so
// a run stays deterministic.
type Trigger struct {
	// Node is the node whose event fires the fault; "" means any node.
	Node string
	// Layer is totem, quorum, store or qdevice; Event one of
	// TriggerEvents[Layer].
	Layer string
	Event string
	// Delay is how long after the event the fault applies (0: at once,
	// after the event's own batch).
	Delay time.Duration
	// Probability is the chance that one matching event fires the fault
	// (1 when not given); each candidate event draws from the fault's own
	// stream (fault/N/when), so the choice is the seed's.
	Probability float64
	// Before disarms the trigger: an event at or after it fires nothing
	// (0: armed until the end of the run).
	Before time.Duration
}

// TriggerLayers are the layers a trigger names, in the order of the
// documentation; TriggerEvents the states and events of each. A Totem
// state (gather, commit, recovery, operational) fires on entering it.
var (
	TriggerLayers = []string{"totem", "quorum", "store", "qdevice"}
	TriggerEvents = map[string][]string{
		"totem":   {"gather", "commit", "recovery", "operational", "membership", "token_lost", "retransmit", "consensus_timeout"},
		"quorum":  {"quorate", "inquorate", "sync", "expected_votes", "last_man_standing"},
		"store":   {"sync_start", "leader", "transfer", "synced", "writable", "read_only"},
		"qdevice": {"vote", "arbiter_vote", "lost"},
	}
)

// String says what fires the trigger, e.g. "hp2 totem commit".
func (t *Trigger) String() string {
	who := t.Node
	if who == "" {
		who = "any node"
	}
	return who + " " + t.Layer + " " + t.Event
}

// Expect is one assertion of `expect:`. Exactly one of the time forms (At,
// By, Within, During, AtEnd), Check, Metric or Fault is set.
type Expect struct {
	At     *time.Duration
	By     *time.Duration
	Within *time.Duration
	During *[2]time.Duration
	AtEnd  bool

	// Window is the interval a by or within expectation is judged over,
	// resolved when the file is loaded: it opens at the fault the
	// expectation follows (the last fault before by, or after_fault, or
	// after) so that a state that held before that fault cannot satisfy it.
	// Anchor says what opened it ("" when it opens at 0).
	Window     [2]time.Duration
	Anchor     string
	AfterFault *int // index into the file's faults list, when given

	Node  string
	Nodes []string
	Peer  string
	Link  *int
	Guest string

	Quorate       *bool
	Members       []string // nil: not asserted
	TotalVotes    *int
	ExpectedVotes *int
	Quorum        *int
	ActiveLink    *int
	LinkUp        *bool
	Running       *bool
	ConfigVersion *uint64

	// Fault, with Refused, asserts that the file's faults[Fault], an
	// operator action, was refused (true) or took effect (false); Reason,
	// when given, must be part of the refusal's words.
	Fault   *int
	Refused *bool
	Reason  string

	Check string // linearizable | total_order | virtual_synchrony | liveness

	Metric string
	After  *time.Duration
	Before *time.Duration
	Max    *float64
	Min    *float64
	Equals *float64

	Pos Position
	// Text is a short human description, e.g. "at 15s hp1 quorate=false".
	Text string
}
