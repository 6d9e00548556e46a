package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// ServiceConfig carries corosync's config_version check (exec/cmap.c):
// after every configuration change into a ring of several members, each
// member with a non-zero totem.config_version multicasts it.
const ServiceConfig byte = 4

// StopReason says why the engine asks its driver to stop the node.
type StopReason uint8

// Reasons to stop.
const (
	// StopConfigVersion: on its first transition from its own singleton
	// ring into a ring of several members, the node received a
	// config_version other than its own non-zero one, and corosync exits
	// rather than run a configuration the cluster does not share.
	StopConfigVersion StopReason = iota + 1
	// StopRemoved: a member removed this node from the nodelist (pvecm
	// delnode's NODELIST_DEL was delivered here), and corosync's
	// votequorum stops a node that is no longer in the cluster ("Killed
	// by node N").
	StopRemoved
)

// Stop is a Ready's request to end the node's process once the rest of
// the Ready is performed, as corosync exits.
type Stop struct {
	Reason StopReason
	// ConfigVersion is this node's; Received the differing one (and From
	// the member that sent it).
	ConfigVersion, Received uint64
	From                    wire.NodeID
}

// String is corosync's log line.
func (s Stop) String() string {
	if s.Reason == StopRemoved {
		return fmt.Sprintf("Killed by node %d: this node was removed from the nodelist", s.From)
	}
	return fmt.Sprintf("Received config version (%d) is different than my config version (%d)! Exiting", s.Received, s.ConfigVersion)
}

// confCheck is the node's side of the config_version check.
type confCheck struct {
	joined bool         // the node has been in a ring of several members
	ring   totem.RingID // the first such ring, while its check runs
	active bool
}

// configChange runs on every regular configuration: members announce
// their version, and the first ring of several members opens the check.
func (n *Node) configChange(now Instant, ring totem.RingID, members []wire.NodeID) {
	n.cc.active = false
	if len(members) < 2 {
		return
	}
	if !n.cc.joined {
		n.cc.joined, n.cc.ring, n.cc.active = true, ring, n.cfg.ConfigVersion != 0
	}
	if n.cfg.ConfigVersion == 0 {
		// A zero version never refuses and never raises the highest.
		return
	}
	m := make([]byte, 1, 9)
	m[0] = ServiceConfig
	m = binary.BigEndian.AppendUint64(m, n.cfg.ConfigVersion)
	// Eight bytes are far under Totem's limit.
	_ = n.ring.Multicast(now, m)
}

// configVersionMessage checks a member's announced version during the
// node's first ring of several members: a higher one than its own means
// the highest differs from it, and the node must stop.
func (n *Node) configVersionMessage(d totem.Delivery, payload []byte) {
	if !n.cc.active || d.RingID != n.cc.ring || len(payload) != 8 || n.stop != nil {
		return
	}
	if v := binary.BigEndian.Uint64(payload); v > n.cfg.ConfigVersion {
		n.stop = &Stop{Reason: StopConfigVersion, ConfigVersion: n.cfg.ConfigVersion, Received: v, From: d.Sender}
		n.events = append(n.events, wire.Event{Kind: wire.EventTotem, Peer: d.Sender, Sub: "config_version", Detail: "config_version " + n.stop.String()})
	}
}
