package engine

import (
	"errors"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// A change of the cluster's configuration reaches every member (the agent
// from its store, the simulator from the operator's action), and the
// engine decides how the member takes it: live through Reload, or -- for
// what corosync reads only at start -- by a restart at the member's turn,
// which the engine announces in Ready.Restart when its deadline comes,
// followed in the restarted engine by the reload that ends a rolling
// restart. Both drivers only perform what Ready says.

// Restart is a Ready's request to restart the node's engine from its
// persisted State with Config, as corosync is restarted for a change it
// reads only at start. The driver stops this engine, starts a new one with
// New(Config, ...) from the persisted State, and calls ReloadAt(ReloadAt)
// on it.
type Restart struct {
	Config Config
	// ReloadAt is when the restarted engine reloads Config, once every
	// member has had its turn (see ReloadAfterRestart).
	ReloadAt Instant
}

// plannedRestart is a restart waiting for its turn.
type plannedRestart struct {
	cfg      Config
	at       Instant
	reloadAt Instant
}

// Apply installs cfg, the cluster's newer configuration, on the running
// node: live through Reload when the node can take it (a restart planned
// for an older configuration is then dropped), else by a restart at the
// node's turn (RestartDelay), which Ready.Restart requests when it is due;
// restart reports the latter. Any other refusal of Reload is returned and
// changes nothing.
func (n *Node) Apply(now Instant, cfg Config) (restart bool, err error) {
	err = n.Reload(now, cfg)
	switch {
	case errors.Is(err, ErrRestartRequired):
		n.planned = &plannedRestart{cfg: cfg, at: now.Add(n.RestartDelay(cfg)), reloadAt: now.Add(n.ReloadAfterRestart(cfg))}
		n.collect(now)
		return true, nil
	case err != nil:
		return false, err
	}
	n.planned = nil
	return false, nil
}

// RestartPlanned returns the config_version of the configuration the node
// waits for its turn to restart into (Apply), or has asked for in Ready;
// 0 when none.
func (n *Node) RestartPlanned() uint64 {
	switch {
	case n.restart != nil:
		return n.restart.Config.ConfigVersion
	case n.planned != nil:
		return n.planned.cfg.ConfigVersion
	}
	return 0
}

// ReloadAt makes the node reload its own configuration at the instant at
// (0: never), as Ready.Restart asks of a restarted engine: the
// corosync-cfgtool -R that ends a rolling restart.
func (n *Node) ReloadAt(at Instant) { n.reloadAt = at }

// restartTimers fires the planned restart and the reload when due.
func (n *Node) restartTimers(now Instant) {
	if p := n.planned; p != nil && p.at <= now {
		n.planned = nil
		n.restart = &Restart{Config: p.cfg, ReloadAt: p.reloadAt}
	}
	if n.reloadAt != 0 && n.reloadAt <= now {
		n.reloadAt = 0
		if err := n.Reload(now, n.cfg); err != nil {
			n.events = append(n.events, wire.Event{Kind: wire.EventQuorumInfo, Sub: "config_reload",
				Detail: "config_reload refused after the rolling restart: " + err.Error()})
		}
	}
}

// restartDeadline is the earliest of the planned restart and the reload.
func (n *Node) restartDeadline() Instant {
	var d Instant
	if n.planned != nil {
		d = n.planned.at
	}
	if n.reloadAt != 0 && (d == 0 || n.reloadAt < d) {
		d = n.reloadAt
	}
	return d
}

// restartSlot is one member's turn in a rolling restart: long enough for
// the ring to notice a member gone and take it back after its restart (two
// token and two consensus timeouts of the new configuration, plus a
// second for the restart itself).
func (n *Node) restartSlot(cfg Config) time.Duration {
	tm, err := cfg.Timers()
	if err != nil {
		tm, _ = n.cfg.Timers()
	}
	return 2*(tm.Token+tm.Consensus) + time.Second
}
