package quorum

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Errors of the administrative calls.
var (
	// ErrInvalidParam is votequorum's CS_ERR_INVALID_PARAM: the tool prints
	// "Unable to set expected votes: CS_ERR_INVALID_PARAM" and exits 1.
	ErrInvalidParam = errors.New("quorum: CS_ERR_INVALID_PARAM")
	// ErrUnknownNode: the node is not in the nodelist (or votequorum has
	// never heard of it).
	ErrUnknownNode = errors.New("quorum: unknown node")
	// ErrRemoveSelf: pvecm delnode refuses to delete the local node.
	ErrRemoveSelf = errors.New("quorum: cannot delete the local node")
	// ErrNotQuorate: pvecm delnode needs cluster quorum.
	ErrNotQuorate = errors.New("quorum: cluster not ready - no quorum?")
	// ErrNoEffect: a request votequorum would accept but undo at once, so
	// it is refused with the reason instead of reporting success.
	ErrNoEffect = errors.New("quorum: the change cannot take effect")
)

// SetExpected is `corosync-quorumtool -e N` (`pvecm expected N`, spec §2.6,
// message_handler_req_lib_votequorum_setexpected). It rejects N < 1, N
// below the current total votes, and any N that would make a quorate node
// inquorate, with ErrInvalidParam, and an N that votequorum would raise
// back at once (the votes of a configured quorum device that casts none)
// with ErrNoEffect; otherwise it multicasts a RECONFIGURE
// after which every member sets its expected votes to N and recomputes
// Quorum with decrease allowed.
func (q *Quorum) SetExpected(now wire.Instant, n int) error {
	if n < 1 || n > int(^uint32(0)) {
		return fmt.Errorf("%w: expected votes %d", ErrInvalidParam, n)
	}
	t := q.tally(0)
	if newQuorum, ok := CheckSetExpected(n, t, q.quorate, q.s.twoNode); !ok {
		return fmt.Errorf("%w: expected votes %d (total votes %d, quorum would be %d)", ErrInvalidParam, n, t.TotalVotes, newQuorum)
	}
	if total, _ := q.totalVotes(); total > n {
		// A configured quorum device's votes count towards the total even
		// while it casts none (qnetd down), and recalculate_quorum raises
		// expected votes back to that total at once: the request would
		// be acknowledged and do nothing.
		return fmt.Errorf("%w: expected votes %d would be raised back to %d at once: the quorum device's %d vote(s) count while it is configured, even with qnetd unreachable; remove the device (qdevice remove) to run on fewer votes",
			ErrNoEffect, n, total, q.dev.votes)
	}
	q.updateNodeExpected(n)
	q.multicast(Reconfigure{NodeID: q.s.self, Value: uint32(n), Param: ParamExpectedVotes})
	return nil
}

// SetVotes is `corosync-quorumtool -v V -n id`
// (message_handler_req_lib_votequorum_setvotes): rejected with
// ErrInvalidParam when the resulting Quorum would be below half the total
// votes or above it.
func (q *Quorum) SetVotes(now wire.Instant, id wire.NodeID, votes int) error {
	if votes < 0 || votes > int(^uint32(0)) {
		return fmt.Errorf("%w: votes %d", ErrInvalidParam, votes)
	}
	n := q.find(id)
	if n == nil {
		return fmt.Errorf("%w: node %d", ErrUnknownNode, id)
	}
	saved := n.votes
	n.votes = votes
	newQuorum, total := q.calculateQuorum(true, 0)
	if newQuorum < total/2 || newQuorum > total {
		n.votes = saved
		return fmt.Errorf("%w: votes %d for node %d (quorum would be %d of %d)", ErrInvalidParam, votes, id, newQuorum, total)
	}
	q.multicast(Reconfigure{NodeID: id, Value: uint32(votes), Param: ParamNodeVotes})
	return nil
}

// CancelWaitForAll is `quorum.cancel_wait_for_all: 1`: every member of the
// partition clears its wait_for_all status and re-evaluates.
func (q *Quorum) CancelWaitForAll(now wire.Instant) {
	q.multicast(Reconfigure{NodeID: q.s.self, Param: ParamCancelWFA})
}

// RemoveNode is `pvecm delnode` of node id (spec §2.7), issued on this
// node. Like pvecm it refuses the local node and needs quorum. It then
// multicasts NODELIST_DEL, standing in for the corosync.conf that pmxcfs
// copies to every node and the `corosync-cfgtool -R` that follows: each
// member drops the entry from its nodelist and reloads, so expected votes
// and Quorum decrease (4→3 nodes: Expected 3, Quorum 2). Stopping the
// removed node (`corosync-cfgtool -k`) is the driver's business; nodes
// that are down at the time do not see the change.
func (q *Quorum) RemoveNode(now wire.Instant, id wire.NodeID) error {
	if err := q.CanRemoveNode(id); err != nil {
		return err
	}
	q.multicast(NodelistDel{NodeID: id})
	return nil
}

// CanRemoveNode reports whether RemoveNode would accept id (nil) or why
// not, changing nothing: a driver checks it before it writes the new
// corosync.conf, so that a refused delnode changes nothing at all.
func (q *Quorum) CanRemoveNode(id wire.NodeID) error {
	switch {
	case id == q.s.self:
		return ErrRemoveSelf
	case !slices.ContainsFunc(q.cfg.Nodes, func(n NodeConfig) bool { return n.ID == id }):
		return fmt.Errorf("%w: node %d", ErrUnknownNode, id)
	case !q.quorate:
		return ErrNotQuorate
	}
	return nil
}

// onNodelistDel applies a delivered NODELIST_DEL as a configuration reload.
func (q *Quorum) onNodelistDel(now wire.Instant, m NodelistDel) {
	if m.NodeID == q.s.self {
		q.drop(now, 0, "NODELIST_DEL of this node")
		return
	}
	cfg := q.cfg
	cfg.Nodes = slices.DeleteFunc(slices.Clone(cfg.Nodes), func(n NodeConfig) bool { return n.ID == m.NodeID })
	if len(cfg.Nodes) == len(q.cfg.Nodes) {
		return
	}
	if err := q.Reload(now, cfg); err != nil {
		q.event(now, Event{Kind: EventConfigWarning, Detail: "reload after NODELIST_DEL: " + err.Error()})
	}
}

// Reload is a configuration reload (`corosync-cfgtool -R`,
// votequorum_refresh_config, spec §2.8). Only the nodelist and its votes,
// quorum.expected_votes, two_node, the quorum device and its votes take
// effect; the read-only keys (wait_for_all, last_man_standing,
// auto_tie_breaker…) keep their startup values. The node re-announces
// itself and, if its votes or expected votes changed, multicasts the
// RECONFIGUREs that make every member adopt them. A configuration corosync
// would refuse is an error and changes nothing.
//
// A quorum device that appears in the configuration is set up live, as
// pvecm qdevice setup does on corosync 3: votequorum reads
// quorum.device.model at run time, and the node's corosync-qdevice starts
// and registers (votequorum_qdevice_register), connects to qnetd and votes
// once the arbiter decided -- no membership change. A device that leaves
// the configuration is stopped first, as pvecm qdevice remove stops
// corosync-qdevice before it reloads: it unregisters
// (message_handler_req_lib_votequorum_qdevice_unregister: the registered,
// alive, cast-vote and master-wins flags cleared, NODEINFO and
// QDEVICE_REG unregister multicast), then the reload drops its votes from
// expected votes.
func (q *Quorum) Reload(now wire.Instant, cfg Config) error {
	dev, err := q.CanReload(cfg)
	if err != nil {
		return err
	}
	if dev == nil && q.s.device != nil {
		q.deviceUnregister(now)
	}
	adding := dev != nil && q.s.device == nil
	if adding {
		q.devCanOperate = true
		q.s.device = dev
	}
	oldVotes, oldExpected := q.us().votes, q.us().expected
	if err := q.readRuntimeConfig(now, cfg); err != nil {
		// Checked by CanReload: the probe ran the same rules.
		panic("quorum: a checked reload was refused: " + err.Error())
	}
	q.s.device = dev
	q.cfg.Device = dev
	q.sendNodeInfo(q.s.self)
	q.sendNodeInfo(0)
	if us := q.us(); us.votes != oldVotes {
		q.multicast(Reconfigure{NodeID: q.s.self, Value: uint32(us.votes), Param: ParamNodeVotes})
	}
	if us := q.us(); us.expected != oldExpected {
		q.multicast(Reconfigure{NodeID: q.s.self, Value: uint32(us.expected), Param: ParamExpectedVotes})
	}
	if adding {
		c := newClient(q, *dev, q.s.self, nodeIDs(q.s.nodes), q.s.wfa)
		// The daemon starts on a running node: it learns the current ring
		// from votequorum at once, as its node list callback does.
		c.ring, c.members, c.haveRing, c.quorate = q.ring, slices.Clone(q.members), q.haveRing, q.quorate
		q.client = c
		q.event(now, Event{Kind: EventDeviceSetup, Detail: "quorum device configured: corosync-qdevice started"})
		c.register(now)
	}
	return nil
}

// CanReload reports whether Reload would take cfg (nil error), changing
// nothing; it returns the quorum device's settings with their defaults
// filled in (nil without a device). A device added at run time must fit
// the startup-only options as at startup (no last_man_standing, no
// auto_tie_breaker, no two_node, ffsplit's one vote per node).
func (q *Quorum) CanReload(cfg Config) (*DeviceConfig, error) {
	if cfg.Self != q.s.self {
		return nil, fmt.Errorf("%w: node id changed from %d to %d", ErrBadNode, q.s.self, cfg.Self)
	}
	probe := cfg
	probe.Device, probe.AutoTieBreaker, probe.LastManStanding = nil, false, false
	probe.TwoNode = false
	if _, err := probe.validate(); err != nil {
		return nil, err
	}
	if cfg.Device == nil {
		return nil, nil
	}
	probe = cfg
	probe.LastManStanding = q.s.lms
	dev, err := probe.deviceSettings(q.s.atb)
	if err != nil {
		return nil, err
	}
	if _, err := InitialExpected(probe); err != nil {
		return nil, err
	}
	return dev, nil
}

// deviceUnregister stops the node's corosync-qdevice, which unregisters
// its device from votequorum (qdevice_votequorum_destroy →
// votequorum_qdevice_unregister).
func (q *Quorum) deviceUnregister(now wire.Instant) {
	if c := q.client; c != nil && !c.stopped && c.state != connDown {
		q.rd.Arbiter = append(q.rd.Arbiter, StreamOp{Hangup: true})
	}
	q.client = nil
	q.regPending = false
	q.devDeadline, q.syncWaitPoll = 0, false
	us := q.us()
	if us.flags&FlagQdeviceRegistered != 0 {
		us.flags &^= FlagQdeviceRegistered | FlagQdeviceAlive | FlagQdeviceCastVote | FlagQdeviceMasterWins
		q.masterWins = false
		q.sendNodeInfo(q.s.self)
		q.multicast(QdeviceReg{Op: QdeviceUnregister, Name: q.devName})
	}
	q.event(now, Event{Kind: EventDeviceSetup, Detail: "quorum device removed: corosync-qdevice stopped"})
	q.recalculate(now, false, false)
}

// readRuntimeConfig is votequorum_readconfig(VOTEQUORUM_READCONFIG_RUNTIME).
func (q *Quorum) readRuntimeConfig(now wire.Instant, cfg Config) error {
	warn := func(s string) { q.event(now, Event{Kind: EventConfigWarning, Detail: s}) }
	twoNode := cfg.TwoNode
	atb := q.s.atbInitial
	haveDevice := cfg.Device != nil
	devVotes := -1
	if haveDevice {
		devVotes = cfg.Device.Votes
		if devVotes == 0 {
			devVotes = -1
		}
	}
	if twoNode && haveDevice {
		if q.us().flags&FlagQdeviceRegistered != 0 {
			warn("two_node and quorum device cannot be configured at the same time; quorum device is registered, disabling two_node")
			twoNode = false
		} else {
			warn("two_node and quorum device cannot be configured at the same time; quorum device is not registered, allowing two_node")
			q.devCanOperate = false
		}
	}
	wfa := q.s.wfa
	if q.s.wfaAutoset {
		wfa = twoNode
	}
	if twoNode && atb != ATBNone {
		warn("two_node and auto_tie_breaker are both specified but are not compatible; two_node has been disabled")
		twoNode = false
	}
	var nodelistVotes, ourVotes int
	allOne := true
	for _, n := range cfg.Nodes {
		nodelistVotes += n.votes()
		allOne = allOne && n.votes() == 1
		if n.ID == q.s.self {
			ourVotes = n.votes()
		}
	}
	if len(cfg.Nodes) == 0 {
		ourVotes = 1
	}
	if atb != ATBNone && nodelistVotes%2 == 1 && !wfa {
		if q.s.lms {
			return ErrATBLMSOdd
		}
		warn("auto_tie_breaker is set and the cluster has an odd number of nodes; auto_tie_breaker has been disabled")
		atb = ATBNone
	}
	ev := cfg.ExpectedVotes
	if haveDevice {
		switch {
		case q.s.lms, atb != ATBNone:
			warn("quorum device is not compatible with last_man_standing or auto_tie_breaker; disabling quorum device operations")
			q.devCanOperate = false
		case ev != 0 && devVotes == -1:
			warn("quorum.device.votes must be specified when quorum.expected_votes is set; disabling quorum device operations")
			q.devCanOperate = false
		case devVotes == -1 && len(cfg.Nodes) > 0 && !allOne:
			warn("quorum.device.votes must be specified when not all nodes votes 1; disabling quorum device operations")
			q.devCanOperate = false
		case devVotes > 0 && ev != 0 && ev-devVotes < 2:
			warn("quorum.device.votes is too high or expected_votes is too low; disabling quorum device operations")
			q.devCanOperate = false
		}
	}
	evNodelist := nodelistVotes
	if haveDevice && devVotes == -1 && ev == 0 && len(cfg.Nodes) > 0 && allOne {
		devVotes = len(cfg.Nodes) - 1
		evNodelist += devVotes
	}
	us := q.us()
	us.votes = ourVotes
	us.expected = evNodelist
	if ev != 0 {
		us.expected = ev
	}
	if !haveDevice {
		q.dev.votes = 0
	}
	if devVotes != -1 {
		q.dev.votes = devVotes
	}
	if !wfa && q.s.wfaAutoset && q.wfaStatus {
		q.setWFAStatus(false)
	}
	q.s.twoNode, q.s.wfa, q.s.atb = twoNode, wfa, atb
	q.s.nodes = slices.Clone(cfg.Nodes)
	slices.SortFunc(q.s.nodes, func(a, b NodeConfig) int { return cmpID(a.ID, b.ID) })
	q.cfg = cfg
	if q.client != nil {
		q.client.configChanged(now, nodeIDs(q.s.nodes))
	}
	return nil
}
