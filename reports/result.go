// Package reports owns what a run leaves behind for people and programs:
// the result.json types (the public contract of scenario-format.md), the
// tables a run prints, and the statistics behind them.
package reports

import "fmt"

// Result is result.json. The keys listed in the scenario-format contract
// never change meaning; new keys may be added.
type Result struct {
	Scenario     string                `json:"scenario"`
	Seed         uint64                `json:"seed"`
	SimulatedS   float64               `json:"simulated_s"`
	WallS        float64               `json:"wall_s"`
	Events       uint64                `json:"events"`
	TraceSHA256  string                `json:"trace_sha256"`
	OK           bool                  `json:"ok"`
	Failure      string                `json:"failure,omitempty"` // first failed expectation or check, or an engine assertion
	FailureID    *FailureID            `json:"failure_id,omitempty"`
	Reproduce    string                `json:"reproduce,omitempty"`
	Nodes        map[string]NodeResult `json:"nodes"`
	Timeline     []TimelineEntry       `json:"timeline"`
	Checks       map[string]bool       `json:"checks"`
	CheckDetails map[string]string     `json:"check_details,omitempty"` // first counterexample of each failed check
	Liveness     *Liveness             `json:"liveness,omitempty"`
	Expectations []ExpectationResult   `json:"expectations"`
	Stats        Stats                 `json:"stats"`
	Links        []PairLinks           `json:"links"`            // per ordered pair of nodes: link history and failover figures
	Rings        []RingInstall         `json:"rings"`            // every regular configuration installed, in order
	Responses    []FaultResponse       `json:"fault_responses"`  // how the membership answered each fault
	Status       []NodeStatusText      `json:"status,omitempty"` // --status-at: pvecm status of each asked node
	// NodeSummary and Answer say whether the cluster survived: per node,
	// and in one line.
	NodeSummary []NodeSummary `json:"node_summary,omitempty"`
	Answer      string        `json:"answer,omitempty"`
	// Driver is "lab" for a run on real agents (quorate lab): the seed
	// drew the schedule, the run itself is not repeatable, and SimulatedS
	// is the scenario's wall-clock duration. Absent for a simulated run.
	Driver string `json:"driver,omitempty"`
}

// NodeSummary is what one node went through: how often its process
// started, how long it was without quorum after it first had it (down or
// not quorate), how long it was down, and for each fault (in the order of
// fault_responses) how long until the node had installed a new ring and
// was quorate in it (null: never, before the end).
type NodeSummary struct {
	Node            string     `json:"node"`
	Boots           int        `json:"boots"`
	FirstQuorateMs  *float64   `json:"first_quorate_ms,omitempty"`
	NoQuorumMs      float64    `json:"no_quorum_ms"`
	DownMs          float64    `json:"down_ms"`
	ToQuorateRingMs []*float64 `json:"to_quorate_ring_ms"`
}

// NodeStatusText is `pvecm status` of one node at one simulated instant.
type NodeStatusText struct {
	Node string  `json:"node"`
	AtMs float64 `json:"at_ms"`
	Text string  `json:"text"`
}

// RingInstall is one ring (regular configuration) and when its members
// installed it.
type RingInstall struct {
	RingID  string   `json:"ring_id"`
	Members []string `json:"members"`
	FirstMs float64  `json:"first_ms"` // first member installed it
	LastMs  float64  `json:"last_ms"`  // last member installed it
	Nodes   int      `json:"nodes"`    // how many installed it
}

// FaultResponse is the first membership change after a fault: the ring
// that followed it and how long it took to be installed by its members.
type FaultResponse struct {
	TMs float64 `json:"t_ms"`
	// Index is the fault's place among the run's faults in the order they
	// happened (the trace's fault events); Action and Detail are the
	// fault itself, and Fault its Label (kept for readers of older files).
	Index   int         `json:"index"`
	Action  FaultAction `json:"action"`
	Detail  string      `json:"detail,omitempty"`
	Fault   string      `json:"fault"`
	RingID  string      `json:"ring_id,omitempty"` // empty: no membership change followed
	Members []string    `json:"members,omitempty"`
	FirstMs float64     `json:"first_ms,omitempty"` // fault -> first member installed the ring
	AllMs   float64     `json:"all_ms,omitempty"`   // fault -> every member installed it
	// File is the fault's index in the scenario file's faults list (the
	// N of an expectation's fault: N). Refused, for an operator action
	// the cluster refused with nothing changed, says why ("" when it
	// took effect or is no operator action).
	File    int    `json:"file"`
	Refused string `json:"refused,omitempty"`
}

// NodeResult is one node's state at the end of the run.
type NodeResult struct {
	Up      bool     `json:"up"`
	RingID  string   `json:"ring_id,omitempty"`
	Members []string `json:"members,omitempty"`
	State   string   `json:"totem_state,omitempty"`
	// votequorum's view, as pvecm status prints it.
	Quorate         bool                 `json:"quorate"`
	ExpectedVotes   int                  `json:"expected_votes"`
	HighestExpected int                  `json:"highest_expected"`
	TotalVotes      int                  `json:"total_votes"`
	Quorum          int                  `json:"quorum"`
	Flags           []string             `json:"flags"`
	Links           map[string]PeerLinks `json:"links"`
}

// PeerLinks is a node's knet view of one peer: the link in use (-1 for none)
// and the up state of each configured link, indexed by link number.
type PeerLinks struct {
	Active int    `json:"active"`
	Up     []bool `json:"up"`
}

// TimelineEntry is one externally visible event at simulated time TMs.
type TimelineEntry struct {
	TMs    float64 `json:"t_ms"`
	Node   string  `json:"node,omitempty"`
	Event  string  `json:"event"`
	Peer   string  `json:"peer,omitempty"`
	Link   *int    `json:"link,omitempty"`
	Active *int    `json:"active,omitempty"`
	// Membership events: the ring and its members.
	RingID  string   `json:"ring_id,omitempty"`
	Members []string `json:"members,omitempty"`
	Quorate *bool    `json:"quorate,omitempty"`
	Detail  string   `json:"detail,omitempty"`
}

// ExpectationResult is the verdict on one expect entry.
type ExpectationResult struct {
	Expect string `json:"expect"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	Where  string `json:"where,omitempty"` // file:line:column of the entry
	// Vacuous marks a by or within expectation that held, but already held
	// before the fault it follows: it tests nothing (Warning says why).
	// With --strict such an expectation fails instead.
	Vacuous bool   `json:"vacuous,omitempty"`
	Warning string `json:"warning,omitempty"`
}

// Stats are the run's metrics.
type Stats struct {
	Ops               int64 `json:"ops"`
	OpsOK             int64 `json:"ops_ok"`
	OpsRefused        int64 `json:"ops_refused"` // kv: refused at once (read-only without quorum), never silently dropped
	MembershipChanges int64 `json:"membership_changes"`
	AckedWritesLost   int64 `json:"acked_writes_lost"`
	// QuorateFraction is the share of node-time, over the run, in which
	// nodes were quorate (a node counts from its first boot or its
	// add_node; a down node is not quorate).
	QuorateFraction float64 `json:"quorate_fraction"`
	// Refused counts the operator actions the cluster refused.
	Refused int64   `json:"refused"`
	Packets Packets `json:"packets"`
	// OpLatencyMs is the kv workload's latency, invocation to answer, of
	// the operations that completed through the total order (local reads
	// answer at once and are left out); WriteLatencyMs the same for the
	// writes alone. Absent without a kv workload or completed operations.
	OpLatencyMs    *Quantiles `json:"op_latency_ms,omitempty"`
	WriteLatencyMs *Quantiles `json:"write_latency_ms,omitempty"`
	// Totem's token trouble, summed over the nodes' processes (a restarted
	// process counts from zero again): token retransmit timer expiries
	// that re-sent the token, and tokens declared lost (each starts a
	// membership round). They say why membership changed when no fault did.
	TokenRetransmits uint64 `json:"token_retransmits,omitempty"`
	TokensLost       uint64 `json:"tokens_lost,omitempty"`
}

// Quantiles are the median and 99th percentile of a sample, in ms, with
// its size.
type Quantiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// Packets counts datagrams by fate.
type Packets struct {
	Sent      uint64            `json:"sent"`
	Delivered uint64            `json:"delivered"`
	Dropped   map[string]uint64 `json:"dropped"`
	// ICMP counts the ICMP errors (port unreachable) that reached a
	// sender's engine.
	ICMP uint64 `json:"icmp,omitempty"`
}

// PairLinks is what one node saw of its links to one peer during the run,
// with the delays measured against the instants the simulator broke and
// restored the paths.
type PairLinks struct {
	Node       string       `json:"node"`
	Peer       string       `json:"peer"`
	Downs      int          `json:"downs"`
	Ups        int          `json:"ups"`
	Failovers  int          `json:"failovers"`
	DetectMs   []float64    `json:"detect_ms"`   // path broken -> link declared down
	FailoverMs []float64    `json:"failover_ms"` // path of the active link broken -> traffic on another link
	RecoverMs  []float64    `json:"recover_ms"`  // path restored -> link declared up
	NoLinkMs   float64      `json:"no_link_ms"`  // time with no usable link to the peer (after the first link came up)
	Changes    []LinkChange `json:"changes"`
}

// LinkChange is one change of a node's view of a peer's links.
type LinkChange struct {
	TMs   float64 `json:"t_ms"`
	Event string  `json:"event"` // link_up | link_down | active_link
	Link  int     `json:"link"`  // the link, or the new active link (-1: none)
}

// Liveness is how long the cluster took to settle after the last change
// (fault or boot), against the bound derived from its timers.
type Liveness struct {
	SinceMs    float64 `json:"since_ms"`    // the last fault or boot
	BoundMs    float64 `json:"bound_ms"`    // how long settling may take
	MeasuredMs float64 `json:"measured_ms"` // how long it took
	Converged  bool    `json:"converged"`   // every connected group of live nodes shares one ring of exactly itself
	Applicable bool    `json:"applicable"`  // the run went on for at least the bound after the last change
	Churn      int     `json:"churn"`       // membership changes since the last change
	Detail     string  `json:"detail,omitempty"`
}

// FaultAction is a fault's action as a scenario names it. The run, the
// trace, result.json and the report all carry this one value, so that no
// two spellings of one fault can disagree (a label built with a trailing
// space once hid every heal's new ring from the report).
type FaultAction string

// The fault actions of the scenario format ("faults").
const (
	FaultCrash       FaultAction = "crash"
	FaultRestart     FaultAction = "restart"
	FaultPowerOff    FaultAction = "power_off"
	FaultColdStart   FaultAction = "cold_start"
	FaultPartition   FaultAction = "partition"
	FaultIsolate     FaultAction = "isolate"
	FaultDrop        FaultAction = "drop"
	FaultHeal        FaultAction = "heal"
	FaultSwitchDown  FaultAction = "switch_down"
	FaultSwitchUp    FaultAction = "switch_up"
	FaultLinkDown    FaultAction = "link_down"
	FaultLinkUp      FaultAction = "link_up"
	FaultSetLatency  FaultAction = "set_latency"
	FaultSetLoss     FaultAction = "set_loss"
	FaultSetExpected FaultAction = "set_expected"
	FaultDelnode     FaultAction = "delnode"
	FaultEditConf    FaultAction = "edit_conf"
	FaultQnetdDown   FaultAction = "qnetd_down"
	FaultQnetdUp     FaultAction = "qnetd_up"
	FaultAddNode     FaultAction = "add_node"
	FaultQdevSetup   FaultAction = "qdevice_setup"
	FaultQdevRemove  FaultAction = "qdevice_remove"
	FaultSeparate    FaultAction = "separate"
)

// FaultActions lists every action, in the order of the scenario reference.
var FaultActions = []FaultAction{
	FaultCrash, FaultRestart, FaultPowerOff, FaultColdStart, FaultPartition, FaultIsolate,
	FaultDrop, FaultHeal, FaultSwitchDown, FaultSwitchUp, FaultLinkDown, FaultLinkUp,
	FaultSetLatency, FaultSetLoss, FaultSetExpected, FaultDelnode, FaultEditConf, FaultQnetdDown, FaultQnetdUp,
	FaultAddNode, FaultQdevSetup, FaultQdevRemove, FaultSeparate,
}

// Label is how a fault is shown to people: the action, then what it
// touches when the detail says (no trailing space when it does not).
func (a FaultAction) Label(detail string) string {
	if detail == "" {
		return string(a)
	}
	return string(a) + " " + detail
}

// FailureID names which failure a failed run had, as values rather than
// text: the expectation (its index in the expect list, the same entry of
// the file), or the check and the kind of its counterexample ("gap",
// "stale read", "did not settle", ...), or an engine assertion. Two runs
// fail the same way when their FailureIDs are equal; quorate shrink keeps
// only candidates that do.
type FailureID struct {
	Expect *int   `json:"expect,omitempty"` // expect[N]
	Check  string `json:"check,omitempty"`
	Kind   string `json:"kind,omitempty"`
}

// Same reports whether two failures are the same failure.
func (f *FailureID) Same(g *FailureID) bool {
	if f == nil || g == nil {
		return f == g
	}
	if (f.Expect == nil) != (g.Expect == nil) || (f.Expect != nil && *f.Expect != *g.Expect) {
		return false
	}
	return f.Check == g.Check && f.Kind == g.Kind
}

// String is "expect[N]", "check NAME (KIND)" or the kind.
func (f *FailureID) String() string {
	switch {
	case f == nil:
		return "none"
	case f.Expect != nil:
		return fmt.Sprintf("expect[%d]", *f.Expect)
	case f.Check != "":
		return fmt.Sprintf("check %s (%s)", f.Check, f.Kind)
	}
	return f.Kind
}
