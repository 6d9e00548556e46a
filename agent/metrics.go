package agent

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/netmodel/udp"
)

// named is one counter with its label value or key.
type named struct {
	name string
	v    uint64
}

// linkCounters lists the link layer's counters (engine/links Stats).
func linkCounters(s links.Stats) []named {
	return []named{
		{"ping_sent", s.PingsSent}, {"pong_sent", s.PongsSent},
		{"pong_received", s.PongsReceived}, {"pong_discarded", s.PongsDiscarded},
		{"data_sent", s.DataSent}, {"data_received", s.DataReceived},
		{"data_duplicate", s.DataDuplicates}, {"data_no_link", s.DataNoLink},
		{"data_unreachable", s.DataUnreachable}, {"rejected", s.Rejected},
		{"data_too_large", s.DataTooLarge}, {"data_reassembled", s.DataReassembled},
		{"fragments_evicted", s.FragmentsEvicted}, {"fragments_discarded", s.FragmentsDiscarded},
	}
}

// totemCounters lists Totem's counters (corosync's totemsrp stats).
func totemCounters(s totem.Stats) []named {
	var dropped uint64
	for _, v := range s.Dropped {
		dropped += v
	}
	return []named{
		{"tokens_received", s.TokensReceived}, {"tokens_sent", s.TokensSent},
		{"token_retransmits", s.TokenRetransmits}, {"token_lost", s.TokenLost},
		{"mcast_tx", s.McastTx}, {"mcast_retx", s.McastRetx}, {"mcast_rx", s.McastRx},
		{"delivered", s.Delivered}, {"memberships", s.OperationalEnter},
		{"gather_entered", s.GatherEntered}, {"consensus_timeouts", s.ConsensusTimeout},
		{"dropped", dropped},
	}
}

// deliveryCounters lists the node's ordered output by kind.
func deliveryCounters(d deliveryCounts) []named {
	return []named{{"message", d.messages}, {"transitional", d.transitional}, {"regular", d.regular}}
}

// serviceCounters lists the delivered messages by service.
func serviceCounters(d deliveryCounts) []named {
	q, a, s := d.byService[engine.ServiceQuorum], d.byService[engine.ServiceApp], d.byService[engine.ServiceStore]
	return []named{{"quorum", q}, {"app", a}, {"store", s}, {"other", d.messages - q - a - s}}
}

// stats gathers the counters for the admin socket, fresh.
func (l *loop) stats() *StatsInfo {
	u := l.tr.Stats()
	out := &StatsInfo{
		Sent: u.Sent, SendErrors: u.SendErrors, Received: u.Received, ReadErrors: u.ReadErrors, ICMPErrors: u.ICMPErrors,
		InboundDropped: l.inDrops.Load(),
		Dropped:        map[string]uint64{}, Rejected: map[string]uint64{},
		Links: map[string]uint64{}, Totem: map[string]uint64{}, Deliveries: map[string]uint64{},
	}
	for i, v := range u.Dropped {
		out.Dropped[udp.Drop(i).String()] = v
	}
	for i, v := range u.Rejected {
		out.Rejected[udp.Reason(i).String()] = v
	}
	for _, c := range linkCounters(l.node.LinkStats()) {
		out.Links[c.name] = c.v
	}
	for _, c := range totemCounters(l.node.TotemStats()) {
		out.Totem[c.name] = c.v
	}
	for _, c := range deliveryCounters(l.deliveries) {
		out.Deliveries[c.name] = c.v
	}
	for _, c := range serviceCounters(l.deliveries) {
		out.Deliveries["service_"+c.name] = c.v
	}
	if l.qdev != nil {
		qi := l.qdev.stats
		out.Qdevice = &qi
	}
	out.Load = l.loadInfo()
	if l.rejects != nil {
		out.AuthFailed = l.rejects.counts()
	}
	if l.join != nil {
		out.Join = l.join.snapshot()
	}
	return out
}

// snapshot is what a scrape reports: the loop fills it after each Ready,
// the collector reads it under the lock.
type snapshot struct {
	members                           int
	ringSeq                           uint64
	quorate                           bool
	expected, highest, total, quorumN int
	peers                             []peerSnap
	udp                               udp.Stats
	inDrops                           uint64
	links, totem, deliveries, service []named
	qdev                              *QdeviceInfo // nil without a device
}

// peerSnap is the link state towards one peer.
type peerSnap struct {
	name   string
	active int
	links  []linkSnap
}

type linkSnap struct {
	link    string
	up      bool
	latency time.Duration
}

// metrics is the agent's private Prometheus collector.
type metrics struct {
	mu   sync.Mutex
	snap snapshot
	info [3]string // cluster name, node name, nodeid

	descInfo, descMembers, descRingSeq, descQuorate              *prometheus.Desc
	descExpected, descHighest, descTotal, descQuorum             *prometheus.Desc
	descLinkUp, descLatency, descActive                          *prometheus.Desc
	descSent, descSendErr, descDropped, descRecv, descRejected   *prometheus.Desc
	descReadErr, descInDrops, descKnet, descTotem, descDelivery  *prometheus.Desc
	descICMP                                                     *prometheus.Desc
	descService                                                  *prometheus.Desc
	descQdevUp, descQdevFrames, descQdevReconnects, descQdevFail *prometheus.Desc
	descJoin                                                     *prometheus.Desc
	descAuthFail                                                 *prometheus.Desc

	join *joinStats // the join listener's counters, read at scrape time; may be nil
	// rejects counts the packets failing authentication per peer, read
	// at scrape time; may be nil.
	rejects *rejectLog

	// The latency histograms are observed by the loop as things happen
	// (prometheus histograms are safe for that), not from the snapshot.
	// delivery times agreed delivery of the load generator's messages
	// (origin "own": Multicast to delivery here; "peer": the sender's
	// Multicast to delivery here, same machine only); storeOp times cfs
	// operations through the total order, submission to acknowledgement.
	delivery *prometheus.HistogramVec
	storeOp  *prometheus.HistogramVec
}

// latencyBuckets span 50 µs to about 26 s, doubling: a loopback delivery
// to a store write across a membership change.
var latencyBuckets = prometheus.ExponentialBuckets(50e-6, 2, 20)

// observeDelivery records one load message's delivery latency.
func (m *metrics) observeDelivery(own bool, d time.Duration) {
	origin := "peer"
	if own {
		origin = "own"
	}
	m.delivery.WithLabelValues(origin).Observe(d.Seconds())
}

// newMetrics creates the collector and a registry holding only it.
func newMetrics(cl *cluster) (*metrics, *prometheus.Registry) {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("quorate_"+name, help, labels, nil)
	}
	m := &metrics{
		info:         [3]string{cl.conf.ClusterName, cl.name, strconv.FormatUint(uint64(cl.selfID), 10)},
		descInfo:     d("info", "Always 1; labels name the cluster and the local node.", "cluster_name", "node", "nodeid"),
		descMembers:  d("membership_size", "Members of the current Totem ring."),
		descRingSeq:  d("ring_seq", "Sequence number of the current Totem ring."),
		descQuorate:  d("quorate", "1 when votequorum says this node is quorate."),
		descExpected: d("expected_votes", "votequorum's expected votes on this node."),
		descHighest:  d("highest_expected_votes", "Highest expected votes among the members."),
		descTotal:    d("total_votes", "Total votes of the members."),
		descQuorum:   d("quorum", "votequorum's quorum (votes needed)."),
		descLinkUp:   d("link_up", "1 when the knet heartbeat declares the link to the peer up.", "peer", "link"),
		descLatency:  d("link_latency_seconds", "Mean pong latency of the link to the peer.", "peer", "link"),
		descActive:   d("active_link", "Link carrying traffic to the peer; -1 when unreachable.", "peer"),
		descSent:     d("udp_packets_sent_total", "Packets written to a socket."),
		descSendErr:  d("udp_send_errors_total", "Socket writes that failed."),
		descDropped:  d("udp_packets_dropped_total", "Datagrams dropped before a socket, by reason.", "reason"),
		descRecv:     d("udp_packets_received_total", "Packets that passed every check."),
		descRejected: d("udp_packets_rejected_total", "Received packets rejected, by reason.", "reason"),
		descReadErr:  d("udp_read_errors_total", "Failed socket reads."),
		descICMP:     d("udp_icmp_errors_total", "ICMP errors (port, host or network unreachable) reported for datagrams to a peer."),
		descInDrops:  d("inbound_dropped_total", "Accepted datagrams lost because the loop's inbox was full."),
		descKnet:     d("knet_packets_total", "Link layer packets by kind.", "kind"),
		descTotem:    d("totem_total", "Totem counters (tokens, retransmits, messages, memberships).", "counter"),
		descDelivery: d("deliveries_total", "Items of the node's total order: messages and configurations.", "kind"),
		descService:  d("delivered_messages_total", "Delivered messages by service.", "service"),

		descQdevUp:         d("qdevice_connected", "1 while the qdevice's TLS stream to qnetd is established."),
		descQdevFrames:     d("qdevice_frames_total", "Frames on the qdevice's stream to qnetd, by direction.", "direction"),
		descQdevReconnects: d("qdevice_reconnects_total", "Connections to qnetd established after the first."),
		descQdevFail:       d("qdevice_dial_failures_total", "Connection attempts to qnetd that failed (TCP, TLS or refused)."),
		descJoin:           d("join_total", "Join listener handshakes by outcome (accepted, refused_<reason>).", "outcome"),
		descAuthFail:       d("udp_auth_failed_total", "Packets from a configured peer's address that failed authentication (another authkey), by peer.", "peer"),
	}
	m.delivery = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "quorate_delivery_latency_seconds",
		Help:    "Multicast to agreed delivery of the load generator's messages, by origin (own, peer).",
		Buckets: latencyBuckets}, []string{"origin"})
	m.storeOp = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "quorate_store_op_seconds",
		Help:    "cfs operations through the total order, submission to answer, by operation (put, rm, get) and outcome (ok, error).",
		Buckets: latencyBuckets}, []string{"op", "outcome"})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, m.delivery, m.storeOp)
	return m, reg
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.descInfo, m.descMembers, m.descRingSeq, m.descQuorate,
		m.descExpected, m.descHighest, m.descTotal, m.descQuorum, m.descLinkUp, m.descLatency,
		m.descActive, m.descSent, m.descSendErr, m.descDropped, m.descRecv, m.descRejected,
		m.descReadErr, m.descICMP, m.descInDrops, m.descKnet, m.descTotem, m.descDelivery, m.descService,
		m.descQdevUp, m.descQdevFrames, m.descQdevReconnects, m.descQdevFail, m.descJoin, m.descAuthFail} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the latest snapshot.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.snap
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	c := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	g(m.descInfo, 1, m.info[:]...)
	g(m.descMembers, float64(s.members))
	g(m.descRingSeq, float64(s.ringSeq))
	g(m.descQuorate, b2f(s.quorate))
	g(m.descExpected, float64(s.expected))
	g(m.descHighest, float64(s.highest))
	g(m.descTotal, float64(s.total))
	g(m.descQuorum, float64(s.quorumN))
	for _, p := range s.peers {
		g(m.descActive, float64(p.active), p.name)
		for _, l := range p.links {
			g(m.descLinkUp, b2f(l.up), p.name, l.link)
			g(m.descLatency, l.latency.Seconds(), p.name, l.link)
		}
	}
	c(m.descSent, s.udp.Sent)
	c(m.descSendErr, s.udp.SendErrors)
	for i, v := range s.udp.Dropped {
		c(m.descDropped, v, udp.Drop(i).String())
	}
	c(m.descRecv, s.udp.Received)
	for i, v := range s.udp.Rejected {
		c(m.descRejected, v, udp.Reason(i).String())
	}
	c(m.descReadErr, s.udp.ReadErrors)
	c(m.descICMP, s.udp.ICMPErrors)
	c(m.descInDrops, s.inDrops)
	for _, n := range s.links {
		c(m.descKnet, n.v, n.name)
	}
	for _, n := range s.totem {
		c(m.descTotem, n.v, n.name)
	}
	for _, n := range s.deliveries {
		c(m.descDelivery, n.v, n.name)
	}
	for _, n := range s.service {
		c(m.descService, n.v, n.name)
	}
	if q := s.qdev; q != nil {
		g(m.descQdevUp, b2f(q.Connected))
		c(m.descQdevFrames, q.FramesSent, "sent")
		c(m.descQdevFrames, q.FramesReceived, "received")
		c(m.descQdevReconnects, q.Reconnects)
		c(m.descQdevFail, q.DialFailures)
	}
	if m.join != nil {
		for k, v := range m.join.snapshot() {
			c(m.descJoin, v, k)
		}
	}
	if m.rejects != nil {
		for k, v := range m.rejects.counts() {
			c(m.descAuthFail, v, k)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// publish updates the metrics snapshot after a Ready batch. The counters
// are copied every time; the quorum numbers when votequorum may have
// changed them, the ring on events, and the per-peer link state on events
// or once a second (latency moves without events).
func (l *loop) publish(rd engine.Ready) {
	m := l.metrics
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.snap
	first := s.links == nil
	if first || rd.QuorumChanged {
		q := l.node.Quorum()
		s.quorate, s.expected, s.highest, s.total, s.quorumN = q.Quorate, q.ExpectedVotes, q.HighestExpected, q.TotalVotes, q.Quorum
	}
	if first || len(rd.Events) > 0 || rd.QuorumChanged {
		_, ring, members := l.node.Ring()
		s.ringSeq, s.members = ring.Seq, len(members)
	}
	if first || len(rd.Events) > 0 || time.Since(l.linksAt) >= time.Second {
		l.linksAt = time.Now()
		s.peers = s.peers[:0]
		for _, p := range l.links().Peers {
			ps := peerSnap{name: p.Name, active: p.Active}
			for _, ln := range p.Links {
				ps.links = append(ps.links, linkSnap{link: strconv.Itoa(ln.Link), up: ln.Up,
					latency: time.Duration(ln.LatencyMs * float64(time.Millisecond))})
			}
			s.peers = append(s.peers, ps)
		}
	}
	s.udp = l.tr.Stats()
	s.inDrops = l.inDrops.Load()
	s.links = linkCounters(l.node.LinkStats())
	s.totem = totemCounters(l.node.TotemStats())
	s.deliveries = deliveryCounters(l.deliveries)
	s.service = serviceCounters(l.deliveries)
	if l.qdev != nil {
		qi := l.qdev.stats
		s.qdev = &qi
	}
}
