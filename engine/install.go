package engine

import (
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// InstallVerdict is how a member takes the cluster's configuration when it
// reaches it (the agent from its store, the simulator from the operator's
// commit): PlanInstall decides it for both drivers.
type InstallVerdict uint8

// Verdicts.
const (
	// InstallOlder: the configuration's config_version is below the one
	// the node runs or plans to restart into; the node keeps its own.
	InstallOlder InstallVerdict = iota + 1
	// InstallSame: the node runs (or plans) that config_version already.
	InstallSame
	// InstallNow: apply it at once (Apply: live, or a planned restart).
	InstallNow
	// InstallAfterRemovals: it leaves out members of the node's current
	// ring; apply it after the returned delay, once they have left through
	// the total order (delnode's NODELIST_DEL, which also stops them):
	// dropping a node still in the ring would break the ring under
	// everyone's feet.
	InstallAfterRemovals
)

// PlanInstall says whether and when the node takes cfg, the cluster's
// configuration; for InstallAfterRemovals it also returns the delay
// (RestartGrace) and the members cfg leaves out.
func (n *Node) PlanInstall(cfg Config) (InstallVerdict, time.Duration, []wire.NodeID) {
	cur := max(n.cfg.ConfigVersion, n.RestartPlanned())
	switch {
	case cfg.ConfigVersion < cur:
		return InstallOlder, 0, nil
	case cfg.ConfigVersion == cur:
		return InstallSame, 0, nil
	}
	var gone []wire.NodeID
	for _, id := range n.ring.Members() {
		if id != n.cfg.NodeID && !slices.Contains(cfg.Nodes, id) {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		return InstallAfterRemovals, RestartGrace, gone
	}
	return InstallNow, 0, nil
}
