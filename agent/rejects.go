package agent

import (
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
)

// rejectRepeat is how often the agent repeats its warning about a peer
// whose packets keep failing authentication: the first is logged at once,
// then at most one line per peer and address in this interval, with the
// count since the last line.
const rejectRepeat = 10 * time.Minute

// rejectLog logs packets that fail authentication (udp.RejectAuth) once
// per peer and source address, as knet logs a peer with another key, and
// counts them per peer. A peer whose key differs sends several packets a
// second, so logging each would flood the log. Only configured peer
// addresses get this far (the transport rejects unknown sources first), so
// the map holds at most one entry per peer and link. Safe for concurrent
// use: the transport's readers call it.
type rejectLog struct {
	log   *slog.Logger
	node  string
	names func(wire.NodeID) string

	mu     sync.Mutex
	byAddr map[netip.AddrPort]*rejectEntry
	byPeer map[wire.NodeID]uint64
}

type rejectEntry struct {
	lastLog time.Time
	since   uint64 // rejected since the last line
}

func newRejectLog(log *slog.Logger, node string, names func(wire.NodeID) string) *rejectLog {
	return &rejectLog{log: log, node: node, names: names,
		byAddr: map[netip.AddrPort]*rejectEntry{}, byPeer: map[wire.NodeID]uint64{}}
}

// rejected is the transport's Rejected callback.
func (rl *rejectLog) rejected(link wire.LinkNo, src netip.AddrPort, peer wire.NodeID, r udp.Reason) {
	if r != udp.RejectAuth || peer == 0 {
		return
	}
	now := time.Now()
	rl.mu.Lock()
	rl.byPeer[peer]++
	e := rl.byAddr[src]
	if e == nil {
		e = &rejectEntry{}
		rl.byAddr[src] = e
	}
	e.since++
	first := e.lastLog.IsZero()
	if !first && now.Sub(e.lastLog) < rejectRepeat {
		rl.mu.Unlock()
		return
	}
	n := e.since
	e.lastLog, e.since = now, 0
	rl.mu.Unlock()
	msg := "packets from a peer fail authentication: its authkey differs from ours (or they were changed on the way)"
	if !first {
		msg = "packets from a peer still fail authentication"
	}
	rl.log.Warn(msg, "node", rl.node, "peer", rl.names(peer), "peer_id", uint32(peer), "address", src.String(),
		"link", int(link), "rejected", n)
}

// counts returns the packets rejected per peer name so far.
func (rl *rejectLog) counts() map[string]uint64 {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	out := make(map[string]uint64, len(rl.byPeer))
	for id, n := range rl.byPeer {
		out[rl.names(id)] = n
	}
	return out
}
