package quorum

import (
	"fmt"
	"slices"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// NodeStatus is one row of the membership table: what this node knows of
// a member (votequorum_getinfo for that nodeid).
type NodeStatus struct {
	ID            wire.NodeID
	State         NodeState
	Votes         int
	ExpectedVotes int
	// Flags are the flags last received in the node's NODEINFO (this
	// node's own current flags for the local row).
	Flags NodeFlags
	Local bool
}

// Qdevice returns the row's Qdevice column: "A|NA,V|NV,MW|NMW", or "NR"
// when the node has no registered quorum device (spec §4.3).
func (n NodeStatus) Qdevice() string {
	if n.Flags&FlagQdeviceRegistered == 0 {
		return "NR"
	}
	pick := func(f NodeFlags, on, off string) string {
		if n.Flags&f != 0 {
			return on
		}
		return off
	}
	return pick(FlagQdeviceAlive, "A", "NA") + "," + pick(FlagQdeviceCastVote, "V", "NV") + "," +
		pick(FlagQdeviceMasterWins, "MW", "NMW")
}

// DeviceStatus describes the quorum device pseudo-node (nodeid 0).
type DeviceStatus struct {
	// Name is the registered device name ("Qdevice"), empty if none is known.
	Name string
	// Votes is the device's votes as this node knows them.
	Votes int
	// Voting: this node's own device currently casts its vote.
	Voting bool
}

// RowVotes is the Votes column of the qdevice row: the device's votes if
// it votes for this node, else 0 (then the row appends " (votes N)").
func (d DeviceStatus) RowVotes() int {
	if d.Voting {
		return d.Votes
	}
	return 0
}

// Status is what `corosync-quorumtool -s` / `pvecm status` print for this
// node (status-output.md §2.2–§2.4).
type Status struct {
	Self    wire.NodeID
	Ring    RingID
	Members []wire.NodeID // the current configuration ("Nodes:" is its length)
	// Quorate is the verdict votequorum last gave the quorum service
	// (corosync-quorumtool's "Quorate:", the log's "Members[N]"): it
	// changes outside a synchronisation, or when one completes. While a
	// configuration synchronises, votequorum's own recalculation may
	// already say otherwise (the "Quorate" flag), but corosync passes it on
	// only when the synchronisation activates (are_we_quorate's
	// quorum_callback waits for sync_in_progress to end), so a ring whose
	// synchronisation never completes never shows its verdict.
	Quorate bool

	ExpectedVotes   int // Expected votes
	HighestExpected int // Highest expected
	TotalVotes      int // Total votes
	Quorum          int // Quorum

	// Flags are the "Flags:" words in corosync-quorumtool's order: 2Node,
	// Quorate, WaitForAll, LastManStanding, AutoTieBreaker, AllowDownscale,
	// Qdevice.
	Flags []string

	// Nodes are the rows for the current members, ascending by id.
	Nodes []NodeStatus
	// ShowQdevice: some member has a registered device, so the Qdevice
	// column and the qdevice row are printed.
	ShowQdevice bool
	Device      DeviceStatus

	// Syncing: votequorum's sync for Ring has not finished yet.
	Syncing bool
	// WaitingForAll: wait_for_all is still unsatisfied (wait_for_all_status).
	WaitingForAll bool
}

// Numbers is the part of Status a driver reads whenever votequorum may
// have changed (Ready.QuorumChanged): the verdict and its figures, without
// the member and node lists Status copies.
type Numbers struct {
	Quorate                           bool
	TotalVotes, ExpectedVotes, Quorum int
}

// Numbers returns Status's Quorate, TotalVotes, ExpectedVotes and Quorum.
func (q *Quorum) Numbers() Numbers {
	_, total := q.highestAndTotal()
	return Numbers{Quorate: q.reportedQ, TotalVotes: total, ExpectedVotes: q.us().expected, Quorum: q.quorum}
}

// Quorate is Status().Quorate, Syncing Status().Syncing and RingID
// Status().Ring, for the node's checks after every step: building the
// whole Status there cost a tenth of a 128-node run.
func (q *Quorum) Quorate() bool { return q.reportedQ }

// Syncing is Status().Syncing (see Quorate).
func (q *Quorum) Syncing() bool { return q.syncing }

// RingID is Status().Ring (see Quorate).
func (q *Quorum) RingID() RingID { return q.ring }

// Status returns this node's current quorum status.
func (q *Quorum) Status() Status {
	us := q.us()
	st := Status{
		Self:          q.s.self,
		Ring:          q.ring,
		Members:       slices.Clone(q.members),
		Quorate:       q.reportedQ,
		ExpectedVotes: us.expected,
		Quorum:        q.quorum,
		Syncing:       q.syncing,
		WaitingForAll: q.s.wfa && q.wfaStatus,
		Device: DeviceStatus{
			Name:   q.devName,
			Votes:  q.dev.votes,
			Voting: us.flags&FlagQdeviceCastVote != 0,
		},
	}
	if !q.haveRing {
		st.Members = []wire.NodeID{q.s.self}
	}
	st.HighestExpected, st.TotalVotes = q.highestAndTotal()
	add := func(on bool, name string) {
		if on {
			st.Flags = append(st.Flags, name)
		}
	}
	add(q.s.twoNode, "2Node")
	add(q.quorate, "Quorate")
	add(q.s.wfa, "WaitForAll")
	add(q.s.lms, "LastManStanding")
	add(q.s.atb != ATBNone, "AutoTieBreaker")
	add(false, "AllowDownscale")
	add(us.flags&FlagQdeviceRegistered != 0, "Qdevice")
	for _, id := range st.Members {
		n := q.find(id)
		if n == nil {
			st.Nodes = append(st.Nodes, NodeStatus{ID: id, State: NodeDead, Local: id == q.s.self})
			continue
		}
		st.Nodes = append(st.Nodes, NodeStatus{ID: id, State: n.state, Votes: n.votes,
			ExpectedVotes: n.expected, Flags: n.flags, Local: id == q.s.self})
		if n.flags&FlagQdeviceRegistered != 0 {
			st.ShowQdevice = true
		}
	}
	return st
}

// FlagsLine returns the value of the "Flags:" line: every flag followed by
// one space (empty without flags).
func (s Status) FlagsLine() string {
	var sb strings.Builder
	for _, f := range s.Flags {
		sb.WriteString(f + " ")
	}
	return sb.String()
}

// QuorumLine returns the value of the "Quorum:" line: "%d %s" with a
// single-space suffix when quorate and "Activity blocked" when not.
func (s Status) QuorumLine() string {
	if s.Quorate {
		return fmt.Sprintf("%d  ", s.Quorum)
	}
	return fmt.Sprintf("%d Activity blocked", s.Quorum)
}

// String prints a compact one-line summary for traces and golden files.
func (s Status) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "quorate=%s E=%d H=%d T=%d Q=%d members=%s flags=%s",
		yesNo(s.Quorate), s.ExpectedVotes, s.HighestExpected, s.TotalVotes, s.Quorum,
		idList(s.Members), strings.Join(s.Flags, ","))
	if s.ShowQdevice {
		var rows []string
		for _, n := range s.Nodes {
			rows = append(rows, fmt.Sprintf("%d:%s", n.ID, n.Qdevice()))
		}
		fmt.Fprintf(&sb, " qdevice=%s dev=%d/%d", strings.Join(rows, ";"), s.Device.RowVotes(), s.Device.Votes)
	}
	if s.Syncing {
		sb.WriteString(" syncing")
	}
	return sb.String()
}
