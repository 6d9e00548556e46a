// Package client is the API for applications on a quorate node: an HA
// manager, a fencing agent, a service that must run on one node only. It
// talks to the local agent over its admin socket (newline-delimited JSON,
// the same requests the quorate commands send) and gives:
//
//   - Status: the current membership and quorum of this node;
//   - Watch: a stream of typed events (membership, quorum, link and store
//     changes), each with the ring id and config_version, starting with a
//     snapshot (`quorate watch` prints it);
//   - the replicated store: Get (local, possibly stale, as a read of
//     /etc/pve), GetOrdered (linearizable), Put, CompareAndSet, Delete and
//     Lock (pmxcfs's lock directories).
//
// Writes go through the total order and return once every member applied
// them; they fail with ErrNotQuorate on a node without quorum. An error
// wrapping ErrIndeterminate means the write may or may not have taken
// effect: read the entry to find out.
//
// A service that must stop when its node loses quorum watches the stream
// and acts on every event's Quorate (see the example in docs/ops.md §16
// and example_test.go). The agent's own quorum-loss time bounds how late
// that comes: a token timeout and a consensus timeout after the last
// contact.
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quorate/quorate/agent"
)

// DefaultSocket is where the agent listens unless told otherwise.
const DefaultSocket = agent.DefaultAdminSocket

// Errors of the calls; test with errors.Is.
var (
	// ErrUnreachable: no agent answers at the socket.
	ErrUnreachable = agent.ErrUnreachable
	// ErrNotQuorate: this node has no quorum, so the store is read-only.
	ErrNotQuorate = errors.New("client: the node is not quorate: the store is read-only")
	// ErrNotFound: no such entry.
	ErrNotFound = errors.New("client: no such entry")
	// ErrConflict: CompareAndSet found another version.
	ErrConflict = errors.New("client: version conflict")
	// ErrLocked: the entry is a lock held by another holder.
	ErrLocked = errors.New("client: locked by another holder")
	// ErrIndeterminate: a membership change (or the agent stopping) came
	// while the write was in flight; it may or may not have taken effect.
	ErrIndeterminate = errors.New("client: the write may or may not have taken effect")
	// ErrAborted: a membership change aborted the operation; nothing changed.
	ErrAborted = errors.New("client: aborted by a membership change; nothing changed")
	// ErrBadRequest: the agent refused the request itself (a bad path, a
	// value too large).
	ErrBadRequest = errors.New("client: bad request")
	// ErrOverflow: the watch stream ended because the client did not read
	// fast enough; watch again.
	ErrOverflow = errors.New("client: the watch stream fell behind and was ended")
)

// Client calls the agent at one admin socket. It holds no connection: each
// call dials, so a Client is safe for concurrent use and survives agent
// restarts.
type Client struct {
	socket string
}

// New returns a client of the agent listening at socket ("" for
// DefaultSocket).
func New(socket string) *Client {
	if socket == "" {
		socket = DefaultSocket
	}
	return &Client{socket: socket}
}

// Status is this node's view of the cluster.
type Status struct {
	// Node is this node's name, Cluster the cluster's.
	Node, Cluster string
	// Ring is the current ring id ("1.1c"), Members its members' names,
	// ascending by node id.
	Ring    string
	Members []string
	// Quorate and votequorum's numbers.
	Quorate                           bool
	TotalVotes, ExpectedVotes, Quorum int
	// ConfigVersion is the cluster's corosync.conf config_version.
	ConfigVersion uint64
}

// Entry is one entry of the store.
type Entry struct {
	Path  string
	Value []byte
	// Version is the store-wide version at which it was last written.
	Version uint64
	// Lock is the holder when the entry is a lock.
	Lock string
}

// call sends one request and maps a refusal onto the errors above.
func (c *Client) call(ctx context.Context, req agent.Request) (*agent.Response, error) {
	resp, err := agent.Call(ctx, c.socket, req)
	if err != nil {
		return nil, err
	}
	if resp.OK {
		return resp, nil
	}
	var kind error
	switch resp.Code {
	case agent.CodeReadOnly:
		kind = ErrNotQuorate
	case agent.CodeNotFound:
		kind = ErrNotFound
	case agent.CodeConflict:
		kind = ErrConflict
	case agent.CodeLocked, agent.CodeExists:
		kind = ErrLocked
	case agent.CodeIndeterminate, agent.CodeStopped:
		kind = ErrIndeterminate
	case agent.CodeAborted:
		kind = ErrAborted
	}
	if kind == nil && resp.BadRequest {
		kind = ErrBadRequest
	}
	if kind == nil {
		return resp, fmt.Errorf("client: %s: %s", req.Cmd, resp.Error)
	}
	return resp, fmt.Errorf("%w (%s: %s)", kind, req.Cmd, resp.Error)
}

// Status returns this node's membership and quorum.
func (c *Client) Status(ctx context.Context) (Status, error) {
	resp, err := c.call(ctx, agent.Request{Cmd: agent.CmdStatus})
	if err != nil {
		return Status{}, err
	}
	s := resp.Status
	st := Status{Node: s.NodeName, Cluster: s.ClusterName, Ring: s.Quorum.Ring.String(), Quorate: s.Quorum.Quorate,
		TotalVotes: s.Quorum.TotalVotes, ExpectedVotes: s.Quorum.ExpectedVotes, Quorum: s.Quorum.Quorum,
		ConfigVersion: s.ConfigVersion}
	for _, n := range s.Quorum.Nodes {
		name := s.Names[n.ID]
		if name == "" {
			name = n.ID.String()
		}
		st.Members = append(st.Members, name)
	}
	return st, nil
}

// Get reads path from this node's replica: at once, without quorum, and
// possibly stale (a write acknowledged on another node a moment ago may
// be missing), as a read of /etc/pve.
func (c *Client) Get(ctx context.Context, path string) (Entry, error) {
	return c.get(ctx, path, false)
}

// GetOrdered reads path through the total order: it sees every write
// acknowledged before it (linearizable), and needs quorum.
func (c *Client) GetOrdered(ctx context.Context, path string) (Entry, error) {
	return c.get(ctx, path, true)
}

func (c *Client) get(ctx context.Context, path string, ordered bool) (Entry, error) {
	resp, err := c.call(ctx, agent.Request{Cmd: agent.CmdCfsGet, Path: path, Ordered: ordered})
	if err != nil {
		return Entry{}, err
	}
	e := resp.Entry
	return Entry{Path: e.Path, Value: e.Value, Version: e.Version, Lock: e.Lock}, nil
}

// Put writes value at path and returns the entry's new version once every
// member applied it.
func (c *Client) Put(ctx context.Context, path string, value []byte) (uint64, error) {
	return c.put(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: path, Value: nonNil(value)})
}

// CompareAndSet writes value at path only if the entry's version is still
// version (0: the entry must not exist); otherwise it fails with
// ErrConflict and changes nothing.
func (c *Client) CompareAndSet(ctx context.Context, path string, version uint64, value []byte) (uint64, error) {
	return c.put(ctx, agent.Request{Cmd: agent.CmdCfsPut, Path: path, Value: nonNil(value), IfVersion: &version})
}

// Lock takes, or renews for the same holder, the lock at path for ttl
// (at least a second); it fails with ErrLocked while another holder has
// it. An empty holder is this node's name. Delete releases it; it expires
// on its own ttl after the last renewal.
func (c *Client) Lock(ctx context.Context, path, holder string, ttl time.Duration) (uint64, error) {
	secs := int((ttl + time.Second - 1) / time.Second)
	return c.put(ctx, agent.Request{Cmd: agent.CmdCfsLock, Path: path, Holder: holder, TTL: secs})
}

func (c *Client) put(ctx context.Context, req agent.Request) (uint64, error) {
	resp, err := c.call(ctx, req)
	if err != nil {
		return 0, err
	}
	if resp.Entry == nil {
		return 0, nil
	}
	return resp.Entry.Version, nil
}

// Delete removes the entry (or releases the lock) at path.
func (c *Client) Delete(ctx context.Context, path string) error {
	_, err := c.call(ctx, agent.Request{Cmd: agent.CmdCfsRm, Path: path})
	return err
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Event is one event of the watch stream; Type is one of the Event
// constants. Every event carries the node, ring, quorum and
// config_version at its time.
type Event = agent.WatchEvent

// The types of Event.
const (
	EventState      = agent.WatchState
	EventMembership = agent.WatchMembership
	EventQuorum     = agent.WatchQuorum
	EventLink       = agent.WatchLink
	EventStore      = agent.WatchStore
)

// LinkChange is the link part of an EventLink.
type LinkChange = agent.LinkChange

// Watcher reads one watch stream.
type Watcher struct {
	conn net.Conn
	sc   *bufio.Scanner
}

// Watch opens a watch stream. Its first event is a snapshot (EventState);
// the rest follow as they happen. Close it when done; cancelling ctx
// closes it too.
func (c *Client) Watch(ctx context.Context) (*Watcher, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, c.socket, err)
	}
	w := &Watcher{conn: conn, sc: bufio.NewScanner(conn)}
	w.sc.Buffer(make([]byte, 64<<10), 1<<20)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	fail := func(err error) (*Watcher, error) {
		stop()
		conn.Close()
		return nil, err
	}
	if err := json.NewEncoder(conn).Encode(agent.Request{Cmd: agent.CmdWatch}); err != nil {
		return fail(fmt.Errorf("client: watch: %w", err))
	}
	var resp agent.Response
	if !w.sc.Scan() {
		return fail(fmt.Errorf("client: watch: the agent closed the connection: %v", w.sc.Err()))
	}
	if err := json.Unmarshal(w.sc.Bytes(), &resp); err != nil || !resp.OK {
		return fail(fmt.Errorf("client: watch refused: %v %s", err, resp.Error))
	}
	return w, nil
}

// Next blocks until the next event. It returns ErrOverflow when the agent
// ended the stream because the client fell behind, and an error when the
// stream ends otherwise (the agent stopped, the context was cancelled);
// watch again to resume from a new snapshot.
func (w *Watcher) Next() (Event, error) {
	if !w.sc.Scan() {
		err := w.sc.Err()
		if err == nil {
			err = errors.New("client: the watch stream ended")
		}
		return Event{}, err
	}
	var e Event
	if err := json.Unmarshal(w.sc.Bytes(), &e); err != nil {
		return Event{}, fmt.Errorf("client: watch: %w", err)
	}
	if e.Type == agent.WatchOverflow {
		return Event{}, ErrOverflow
	}
	return e, nil
}

// Close ends the stream.
func (w *Watcher) Close() error { return w.conn.Close() }
