package quorum

import (
	"github.com/quorate/quorate/engine/invariant"

	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// tally sums the MEMBER nodes for calculate_quorum; maxExpected > 0
// overrides the highest expected votes.
func (q *Quorum) tally(maxExpected int) Tally {
	var t Tally
	for _, n := range q.nodes {
		if n.state == NodeMember {
			t.HighestExpected = max(t.HighestExpected, n.expected)
			t.TotalVotes += n.votes
			t.Voters++
		}
	}
	if q.us().flags&FlagQdeviceCastVote != 0 {
		t.TotalVotes += q.dev.votes
		t.Voters++
	}
	if maxExpected > 0 {
		t.HighestExpected = maxExpected
	}
	return t
}

// highestAndTotal returns Highest expected and Total votes as getinfo
// reports them for this node.
func (q *Quorum) highestAndTotal() (int, int) {
	t := q.tally(0)
	return t.HighestExpected, t.TotalVotes
}

// calculateQuorum is calculate_quorum over the current node table.
func (q *Quorum) calculateQuorum(allowDecrease bool, maxExpected int) (quorum, total int) {
	t := q.tally(maxExpected)
	return CalculateQuorum(t, q.quorum, allowDecrease, q.s.twoNode), t.TotalVotes
}

// totalVotes is get_total_votes: MEMBER votes plus the device's votes
// whenever it has any, and the number of such voters.
func (q *Quorum) totalVotes() (total, voters int) {
	for _, n := range q.nodes {
		if n.state == NodeMember {
			total += n.votes
			voters++
		}
	}
	if q.dev.votes != 0 {
		total += q.dev.votes
		voters++
	}
	return total, voters
}

// updateNodeExpected sets expected votes of every MEMBER node (this one
// included) to ev; 0 changes nothing (update_node_expected_votes).
func (q *Quorum) updateNodeExpected(ev int) {
	if ev == 0 {
		return
	}
	for i := range q.nodes {
		if q.nodes[i].state == NodeMember {
			q.nodes[i].expected = ev
		}
	}
}

// recalculate is recalculate_quorum (spec §1.3): grow expected votes to the
// votes present, recompute Quorum, re-evaluate quorate.
func (q *Quorum) recalculate(now wire.Instant, allowDecrease, byCurrentNodes bool) {
	total, voters := q.totalVotes()
	if !byCurrentNodes {
		voters = 0
	}
	us := q.us()
	if total > us.expected {
		us.expected = total
	}
	q.quorum, total = q.calculateQuorum(allowDecrease, voters)
	if q.quorum < 1 || (voters == 0 && q.us().expected < total) {
		invariant.Fail("quorum", "quorum is at least 1 and expected votes cover the votes present (recalculate_quorum)",
			fmt.Sprintf("quorum %d, expected %d, total %d", q.quorum, q.us().expected, total))
	}
	q.updateNodeExpected(voters)
	q.areWeQuorate(now, total)
	if ev := q.us().expected; ev != q.reportedEV {
		q.reportedEV = ev
		q.event(now, Event{Kind: EventExpectedVotes})
	}
}

// memberIDs lists the nodes in state MEMBER, ascending.
func (q *Quorum) memberIDs() []wire.NodeID {
	var ids []wire.NodeID
	for _, n := range q.nodes {
		if n.state == NodeMember {
			ids = append(ids, n.id)
		}
	}
	return ids
}

// masterWinsHolds is check_qdevice_master: some MEMBER node has both
// QDEVICE_MASTER_WINS and QDEVICE_CAST_VOTE.
func (q *Quorum) masterWinsHolds() bool {
	const both = FlagQdeviceMasterWins | FlagQdeviceCastVote
	return slices.ContainsFunc(q.nodes, func(n node) bool { return n.state == NodeMember && n.flags&both == both })
}

// areWeQuorate applies are_we_quorate to the node table and reports a
// change outside sync.
func (q *Quorum) areWeQuorate(now wire.Instant, total int) {
	r := AreWeQuorate(QuorateInput{
		Quorum:        q.quorum,
		TotalVotes:    total,
		ExpectedVotes: q.us().expected,
		WaitForAll:    q.s.wfa,
		WFAStatus:     q.wfaStatus,
		ATB:           q.s.atb,
		ATBNodes:      q.s.atbList,
		MemberIDs:     q.memberIDs(),
		Ring:          q.members,
		PrevRing:      q.prevMembers,
		Lowest:        q.lowest,
		Highest:       q.highest,
		MasterWins:    q.masterWins && q.masterWinsHolds(),
	})
	if r.Waiting {
		assert(!q.quorate, "quorate while waiting for all")
		return
	}
	q.lowest, q.highest = r.Lowest, r.Highest
	q.quorate = r.Quorate
	if q.quorate {
		q.us().flags |= FlagQuorate
	} else {
		q.us().flags &^= FlagQuorate
	}
	if q.s.wfa {
		q.setWFAStatus(r.WFAStatus)
	}
	if !q.syncing {
		q.reportQuorate(now, false)
	}
}

// reportQuorate emits a quorum transition since the last report and
// sends the local qdevice its quorum notification (on a change, or always
// when force: sync_activate notifies every time).
func (q *Quorum) reportQuorate(now wire.Instant, force bool) {
	changed := q.quorate != q.reportedQ
	if changed {
		q.reportedQ = q.quorate
		kind := EventInquorate
		if q.quorate {
			kind = EventQuorate
		}
		q.event(now, Event{Kind: kind})
	}
	if (changed || force) && q.client != nil {
		q.client.quorumNotify(now, q.quorate, q.members)
	}
}

// isMember reports whether from may send: a member of the current
// configuration, or this node itself before the first one.
func (q *Quorum) isMember(from wire.NodeID) bool {
	if !q.haveRing {
		return from == q.s.self
	}
	_, ok := slices.BinarySearch(q.members, from)
	return ok
}

// Deliver hands the node one votequorum message delivered by Totem in
// agreed order, sent by from. Undecodable, forged or out-of-place
// messages are dropped, counted and reported as EventDropped; Deliver
// never panics on input.
func (q *Quorum) Deliver(now wire.Instant, from wire.NodeID, payload []byte) {
	m, err := DecodeMessage(payload)
	if err != nil {
		q.drop(now, from, "decode: "+err.Error())
		return
	}
	if !q.isMember(from) {
		q.drop(now, from, fmt.Sprintf("%v from a non-member", m.Kind()))
		return
	}
	switch m := m.(type) {
	case NodeInfo:
		if m.NodeID != from && m.NodeID != 0 {
			q.drop(now, from, fmt.Sprintf("NODEINFO for node %d", m.NodeID))
			return
		}
		if m.NodeID == 0 && q.find(from) == nil {
			q.drop(now, from, "device NODEINFO before the sender's own")
			return
		}
		q.stats.Delivered++
		q.onNodeInfo(now, from, m)
	case Reconfigure:
		q.stats.Delivered++
		q.onReconfigure(now, m)
	case QdeviceReg:
		q.stats.Delivered++
		q.onQdeviceReg(now, from, m)
	case QdeviceRename:
		q.stats.Delivered++
		if q.devName == m.OldName {
			q.devName = m.NewName
		}
	case SyncBarrier:
		q.stats.Delivered++
		q.onBarrier(now, from, m)
	case NodelistDel:
		q.stats.Delivered++
		q.onNodelistDel(now, m)
	}
}

// onNodeInfo is message_handler_req_exec_votequorum_nodeinfo.
func (q *Quorum) onNodeInfo(now wire.Instant, from wire.NodeID, m NodeInfo) {
	n := q.find(m.NodeID)
	fresh := n == nil
	if fresh {
		n = q.allocate(m.NodeID)
	}
	old := *n
	if fresh {
		old = node{id: m.NodeID, state: NodeDead}
	}
	allowDecrease, byNode := false, false
	if m.NodeID == 0 {
		sender := q.find(from)
		if !q.quorate && sender.flags&FlagQuorate != 0 {
			n.votes = int(m.Votes)
		} else {
			n.votes = max(n.votes, int(m.Votes))
		}
	} else {
		n.flags, n.votes, n.state = m.Flags, int(m.Votes), NodeMember
		if n.flags&FlagLeaving != 0 {
			n.state = NodeLeaving
			allowDecrease, byNode = true, true
		}
		if !q.quorate && n.flags&FlagQuorate != 0 {
			allowDecrease = true
			q.us().expected = int(m.ExpectedVotes)
		}
		if n.flags&FlagQuorate != 0 {
			n.expected = int(m.ExpectedVotes)
		} else {
			n.expected = q.us().expected
		}
		if q.s.lms && n.votes > 1 {
			q.s.lms = false
			q.lmsDeadline = 0
			q.event(now, Event{Kind: EventConfigWarning, Node: m.NodeID,
				Detail: "last_man_standing needs every node to have 1 vote; disabled"})
		}
	}
	// n stays valid: nothing below inserts into q.nodes.
	if fresh || m.NodeID == q.s.self || n.flags&FlagFirst != 0 || old != *n {
		q.recalculate(now, allowDecrease, byNode)
	}
	n = q.find(m.NodeID)
	if q.s.wfa && n.flags&FlagWFAStatus == 0 && n.flags&FlagQuorate != 0 {
		q.setWFAStatus(false)
	}
}

// onReconfigure is message_handler_req_exec_votequorum_reconfigure.
func (q *Quorum) onReconfigure(now wire.Instant, m Reconfigure) {
	switch m.Param {
	case ParamExpectedVotes:
		q.updateNodeExpected(int(m.Value))
		q.recalculate(now, true, false)
	case ParamNodeVotes:
		n := q.find(m.NodeID)
		if n == nil {
			return
		}
		n.votes = int(m.Value)
		q.recalculate(now, true, false)
	case ParamCancelWFA:
		q.setWFAStatus(false)
		q.recalculate(now, false, false)
	}
}

// onQdeviceReg is message_handler_req_exec_votequorum_qdevice_reg.
func (q *Quorum) onQdeviceReg(now wire.Instant, from wire.NodeID, m QdeviceReg) {
	us := q.us()
	switch m.Op {
	case QdeviceRegister:
		if from != q.s.self {
			if q.devName == "" {
				q.devName = m.Name
			}
			return
		}
		if us.flags&FlagQdeviceRegistered != 0 || !q.regPending {
			return
		}
		q.regPending = false
		if q.devName == "" {
			q.devName = m.Name
		}
		if m.Name != q.devName {
			q.event(now, Event{Kind: EventConfigWarning, Detail: fmt.Sprintf("a qdevice with a different name (%q, registered %q) tried to register", m.Name, q.devName)})
			return
		}
		us.flags |= FlagQdeviceRegistered
		q.sendNodeInfo(0)
		q.sendNodeInfo(q.s.self)
		if q.client != nil {
			q.client.registered(now)
		}
	case QdeviceUnregister:
		if !slices.ContainsFunc(q.nodes, func(n node) bool {
			return n.state == NodeMember && n.flags&FlagQdeviceRegistered != 0
		}) {
			q.devName = ""
		}
	}
}
