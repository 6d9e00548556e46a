package quorum

import (
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// lmsPartition is one group of clients sharing a ring id
// (qnetd_algo_partition).
type lmsPartition struct {
	ring  RingID
	nodes int
	score int
}

// lmsDo is qnetd-algo-lms.c do_lms_algorithm for client c at ring: wait
// until every client of c's partition reports the same ring; a single
// partition gets ACK ("votequorum's problem"); a newcomer gets NACK while
// another partition holds ACK; otherwise the unique best score wins, then
// the unique largest partition, then the tie_breaker's partition.
func (a *Arbiter) lmsDo(now wire.Instant, c *arbClient, ring RingID) Vote {
	c.algoTimer = 0
	if !a.lmsRingIDsMatch(c, ring) {
		return a.lmsWait(now, c)
	}
	parts := a.lmsPartitions()
	switch len(parts) {
	case 0:
		return a.lmsWait(now, c)
	case 1:
		c.lmsLast = VoteACK
		return VoteACK
	}
	if c.lmsLast == VoteUndefined {
		for _, o := range a.clients {
			if o.inited && o.ring != ring && o.lmsLast == VoteACK {
				return VoteNACK // not saved: the client stays "new"
			}
		}
	}
	v := VoteNACK
	if best, ok := lmsUnique(parts, func(p lmsPartition) int { return p.score }); ok {
		if best.ring == ring {
			v = VoteACK
		}
	} else if largest, ok := lmsUnique(parts, func(p lmsPartition) int { return p.nodes }); ok {
		if largest.ring == ring {
			v = VoteACK
		}
	} else if tb, tbRing := a.lmsTieBreaker(c); c.node == tb || (tbRing != RingID{} && tbRing == ring) {
		v = VoteACK
	}
	c.lmsLast = v
	return v
}

// lmsWait schedules a retry in a quarter heartbeat and answers "wait".
func (a *Arbiter) lmsWait(now wire.Instant, c *arbClient) Vote {
	c.algoTimer = now.Add(c.heartbeat / 4)
	c.lmsLast = VoteWaitForReply
	return VoteWaitForReply
}

// lmsTimer is qnetd_algo_lms_timer_callback: rerun and send a decision.
func (a *Arbiter) lmsTimer(now wire.Instant, c *arbClient) {
	v := a.lmsDo(now, c, c.ring)
	if v == VoteACK || v == VoteNACK {
		c.algoSeq++
		a.sendVote(now, c, c.algoSeq, v)
	}
}

// lmsRingIDsMatch is qnetd_algo_all_ring_ids_match: every other client in
// c's (stored) membership, or whose membership holds c, reports ring.
func (a *Arbiter) lmsRingIDsMatch(c *arbClient, ring RingID) bool {
	for _, o := range a.clients {
		if o == c || !o.inited {
			continue
		}
		ours := slices.Contains(c.members, o.node) || slices.Contains(o.members, c.node)
		if ours && o.ring != ring {
			return false
		}
	}
	return true
}

// lmsPartitions groups the clients with a known ring, in connection
// order (qnetd_algo_create_partitions); the score is one per client,
// heuristics being off.
func (a *Arbiter) lmsPartitions() []lmsPartition {
	var parts []lmsPartition
	for _, o := range a.clients {
		if !o.inited || o.ring.Seq == 0 {
			continue
		}
		i := slices.IndexFunc(parts, func(p lmsPartition) bool { return p.ring == o.ring })
		if i < 0 {
			parts = append(parts, lmsPartition{ring: o.ring})
			i = len(parts) - 1
		}
		parts[i].nodes++
		parts[i].score++
	}
	return parts
}

// lmsUnique returns the partition with the highest key if no other shares it.
func lmsUnique(parts []lmsPartition, key func(lmsPartition) int) (lmsPartition, bool) {
	best := parts[0]
	for _, p := range parts[1:] {
		if key(p) > key(best) {
			best = p
		}
	}
	n := 0
	for _, p := range parts {
		if key(p) == key(best) {
			n++
		}
	}
	return best, n == 1
}

// lmsTieBreaker returns the tie-breaker node among the connected clients
// and its ring: the lowest or highest connected nodeid, or the configured
// node. (qnetd's nodeid branch compares the asking client instead of each
// connected one, granting the vote to the named node alone; this model
// grants it to the named node's partition, as the documentation says.)
func (a *Arbiter) lmsTieBreaker(c *arbClient) (wire.NodeID, RingID) {
	var tb *arbClient
	for _, o := range a.clients {
		if !o.inited {
			continue
		}
		switch c.tie.Mode {
		case TieBreakerLowest:
			if tb == nil || o.node < tb.node {
				tb = o
			}
		case TieBreakerHighest:
			if tb == nil || o.node > tb.node {
				tb = o
			}
		case TieBreakerNodeID:
			if o.node == c.tie.Node {
				tb = o
			}
		}
	}
	if tb == nil {
		return c.tie.Node, RingID{}
	}
	return tb.node, tb.ring
}
