package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// ErrRestartRequired is wrapped by Reload's refusal of a change that the
// running node cannot take (corosync-cfgtool -R leaves such keys at their
// startup values until corosync restarts). The driver may restart the node
// from its persisted State with the new configuration instead; nothing has
// changed in the node.
var ErrRestartRequired = errors.New("engine: the change needs a restart")

// ErrBadNodelist is wrapped by Reload's refusal of a nodelist with node id 0
// or a duplicate.
var ErrBadNodelist = errors.New("engine: node id 0 or duplicate in the nodelist")

// Reload applies a new configuration to the running node, as
// corosync-cfgtool -R does after corosync.conf changed cluster-wide (pvecm
// add, pvecm delnode): nodes new to the nodelist get their links (the link
// layer pings them at once), Totem's nodelist and its derived timers follow
// at once (the ring itself changes at the next membership change, which a
// new node's JOIN starts), and votequorum takes the new nodelist, votes and
// expected votes and announces them. Nodes that left the nodelist are
// dropped as a delivered NODELIST_DEL drops them.
//
// What a running node cannot change is refused with ErrRestartRequired
// before anything changes: its own node id, the set of links and their
// settings, the link mode and heartbeat timers, the presence of a quorum
// device, and votequorum's startup-only options (wait_for_all,
// last_man_standing, auto_tie_breaker). A configuration the layers refuse
// (votequorum's or Totem's validation) is returned as is and also changes
// nothing.
func (n *Node) Reload(now Instant, cfg Config) error {
	if err := n.reloadable(cfg); err != nil {
		return err
	}
	if _, err := cfg.Timers(); err != nil {
		return err
	}
	qc := cfg.Quorum
	qc.Self = cfg.NodeID
	if err := n.q.Reload(now, qc); err != nil {
		n.collect(now)
		return err
	}
	n.qdirty = true
	old := n.cfg.Nodes
	n.cfg.Nodes = slices.Sorted(slices.Values(cfg.Nodes))
	n.cfg.Totem = cfg.Totem
	n.cfg.Quorum = cfg.Quorum
	n.cfg.ConfigVersion = cfg.ConfigVersion
	n.sync.version = cfg.ConfigVersion
	// Derive succeeded above and the id is unchanged: Totem cannot refuse.
	if err := n.ring.Reload(n.cfg.totemConfig()); err != nil {
		panic("engine: totem refused a checked reload: " + err.Error())
	}
	for _, id := range old {
		if id != n.cfg.NodeID && !slices.Contains(n.cfg.Nodes, id) {
			n.links.RemovePeer(id)
		}
	}
	for _, id := range n.cfg.Nodes {
		if id != n.cfg.NodeID && !slices.Contains(old, id) {
			// The nodelist was checked for duplicates: the layer accepts.
			_ = n.links.AddPeer(id)
		}
	}
	n.peers = slices.DeleteFunc(slices.Clone(n.cfg.Nodes), func(id wire.NodeID) bool { return id == n.cfg.NodeID })
	n.collect(now)
	return nil
}

// reloadable checks that cfg differs from the running configuration only
// where Reload can apply it.
func (n *Node) reloadable(cfg Config) error {
	restart := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrRestartRequired, fmt.Sprintf(format, args...))
	}
	cur := n.cfg
	switch {
	case cfg.NodeID != cur.NodeID:
		return restart("the node id changed from %d to %d", cur.NodeID, cfg.NodeID)
	case !slices.Contains(cfg.Nodes, cfg.NodeID):
		return fmt.Errorf("%w (node %d)", ErrSelfMissing, cfg.NodeID)
	}
	sorted := slices.Sorted(slices.Values(cfg.Nodes))
	if slices.Contains(sorted, 0) || len(slices.Compact(slices.Clone(sorted))) != len(sorted) {
		return ErrBadNodelist
	}
	switch {
	case !slices.Equal(cfg.Links, cur.Links):
		return restart("the links changed (interface sections, link priorities or heartbeat settings)")
	case cfg.LinkMode != cur.LinkMode:
		return restart("link_mode changed from %s to %s", cur.LinkMode, cfg.LinkMode)
	case cfg.PingInterval != cur.PingInterval || cfg.PingTimeout != cur.PingTimeout || cfg.PongCount != cur.PongCount:
		return restart("the knet heartbeat timers changed")
	case (cfg.Quorum.Device == nil) != (cur.Quorum.Device == nil):
		return restart("a quorum device was added or removed")
	case cfg.Quorum.WaitForAll != cur.Quorum.WaitForAll || cfg.Quorum.WaitForAllSet != cur.Quorum.WaitForAllSet:
		return restart("quorum.wait_for_all changed")
	case cfg.Quorum.LastManStanding != cur.Quorum.LastManStanding || cfg.Quorum.LastManStandingWindow != cur.Quorum.LastManStandingWindow:
		return restart("quorum.last_man_standing changed")
	case cfg.Quorum.AutoTieBreaker != cur.Quorum.AutoTieBreaker || cfg.Quorum.AutoTieBreakerNode != cur.Quorum.AutoTieBreakerNode ||
		!slices.Equal(cfg.Quorum.AutoTieBreakerNodes, cur.Quorum.AutoTieBreakerNodes):
		return restart("quorum.auto_tie_breaker changed")
	}
	return nil
}
