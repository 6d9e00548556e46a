package quorum

import (
	"errors"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Configuration hands the node a regular configuration Totem installed:
// its ring id and member list (this node included). It runs votequorum's
// sync (spec §3): members that disappeared become DEAD, the
// last_man_standing window may start, and this node re-announces its
// NODEINFO (and its device's) so all members agree on the numbers. Once
// this node's qdevice has polled with the new ring id (or the sync timeout
// passed) it multicasts a SYNC_BARRIER; when the barriers of all members
// are delivered, sync ends with a final recalculation reported as
// EventSync. A configuration without this node is dropped.
func (q *Quorum) Configuration(now wire.Instant, ring RingID, members []wire.NodeID) {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if !slices.Contains(ms, q.s.self) || slices.Contains(ms, 0) {
		q.drop(now, 0, "configuration without this node")
		return
	}
	q.syncInit(now, ring, ms)
	q.syncProcess(now)
}

// SyncInit is votequorum_sync_init on its own, for a node whose
// service synchronisation runs the services one after the other (corosync's
// sync.c, engine.Node): it takes in the configuration as Configuration does
// but sends nothing until SyncProcess says votequorum's turn has come. Until
// then, and until the barrier completes, Status reports Syncing.
func (q *Quorum) SyncInit(now wire.Instant, ring RingID, members []wire.NodeID) {
	ms := slices.Clone(members)
	slices.Sort(ms)
	ms = slices.Compact(ms)
	if !slices.Contains(ms, q.s.self) || slices.Contains(ms, 0) {
		q.drop(now, 0, "configuration without this node")
		return
	}
	q.syncInit(now, ring, ms)
	q.syncHeld = true
}

// SyncProcess is votequorum's turn in the service synchronisation: it
// announces this node's NODEINFO and, unless it waits for the qdevice's
// poll, multicasts the SYNC_BARRIER; the barriers of all members end the
// sync (EventSync). It does nothing without a configuration in sync.
func (q *Quorum) SyncProcess(now wire.Instant) {
	if !q.syncing || !q.syncHeld {
		return
	}
	q.syncHeld = false
	q.syncProcess(now)
}

// SyncAbort is votequorum_sync_abort: a new configuration arrived before
// this one's sync completed. The next SyncInit starts over; barriers of the
// aborted ring are dropped by their ring id.
func (q *Quorum) SyncAbort() { q.syncHeld = false }

// syncInit is votequorum_sync_init.
func (q *Quorum) syncInit(now wire.Instant, ring RingID, members []wire.NodeID) {
	q.syncing = true
	q.syncHeld = false
	q.syncNodeinfoSent = false
	q.syncWaitPoll = false
	q.barrierSent = false
	q.barriers = q.barriers[:0]
	us := q.us()
	if len(members) > 1 {
		us.flags &^= FlagFirst
	}
	left := false
	for _, id := range q.members {
		if slices.Contains(members, id) {
			continue
		}
		left = true
		if n := q.find(id); n != nil && !q.canary.skipDeadMarking {
			n.state = NodeDead
		}
	}
	if q.s.lms && LMSTimerShouldStart(len(members), q.quorum, left, q.s.atb != ATBNone, q.lowestIsMember()) {
		q.lmsDeadline = now.Add(q.s.lmsWindow)
	}
	q.prevMembers = q.members
	q.members = members
	q.ring = ring
	q.haveRing = true
	if us.flags&FlagQdeviceRegistered != 0 && us.flags&FlagQdeviceAlive != 0 && q.s.device != nil {
		q.devDeadline = now.Add(q.s.device.SyncTimeout)
		q.syncWaitPoll = true
	}
}

// lowestIsMember is check_low_node_id_partition.
func (q *Quorum) lowestIsMember() bool {
	n := q.find(q.lowest)
	return q.lowest != 0 && n != nil && n.state == NodeMember
}

// syncProcess is votequorum_sync_process: announce once, then finish
// unless waiting for the qdevice's poll.
func (q *Quorum) syncProcess(now wire.Instant) {
	if !q.syncing || q.syncHeld {
		return
	}
	if !q.syncNodeinfoSent {
		q.syncNodeinfoSent = true
		q.sendNodeInfo(q.s.self)
		q.sendNodeInfo(0)
		if q.devName != "" {
			q.multicast(QdeviceReg{Op: QdeviceRegister, Name: q.devName})
		}
		if q.client != nil {
			q.client.nodeList(now, q.ring, q.members)
		}
	}
	if q.us().flags&FlagQdeviceRegistered != 0 && q.syncWaitPoll {
		return
	}
	if !q.barrierSent {
		q.barrierSent = true
		q.multicast(SyncBarrier{Ring: q.ring})
	}
}

// onBarrier collects the members' barriers and activates when complete.
func (q *Quorum) onBarrier(now wire.Instant, from wire.NodeID, m SyncBarrier) {
	if !q.syncing || m.Ring != q.ring {
		q.drop(now, from, "barrier for another ring "+m.Ring.String())
		return
	}
	if !slices.Contains(q.barriers, from) {
		q.barriers = append(q.barriers, from)
	}
	if len(q.barriers) == len(q.members) {
		q.syncActivate(now)
	}
}

// syncActivate is votequorum_sync_activate: final recalculation, then the
// result is reported.
func (q *Quorum) syncActivate(now wire.Instant) {
	q.recalculate(now, false, false)
	q.syncing = false
	q.event(now, Event{Kind: EventSync, Members: slices.Clone(q.members)})
	q.reportQuorate(now, true)
}

// Errors of the qdevice's local calls into votequorum (CS_ERR_*).
var (
	errAccess   = errors.New("quorum: CS_ERR_ACCESS")
	errNotExist = errors.New("quorum: CS_ERR_NOT_EXIST")
	errOldRing  = errors.New("quorum: CS_ERR_MESSAGE_ERROR (old ring id)")
)

// deviceRegister is votequorum_qdevice_register from the local qdevice:
// the registration is multicast and completes on its delivery.
func (q *Quorum) deviceRegister(name string) {
	if !q.devCanOperate || q.regPending || q.us().flags&FlagQdeviceRegistered != 0 {
		return
	}
	q.regPending = true
	q.multicast(QdeviceReg{Op: QdeviceRegister, Name: name})
}

// devicePoll is message_handler_req_lib_votequorum_qdevice_poll: the
// local qdevice says it is alive and whether it casts its vote, for the
// ring it last heard of.
func (q *Quorum) devicePoll(now wire.Instant, ring RingID, cast bool) error {
	us := q.us()
	switch {
	case !q.devCanOperate:
		return errAccess
	case us.flags&FlagQdeviceRegistered == 0:
		return errNotExist
	case ring != q.ring:
		return errOldRing
	}
	old := us.flags
	us.flags |= FlagQdeviceAlive
	if cast {
		us.flags |= FlagQdeviceCastVote
	} else {
		us.flags &^= FlagQdeviceCastVote
	}
	if us.flags != old {
		q.sendNodeInfo(q.s.self)
	}
	if (us.flags^old)&FlagQdeviceCastVote != 0 {
		detail := "no_cast"
		if cast {
			detail = "cast"
		}
		q.event(now, Event{Kind: EventDeviceVote, Detail: detail})
	}
	q.devDeadline = now.Add(q.s.device.Timeout)
	if q.syncWaitPoll {
		q.syncWaitPoll = false
		q.syncProcess(now)
	}
	return nil
}

// deviceMasterWins is message_handler_req_lib_votequorum_qdevice_master_wins.
func (q *Quorum) deviceMasterWins(allow bool) {
	us := q.us()
	if !q.devCanOperate || us.flags&FlagQdeviceRegistered == 0 {
		return
	}
	old := us.flags
	if allow {
		us.flags |= FlagQdeviceMasterWins
	} else {
		us.flags &^= FlagQdeviceMasterWins
	}
	if us.flags != old {
		q.sendNodeInfo(q.s.self)
	}
	q.masterWins = allow
}

// qdeviceTimer is qdevice_timer_fn: no poll in time, so the device is no
// longer alive and its vote is withdrawn.
func (q *Quorum) qdeviceTimer(now wire.Instant) {
	us := q.us()
	if us.flags&FlagQdeviceAlive == 0 {
		return
	}
	us.flags &^= FlagQdeviceAlive | FlagQdeviceCastVote
	q.event(now, Event{Kind: EventDeviceLost})
	q.sendNodeInfo(q.s.self)
	q.syncWaitPoll = false
	q.syncProcess(now)
}
