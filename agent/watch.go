package agent

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
)

// The watch stream (CmdWatch): a client that sends {"cmd":"watch"} gets
// the usual Response line and then, on the same connection, one WatchEvent
// per line (newline-delimited JSON) until it closes the connection or the
// agent stops. The first event is a snapshot (WatchState); then every
// change of the membership, of this node's quorum, of a link and of a
// store entry, in the order the agent saw them. A client that does not
// read falls behind: after watchBuffer unread events the agent sends
// WatchOverflow and ends the stream, and the client reconnects and starts
// again from a new snapshot.

// Types of WatchEvent.
const (
	WatchState      = "state"      // the snapshot at the start of the stream
	WatchMembership = "membership" // a new ring: Ring, Members
	WatchQuorum     = "quorum"     // this node's quorum or votes changed
	WatchLink       = "link"       // a link to a peer went up or down
	WatchStore      = "store"      // Path was written (Op put) or removed (Op delete) at Version
	WatchOverflow   = "overflow"   // the client fell behind; the stream ends
)

// watchBuffer is how many events a watcher may have unread.
const watchBuffer = 1024

// WatchEvent is one line of the watch stream. Every event carries the
// local node, the ring, this node's quorum and the cluster's
// config_version at the time of the event, so a client never has to
// combine two events to know where it stands.
type WatchEvent struct {
	Type string `json:"type"`
	// Time is the agent's wall clock (RFC 3339).
	Time          time.Time `json:"time"`
	Node          string    `json:"node"`
	Ring          string    `json:"ring"`
	ConfigVersion uint64    `json:"config_version"`
	Quorate       bool      `json:"quorate"`
	// Members are the names of the current ring's members, ascending by
	// node id (state, membership, quorum).
	Members []string `json:"members,omitempty"`
	// Votes (state, quorum): votequorum's numbers on this node.
	TotalVotes    int `json:"total_votes,omitempty"`
	ExpectedVotes int `json:"expected_votes,omitempty"`
	Quorum        int `json:"quorum,omitempty"`
	// Link describes a link event.
	Link *LinkChange `json:"link,omitempty"`
	// Path, Op and Version describe a store event; StoreVersion is the
	// store-wide version (state, store).
	Path         string `json:"path,omitempty"`
	Op           string `json:"op,omitempty"`
	Version      uint64 `json:"version,omitempty"`
	StoreVersion uint64 `json:"store_version,omitempty"`
}

// LinkChange is a link to Peer going up or down.
type LinkChange struct {
	Peer string `json:"peer"`
	Link int    `json:"link"`
	Up   bool   `json:"up"`
}

// watcher is one watch stream: the loop sends on ch and closes it on
// overflow; gone is closed by the connection's handler when it ends.
type watcher struct {
	ch   chan WatchEvent
	gone chan struct{}
}

// watchState is the loop's side of the watch streams.
type watchState struct {
	watchers []*watcher
	// last quorum published, to notice a change.
	quorate              bool
	total, expected, quo int
}

// base fills the fields every event carries.
func (l *loop) watchBase(typ string) WatchEvent {
	q := l.node.Quorum()
	_, ring, _ := l.node.Ring()
	return WatchEvent{Type: typ, Time: time.Now(), Node: l.cl.name, Ring: ring.String(),
		ConfigVersion: l.configVersion(), Quorate: q.Quorate}
}

// memberNames names the ring's members, ascending by id.
func (l *loop) memberNames() []string {
	_, _, members := l.node.Ring()
	ids := slices.Sorted(slices.Values(members))
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = l.cl.nameOf(id)
	}
	return names
}

// watchSnapshot is the first event of a stream.
func (l *loop) watchSnapshot() WatchEvent {
	e := l.watchBase(WatchState)
	q := l.node.Quorum()
	e.Members = l.memberNames()
	e.TotalVotes, e.ExpectedVotes, e.Quorum = q.TotalVotes, q.ExpectedVotes, q.Quorum
	e.StoreVersion = l.disk.Store.Version
	return e
}

// addWatcher registers w and queues its snapshot.
func (l *loop) addWatcher(w *watcher) {
	w.ch <- l.watchSnapshot()
	l.watch.watchers = append(l.watch.watchers, w)
}

// publishWatch sends e to every watcher, dropping those that went away
// and ending those that fell behind.
func (l *loop) publishWatch(e WatchEvent) {
	kept := l.watch.watchers[:0]
	for _, w := range l.watch.watchers {
		select {
		case <-w.gone:
			continue
		default:
		}
		select {
		case w.ch <- e:
			kept = append(kept, w)
		default:
			close(w.ch) // the handler sends WatchOverflow
		}
	}
	clear(l.watch.watchers[len(kept):])
	l.watch.watchers = kept
}

// watchEvent publishes what an engine event means to applications.
func (l *loop) watchEvent(e wire.Event) {
	if len(l.watch.watchers) == 0 {
		return
	}
	switch e.Kind {
	case wire.EventMembership:
		w := l.watchBase(WatchMembership)
		w.Members = l.memberNames()
		l.publishWatch(w)
	case wire.EventLinkUp, wire.EventLinkDown:
		w := l.watchBase(WatchLink)
		w.Link = &LinkChange{Peer: l.cl.nameOf(e.Peer), Link: int(e.Link), Up: e.Kind == wire.EventLinkUp}
		l.publishWatch(w)
	}
}

// watchQuorum publishes a change of this node's quorum or votes (q, the
// node's status now) since the last call.
func (l *loop) watchQuorum(q quorum.Status) {
	ws := &l.watch
	if q.Quorate == ws.quorate && q.TotalVotes == ws.total && q.ExpectedVotes == ws.expected && q.Quorum == ws.quo {
		return
	}
	ws.quorate, ws.total, ws.expected, ws.quo = q.Quorate, q.TotalVotes, q.ExpectedVotes, q.Quorum
	if len(ws.watchers) == 0 {
		return
	}
	e := l.watchBase(WatchQuorum)
	e.Members = l.memberNames()
	e.TotalVotes, e.ExpectedVotes, e.Quorum = q.TotalVotes, q.ExpectedVotes, q.Quorum
	l.publishWatch(e)
}

// watchStore publishes the entries that differ between two persisted
// states of the store (both sorted by key), in key order.
func (l *loop) watchStore(old, cur store.Snapshot) {
	if len(l.watch.watchers) == 0 || old.Version == cur.Version {
		return
	}
	for _, c := range storeChanges(old, cur) {
		e := l.watchBase(WatchStore)
		e.Path, e.Op, e.Version, e.StoreVersion = c.path, c.op, c.version, cur.Version
		l.publishWatch(e)
	}
}

// storeChange is one entry that differs between two states of the store.
type storeChange struct {
	path, op string
	version  uint64
}

// storeChanges lists, in key order, the entries written (op "put", with
// the entry's version) or removed ("delete", with the store's version)
// between two snapshots whose entries are sorted by key.
func storeChanges(old, cur store.Snapshot) []storeChange {
	var out []storeChange
	i, j := 0, 0
	for i < len(old.Entries) || j < len(cur.Entries) {
		switch {
		case j == len(cur.Entries) || i < len(old.Entries) && old.Entries[i].Key < cur.Entries[j].Key:
			out = append(out, storeChange{old.Entries[i].Key, "delete", cur.Version})
			i++
		case i == len(old.Entries) || cur.Entries[j].Key < old.Entries[i].Key:
			out = append(out, storeChange{cur.Entries[j].Key, "put", cur.Entries[j].Version})
			j++
		default:
			if old.Entries[i].Version != cur.Entries[j].Version {
				out = append(out, storeChange{cur.Entries[j].Key, "put", cur.Entries[j].Version})
			}
			i, j = i+1, j+1
		}
	}
	return out
}

// serveWatch runs one watch stream on conn: it registers a watcher with
// the loop, answers the request, then writes the events until the client
// goes away, the agent stops, or the client falls behind.
func (s *adminServer) serveWatch(ctx context.Context, conn *net.UnixConn) {
	w := &watcher{ch: make(chan WatchEvent, watchBuffer), gone: make(chan struct{})}
	defer close(w.gone)
	enc := json.NewEncoder(conn)
	resp := s.askWith(ctx, call{req: Request{Cmd: CmdWatch}, reply: make(chan Response, 1), watch: w})
	if err := enc.Encode(resp); err != nil || !resp.OK {
		return
	}
	// The client sends nothing more: a read returns when it closes.
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	conn.SetReadDeadline(time.Time{})
	for {
		select {
		case e, ok := <-w.ch:
			if !ok {
				e = WatchEvent{Type: WatchOverflow, Time: time.Now()}
			}
			conn.SetWriteDeadline(time.Now().Add(adminTimeout))
			if err := enc.Encode(e); err != nil || !ok {
				return
			}
		case <-closed:
			return
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}
