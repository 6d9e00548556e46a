package qnetd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/internal/metricsrv"
)

// DefaultAdminSocket is where `quorate qnetd status` asks the daemon.
const DefaultAdminSocket = "/run/quorate-qnetd/admin.sock"

// Status is the daemon's view, as corosync-qnetd-tool -l shows it.
type Status struct {
	Clusters []ClusterStatus   `json:"clusters"`
	Stats    map[string]uint64 `json:"stats"`
}

// ClusterStatus is one cluster and its connected clients.
type ClusterStatus struct {
	Name    string         `json:"name"`
	Clients []ClientStatus `json:"clients"`
}

// ClientStatus is one node's qdevice connection.
type ClientStatus struct {
	Node        uint32   `json:"node_id"`
	Peer        string   `json:"peer"`
	Algorithm   string   `json:"algorithm,omitempty"`
	TieBreaker  string   `json:"tie_breaker,omitempty"`
	HeartbeatMs int64    `json:"heartbeat_ms,omitempty"`
	Config      []uint32 `json:"config_nodes,omitempty"`
	Ring        string   `json:"ring_id,omitempty"`
	Members     []uint32 `json:"members,omitempty"`
	Vote        string   `json:"vote"`
	Connected   string   `json:"connected_for"`
}

// status gathers the loop's view; called in the loop.
func (s *Server) status() Status {
	out := Status{Stats: s.counterMap()}
	names := make([]string, 0, len(s.clusters))
	for n := range s.clusters {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		cs := s.clusters[n]
		st := ClusterStatus{Name: n}
		for _, id := range cs.arb.Clients() {
			c := cs.conns[id]
			if c == nil {
				continue
			}
			cl := ClientStatus{Node: uint32(c.node), Peer: c.peer, Vote: "no vote yet",
				Connected: time.Since(c.since).Truncate(time.Second).String()}
			if c.inited {
				cl.Algorithm, cl.TieBreaker, cl.HeartbeatMs = c.algo.String(), c.tie.String(), c.heartbeat.Milliseconds()
			}
			if c.ring != (quorum.RingID{}) {
				cl.Ring = c.ring.String()
			}
			for _, m := range c.config {
				cl.Config = append(cl.Config, uint32(m))
			}
			for _, m := range c.members {
				cl.Members = append(cl.Members, uint32(m))
			}
			if c.vote != 0 {
				cl.Vote = c.vote.String()
			}
			st.Clients = append(st.Clients, cl)
		}
		out.Clusters = append(out.Clusters, st)
	}
	return out
}

// counterMap names the counters (the metrics use the same names).
func (s *Server) counterMap() map[string]uint64 {
	st := &s.stats
	return map[string]uint64{
		"connections_accepted": st.accepted.Load(), "tls_handshake_failed": st.handshakeFailed.Load(),
		"handshakes_busy": st.handshakesBusy.Load(),
		"wrong_cluster":   st.wrongCluster.Load(), "bad_hello": st.badHello.Load(),
		"bad_frames": st.badFrames.Load(), "frames_received": st.framesIn.Load(),
		"frames_sent": st.framesOut.Load(), "slow_clients": st.slowClients.Load(),
		"replaced_connections": st.replaced.Load(), "arbiter_dropped": st.arbiterDropped.Load(),
		"clusters": st.clusters.Load(), "clients": st.clients.Load(),
	}
}

// Format prints st as corosync-qnetd-tool -l -v does, roughly: one block
// per cluster, one line per client.
func (st Status) Format() string {
	var b strings.Builder
	if len(st.Clusters) == 0 {
		b.WriteString("No clusters connected.\n")
	}
	for _, c := range st.Clusters {
		fmt.Fprintf(&b, "Cluster %q:\n", c.Name)
		for _, cl := range c.Clients {
			fmt.Fprintf(&b, "    Node ID %d:\n", cl.Node)
			fmt.Fprintf(&b, "        Client address:\t\t%s\n", cl.Peer)
			if cl.Algorithm != "" {
				fmt.Fprintf(&b, "        HB interval:\t\t%dms\n", cl.HeartbeatMs)
				fmt.Fprintf(&b, "        Configured node list:\t%s\n", joinIDs(cl.Config))
				fmt.Fprintf(&b, "        Ring ID:\t\t%s\n", cmpOr(cl.Ring, "-"))
				fmt.Fprintf(&b, "        Membership node list:\t%s\n", joinIDs(cl.Members))
				fmt.Fprintf(&b, "        Algorithm:\t\t%s\n", cl.Algorithm)
				fmt.Fprintf(&b, "        Tie-breaker:\t\t%s\n", cl.TieBreaker)
			}
			fmt.Fprintf(&b, "        Vote:\t\t\t%s\n", cl.Vote)
			fmt.Fprintf(&b, "        Connected for:\t\t%s\n", cl.Connected)
		}
	}
	return b.String()
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func joinIDs(ids []uint32) string {
	if len(ids) == 0 {
		return "-"
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}

// adminServer answers `quorate qnetd status` on a unix socket: one JSON
// Status per connection (the request is the connection itself).
type adminServer struct {
	path   string
	ln     net.Listener
	events chan<- event
	log    *slog.Logger
}

func listenAdmin(path string, events chan<- event, log *slog.Logger) (*adminServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("qnetd: admin socket: %w", err)
	}
	// A socket left by a daemon that died is in the way; a live one is not
	// replaced.
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("qnetd: admin socket %s is in use by a running daemon", path)
	}
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("qnetd: admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("qnetd: admin socket: %w", err)
	}
	return &adminServer{path: path, ln: ln, events: events, log: log}, nil
}

func (a *adminServer) serve(ctx context.Context) {
	for {
		c, err := a.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			reply := make(chan Status, 1)
			select {
			case a.events <- event{kind: evAdmin, admin: reply}:
			case <-ctx.Done():
				return
			}
			select {
			case st := <-reply:
				json.NewEncoder(c).Encode(st)
			case <-ctx.Done():
			}
		}()
	}
}

func (a *adminServer) close() {
	a.ln.Close()
	os.Remove(a.path)
}

// QueryStatus asks the daemon listening on the admin socket path.
func QueryStatus(ctx context.Context, path string) (Status, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Status{}, fmt.Errorf("qnetd: cannot reach the daemon at %s: %w", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	var st Status
	if err := json.NewDecoder(c).Decode(&st); err != nil {
		return Status{}, fmt.Errorf("qnetd: status from %s: %w", path, err)
	}
	return st, nil
}

// Describe and Collect make the Server a Prometheus collector of its
// counters, read without waiting for the loop.
func (s *Server) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }

// Collect implements prometheus.Collector.
func (s *Server) Collect(ch chan<- prometheus.Metric) {
	for name, v := range s.counterMap() {
		typ, metric := prometheus.CounterValue, "quorate_qnetd_"+name+"_total"
		if name == "clusters" || name == "clients" {
			typ, metric = prometheus.GaugeValue, "quorate_qnetd_"+name
		}
		d := prometheus.NewDesc(metric, "qnetd "+strings.ReplaceAll(name, "_", " ")+".", nil, nil)
		ch <- prometheus.MustNewConstMetric(d, typ, float64(v))
	}
}

// serveMetrics serves the daemon's metrics at /metrics on addr.
func serveMetrics(addr string, s *Server, log *slog.Logger) (func(), error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(s); err != nil {
		return nil, fmt.Errorf("qnetd: metrics: %w", err)
	}
	stop, err := metricsrv.Serve(addr, reg, log)
	if err != nil {
		return nil, fmt.Errorf("qnetd: %w", err)
	}
	return stop, nil
}
