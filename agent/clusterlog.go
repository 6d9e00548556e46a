package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/clusterlog"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// The cluster log (pmxcfs's /etc/pve/.clusterlog): `quorate log` and the
// agent itself add entries, which travel through Totem's total order
// (engine.ServiceLog) so that every member appends them in the same
// order; CmdClusterLog and the mount's .clusterlog read the newest. The
// agent logs, in the log of every member:
//
//   - each new membership, once, from its lowest member (tag "cluster");
//   - each change of its own quorum (tag "quorum"): notice when gained,
//     crit when lost (then only the node's own partition delivers it).

// Syslog priorities the agent's own entries use.
const (
	priCrit   = 2
	priNotice = 5
	priInfo   = 6
)

// clusterLog is the agent's part of the cluster log: the entries it
// delivered, the counter of its own, and what waits to be multicast.
type clusterLog struct {
	log     clusterlog.Log
	uid     uint32
	queued  []clusterlog.Entry
	quorate bool // the last quorum state logged
	// bad counts delivered entries that did not decode.
	bad uint64
}

// entry completes an entry of this node: its uid, time and node name.
func (c *clusterLog) entry(node string, e clusterlog.Entry) clusterlog.Entry {
	c.uid++
	e.UID, e.Node = c.uid, node
	if e.Time == 0 {
		e.Time = time.Now().Unix()
	}
	return e
}

// queue adds one of the agent's own entries, multicast after the current
// Ready batch is done (sending inside it would change the batch).
func (l *loop) queueLog(pri uint8, tag, format string, args ...any) {
	e := l.clog.entry(l.cl.name, clusterlog.Entry{Pri: pri, Tag: tag, User: "root@quorate", Msg: fmt.Sprintf(format, args...)})
	l.clog.queued = append(l.clog.queued, e)
}

// noteForLog looks at one engine event for what the cluster log shows.
func (l *loop) noteForLog(e wire.Event) {
	if e.Kind != wire.EventMembership || len(e.Nodes) == 0 || slices.Min(e.Nodes) != l.cl.selfID {
		return
	}
	names := make([]string, len(e.Nodes))
	for i, id := range slices.Sorted(slices.Values(e.Nodes)) {
		names[i] = l.cl.nameOf(id)
	}
	l.queueLog(priInfo, "cluster", "members: %s (ring %s)", strings.Join(names, " "), e.Ring)
}

// sendLog multicasts the queued entries and a quorum change since the last
// batch (q: the node's status now); it reports whether it gave the node
// work.
func (l *loop) sendLog(q quorum.Status) bool {
	if q.Quorate != l.clog.quorate {
		l.clog.quorate = q.Quorate
		if q.Quorate {
			l.queueLog(priNotice, "quorum", "node has quorum (total votes %d, quorum %d)", q.TotalVotes, q.Quorum)
		} else {
			l.queueLog(priCrit, "quorum", "node lost quorum (total votes %d, quorum %d)", q.TotalVotes, q.Quorum)
		}
	}
	if len(l.clog.queued) == 0 {
		return false
	}
	for _, e := range l.clog.queued {
		if err := l.node.LogCluster(l.now(), e); err != nil {
			l.log.Warn("cluster log entry not sent", "node", l.cl.name, "msg", e.Msg, "err", err)
		}
	}
	l.clog.queued = l.clog.queued[:0]
	return true
}

// deliverLog appends a delivered entry.
func (l *loop) deliverLog(d engine.Delivery) {
	e, err := clusterlog.Decode(d.Payload)
	if err != nil {
		l.clog.bad++
		l.log.Debug("cluster log entry dropped", "node", l.cl.name, "from", l.cl.nameOf(d.Sender), "err", err)
		return
	}
	l.clog.log.Append(e)
}

// logRequest answers CmdLog: the entry is multicast now; it shows in the
// log once delivered.
func (l *loop) logRequest(req Request) Response {
	if req.Log == nil {
		return Response{Error: "log: missing the entry", BadRequest: true}
	}
	e := *req.Log
	e.Time = 0
	if e.Tag == "" {
		e.Tag = "cluster"
	}
	e = l.clog.entry(l.cl.name, e)
	if err := e.Validate(); err != nil {
		l.clog.uid--
		return Response{Error: "log: " + strings.TrimPrefix(err.Error(), "clusterlog: "), BadRequest: true}
	}
	if err := l.node.LogCluster(l.now(), e); err != nil {
		return Response{Error: "log: " + err.Error()}
	}
	return Response{OK: true}
}

// clusterLogRequest answers CmdClusterLog: the newest Max entries
// (clusterlog.DumpEntries when 0), newest first.
func (l *loop) clusterLogRequest(req Request) Response {
	n := req.Max
	if n <= 0 {
		n = clusterlog.DumpEntries
	}
	return Response{OK: true, ClusterLog: l.clog.log.Newest(n)}
}
