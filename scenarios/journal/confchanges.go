package journal

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// A running cluster's corosync.conf changes through the total order, and
// every agent writes a config record when it installs the newer one. The
// sequence of config_versions over the start and config records is the
// cluster's: each version higher than any before it is one change, and
// the difference from the previous version says which. A node that leaves
// the nodelist was removed (pvecm delnode): the replay removes it with
// delnode, when its agent recorded being removed (its stop record names
// the member) or, for a node already down, when the first member installed
// the version. A quorum device that appears or disappears was set up or
// removed (pvecm qdevice setup / remove): the replay does the same, through
// the first member that installed the version. Added nodes are the
// start records' (added.go).

// confChange is one change of the cluster's configuration.
type confChange struct {
	prev, next *Config
	at         Entry // the first record carrying next
}

// findConfChanges lists the changes in config_version order.
func (im *importer) findConfChanges() {
	if im.opts.Cluster != nil {
		return
	}
	var recs []Entry
	for _, n := range im.order {
		for _, e := range im.byNode[n] {
			if (e.Kind == KindStart || e.Kind == KindConfig) && e.Config != nil {
				recs = append(recs, e)
			}
		}
	}
	sort.SliceStable(recs, func(a, b int) bool { return recs[a].Time.Before(recs[b].Time) })
	cur := im.cfg
	for _, e := range recs {
		if e.Config.ConfigVersion <= cur.ConfigVersion {
			continue
		}
		im.changes = append(im.changes, confChange{prev: cur, next: e.Config, at: e})
		cur = e.Config
	}
}

// confFaults are the delnodes and the quorum device's setups and removals.
func (im *importer) confFaults() []fault {
	var out []fault
	for _, c := range im.changes {
		on := c.at.Node
		for _, n := range c.prev.Nodes {
			if slices.ContainsFunc(c.next.Nodes, func(x ConfigNode) bool { return x.ID == n.ID }) {
				continue
			}
			t, by, note := c.at.Time, on, fmt.Sprintf("%s left the nodelist: %s:%d installs config_version %d without it",
				im.names[n.Name], c.at.File, c.at.Line, c.next.ConfigVersion)
			if s := im.removedStop(n.Name, c.at.Time); s != nil {
				t, by = s.Time, s.Peer
				note += fmt.Sprintf("; its agent was stopped by %s at %s:%d", im.names[s.Peer], s.File, s.Line)
			}
			at := im.rel(t)
			out = append(out, fault{at: at, seq: 2,
				line:  fmt.Sprintf("{at: %s, action: delnode, node: %s, on: %s}", dur(at), im.names[n.Name], im.names[by]),
				notes: []string{note}})
		}
		if c.prev.Device == c.next.Device {
			continue
		}
		at := im.rel(c.at.Time)
		action := "qdevice_remove"
		var extra []string
		if c.next.Device {
			action = "qdevice_setup"
			if c.next.DeviceAlgorithm != "" {
				extra = append(extra, "algorithm: "+c.next.DeviceAlgorithm)
			}
			if len(c.next.Nodes)%2 == 1 {
				extra = append(extra, "force: true")
			}
		}
		line := fmt.Sprintf("{at: %s, action: %s, on: %s", dur(at), action, im.names[on])
		for _, x := range extra {
			line += ", " + x
		}
		out = append(out, fault{at: at, seq: 2, line: line + "}",
			notes: []string{fmt.Sprintf("quorum device %s: %s:%d installs config_version %d",
				strings.TrimPrefix(action, "qdevice_"), c.at.File, c.at.Line, c.next.ConfigVersion)}})
	}
	return out
}

// removedStop is the stop record of node's agent removed from the
// nodelist by a member, at most a few seconds before the members installed
// the configuration without it (they wait for it to leave, engine
// RestartGrace), or nil.
func (im *importer) removedStop(node string, installed time.Time) *Entry {
	for _, s := range im.sessions[node] {
		if st := s.stop; st != nil && st.Peer != "" && strings.HasPrefix(st.Reason, StopRemoved) &&
			!st.Time.After(installed) && installed.Sub(st.Time) < 10*time.Second {
			return st
		}
	}
	return nil
}

// removed reports whether a session ended because a member removed the
// node: delnode replays that, not a crash.
func removed(s *session) bool {
	return s.stop != nil && s.stop.Peer != "" && strings.HasPrefix(s.stop.Reason, StopRemoved)
}
