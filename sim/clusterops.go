package sim

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// The operator's changes of a running cluster, rehearsed with the code the
// CLI runs: the cluster's corosync.conf is edited by the functions the
// agent's commands use (corosyncconf.Edit, AddNode, RemoveNode, AddDevice,
// RemoveDevice), checked by the one corosyncconf.CheckEdit, committed only
// through a node that the engine says can commit it
// (Node.ConfigWritable), and every member then takes it as the agent does
// when the store delivers it: live through Node.Reload where the engine
// can, else by a restart one member at a time (Node.RestartDelay). A
// refused change is recorded with its reason and changes nothing.

// confName names the cluster's corosync.conf in the errors of an edit, as
// the agent names the store's copy.
const confName = "corosync.conf"

// operator returns the node an operator action runs on, or records the
// refusal and returns nil when that node cannot commit a change.
func (r *run) operator(f scenarios.Fault) *host {
	on := r.host(f.On)
	if !on.up {
		r.refused(f, on, "node is down")
		return nil
	}
	if err := on.node.ConfigWritable(); err != nil {
		r.refused(f, on, err.Error())
		return nil
	}
	return on
}

// commit installs text as the cluster's corosync.conf through node on: it
// must pass corosyncconf.CheckEdit against the current one, and every
// running member of on's ring must be able to take it (live or by a
// restart); otherwise the action is refused and nothing changes. Members
// apply it when their engine says (Node.PlanInstall, as the agents ask
// it): at once, or after RestartGrace when it leaves out running members
// (a delnode: the removed node leaves through the total order first); hosts
// that are down start from it; a member cut off from on takes it when it
// next shares a ring with a member that has it (the store's copy reaches
// it with the merge). It returns the new configuration, nil when refused.
//
// first, when set, runs once the change is accepted and before any member
// takes it: delnode's NODELIST_DEL, which the agent multicasts from its
// edit's callback, before its own store delivers the new file.
func (r *run) commit(f scenarios.Fault, on *host, text []byte, first func()) *corosyncconf.Config {
	nc, err := corosyncconf.CheckEdit(r.conf, confName, text)
	if err != nil {
		r.refused(f, on, err.Error())
		return nil
	}
	_, _, members := on.node.Ring()
	cfgs := make([]*engine.Config, len(r.hosts))
	for i, h := range r.hosts {
		if nc.Node(uint32(h.id)) == nil || h.standalone {
			continue
		}
		cfg, err := engineConfigFrom(r.sc, nc, r.sc.Cluster.Nodes[i])
		if err != nil {
			r.refused(f, on, h.name+": "+err.Error())
			return nil
		}
		if h.up && slices.Contains(members, h.id) {
			if err := h.node.CanReload(cfg); err != nil && !errors.Is(err, engine.ErrRestartRequired) {
				r.refused(f, on, h.name+": "+err.Error())
				return nil
			}
		}
		cfgs[i] = &cfg
	}
	r.conf, r.confText = nc, text
	if first != nil {
		first()
	}
	for i, h := range r.hosts {
		if cfgs[i] == nil {
			continue
		}
		h.cfg = *cfgs[i]
		if !h.up || !slices.Contains(members, h.id) {
			continue
		}
		switch verdict, delay, _ := h.node.PlanInstall(h.cfg); verdict {
		case engine.InstallAfterRemovals:
			r.k.Schedule(r.k.Now().Add(delay), Event{Kind: evConfApply, Node: int32(i)})
		case engine.InstallNow:
			r.catchUp(h)
		}
	}
	return nc
}

// catchUp gives the host's configuration to its running engine when the
// engine runs (or plans to restart into) an older one (Node.Apply): live
// when it can take it, else the engine plans a restart at its turn (one
// member at a time), which its Ready requests when due.
func (r *run) catchUp(h *host) {
	if !h.up {
		return
	}
	if v, _, _ := h.node.PlanInstall(h.cfg); v == engine.InstallOlder || v == engine.InstallSame {
		return
	}
	now := r.k.Now()
	switch restart, err := h.node.Apply(now, h.cfg); {
	case err != nil:
		r.trace.Begin(now, "conf_not_applied").Str("node", h.name).Str("why", err.Error()).End()
	case restart:
		r.trace.Begin(now, "conf_restart_planned").Str("node", h.name).Uint("config_version", h.cfg.ConfigVersion).End()
	default:
		r.trace.Begin(now, "conf_applied").Str("node", h.name).Uint("config_version", h.cfg.ConfigVersion).End()
		r.obs.configVersion(h, now)
	}
	r.flush(h)
}

// mergeCatchUp runs when h installs a new ring: a member behind the
// cluster's configuration takes it once it shares the ring with a member
// that has it, as the store's synchronisation brings it the newer copy.
func (r *run) mergeCatchUp(h *host, members []wire.NodeID) {
	if r.conf == nil || !h.up {
		return
	}
	if v, _, _ := h.node.PlanInstall(h.cfg); v == engine.InstallOlder || v == engine.InstallSame {
		return
	}
	for _, id := range members {
		i, ok := r.byID[id]
		if !ok {
			continue
		}
		if m := r.hosts[i]; m != h && m.up && m.node.ConfigVersion() >= h.cfg.ConfigVersion {
			r.k.Schedule(r.k.Now(), Event{Kind: evConfApply, Node: int32(h.idx)})
			return
		}
	}
}

// addNode is `quorate add` run on f.Node against f.On (pvecm add): the
// node joins the cluster's corosync.conf through the join server's edit
// (corosyncconf.Config.AddNode, refused while a quorum device is
// configured unless the add carries its client bundle, f.Bundle), the
// members take the new nodelist live, and the new node boots from the
// configuration the join returned.
func (r *run) addNode(f scenarios.Fault) {
	on := r.operator(f)
	if on == nil {
		return
	}
	h := r.host(f.Node)
	n := r.sc.Cluster.Nodes[h.idx]
	var addrs []corosyncconf.LinkAddr
	for i, l := range r.conf.LinkNumbers() {
		a := scenarios.NewNodeAddr(n.ID, l)
		if n.Addrs != nil {
			if i >= len(n.Addrs) {
				r.refused(f, on, fmt.Sprintf("the cluster uses links %v, the new node gives addresses for %d of them", r.conf.LinkNumbers(), len(n.Addrs)))
				return
			}
			a = n.Addrs[i]
		}
		addrs = append(addrs, corosyncconf.LinkAddr{Link: l, Addr: a})
	}
	text, err := corosyncconf.Edit(confName, r.confText, func(c *corosyncconf.Config) error {
		_, err := c.AddNode(h.name, n.ID, uint32(n.Votes), addrs, f.Bundle)
		return err
	})
	if err != nil {
		r.refused(f, on, err.Error())
		return
	}
	if r.commit(f, on, text, nil) == nil {
		return
	}
	h.outside = false
	r.boot(h)
}

// delnodeConf is delnode with the cluster's corosync.conf: as the agent's
// delnode, the node leaves the file first (config_version + 1), then every
// member drops it through the total order (NODELIST_DEL, which stops it if
// it still runs); the members reload the file once it has left.
func (r *run) delnodeConf(f scenarios.Fault) {
	on := r.operator(f)
	if on == nil {
		return
	}
	gone := r.host(f.Node)
	text, err := corosyncconf.Edit(confName, r.confText, func(c *corosyncconf.Config) error { return c.RemoveNode(uint32(gone.id)) })
	if errors.Is(err, corosyncconf.ErrNotInNodelist) {
		r.refused(f, on, fmt.Sprintf("Node/IP: %s is not a known host of the cluster.", gone.name))
		return
	}
	if err != nil {
		r.refused(f, on, err.Error())
		return
	}
	// Checked before anything is written: the engine refuses only without
	// quorum, which operator() has ruled out, or an unknown node.
	if err := on.node.CanRemoveNode(gone.id); err != nil {
		r.refused(f, on, err.Error())
		return
	}
	r.commit(f, on, text, func() {
		if err := on.node.RemoveNode(r.k.Now(), gone.id); err != nil {
			panic("sim: a checked delnode was refused: " + err.Error())
		}
		r.flush(on)
	})
}

// qdeviceSetup is `quorate qdevice setup` on f.On: the quorum.device
// section enters the cluster's corosync.conf (corosyncconf.AddDevice, which
// refuses an odd node count without force), and since a running
// votequorum cannot take a device, the members restart one at a time.
func (r *run) qdeviceSetup(f scenarios.Fault) {
	on := r.operator(f)
	if on == nil {
		return
	}
	text, err := corosyncconf.AddDevice(r.confText, "qnetd", 5403, f.Algorithm, f.Force)
	if err != nil {
		r.refused(f, on, err.Error())
		return
	}
	r.commit(f, on, text, nil)
}

// qdeviceRemove is `quorate qdevice remove` on f.On.
func (r *run) qdeviceRemove(f scenarios.Fault) {
	on := r.operator(f)
	if on == nil {
		return
	}
	text, err := corosyncconf.RemoveDevice(r.confText)
	if err != nil {
		r.refused(f, on, err.Error())
		return
	}
	r.commit(f, on, text, nil)
}

// separate is the documented separation of a node without reinstalling
// (Proxmox guide, "Separate a Node Without Reinstalling"), done on the node
// itself: its cluster services stop, its corosync configuration is
// removed, and it starts again standalone -- a cluster of one with the
// store it had, quorate alone (pmxcfs in local mode) -- never again
// talking to the others. The cluster side then runs delnode.
func (r *run) separate(f scenarios.Fault) {
	h := r.host(f.Node)
	r.kill(h, "separate")
	cfg := h.cfg
	cfg.Nodes = []wire.NodeID{h.id}
	cfg.Quorum.Nodes = slices.DeleteFunc(slices.Clone(cfg.Quorum.Nodes), func(n quorum.NodeConfig) bool { return n.ID != h.id })
	cfg.Quorum.ExpectedVotes = 0
	cfg.Quorum.Device = nil
	cfg.ConfigVersion = 0
	h.cfg, h.standalone = cfg, true
	if !h.off {
		r.boot(h)
	}
}

// confApply is the delayed application of the cluster's configuration to
// one host (evConfApply).
func (r *run) confApply(h *host) { r.catchUp(h) }

// refusal finds the report's entry of the fault being applied.
func (r *run) faultResponse(f scenarios.Fault) *reports.FaultResponse {
	for i := len(r.obs.faults) - 1; i >= 0; i-- {
		if r.obs.faults[i].File == f.Index {
			return &r.obs.faults[i]
		}
	}
	return nil
}

// quorateFraction is the share of node-time in [after, before) in which
// nodes were quorate: each node counts from its first boot (a node of
// cluster.new_nodes from its add_node) or from after, whichever is later;
// a down node is not quorate.
func (r *run) quorateFraction(after, before wire.Instant) float64 {
	end := min(before, wire.Instant(r.sc.Duration))
	var quorate, total time.Duration
	for _, h := range r.hosts {
		ups := r.obs.state[stateKey{node: int32(h.idx), kind: stateUp}]
		i := slices.IndexFunc(ups, func(c change) bool { return c.v != 0 })
		if i < 0 {
			continue
		}
		from := max(after, ups[i].at)
		if from >= end {
			continue
		}
		total += time.Duration(end - from)
		q := r.obs.state[stateKey{node: int32(h.idx), kind: stateQuorate}]
		quorate += overlap(ups, q, from, end)
	}
	if total == 0 {
		return 0
	}
	return float64(quorate) / float64(total)
}

// overlap is the time in [from, to) at which both timelines are non-zero.
func overlap(a, b timeline, from, to wire.Instant) time.Duration {
	ts := []wire.Instant{from}
	for _, tl := range []timeline{a, b} {
		for _, c := range tl {
			if c.at > from && c.at < to {
				ts = append(ts, c.at)
			}
		}
	}
	slices.Sort(ts)
	ts = slices.Compact(ts)
	var sum time.Duration
	for i, t := range ts {
		next := to
		if i+1 < len(ts) {
			next = ts[i+1]
		}
		va, _ := a.at(t)
		vb, _ := b.at(t)
		if va != 0 && vb != 0 {
			sum += time.Duration(next - t)
		}
	}
	return sum
}
