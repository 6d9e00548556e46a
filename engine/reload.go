package engine

import (
	"errors"
	"fmt"
	"slices"
	"time"

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
// Links follow as corosync 3 applies them at run time: a link added to
// the configuration is created and comes up with its pongs, a link removed
// is dropped, priorities and heartbeat timers change in place; the links
// that stay keep their state, so neither the ring nor votequorum sees a
// change. Addresses are the driver's sockets: a changed address asks it to
// rebind them (Ready.Rebind).
//
// A quorum device added or removed is set up or stopped live, as pvecm
// qdevice setup and remove do on corosync 3 (quorum.Reload): votequorum
// registers or unregisters the node's device without a membership change,
// and Ready.Device asks the driver to start or stop the daemon's stream to
// qnetd.
//
// What a running node cannot change is refused with ErrRestartRequired
// before anything changes: its own node id, the link mode, and
// votequorum's startup-only options (wait_for_all,
// last_man_standing, auto_tie_breaker). A configuration the layers refuse
// (votequorum's or Totem's validation) is returned as is and also changes
// nothing.
func (n *Node) Reload(now Instant, cfg Config) error {
	if err := n.reloadable(cfg); err != nil {
		return err
	}
	tm, err := cfg.Timers()
	if err != nil {
		return err
	}
	peers := slices.DeleteFunc(slices.Sorted(slices.Values(cfg.Nodes)), func(id wire.NodeID) bool { return id == cfg.NodeID })
	lc := cfg.linkConfig(tm, peers)
	if err := lc.Validate(); err != nil {
		return err
	}
	qc := cfg.Quorum
	qc.Self = cfg.NodeID
	if err := n.q.Reload(now, qc); err != nil {
		n.collect(now)
		return err
	}
	n.noteDeviceChange(n.cfg.Quorum.Device != nil, cfg)
	n.noteRebind(n.cfg.Addrs, cfg)
	n.qdirty = true
	old := n.cfg.Nodes
	n.cfg.Nodes = slices.Sorted(slices.Values(cfg.Nodes))
	n.cfg.Totem = cfg.Totem
	n.cfg.Quorum = cfg.Quorum
	n.cfg.ConfigVersion = cfg.ConfigVersion
	n.cfg.Addrs = slices.Clone(cfg.Addrs)
	n.sync.version = cfg.ConfigVersion
	n.cfg.Links = slices.Clone(cfg.Links)
	n.cfg.PingInterval, n.cfg.PingTimeout, n.cfg.PongCount = cfg.PingInterval, cfg.PingTimeout, cfg.PongCount
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
	// Checked above: the layer accepts. Links added, dropped or retuned
	// keep every peer's state on the links that stay, so the ring never
	// notices (corosync's totemknet_reconfigure).
	if err := n.links.Reconfigure(lc); err != nil {
		panic("engine: the link layer refused a checked reload: " + err.Error())
	}
	n.collect(now)
	return nil
}

// CanReload reports whether Reload would apply cfg to the running node
// (nil) or refuse it, without changing anything; a driver uses it to decide
// whether work in flight must settle first (a restart loses it, a live
// reload does not).
func (n *Node) CanReload(cfg Config) error {
	if err := n.reloadable(cfg); err != nil {
		return err
	}
	tm, err := cfg.Timers()
	if err != nil {
		return err
	}
	peers := slices.DeleteFunc(slices.Sorted(slices.Values(cfg.Nodes)), func(id wire.NodeID) bool { return id == cfg.NodeID })
	if err := cfg.linkConfig(tm, peers).Validate(); err != nil {
		return err
	}
	qc := cfg.Quorum
	qc.Self = cfg.NodeID
	_, err = n.q.CanReload(qc)
	return err
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
	case cfg.LinkMode != cur.LinkMode:
		return restart("link_mode changed from %s to %s", cur.LinkMode, cfg.LinkMode)
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

// RestartGrace is how long the driver waits after a configuration change
// before the first restart: the members confirm the write to its author
// first, which a restart (a membership change) would turn into an unknown
// outcome. pmxcfs likewise waits before it reloads corosync.
const RestartGrace = 2 * time.Second

// RestartDelay is when the driver restarts this node for cfg, a change
// Reload refused with ErrRestartRequired (what corosync reads only at
// start: node id, link mode, crypto, votequorum's startup-only options):
// never all members at once, which would leave every node alone and
// inquorate, but one at a time in node id order over the current ring, so
// that the others keep quorum. The k-th member (from 0) waits RestartGrace plus k slots; a slot
// is long enough for the ring to notice a member gone and take it back
// after its restart: two token timeouts and two consensus timeouts of the
// new configuration, plus a second for the restart itself. A node outside
// any ring restarts after the grace alone.
func (n *Node) RestartDelay(cfg Config) time.Duration {
	members := n.ring.Members()
	k := slices.Index(slices.Sorted(slices.Values(members)), n.cfg.NodeID)
	if k < 0 {
		k = 0
	}
	return RestartGrace + time.Duration(k)*n.restartSlot(cfg)
}

// ReloadAfterRestart is when, after a change that Reload refused with
// ErrRestartRequired, the driver reloads cfg into the node once the rolling
// restart of every member is over: the corosync-cfgtool -R that follows a
// corosync.conf change (quorum.md §2.8). A member restarted into a ring of
// members still running the old configuration adopts their expected votes
// (a quorate sender's NODEINFO, quorum.md §1.3), so without it the cluster
// would keep the old expected votes (a removed node's vote) after
// the last restart; the reload recomputes them from the nodelist. It is one
// slot (see RestartDelay) after the last member's turn.
func (n *Node) ReloadAfterRestart(cfg Config) time.Duration {
	return RestartGrace + time.Duration(max(len(n.ring.Members()), 1))*n.restartSlot(cfg)
}
