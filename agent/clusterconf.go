package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// maxEditTries bounds the compare-and-set retries of one configuration
// edit; each retry follows a concurrent edit that won.
const maxEditTries = 16

// confSync distributes corosync.conf through the replicated store, as
// pmxcfs does with /etc/pve/corosync.conf (pmxcfs.md §2 step 6): the
// agent rewrites its --config file from the store when a higher
// config_version is delivered and applies it with Node.Reload, or restarts
// its engine in-process when Reload says the change needs a restart.
// Owned by the loop goroutine.
type confSync struct {
	path string      // the --config file
	key  []byte      // the authkey, for a new transport
	rnd  engine.Rand // the node's random stream, for an engine restart
	// dataDir and bundle (--qdevice-bundle, "" for DATA-DIR/qdevice.pem)
	// locate the qdevice's bundle when a reload or a restart adds a device.
	dataDir, bundle string
	// relisten closes the transport and binds one for cfg; nil keeps the
	// transport (in-memory tests).
	relisten func(cfg udp.Config) (transport, error)

	// tcfg is the transport configuration of the corosync.conf last
	// installed: what a Ready.Rebind binds.
	tcfg udp.Config

	seen    uint64 // store version of the config entry last looked at
	seeding bool   // a seed CAS is in flight
	warned  uint64 // store version last warned about
	restart *plannedRestart
}

// plannedRestart is what an engine restart the engine planned (Apply)
// installs when its Ready asks for it.
type plannedRestart struct {
	c    *corosyncconf.Config
	raw  []byte
	self *corosyncconf.Node
	ecfg engine.Config
	tcfg udp.Config
}

// storeErrWords turns a store refusal into pmxcfs's words.
func storeErrWords(err error) string {
	switch {
	case errors.Is(err, store.ErrReadOnly):
		return "cluster not ready - no quorum?"
	case errors.Is(err, store.ErrAborted), errors.Is(err, store.ErrIndeterminate):
		return "the membership changed while the change was in flight; check the result and retry"
	}
	return err.Error()
}

// syncConfig runs after every Ready batch: it seeds the store with the
// local file when the cluster has no configuration yet (the lowest member
// of a quorate ring does it), and applies a delivered configuration newer
// than the file. It reports whether it gave the node work.
func (l *loop) syncConfig() bool {
	cs := l.cc
	e, ok := l.node.ReadLocal(ConfigKey)
	if !ok {
		return l.seedConfig()
	}
	if e.Version == cs.seen {
		return false
	}
	c, err := corosyncconf.Parse(cs.path+" (cluster copy)", e.Value)
	if err != nil {
		cs.seen = e.Version
		l.log.Error("the cluster's corosync.conf in the store does not parse; not applied", "node", l.cl.name, "err", err)
		return false
	}
	if len(l.pending) > 0 && !l.liveReload(c) {
		// Apply once the store operations in flight have their results:
		// an engine restart would lose them, and an edit's author must
		// hear that it succeeded. Checked again after the next batch. A
		// change the engine takes live waits for nothing: the other
		// members apply it at once, and a writer that waited for its own
		// write could be cut off by it (moved addresses).
		return false
	}
	cs.seen = e.Version
	self := c.Node(uint32(l.cl.selfID))
	if self == nil {
		l.applyConfig(c, e.Value) // says why it cannot
		return false
	}
	ecfg, err := engineConfig(c, self)
	if err != nil {
		l.log.Error("the cluster's corosync.conf cannot be run; not applied", "node", l.cl.name, "err", err)
		return false
	}
	local := l.cl.conf.ConfigVersion
	switch verdict, delay, gone := l.node.PlanInstall(ecfg); verdict {
	case engine.InstallOlder:
		if cs.warned != e.Version {
			cs.warned = e.Version
			l.log.Warn("local corosync.conf is newer than the cluster's; not replaced", "node", l.cl.name,
				"local_version", local, "cluster_version", c.ConfigVersion)
		}
		return false
	case engine.InstallSame:
		if !bytes.Equal(e.Value, l.cl.raw) && cs.warned != e.Version {
			cs.warned = e.Version
			l.log.Warn("local corosync.conf differs from the cluster's at the same config_version", "node", l.cl.name,
				"config_version", local)
		}
		return false
	case engine.InstallAfterRemovals:
		version, raw := e.Version, slices.Clone(e.Value)
		l.log.Info("the new configuration removes running members; applying it shortly, once they have left",
			"node", l.cl.name, "config_version", c.ConfigVersion, "members", gone, "in", delay)
		time.AfterFunc(delay, func() {
			select {
			case l.tasks <- func() {
				if cs.seen == version && c.ConfigVersion > l.cl.conf.ConfigVersion {
					l.applyConfig(c, raw)
				}
			}:
			case <-l.stopped:
			}
		})
		return false
	}
	l.applyConfig(c, e.Value)
	return true
}

// liveReload reports whether the running engine takes c without a restart
// and without dropping a node (delnode removes the node through the total
// order first, from the callback of its edit, which must run before).
func (l *loop) liveReload(c *corosyncconf.Config) bool {
	self := c.Node(uint32(l.cl.selfID))
	if self == nil {
		return false
	}
	for _, n := range l.cl.conf.Nodes {
		if c.Node(n.NodeID) == nil {
			return false
		}
	}
	ecfg, err := engineConfig(c, self)
	return err == nil && l.node.CanReload(ecfg) == nil
}

// seedConfig puts the local file into the empty store: only on the lowest
// member of a quorate ring, once, with a create-only CAS so that two
// seeders cannot both win.
func (l *loop) seedConfig() bool {
	cs := l.cc
	if cs.seeding || len(l.cl.raw) == 0 {
		return false
	}
	q := l.node.Quorum()
	_, _, members := l.node.Ring()
	if !q.Quorate || q.Syncing || len(members) == 0 || slices.Min(members) != l.cl.selfID {
		return false
	}
	id, err := l.node.CompareAndSet(l.now(), ConfigKey, 0, l.cl.raw)
	if err != nil {
		return false
	}
	cs.seeding = true
	l.pending[id] = func(r store.Result) {
		cs.seeding = false
		if r.OK {
			l.log.Info("cluster configuration seeded from the local file", "node", l.cl.name,
				"config_version", l.cl.conf.ConfigVersion)
		}
	}
	return true
}

// applyConfig installs a newer cluster configuration: the --config file is
// replaced atomically, then the engine reloads it, or restarts from its
// persisted state when the change cannot be applied at runtime.
func (l *loop) applyConfig(c *corosyncconf.Config, raw []byte) {
	cs := l.cc
	log := l.log.With("node", l.cl.name, "config_version", c.ConfigVersion, "was", l.cl.conf.ConfigVersion)
	if c.Totem.Transport != "knet" {
		log.Error("the cluster's corosync.conf does not use knet; not applied")
		return
	}
	self := c.Node(uint32(l.cl.selfID))
	if self == nil {
		log.Warn("this node is not in the cluster's corosync.conf any more; not applied")
		return
	}
	ecfg, err := engineConfig(c, self)
	if err != nil {
		log.Error("the cluster's corosync.conf cannot be run; not applied", "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	tcfg, err := transportConfig(ctx, c, self, cs.key)
	cancel()
	if err != nil {
		log.Error("the cluster's corosync.conf cannot be run; not applied", "err", err)
		return
	}
	if err := saveHistory(cs.dataDir, l.cl.conf.ConfigVersion, l.cl.raw); err != nil {
		log.Warn("cannot keep the replaced corosync.conf in the history", "err", err)
	}
	if err := fsx.WriteFileAtomic(cs.path, raw, 0o644); err != nil {
		log.Error("cannot rewrite the local corosync.conf; not applied", "err", err)
		return
	}
	switch restart, err := l.node.Apply(l.now(), ecfg); {
	case err != nil:
		log.Error("configuration reload refused; the file is updated, the running engine keeps the old one", "err", err)
		return
	case restart:
		// One member at a time, so that the others keep quorum: the
		// engine asks for the restart in its Ready when this node's turn
		// comes (Ready.Restart), and the restarted engine reloads once
		// every member has had its turn.
		cs.restart = &plannedRestart{c: c, raw: slices.Clone(raw), self: self, ecfg: ecfg, tcfg: tcfg}
		log.Warn("configuration change needs a restart: the engine restarts in-process from its persisted state at its turn, one member at a time",
			"in", l.node.RestartDelay(ecfg))
		return
	default:
		// A newer configuration the running engine takes as it is drops
		// a planned restart (the engine did too).
		cs.restart = nil
		log.Info("cluster configuration applied (reload)", "nodes", len(c.Nodes))
	}
	l.installConfig(c, raw, self, tcfg)
}

// restartEngine replaces the engine by one started from the persisted
// state with the planned configuration (loop goroutine), unless a newer
// plan or configuration replaced it meanwhile.
func (l *loop) restartEngine(rs *engine.Restart) {
	cs := l.cc
	pr := cs.restart
	if pr == nil || pr.ecfg.ConfigVersion != rs.Config.ConfigVersion {
		return
	}
	cs.restart = nil
	log := l.log.With("node", l.cl.name, "config_version", pr.c.ConfigVersion)
	bundle, _ := l.node.QdeviceBundle()
	qd, err := l.qdeviceFor(pr.c, bundle)
	if err != nil {
		log.Error("the quorum device of the new configuration cannot be used; keeping the running engine", "err", err)
		return
	}
	node, err := engine.New(pr.ecfg, l.now(), l.disk, cs.rnd)
	if err != nil {
		if qd != nil {
			qd.close()
		}
		log.Error("engine restart with the new configuration failed; keeping the running engine", "err", err)
		return
	}
	if l.qdev != nil {
		l.qdev.close()
	}
	l.qdev = qd
	log.Warn("engine restarted in-process for the new configuration", "ring_seq", l.disk.RingSeq,
		"store_version", l.disk.Store.Version)
	l.abortPending(store.ErrIndeterminate)
	node.ReloadAt(rs.ReloadAt)
	l.node = node
	if transportChanged(l.cl, pr.tcfg) {
		// A new engine starts from the configuration: its links are
		// bound as at the agent's start.
		l.relisten(pr.tcfg)
	}
	l.installConfig(pr.c, pr.raw, pr.self, pr.tcfg)
}

// relisten binds the links of tcfg (Ready.Rebind, or an engine restart).
func (l *loop) relisten(tcfg udp.Config) {
	cs := l.cc
	if cs.relisten == nil {
		return
	}
	tr, err := cs.relisten(tcfg)
	if err != nil {
		l.log.Error("cannot bind the links of the new configuration", "node", l.cl.name, "err", err)
		return
	}
	l.tr = tr
}

// rebind performs the engine's Ready.Rebind: the reload changed this
// node's addresses or a peer's, so the links are bound anew to those of
// the configuration installed.
func (l *loop) rebind(rb engine.Rebind) {
	l.log.Info("rebinding the links to the new addresses", "node", l.cl.name, "config_version", rb.ConfigVersion)
	l.relisten(l.cc.tcfg)
}

// installConfig makes c the configuration the agent shows; the links it
// needs are bound when the engine asks (Ready.Rebind).
func (l *loop) installConfig(c *corosyncconf.Config, raw []byte, self *corosyncconf.Node, tcfg udp.Config) {
	l.cc.tcfg = tcfg
	l.cl = newCluster(c, self, tcfg)
	l.cl.raw = slices.Clone(raw)
	l.configBumps = 0
	l.rec.write(journal.Record{Kind: journal.KindConfig, Config: journalConfig(c, l.cl),
		Reason: fmt.Sprintf("config_version %d installed", c.ConfigVersion)})
}

// transportChanged reports whether the new transport configuration adds a
// peer or changes an address; a removed peer needs no new sockets, as the
// engine drops its packets. Only an engine restart asks it; a live reload
// has the engine's own verdict (Ready.Rebind).
func transportChanged(cl *cluster, tc udp.Config) bool {
	if tc.Local != cl.local {
		return true
	}
	for _, p := range tc.Peers {
		old, ok := cl.peerAddrs[p.ID]
		if !ok || old != p.Addrs {
			return true
		}
	}
	return false
}

// errAgentStopped completes the store operations still in flight when the
// loop stops.
var errAgentStopped = fmt.Errorf("the agent stopped before the operation completed: %w", store.ErrIndeterminate)

// abortPending fails every store operation in flight with err (wrapping
// store.ErrIndeterminate: the operation may still take effect in the
// cluster, but this node will not learn of it): an engine restart forgets
// them, and so does a loop that stops. They are answered in OpID order.
func (l *loop) abortPending(err error) {
	pend := l.pending
	l.pending = map[store.OpID]func(store.Result){}
	for _, id := range slices.Sorted(maps.Keys(pend)) {
		pend[id](store.Result{Op: id, Err: err})
	}
}

// editConfig is the cluster-wide configuration change every command uses
// (add, delnode, the quorum device's setup): edit gets the cluster's
// corosync.conf and returns the new one, which must parse, keep the
// cluster name and carry a higher config_version. The change is a
// compare-and-set on ConfigKey; when a concurrent edit won, edit runs again
// on the newer text, so that no edit is lost. done gets the text written,
// or the error. Runs in the loop goroutine; edit must not block.
func (l *loop) editConfig(edit func([]byte) ([]byte, error), done func([]byte, error)) {
	l.editConfigTry(edit, done, 1)
}

func (l *loop) editConfigTry(edit func([]byte) ([]byte, error), done func([]byte, error), try int) {
	if l.cc == nil {
		done(nil, errors.New("the agent does not distribute its configuration"))
		return
	}
	e, ok := l.node.ReadLocal(ConfigKey)
	if !ok {
		if !l.node.Quorum().Quorate {
			done(nil, errors.New(storeErrWords(store.ErrReadOnly)))
		} else {
			done(nil, errors.New("the cluster configuration is not in the store yet; retry in a moment"))
		}
		return
	}
	old, err := corosyncconf.Parse(ConfigKey, e.Value)
	if err != nil {
		done(nil, fmt.Errorf("the cluster configuration in the store does not parse: %w", err))
		return
	}
	nb, err := edit(slices.Clone(e.Value))
	if err != nil {
		done(nil, err)
		return
	}
	nc, err := checkConfEdit(old, nb)
	if err != nil {
		done(nil, err)
		return
	}
	id, err := l.node.CompareAndSet(l.now(), ConfigKey, e.Version, nb)
	if err != nil {
		done(nil, errors.New(storeErrWords(err)))
		return
	}
	l.pending[id] = func(r store.Result) {
		switch {
		case r.OK:
			l.log.Info("cluster configuration changed", "node", l.cl.name, "config_version", nc.ConfigVersion)
			done(nb, nil)
		case errors.Is(r.Err, store.ErrConflict) && try < maxEditTries:
			l.log.Debug("configuration edit lost a race; retrying on the newer version", "node", l.cl.name, "try", try)
			l.editConfigTry(edit, done, try+1)
		default:
			done(nil, errors.New(storeErrWords(r.Err)))
		}
	}
}

// ErrBadConf is wrapped by every refusal of a new cluster corosync.conf
// that is the author's mistake: it does not parse or validate, names a
// setting quorate cannot honour, renames the cluster, or does not raise
// config_version. Nothing is changed; the CLI exits 2.
var ErrBadConf = errors.New("agent: the new corosync.conf is refused")

// checkConfEdit is what every path that installs a cluster corosync.conf
// checks (cfs put, add, delnode, the quorum device, rollback): the text
// parses and validates as corosync would, every node maps onto the engine,
// the cluster keeps its name and config_version grows (corosync refuses a
// lower one). Errors name the file and line.
func checkConfEdit(old *corosyncconf.Config, nb []byte) (*corosyncconf.Config, error) {
	nc, err := corosyncconf.CheckEdit(old, ConfigKey, nb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConf, err)
	}
	return nc, nil
}

// editClusterConfig is editConfig for other goroutines (the join server):
// it runs the edit in the loop and waits for its outcome.
func (l *loop) editClusterConfig(ctx context.Context, edit func([]byte) ([]byte, error)) ([]byte, error) {
	type outcome struct {
		b   []byte
		err error
	}
	ch := make(chan outcome, 1)
	if err := l.do(ctx, func() {
		l.editConfig(edit, func(b []byte, err error) { ch <- outcome{b, err} })
	}); err != nil {
		return nil, err
	}
	select {
	case o := <-ch:
		return o.b, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("configuration change: %w", ctx.Err())
	}
}

// do runs f in the loop goroutine and returns once the loop has taken it.
func (l *loop) do(ctx context.Context, f func()) error {
	select {
	case l.tasks <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stopped:
		return errors.New("the agent is stopping")
	}
}

// pathOr names the --config file for messages ("corosync.conf" in tests
// without one).
func (cs *confSync) pathOr() string {
	if cs == nil || cs.path == "" {
		return "corosync.conf"
	}
	return cs.path
}
