package quorum

import (
	"fmt"
	"github.com/quorate/quorate/engine/invariant"

	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Tally is what calculate_quorum sums over the MEMBER nodes.
type Tally struct {
	// HighestExpected is the highest expected_votes among MEMBER nodes, or
	// the max_expected override (pvecm expected N, last_man_standing).
	HighestExpected int
	// TotalVotes is the sum of MEMBER votes plus the quorum device's votes
	// when this node's device casts its vote.
	TotalVotes int
	// Voters counts MEMBER nodes, plus one for a casting quorum device.
	Voters int
}

// CalculateQuorum is votequorum's calculate_quorum (spec §1.2):
// max(⌊highest/2⌋+1, ⌊total/2⌋+1), never below previous unless
// allowDecrease, and 1 for two_node while at most two voters are present.
func CalculateQuorum(t Tally, previous int, allowDecrease, twoNode bool) int {
	q := max((t.HighestExpected+2)/2, (t.TotalVotes+2)/2)
	if !allowDecrease {
		q = max(q, previous)
	}
	if twoNode && t.Voters <= 2 {
		q = 1
	}
	return q
}

// QuorateInput is the state are_we_quorate reads.
type QuorateInput struct {
	Quorum        int
	TotalVotes    int
	ExpectedVotes int // this node's us.expected_votes

	WaitForAll bool
	WFAStatus  bool // still waiting for all (wait_for_all_status)

	ATB      ATBMode
	ATBNodes []wire.NodeID // ATBList only, in configured order

	// MemberIDs are the nodes votequorum holds in state MEMBER, this node
	// included; Ring and PrevRing are the current and previous
	// configuration's member lists (quorum_members, previous_quorum_members).
	MemberIDs, Ring, PrevRing []wire.NodeID
	// Lowest and Highest are the lowest and highest MEMBER nodeids of the
	// last evaluation that was quorate (0: never quorate).
	Lowest, Highest wire.NodeID

	// MasterWins: the device's master_wins is allowed on this node and some
	// MEMBER node has both QDEVICE_MASTER_WINS and QDEVICE_CAST_VOTE.
	MasterWins bool
}

// QuorateResult is the outcome of AreWeQuorate.
type QuorateResult struct {
	Quorate bool
	// WFAStatus is the new wait_for_all_status.
	WFAStatus bool
	// Waiting is set when the wait_for_all gate stopped the evaluation
	// ("Waiting for all cluster members"); Quorate is then false.
	Waiting bool
	// Lowest and Highest are the remembered tie-breaker ids, refreshed when
	// the votes alone made the node quorate.
	Lowest, Highest wire.NodeID
}

// AreWeQuorate is votequorum's are_we_quorate (spec §1.4): the
// wait_for_all gate, the vote count, auto_tie_breaker for an exact half,
// master_wins, and wait_for_all re-armed whenever the result is inquorate.
func AreWeQuorate(in QuorateInput) QuorateResult {
	r := QuorateResult{WFAStatus: in.WFAStatus, Lowest: in.Lowest, Highest: in.Highest}
	if in.WaitForAll && in.WFAStatus {
		if in.TotalVotes != in.ExpectedVotes {
			r.Waiting = true
			return r
		}
		r.WFAStatus = false
	}
	r.Quorate = in.Quorum <= in.TotalVotes
	byVotes := r.Quorate
	if r.Quorate && len(in.MemberIDs) > 0 {
		// get_lowest_node_id / get_highest_node_id
		r.Lowest, r.Highest = slices.Min(in.MemberIDs), slices.Max(in.MemberIDs)
	}
	if in.ATB != ATBNone &&
		in.TotalVotes == in.ExpectedVotes/2 &&
		len(in.PrevRing)-len(in.Ring) < in.Quorum &&
		checkAutoTieBreaker(in, r.Lowest, r.Highest) {
		r.Quorate = true
	}
	if in.MasterWins && !r.Quorate {
		r.Quorate = true
	}
	if in.WaitForAll {
		r.WFAStatus = !r.Quorate
	}
	// Quorate means quorum <= total votes, unless auto_tie_breaker broke an
	// exact half or the qdevice's master_wins decided.
	if r.Quorate && !byVotes && in.ATB == ATBNone && !in.MasterWins {
		invariant.Fail("quorum", "a node is quorate only with at least quorum votes, an auto_tie_breaker half or master_wins",
			fmt.Sprintf("quorum %d, total %d", in.Quorum, in.TotalVotes))
	}
	return r
}

// checkAutoTieBreaker is votequorum's check_auto_tie_breaker: for lowest
// and highest, whether the remembered node is still a MEMBER; for a list,
// the first listed node present in the current ring wins unless an earlier
// listed node was in the previous ring (it may be on the other side).
func checkAutoTieBreaker(in QuorateInput, lowest, highest wire.NodeID) bool {
	switch in.ATB {
	case ATBLowest:
		return lowest != 0 && slices.Contains(in.MemberIDs, lowest)
	case ATBHighest:
		return highest != 0 && slices.Contains(in.MemberIDs, highest)
	case ATBList:
		for i, id := range in.ATBNodes {
			if !slices.Contains(in.Ring, id) {
				continue
			}
			for _, earlier := range in.ATBNodes[:i] {
				if slices.Contains(in.PrevRing, earlier) {
					return false
				}
			}
			return true
		}
	}
	return false
}

// LMSTimerShouldStart is the last_man_standing rule of votequorum_sync_init
// (spec §2.3): (re)start the window when at least Quorum nodes remain and
// some node left, or when at most Quorum remain, auto_tie_breaker is on and
// the remembered lowest node is still a MEMBER.
func LMSTimerShouldStart(members, quorum int, someLeft, atb, lowestPresent bool) bool {
	return (members >= quorum && someLeft) || (members <= quorum && atb && lowestPresent)
}

// CheckSetExpected is the validation of `pvecm expected n`
// (message_handler_req_lib_votequorum_setexpected, spec §2.6): t is the
// current tally; n is refused when below 1 or the total votes, or when a
// quorate node would need more votes than it has under the new Quorum.
// It returns that new Quorum.
func CheckSetExpected(n int, t Tally, quorate, twoNode bool) (newQuorum int, ok bool) {
	t.HighestExpected = n
	newQuorum = CalculateQuorum(t, 0, true, twoNode)
	return newQuorum, n >= 1 && n >= t.TotalVotes && !(quorate && newQuorum > t.TotalVotes)
}
