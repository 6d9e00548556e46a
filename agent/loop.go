package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// inboxLen bounds the channel between the transport's readers and the
// loop. A full channel drops the datagram (counted), as a full socket
// buffer would; Totem and the link layer recover from loss.
const inboxLen = 4096

// inboxBatch bounds the datagrams the loop takes from the inbox before it
// performs the node's output.
const inboxBatch = 32

// inbound is one authenticated datagram from the transport.
type inbound struct {
	link    wire.LinkNo
	from    wire.NodeID
	payload []byte
	// icmp: not a datagram but the kernel's ICMP error for one sent to
	// from on link (udp.Config.Unreachable).
	icmp bool
}

// call is one admin request waiting for the loop; reply has room for the
// answer, so the loop never blocks on a client that went away.
type call struct {
	req   Request
	reply chan Response
	// watch is the stream of a CmdWatch call.
	watch *watcher
}

// transport is what the loop needs of netmodel/udp's Transport; tests may
// put an in-memory network in its place.
type transport interface {
	Send(d wire.Datagram)
	// SendBatch sends a Ready batch's datagrams as Send one after the
	// other would, with fewer system calls (udp.Transport.SendBatch).
	SendBatch(ds []wire.Datagram)
	Stats() udp.Stats
	// Recycle takes back a received payload once the node has taken it
	// (udp.Transport.Recycle).
	Recycle(payload []byte)
}

// loop owns the engine.Node. Every field is touched by the loop goroutine
// only, except in, calls and inDrops, which are safe for concurrent use.
type loop struct {
	log   *slog.Logger
	node  *engine.Node
	tr    transport
	start time.Time // the monotonic origin of engine.Instant
	cl    *cluster
	rec   *recorder // the flight recorder; nil in tests that do without

	in      chan inbound
	inDrops atomic.Uint64
	calls   chan call
	// tasks are functions other goroutines (the join server) run in the
	// loop; stopped is closed when the loop returns.
	tasks   chan func()
	stopped chan struct{}

	// pending holds the continuation of each store operation in flight,
	// called with its Result after the batch that completed it.
	pending map[store.OpID]func(store.Result)
	// cc distributes corosync.conf through the store; nil switches that
	// off (in-memory tests).
	cc *confSync
	// join counts the join listener's outcomes; nil without one.
	join *joinStats

	// persist writes engine.State durably; a failure stops the loop.
	persist func(engine.State) error
	// disk is the State last persisted (or loaded at start): after each
	// flush, the local replica of the store.
	disk    engine.State
	metrics *metrics // nil without --metrics

	// qdev carries the qdevice's stream to qnetd; nil without a
	// quorum.device.
	qdev *qdevice
	// ctx is run's context, which the qdevice's connections live in.
	ctx context.Context

	deliveries  deliveryCounts
	configBumps uint64 // NODELIST_DELs delivered: config_version + this
	load        *loadState
	delays      *linkDelays  // extra send delay per link (CmdDelay); nil in tests that do without
	dlog        *deliveryLog // the delivery log (Options.Deliveries); nil without one
	killedBy    wire.NodeID  // a peer removed this node from the nodelist
	linksAt     time.Time    // last refresh of the link part of the metrics
	clog        clusterLog   // the cluster log (clusterlog.go)
	watch       watchState   // the watch streams (watch.go)
	rejects     *rejectLog   // packets failing authentication, per peer; nil in tests that do without
}

// deliveryCounts counts the node's ordered output.
type deliveryCounts struct {
	messages, transitional, regular uint64
	byService                       [256]uint64
}

// now reads the monotonic clock as an engine.Instant.
func (l *loop) now() engine.Instant { return engine.Instant(time.Since(l.start)) }

// receive is the transport's callback, called from its reader goroutines:
// it hands the datagram to the loop without ever blocking.
func (l *loop) receive(link wire.LinkNo, from wire.NodeID, payload []byte) {
	select {
	case l.in <- inbound{link: link, from: from, payload: payload}:
	default:
		l.inDrops.Add(1)
	}
}

// inbound hands one datagram (or ICMP report) to the node.
func (l *loop) inbound(m inbound) {
	if m.icmp {
		l.node.Unreachable(l.now(), m.link, m.from)
		return
	}
	l.node.Step(l.now(), m.link, m.from, m.payload)
	// The node keeps copies of what it stores, never the datagram.
	l.tr.Recycle(m.payload)
}

// unreachable is the transport's ICMP callback (udp.Config.Unreachable):
// like receive, it hands the report to the loop without blocking.
func (l *loop) unreachable(link wire.LinkNo, peer wire.NodeID) {
	select {
	case l.in <- inbound{link: link, from: peer, icmp: true}:
	default:
		l.inDrops.Add(1)
	}
}

// run is the loop goroutine. It returns nil when ctx is done or a peer
// removed this node, and an error when the state cannot be persisted.
func (l *loop) run(ctx context.Context) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	if l.pending == nil {
		l.pending = map[store.OpID]func(store.Result){}
	}
	if l.stopped == nil {
		l.stopped = make(chan struct{})
	}
	defer close(l.stopped)
	// Every store operation still in flight is answered when the loop
	// stops: its outcome is unknown to this node from now on.
	defer l.abortPending(errAgentStopped)
	l.ctx = ctx
	defer func() {
		if l.qdev != nil {
			l.qdev.close()
		}
	}()
	if l.load == nil {
		l.load = newLoadState()
	}
	if l.metrics != nil {
		l.load.onLatency = l.metrics.observeDelivery
	}
	defer l.load.timer.Stop()
	if err := l.flush(timer); err != nil {
		return err
	}
	for l.killedBy == 0 {
		var reply func()
		// nil without a device: never ready. An engine restart for a new
		// configuration may add or remove the device.
		var qdevEvents chan qdevEvent
		if l.qdev != nil {
			qdevEvents = l.qdev.events
		}
		select {
		case <-ctx.Done():
			return nil
		case m := <-l.in:
			l.inbound(m)
			// Take what else has arrived before performing the batch, as
			// corosync's event loop reads every ready socket before it
			// sends: one flush for several packets under load.
		drain:
			for range inboxBatch - 1 {
				select {
				case m := <-l.in:
					l.inbound(m)
				default:
					break drain
				}
			}
		case <-timer.C:
			l.node.Advance(l.now())
		case ev := <-qdevEvents:
			l.qdevEvent(ev)
		case c := <-l.calls:
			if c.watch != nil {
				l.addWatcher(c.watch)
				reply = func() { c.reply <- Response{OK: true} }
				break
			}
			if resp, async := l.handle(c.req, func(r Response) { c.reply <- r }); !async {
				reply = func() { c.reply <- resp }
			}
		case <-l.load.timer.C:
		case f := <-l.tasks:
			f()
		}
		l.pump()
		if err := l.flush(timer); err != nil {
			return err
		}
		// What the flush delivered (an own message back, with a window)
		// may let the generator send more.
		if l.pump() > 0 {
			if err := l.flush(timer); err != nil {
				return err
			}
		}
		if reply != nil {
			// After the flush: what the request made the node send is on
			// its way before the client hears OK.
			reply()
		}
	}
	l.log.Warn("Killed by node: this node was removed from the nodelist (pvecm delnode); stopping",
		"node", l.cl.name, "by", l.cl.nameOf(l.killedBy), "by_id", uint32(l.killedBy))
	return nil
}

// flush performs the node's Ready batches until the node has no more work
// the agent itself gives it (store continuations, a configuration to
// apply), then re-arms the timer for the node's deadline.
func (l *loop) flush(timer *time.Timer) error {
	for round := 0; ; round++ {
		more, err := l.flushOnce()
		if err != nil {
			return err
		}
		// Bounded: a continuation issues at most one new operation; the
		// rest waits for the next input.
		if !more || round == 8 {
			break
		}
	}
	if d := l.node.Ready().Deadline; d == 0 {
		timer.Stop()
	} else {
		timer.Reset(max(time.Duration(d-l.now()), 0))
	}
	return nil
}

// flushOnce performs one Ready batch in the engine's order, acknowledges
// it and publishes the metrics; then it runs the continuations of the
// store operations the batch completed (their results may be acted on only
// now that the batch is persisted) and the configuration distribution. It
// reports whether these gave the node new work.
func (l *loop) flushOnce() (more bool, err error) {
	rd := l.node.Ready()
	if rd.Persist != nil {
		if err := l.persist(*rd.Persist); err != nil {
			return false, fmt.Errorf("agent: cannot persist the state (ring seq %d, store version %d), stopping before it is used: %w",
				rd.Persist.RingSeq, rd.Persist.Store.Version, err)
		}
		l.watchStore(l.disk.Store, rd.Persist.Store)
		l.disk = *rd.Persist
		l.log.Debug("persisted", "node", l.cl.name, "ring_seq", rd.Persist.RingSeq, "store_version", rd.Persist.Store.Version)
	}
	if rd.Rebind != nil && l.cc != nil {
		// Before the batch's datagrams: they go to the new addresses.
		l.rebind(*rd.Rebind)
	}
	l.tr.SendBatch(rd.Outbox)
	for _, e := range rd.Events {
		l.logEvent(e)
		l.rec.event(l.cl, e)
		l.noteForLog(e)
		l.watchEvent(e)
	}
	if l.rec != nil {
		q := l.node.Quorum()
		l.rec.quorum(q.Quorate, q.TotalVotes, q.ExpectedVotes, q.Quorum)
	}
	for _, d := range rd.Deliver {
		l.deliver(d)
	}
	if rd.Device != nil && l.cc != nil {
		// Before the stream operations: a device set up live dials next.
		l.deviceChange(*rd.Device)
	}
	if l.qdev != nil {
		for _, op := range rd.Arbiter {
			l.qdev.op(op)
		}
	}
	l.node.Ack(rd)
	l.publish(rd)
	if rd.Stop != nil && rd.Stop.Reason == engine.StopRemoved {
		// Removed from the nodelist by a member (delnode): the loop ends
		// after this batch, as corosync's votequorum stops the node.
		l.killedBy = rd.Stop.From
	} else if rd.Stop != nil {
		// corosync exits here; the operator replaces the stale
		// corosync.conf (the cluster's is `quorate cfs get corosync.conf`
		// on a member) and starts the agent again.
		l.abortPending(errAgentStopped)
		return false, fmt.Errorf("agent: %s: %s carries config_version %d, the cluster %d; install the cluster's corosync.conf and start again",
			rd.Stop, l.cc.pathOr(), rd.Stop.ConfigVersion, rd.Stop.Received)
	}
	if rd.Restart != nil && l.cc != nil {
		// The engine's turn in a rolling restart.
		l.restartEngine(rd.Restart)
		more = true
	}
	for _, r := range rd.Results {
		if cb := l.pending[r.Op]; cb != nil {
			delete(l.pending, r.Op)
			cb(r)
			more = true
		}
	}
	if l.cc != nil && l.syncConfig() {
		more = true
	}
	q := l.node.Quorum()
	l.watchQuorum(q)
	if l.sendLog(q) {
		more = true
	}
	return more, nil
}

// deliver counts one item of the total order and applies what the agent
// itself must know of it: a NODELIST_DEL changes the nodelist it shows.
func (l *loop) deliver(d engine.Delivery) {
	l.dlog.delivered(d)
	switch d.Kind {
	case totem.DeliverTransitional:
		l.deliveries.transitional++
		return
	case totem.DeliverRegular:
		l.deliveries.regular++
		return
	}
	l.deliveries.messages++
	l.deliveries.byService[d.Service]++
	if d.Service == engine.ServiceApp {
		l.load.receive(l.cl.selfID, d.Sender, d.Payload)
		return
	}
	if d.Service == engine.ServiceLog {
		l.deliverLog(d)
		return
	}
	if d.Service != engine.ServiceQuorum {
		return
	}
	m, err := quorum.DecodeMessage(d.Payload)
	if err != nil {
		return
	}
	if del, ok := m.(quorum.NodelistDel); ok {
		if _, known := l.cl.lookup(strconv.FormatUint(uint64(del.NodeID), 10)); known {
			// Not yet gone with a new corosync.conf: the version shown
			// counts the change until the file arrives.
			l.configBumps++
		}
		l.log.Info("node removed from the nodelist", "node", l.cl.name, "peer", l.cl.nameOf(del.NodeID),
			"peer_id", uint32(del.NodeID), "by", l.cl.nameOf(d.Sender), "config_version", l.configVersion())
		l.cl.remove(del.NodeID)
	}
}

// configVersion is totem.config_version as pvecm would show it: the file's,
// plus one for every delnode since the agent started.
func (l *loop) configVersion() uint64 { return l.cl.conf.ConfigVersion + l.configBumps }

// handle answers one admin request inside the loop goroutine. A request
// that waits for the total order (delnode, join-token, cfs put and rm, an
// ordered cfs get) answers later through reply and returns async true.
func (l *loop) handle(req Request, reply func(Response)) (resp Response, async bool) {
	switch req.Cmd {
	case CmdDelnode:
		return l.delnode(req.Node, reply)
	case CmdJoinToken:
		return l.joinToken(req.TTL, reply)
	case CmdCfsPut, CmdCfsRm, CmdCfsMv, CmdCfsLock:
		return l.cfsSubmit(req, reply)
	case CmdQdeviceSetup:
		return l.qdeviceSetup(req, reply)
	case CmdQdeviceRemove:
		return l.qdeviceRemove(reply)
	case CmdConfRollback:
		return l.confRollback(req.Version, reply)
	case CmdCfsGet:
		if req.Ordered {
			return l.cfsSubmit(req, reply)
		}
	}
	return l.handleSync(req), false
}

// handleSync answers the requests that need nothing of the total order.
func (l *loop) handleSync(req Request) Response {
	switch req.Cmd {
	case CmdStatus:
		return Response{OK: true, Status: l.status()}
	case CmdLog:
		return l.logRequest(req)
	case CmdClusterLog:
		return l.clusterLogRequest(req)
	case CmdNodes:
		return Response{OK: true, Status: l.status(), Nodelist: l.nodelist()}
	case CmdExpected:
		return l.expected(req.Votes)
	case CmdLinks:
		return Response{OK: true, Links: l.links()}
	case CmdMembers:
		return Response{OK: true, Members: l.members()}
	case CmdStats:
		return Response{OK: true, Stats: l.stats()}
	case CmdCfsGet:
		return l.cfsGet(req)
	case CmdCfsLs:
		return l.cfsLs(req)
	case CmdDelay:
		if req.Delay == nil {
			return Response{Error: "delay: missing delay", BadRequest: true}
		}
		if req.Delay.Link < 0 || req.Delay.Link >= wire.MaxLinks || l.delays == nil {
			return Response{Error: fmt.Sprintf("delay: no link %d", req.Delay.Link), BadRequest: true}
		}
		if err := l.delays.set(wire.LinkNo(req.Delay.Link), req.Delay.Dist); err != nil {
			return Response{Error: err.Error(), BadRequest: true}
		}
		l.log.Info("link delay set", "node", l.cl.name, "link", req.Delay.Link, "dist", req.Delay.Dist.String())
		return Response{OK: true}
	case CmdConfHistory:
		return l.confHistory()
	case CmdLoad:
		if err := validLoad(req.Load); err != nil {
			return Response{Error: err.Error(), BadRequest: true}
		}
		l.load.start(*req.Load)
		if req.Load.Count == 0 {
			l.log.Info("load stopped", "node", l.cl.name)
		} else {
			l.log.Info("load run started", "node", l.cl.name, "count", req.Load.Count, "size", req.Load.Size,
				"rate", req.Load.Rate, "window", req.Load.Window)
		}
		return Response{OK: true}
	}
	return Response{Error: fmt.Sprintf("unknown command %q", req.Cmd), BadRequest: true}
}

// expected is `pvecm expected N` (corosync-quorumtool -e N).
func (l *loop) expected(votes int) Response {
	if votes < 1 {
		return Response{Error: "The number of expected votes must be at least 1", BadRequest: true}
	}
	if err := l.node.SetExpected(l.now(), votes); err != nil {
		return Response{Error: "Unable to set expected votes: " + engineWords(err)}
	}
	l.log.Info("expected votes set", "node", l.cl.name, "expected", votes)
	return Response{OK: true}
}

// delnode is `pvecm delnode NAME`: it refuses the local node and unknown
// names as pvecm does; the engine refuses without quorum. The node first
// leaves the cluster's corosync.conf (config_version + 1, which every agent
// then writes to its file and reloads), and once that is committed every
// member drops it at once (NODELIST_DEL), which also stops the node's
// agent if it still runs. In this order a running node's exit cannot
// leave the configuration change in doubt.
func (l *loop) delnode(name string, reply func(Response)) (Response, bool) {
	id, ok := l.cl.lookup(name)
	switch {
	case !ok:
		return Response{Error: fmt.Sprintf("Node/IP: %s is not a known host of the cluster.", name), BadRequest: true}, false
	case id == l.cl.selfID:
		return Response{Error: "Cannot delete myself from cluster!", BadRequest: true}, false
	}
	remove := func() Response {
		if err := l.node.RemoveNode(l.now(), id); err != nil {
			return Response{Error: engineWords(err)}
		}
		l.log.Info("delnode requested", "node", l.cl.name, "peer", l.cl.nameOf(id), "peer_id", uint32(id))
		return Response{OK: true, Deleted: id}
	}
	if l.cc == nil {
		return remove(), false
	}
	l.editConfig(func(b []byte) ([]byte, error) {
		return editConf(ConfigKey, b, func(c *corosyncconf.Config) error { return c.RemoveNode(uint32(id)) })
	}, func(_ []byte, err error) {
		switch {
		case errors.Is(err, corosyncconf.ErrNotInNodelist):
			// Only the running nodelist has it (a hand-edited file).
			l.log.Warn("delnode: the node is not in the cluster's corosync.conf; removing it from the running nodelist only",
				"node", l.cl.name, "peer", l.cl.nameOf(id))
			reply(remove())
		case err != nil:
			reply(Response{Error: err.Error()})
		default:
			reply(remove())
		}
	})
	return Response{}, true
}

// status gathers what `pvecm status` prints.
func (l *loop) status() *StatusInfo {
	return &StatusInfo{
		ClusterName:   l.cl.conf.ClusterName,
		ConfigVersion: l.configVersion(),
		Transport:     l.cl.conf.Totem.Transport,
		SecureAuth:    encrypted(l.cl.conf),
		NodeName:      l.cl.name,
		Quorum:        l.node.Quorum(),
		Names:         l.cl.names,
		Addrs:         l.cl.addrs,
	}
}

// nodelist is the configured nodelist with membership marks.
func (l *loop) nodelist() []NodeInfo {
	_, _, members := l.node.Ring()
	out := make([]NodeInfo, 0, len(l.cl.nodes))
	for _, n := range l.cl.nodes {
		id := wire.NodeID(n.NodeID)
		info := NodeInfo{ID: id, Name: nodeName(&n), Votes: int(n.QuorumVotes),
			Member: slices.Contains(members, id), Local: id == l.cl.selfID}
		for _, ln := range l.cl.conf.LinkNumbers() {
			info.Addrs = append(info.Addrs, n.RingAddrs[ln])
		}
		out = append(out, info)
	}
	return out
}

// links is the knet view of every peer still in the nodelist.
func (l *loop) links() *LinksInfo {
	out := &LinksInfo{Self: l.cl.selfID, LinkMode: l.cl.conf.Totem.LinkMode}
	for _, p := range l.cl.peers() {
		st, ok := l.node.LinkStatus(p)
		if !ok {
			continue
		}
		pl := PeerLinks{ID: p, Name: l.cl.nameOf(p), Active: int(st.Active)}
		for ln := range wire.MaxLinks {
			if !st.Configured[ln] {
				continue
			}
			pl.Links = append(pl.Links, LinkInfo{
				Link: ln, Up: st.Up[ln], LatencyMs: float64(st.Latency[ln]) / float64(time.Millisecond),
				Local: l.cl.local[ln].String(), Remote: l.cl.remote(p, ln),
			})
		}
		out.Peers = append(out.Peers, pl)
	}
	return out
}

// members is Totem's view.
func (l *loop) members() *MembersInfo {
	st, ring, members := l.node.Ring()
	out := &MembersInfo{State: st.String(), Ring: ring.String(), RingSeq: ring.Seq}
	for _, id := range members {
		out.Members = append(out.Members, MemberInfo{ID: id, Name: l.cl.nameOf(id)})
	}
	return out
}

// engineWords turns an engine error into the words of the tool the command
// imitates ("CS_ERR_INVALID_PARAM", "cluster not ready - no quorum?").
func engineWords(err error) string {
	s := err.Error()
	for _, prefix := range []string{"quorum: ", "engine: "} {
		if len(s) > len(prefix) && s[:len(prefix)] == prefix {
			return s[len(prefix):]
		}
	}
	return s
}
