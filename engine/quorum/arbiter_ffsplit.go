package quorum

import (
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// ffsplitDo is qnetd_algo_ffsplit_do, run when a client reports a new
// membership or config list, or leaves: wait for a stable membership, pick
// the winning partition, NACK everyone else first and ACK the winners only
// once every NACK was acknowledged. It returns the vote for the client
// that triggered it (the votes themselves go out as VoteInfo messages).
func (a *Arbiter) ffsplitDo(now wire.Instant) Vote {
	a.ffState = ffClusterWaitingForStable
	if !a.ffsplitStable() {
		return VoteWaitForReply
	}
	best := a.ffsplitSelect()
	a.quoratePartition = nil
	if best != nil {
		a.quoratePartition = slices.Clone(best.members)
	}
	for _, c := range a.clients {
		if !c.inited {
			continue
		}
		if best != nil && slices.Contains(best.members, c.node) {
			c.ffState = ffSendingACK
		} else {
			c.ffState = ffSendingNACK
		}
	}
	a.ffState = ffClusterSendingNACKs
	if a.ffsplitSendVotes(now, false) == 0 {
		a.ffState = ffClusterSendingACKs
		if a.ffsplitSendVotes(now, true) == 0 {
			a.ffState = ffClusterWaitingForChange
		}
	}
	return VoteNoChange
}

// ffsplitStable is qnetd_algo_ffsplit_is_membership_stable: every client
// has the same config node list, and every connected member of each
// client's partition reports the same ring id and member list.
func (a *Arbiter) ffsplitStable() bool {
	for _, c1 := range a.clients {
		for _, c2 := range a.clients {
			if c1 != c2 && c1.inited && c2.inited && !subset(c1.config, c2.config) {
				return false
			}
		}
	}
	for _, c1 := range a.clients {
		for _, id := range c1.members {
			c2 := a.client(id)
			if c2 == nil || !c2.inited {
				continue
			}
			if c1.ring != c2.ring || !subset(c1.members, c2.members) {
				return false
			}
		}
	}
	return true
}

// subset reports whether every id of a is in b.
func subset(a, b []wire.NodeID) bool {
	for _, id := range a {
		if !slices.Contains(b, id) {
			return false
		}
	}
	return true
}

// ffsplitSelect is qnetd_algo_ffsplit_select_partition: the client whose
// partition compares best, or nil.
func (a *Arbiter) ffsplitSelect() *arbClient {
	var best *arbClient
	for _, c := range a.clients {
		if c.inited && a.ffsplitBetter(c, best) {
			best = c
		}
	}
	return best
}

// activeClients counts the connected clients among members.
func (a *Arbiter) activeClients(members []wire.NodeID) int {
	n := 0
	for _, id := range members {
		if c := a.client(id); c != nil && c.inited {
			n++
		}
	}
	return n
}

// ffsplitBetter is qnetd_algo_ffsplit_partition_cmp: whether c1's partition
// beats c2's (c2 may be nil). More than half of the config nodes wins and
// fewer loses; an exact half (even clusters only) goes to the higher score
// (connected clients, heuristics being off), then more connected clients,
// then the partition with members of the previously quorate one, then the
// tie_breaker.
func (a *Arbiter) ffsplitBetter(c1, c2 *arbClient) bool {
	cfg, mem := len(c1.config), len(c1.members)
	if cfg%2 != 0 {
		return mem > cfg/2
	}
	if mem != cfg/2 {
		return mem > cfg/2
	}
	p1, p2 := a.activeClients(c1.members), 0
	if c2 != nil {
		p2 = a.activeClients(c2.members)
	}
	if p1 != p2 {
		return p1 > p2
	}
	if c2 != nil {
		in1 := slices.Contains(a.quoratePartition, c1.node)
		in2 := slices.Contains(a.quoratePartition, c2.node)
		if in1 != in2 {
			return in1
		}
	}
	return slices.Contains(c1.members, preferredNode(c1.tie, c1.config))
}

// preferredNode is the node the tie_breaker names among the config nodes
// (qnetd_algo_ffsplit_is_preferred_partition).
func preferredNode(t TieBreaker, config []wire.NodeID) wire.NodeID {
	if len(config) == 0 {
		return 0
	}
	switch t.Mode {
	case TieBreakerHighest:
		return slices.Max(config)
	case TieBreakerNodeID:
		return t.Node
	}
	return slices.Min(config)
}

// ffsplitSendVotes sends NACKs (or ACKs) to the clients in that sending
// state and returns how many went out (qnetd_algo_ffsplit_send_votes).
func (a *Arbiter) ffsplitSendVotes(now wire.Instant, acks bool) int {
	sent := 0
	for _, c := range a.clients {
		if !c.inited {
			continue
		}
		var v Vote
		switch {
		case acks && c.ffState == ffSendingACK:
			v = VoteACK
		case !acks && c.ffState == ffSendingNACK:
			v = VoteNACK
		default:
			continue
		}
		c.voteSeq++
		sent++
		a.sendVote(now, c, c.voteSeq, v)
	}
	return sent
}

// ffsplitPending counts clients still in the given sending state.
func (a *Arbiter) ffsplitPending(state ffClientState) int {
	n := 0
	for _, c := range a.clients {
		if c.ffState == state {
			n++
		}
	}
	return n
}

// ffsplitVoteInfoReply is qnetd_algo_ffsplit_vote_info_reply_received:
// once all NACKs are acknowledged, send the ACKs.
func (a *Arbiter) ffsplitVoteInfoReply(now wire.Instant, c *arbClient, seq uint32) {
	if c.voteSeq != seq {
		return // reply to an older vote
	}
	c.ffState = ffWaitingForChange
	switch a.ffState {
	case ffClusterSendingNACKs:
		if a.ffsplitPending(ffSendingNACK) == 0 {
			a.ffState = ffClusterSendingACKs
			if a.ffsplitSendVotes(now, true) == 0 {
				a.ffState = ffClusterWaitingForChange
			}
		}
	case ffClusterSendingACKs:
		if a.ffsplitPending(ffSendingACK) == 0 {
			a.ffState = ffClusterWaitingForChange
		}
	}
}
