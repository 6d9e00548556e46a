package sim

import (
	"slices"

	"fmt"
	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/quorum"
	"strings"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// fault applies fault i of the scenario at the current instant.
func (r *run) fault(i int32) {
	f := r.sc.Faults[i]
	now := r.k.Now()
	r.lastChange = now
	detail := faultDetail(f)
	if f.When != nil {
		detail = strings.TrimSpace(detail + " when " + f.When.String())
	}
	r.trace.Begin(now, "fault").Str("action", f.Action).Str("detail", detail).End()
	r.obs.tl = append(r.obs.tl, reports.TimelineEntry{TMs: now.Millis(), Event: "fault:" + f.Action, Detail: detail})
	act := reports.FaultAction(f.Action)
	r.obs.faults = append(r.obs.faults, reports.FaultResponse{TMs: now.Millis(), Index: len(r.obs.faults),
		Action: act, Detail: detail, Fault: act.Label(detail), File: f.Index})
	r.cover(f)
	if err := r.apply(i, f); err != nil {
		// The loader validated every reference, so this is a bug.
		panic(fmt.Sprintf("fault %d (%s): %v", i, f.Action, err))
	}
	r.obs.refreshPaths(now)
}

func (r *run) apply(i int32, f scenarios.Fault) error {
	now := r.k.Now()
	switch f.Action {
	case "crash":
		r.kill(r.host(f.Node), "crash")
	case "power_off":
		for _, h := range r.nodesOf(f.Nodes) {
			r.kill(h, "power_off")
			h.off = true
		}
	case "restart":
		h := r.host(f.Node)
		r.k.Schedule(now.Add(f.After), Event{Kind: evBoot, Node: int32(h.idx)})
	case "cold_start":
		// One stream per fault, so that editing one fault's boot delays
		// leaves every other stream alone.
		var s *netmodel.Sampler
		if f.Boot != nil {
			d, err := dist(*f.Boot)
			if err != nil {
				return err
			}
			if s, err = netmodel.NewSampler(d, r.streams.Source(fmt.Sprintf("fault/%d/boot", i))); err != nil {
				return err
			}
		}
		for _, h := range r.nodesOf(f.Nodes) {
			at := now
			if s != nil {
				at = now.Add(s.Sample())
			}
			r.k.Schedule(at, Event{Kind: evBoot, Node: int32(h.idx)})
		}
	case "partition":
		groups := make([][]wire.NodeID, len(f.Groups))
		for g, names := range f.Groups {
			groups[g] = r.ids(names)
		}
		return r.net.Partition(groups, r.links(f.Links))
	case "isolate":
		return r.net.Isolate(r.host(f.Node).id, r.links(f.Links))
	case "drop":
		return r.net.Drop(r.ids(f.From), r.ids(f.To), r.links(f.Links))
	case "heal":
		return r.net.Heal(r.links(f.Links))
	case "switch_down":
		return r.net.SwitchDown(f.Switch)
	case "switch_up":
		return r.net.SwitchUp(f.Switch)
	case "link_down":
		return r.net.NICDown(r.host(f.Node).id, wire.LinkNo(f.Link))
	case "link_up":
		return r.net.NICUp(r.host(f.Node).id, wire.LinkNo(f.Link))
	case "set_latency":
		d, err := dist(*f.Latency)
		if err != nil {
			return err
		}
		return r.net.SetLatency(wire.LinkNo(f.Link), d, r.idsOrNil(f.Nodes))
	case "set_loss":
		return r.net.SetLoss(wire.LinkNo(f.Link), f.Loss, r.idsOrNil(f.Nodes))
	case "set_expected":
		h := r.host(f.Node)
		if !h.up {
			r.refused(f, h, "node is down")
			return nil
		}
		if err := h.node.SetExpected(now, f.Votes); err != nil {
			r.refused(f, h, err.Error())
		}
		r.flush(h)
	case "delnode":
		if r.conf != nil {
			r.delnodeConf(f)
			return nil
		}
		on, gone := r.host(f.On), r.host(f.Node)
		if !on.up {
			r.refused(f, on, "node is down")
			return nil
		}
		if err := on.node.RemoveNode(now, gone.id); err != nil {
			r.refused(f, on, err.Error())
			r.flush(on)
			return nil
		}
		// pvecm writes the new corosync.conf (config_version + 1) into the
		// cluster file system, which every node's corosync then loads: a
		// node that restarts later starts from the new nodelist.
		r.configVersion++
		for _, h := range r.hosts {
			if h != gone {
				h.cfg = withoutNode(h.cfg, gone.id)
			}
		}
		r.flush(on)
	case "edit_conf":
		r.editConf(f)
	case "add_node":
		r.addNode(f)
	case "qdevice_setup":
		r.qdeviceSetup(f)
	case "qdevice_remove":
		r.qdeviceRemove(f)
	case "separate":
		r.separate(f)
	case "qnetd_down":
		r.qnetdDown()
	case "qnetd_up":
		r.qnetdUp()
	default:
		return fmt.Errorf("action %q is not supported", f.Action)
	}
	return nil
}

func (r *run) host(name string) *host {
	for _, h := range r.hosts {
		if h.name == name {
			return h
		}
	}
	panic("unknown node " + name)
}

func (r *run) ids(names []string) []wire.NodeID {
	out := make([]wire.NodeID, 0, len(names))
	for _, h := range r.nodesOf(names) {
		out = append(out, h.id)
	}
	return out
}

func (r *run) idsOrNil(names []string) []wire.NodeID {
	if names == nil {
		return nil
	}
	return r.ids(names)
}

func (r *run) links(ns []int) []wire.LinkNo {
	if ns == nil {
		return nil
	}
	out := make([]wire.LinkNo, len(ns))
	for i, n := range ns {
		out[i] = wire.LinkNo(n)
	}
	return out
}

// faultDetail says in a few words what a fault touches, for the trace and
// the timeline.
func faultDetail(f scenarios.Fault) string {
	var parts []string
	if f.Node != "" {
		parts = append(parts, f.Node)
	}
	if f.Nodes != nil {
		parts = append(parts, strings.Join(f.Nodes, ","))
	}
	if f.Switch != "" {
		parts = append(parts, "switch "+f.Switch)
	}
	if len(f.Groups) > 0 {
		gs := make([]string, len(f.Groups))
		for i, g := range f.Groups {
			gs[i] = "{" + strings.Join(g, ",") + "}"
		}
		parts = append(parts, strings.Join(gs, "|"))
	}
	if f.On != "" {
		parts = append(parts, "on "+f.On)
	}
	if f.Action == "set_expected" {
		parts = append(parts, fmt.Sprintf("votes %d", f.Votes))
	}
	if f.Conf != nil {
		parts = append(parts, fmt.Sprintf("config_version %d", f.Conf.ConfigVersion))
	}
	if f.From != nil {
		parts = append(parts, "from "+strings.Join(f.From, ",")+" to "+strings.Join(f.To, ","))
	}
	switch f.Action {
	case "link_down", "link_up", "set_latency", "set_loss":
		parts = append(parts, fmt.Sprintf("link %d", f.Link))
	}
	if f.Links != nil {
		parts = append(parts, fmt.Sprintf("links %v", f.Links))
	}
	return strings.Join(parts, " ")
}

// withoutNode is cfg after `pvecm delnode` of id.
func withoutNode(cfg engine.Config, id wire.NodeID) engine.Config {
	cfg.Nodes = slices.DeleteFunc(slices.Clone(cfg.Nodes), func(x wire.NodeID) bool { return x == id })
	cfg.Quorum.Nodes = slices.DeleteFunc(slices.Clone(cfg.Quorum.Nodes), func(n quorum.NodeConfig) bool { return n.ID == id })
	return cfg
}

// editConf is the operator installing a new corosync.conf through node
// f.On (quorate cfs put corosync.conf): refused, with nothing changed and
// the reason in the trace and the report, when that node is down or
// cannot commit a change, when the text does not pass
// corosyncconf.CheckEdit (config_version not above the cluster's), or when
// a member's engine refuses it. Otherwise every member of f.On's ring
// applies it at once through the engine's Reload, as each agent does when
// the store delivers it, or -- for what corosync reads only at start --
// restarts its engine when the engine says its turn comes
// (Node.RestartDelay: one member at a time); every node starts from it
// after a restart.
func (r *run) editConf(f scenarios.Fault) {
	on := r.operator(f)
	if on == nil {
		return
	}
	r.commit(f, on, []byte(f.ConfText), nil)
}

// confRestart restarts a node's engine in-process from its persisted
// state, as Ready.Restart asked, with the configuration it now has (the
// requested one, or a newer one that came meanwhile), as an agent does for
// a change the running engine cannot take; the restarted engine reloads
// when the request says. A node that went down meanwhile starts with it
// when it boots.
func (r *run) confRestart(h *host) {
	rs := h.restart
	h.restart = nil
	if !h.up || rs == nil {
		return
	}
	r.kill(h, "config_restart")
	r.boot(h)
	if h.up && h.cfg.ConfigVersion == rs.Config.ConfigVersion {
		h.node.ReloadAt(rs.ReloadAt)
		r.flush(h)
	}
}

// refused records an operator action the cluster refused, with nothing
// changed: in the trace, and in the report's timeline as refused:ACTION
// with the reason, where a reader (and a test) finds it.
func (r *run) refused(f scenarios.Fault, h *host, why string) {
	now := r.k.Now()
	r.trace.Begin(now, "fault_refused").Str("node", h.name).Str("why", why).End()
	r.obs.tl = append(r.obs.tl, reports.TimelineEntry{TMs: now.Millis(), Node: h.name, Event: "refused:" + f.Action, Detail: why})
	r.refusals++
	if fr := r.faultResponse(f); fr != nil {
		fr.Refused = why
	}
}
