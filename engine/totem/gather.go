package totem

import (
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// enterGather starts a membership round (spec §6.2, corosync
// memb_state_gather_enter).
func (r *Ring) enterGather(why string) {
	r.originatedToken = false
	r.procList = setAdd(r.procList, r.self)
	r.joinSend()
	r.arm(timerJoin, r.tm.Join)
	r.arm(timerConsensus, r.tm.Consensus)
	r.disarm(timerTokenRetransmit, timerTokenLoss, timerMerge, timerHold)
	r.consensus = append(r.consensus[:0], r.self)
	r.stats.GatherEntered++
	if why == "consensus timeout" {
		r.stats.ContinuousGather++
	}
	r.setState(StateGather, fmt.Sprintf("from %s proc=%v failed=%v", why, r.procList, r.failedList))
}

// joinSend multicasts this node's JOIN, after a random delay in
// [0, send_join) when send_join is configured (corosync
// memb_join_message_send sleeps; we defer through a timer instead).
func (r *Ring) joinSend() {
	if r.tm.SendJoin <= 0 {
		r.sendJoinNow()
		return
	}
	if r.deadline[timerSendJoin] == 0 {
		r.arm(timerSendJoin, time.Duration(r.rnd.Uint64()%uint64(r.tm.SendJoin)))
	}
}

func (r *Ring) sendJoinNow() {
	j := &Join{
		Sender:     r.self,
		Origin:     r.self,
		ProcList:   slices.Clone(r.procList),
		FailedList: slices.Clone(r.failedList),
		RingSeq:    r.ringID.Seq,
	}
	r.stats.JoinsSent++
	r.multicast(r.encode(j), j)
}

// joinExpired re-sends the JOIN while gathering (memb_timer_function_state_gather).
func (r *Ring) joinExpired() {
	if r.state == StateGather || r.state == StateCommit {
		r.joinSend()
		r.arm(timerJoin, r.tm.Join)
	}
}

// handleJoin is corosync's message_handler_memb_join.
func (r *Ring) handleJoin(j *Join) {
	if r.tokenRingIDSeq < j.RingSeq {
		r.tokenRingIDSeq = j.RingSeq
	}
	switch r.state {
	case StateOperational:
		if !r.ignoreJoinUnderOperational(j) {
			r.joinProcess(j)
		} else {
			r.drop(DropWrongState, j.Origin, "join ignored")
		}
	case StateGather:
		r.joinProcess(j)
	case StateCommit, StateRecovery:
		if !setHas(r.newMemb, j.Origin) || j.RingSeq < r.ringID.Seq {
			r.drop(DropWrongState, j.Origin, "join ignored while installing")
			return
		}
		why := "join during commit"
		if r.state == StateRecovery {
			// memb_recovery_state_token_loss; restored first so that a
			// commit token built below reports old-ring values.
			r.oldRingRestore()
			why = "join during recovery"
		}
		r.joinProcess(j)
		r.enterGather(why)
	}
}

// ignoreJoinUnderOperational: a JOIN that lists me as failed, or a stale
// JOIN from a member of my ring, is ignored (spec §6.1).
func (r *Ring) ignoreJoinUnderOperational(j *Join) bool {
	if setHas(j.FailedList, r.self) {
		return true
	}
	return setHas(r.memb, j.Origin) && j.RingSeq < r.ringID.Seq
}

// joinProcess merges a JOIN into my proc/failed sets (spec §6.3, corosync
// memb_join_process).
func (r *Ring) joinProcess(j *Join) {
	from := j.Origin
	gathered := false
	switch {
	case setEqual(j.ProcList, r.procList) && setEqual(j.FailedList, r.failedList):
		if j.Sender != 0 {
			r.consensus = setAdd(r.consensus, from)
		}
		// corosync tests memb_consensus_agreed first in both
		// conditions; the cheap tests go first here (all three are
		// pure), so that the scan of P − F runs on the one node that
		// would act on it: in a formation of 384 nodes every node hears
		// each equal JOIN, and the two scans were nearly half the run.
		if r.failedToRcv && r.consensusAgreed() {
			r.failedToRcv = false
			r.procList = []wire.NodeID{r.self}
			r.failedList = nil
			r.enterCommit(r.createCommitToken())
			return
		}
		if r.lowestInConfig() && r.consensusAgreed() {
			r.enterCommit(r.createCommitToken())
		}
	case setSubset(j.ProcList, r.procList) && setSubset(j.FailedList, r.failedList):
	case setHas(r.failedList, from):
	default:
		proc := setUnion(r.procList, j.ProcList)
		failed := r.failedList
		switch {
		case setHas(j.FailedList, r.self):
			failed = setUnion(failed, []wire.NodeID{from})
		case setHas(r.memb, from) && !setHas(r.failedList, from):
			failed = setUnion(failed, j.FailedList)
		case setHas(r.memb, from):
			failed = setUnion(failed, setMinus(j.FailedList, r.memb))
		}
		// corosync re-enters GATHER here even when the merge changed
		// nothing: a JOIN from a non-member that fails nodes I have not
		// failed restarts my consensus timer. Every node that hears the
		// same such JOIN restarts its timer at the same instant, so they
		// time out together, fail the same nodes and agree on one ring
		// (a restart burst settles in one round, not in a chain of
		// singleton rings). The one exception: when my own JOIN would in
		// turn restart the sender (our failed lists are incomparable),
		// corosync ping-pongs JOINs for ever and neither consensus timer
		// expires; there we keep our lists and let consensus time out.
		if !setEqual(proc, r.procList) || !setEqual(failed, r.failedList) ||
			!r.joinRestartsSender(j, proc, failed) {
			r.procList, r.failedList = proc, failed
			r.enterGather("merge during join")
			gathered = true
		}
	}
	if !gathered && r.state == StateOperational {
		r.enterGather("join during operational")
	}
}

// joinRestartsSender reports whether a JOIN carrying proc and failed, sent
// by me, would make the sender of j re-enter GATHER in its turn under
// memb_join_process: it is not equal to j's lists, not a subset of them,
// and the sender has not failed me. (Its membership is unknown here; a
// sender that has me in its ring adopts my failed list, which changes its
// lists and ends the exchange, so assuming the worst only errs towards
// letting consensus time out.)
func (r *Ring) joinRestartsSender(j *Join, proc, failed []wire.NodeID) bool {
	if setEqual(proc, j.ProcList) && setEqual(failed, j.FailedList) {
		return false
	}
	if setSubset(proc, j.ProcList) && setSubset(failed, j.FailedList) {
		return false
	}
	return !setHas(j.FailedList, r.self)
}

// consensusAgreed: every processor in P − F has sent me a JOIN equal to mine.
// The three sets are sorted, so one merge pass decides it.
func (r *Ring) consensusAgreed() bool {
	f, c := r.failedList, r.consensus
	for _, id := range r.procList {
		for len(f) > 0 && f[0] < id {
			f = f[1:]
		}
		if len(f) > 0 && f[0] == id {
			continue
		}
		for len(c) > 0 && c[0] < id {
			c = c[1:]
		}
		if len(c) == 0 || c[0] != id {
			return false
		}
	}
	return true
}

// lowestInConfig: I am the lowest nodeid of P − F, hence the rep.
func (r *Ring) lowestInConfig() bool {
	for _, id := range r.procList {
		if !setHas(r.failedList, id) {
			return id == r.self
		}
	}
	return false
}

// consensusExpired is memb_state_consensus_timeout_expired (spec §6.4).
func (r *Ring) consensusExpired() {
	r.stats.ConsensusTimeout++
	if r.consensusAgreed() {
		r.consensus = append(r.consensus[:0], r.self)
		r.arm(timerTokenLoss, r.tm.Token)
		return
	}
	var late []wire.NodeID
	for _, id := range r.procList {
		if !setHas(r.consensus, id) {
			late = append(late, id)
		}
	}
	r.failedList = setUnion(r.failedList, late)
	r.event(EventConsensusTimeout, "", late)
	r.enterGather("consensus timeout")
}

// handleMergeDetect is message_handler_memb_merge_detect.
func (r *Ring) handleMergeDetect(m *MergeDetect) {
	if m.RingID == r.ringID {
		return
	}
	r.foreign(m.Sender, "merge detect")
}

// foreign reacts to a message from another ring (spec §6.1): in
// OPERATIONAL, or in GATHER if the sender is new, add it and (re)gather.
func (r *Ring) foreign(from wire.NodeID, what string) {
	switch r.state {
	case StateOperational:
		r.procList = setAdd(r.procList, from)
		r.enterGather(what + " in operational")
	case StateGather:
		if !setHas(r.procList, from) {
			r.procList = setAdd(r.procList, from)
			r.enterGather(what + " in gather")
		}
	default:
		r.drop(DropWrongState, from, what+" while installing")
	}
}

// mergeExpired: the rep of an idle ring multicasts MERGE_DETECT (spec §4.5).
func (r *Ring) mergeExpired() {
	if r.state == StateOperational && r.ringID.Rep == r.self {
		r.stats.MergeDetectSent++
		r.event(EventMergeDetect, "", nil)
		r.multicast(r.encode(&MergeDetect{Sender: r.self, RingID: r.ringID}), nil)
	}
}

// tokenLossExpired is timer_function_orf_token_timeout (spec §4.5).
func (r *Ring) tokenLossExpired() {
	r.stats.TokenLost++
	r.event(EventTokenLost, r.state.String(), nil)
	switch r.state {
	case StateOperational:
		r.enterGather("token lost in operational")
	case StateGather:
		r.consensusExpired()
		r.enterGather("consensus timeout")
	case StateCommit:
		r.enterGather("token lost in commit")
	case StateRecovery:
		r.oldRingRestore()
		r.enterGather("token lost in recovery")
	}
}
