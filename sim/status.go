package sim

import (
	"bytes"
	"fmt"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// statusProbe renders `pvecm status` for the asked nodes at the asked
// instant, after everything that happens at that instant: when other events
// are still queued for the same instant, the probe steps behind them.
func (r *run) statusProbe(at wire.Instant) {
	if t, ok := r.k.PeekTime(); ok && t == at {
		r.k.Schedule(at, Event{Kind: evStatus})
		return
	}
	names, addrs, conf := r.statusNames()
	for _, h := range r.nodesOf(r.opt.StatusNodes) {
		var b bytes.Buffer
		if !h.up {
			fmt.Fprintf(&b, "%s is down at %v: no status to show\n", h.name, time.Duration(at))
		} else {
			v := reports.StatusView{
				ClusterName:   r.sc.Cluster.Name,
				ConfigVersion: r.configVersion,
				Transport:     "knet",
				SecureAuth:    true,
				Date:          "simulated " + time.Duration(at).String(),
				Quorum:        h.node.Quorum(),
				Names:         names,
				Addrs:         addrs,
			}
			if v.ClusterName == "" {
				v.ClusterName = r.sc.Name
			}
			if conf != nil {
				// What this node's engine runs (pvecm status reads the
				// running configuration).
				v.ConfigVersion, v.SecureAuth = h.node.ConfigVersion(), conf.Totem.SecAuth
				if r.conf == r.sc.Cluster.Conf {
					v.ConfigVersion = conf.ConfigVersion + r.configVersion - 1
				}
			}
			if err := reports.WriteStatus(&b, v); err != nil {
				panic(err) // a bytes.Buffer does not fail
			}
		}
		r.res.Status = append(r.res.Status, reports.NodeStatusText{Node: h.name, AtMs: at.Millis(), Text: b.String()})
	}
}

// statusNames gives the names and ring0 addresses the status shows: the
// corosync.conf's addresses when the scenario has one, else the names.
func (r *run) statusNames() (names, addrs map[wire.NodeID]string, conf *corosyncconf.Config) {
	names, addrs = map[wire.NodeID]string{}, map[wire.NodeID]string{}
	if src := r.sc.Cluster.CorosyncConfSource; src != nil {
		conf, _ = corosyncconf.Parse(r.sc.Cluster.CorosyncConf, src)
	}
	for _, h := range r.hosts {
		names[h.id] = h.name
		addrs[h.id] = h.name
		if conf != nil {
			if a := conf.Addr(uint32(h.id), 0); a != "" {
				addrs[h.id] = a
			}
		}
	}
	return names, addrs, conf
}
