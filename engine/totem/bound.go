package totem

import "time"

// SettleBound is how long nodes that can all reach each other may take,
// after the last change to the cluster, to agree on one ring, from what
// corosync 3 does (docs/scenarios.md, "The liveness bound", states it with
// its terms): linkUp for the links of a restarted node to answer; the
// effective token, for a ring that lost a member to notice it; three
// consensus rounds (the round in progress at the change may fail nodes
// whose links were not up yet; the next fails the crashed nodes still in
// the processor lists, and a node kept in GATHER by JOINs it cannot adopt
// times out one consensus period after the last of them; one more when the
// JOINs of the rings so formed cross JOINs that still carry failed lists
// of the previous round); the merge timeout, for an idle ring's
// representative to multicast MERGE_DETECT; ten join periods for the JOIN
// exchanges of the final merge; and 10 ms of processing per node.
//
// The simulator's liveness check and the random scenario families (which
// leave that long of quiet after their last fault) both use it, so that a
// drawn scenario is always judged by the bound it was drawn for.
func SettleBound(t Timers, linkUp time.Duration, nodes int) time.Duration {
	return linkUp + t.Token + 3*t.Consensus + t.Merge + 10*t.Join + time.Duration(nodes)*10*time.Millisecond
}
