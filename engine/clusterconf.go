package engine

import (
	"errors"

	"github.com/quorate/quorate/engine/wire"
)

// ErrNotReady refuses a change of the cluster's configuration (add,
// delnode, a new corosync.conf, the quorum device) on a node that cannot
// commit it: without quorum, or while votequorum synchronises, the store
// is read-only, as pmxcfs refuses writes to /etc/pve. The words are
// pvecm's.
var ErrNotReady = errors.New("cluster not ready - no quorum?")

// ConfigWritable reports whether a change of the cluster's configuration
// can be committed through this node now (nil), or why not. Both drivers
// ask it before an operator's change: the agent's join server, delnode and
// corosync.conf edits, and the simulator's operator actions.
func (n *Node) ConfigWritable() error {
	if q := n.q.Status(); !q.Quorate || q.Syncing {
		return ErrNotReady
	}
	return nil
}

// ConfigVersion is totem.config_version of the configuration the node
// runs (what `pvecm status` prints as Config Version).
func (n *Node) ConfigVersion() uint64 { return n.cfg.ConfigVersion }

// CanRemoveNode reports whether RemoveNode would accept id now (nil), or
// why not, changing nothing.
func (n *Node) CanRemoveNode(id wire.NodeID) error { return n.q.CanRemoveNode(id) }
