package quorum

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// arbDriver talks to an Arbiter directly, as qdevice clients would.
type arbDriver struct {
	t   *testing.T
	a   *Arbiter
	now wire.Instant
	seq uint32
}

func newArbDriver(t *testing.T) *arbDriver { return &arbDriver{t: t, a: NewArbiter()} }

func (d *arbDriver) send(node wire.NodeID, m DevMsg) {
	d.seq++
	if m.Seq == 0 {
		m.Seq = d.seq
	}
	d.a.Receive(d.now, node, AppendDevMsg(nil, m))
}

// join connects and inits a client.
func (d *arbDriver) join(node wire.NodeID, algo Algorithm, tie TieBreaker, config []wire.NodeID) {
	d.a.Connect(d.now, node)
	d.send(node, DevMsg{Kind: DevInit, NodeID: node, Algorithm: algo, TieBreaker: tie, Heartbeat: 8 * time.Second, Nodes: config})
}

// out returns the arbiter's output as "node:message" lines and acks it.
func (d *arbDriver) out() string {
	var lines []string
	for _, o := range d.a.Ready().Out {
		if o.Close {
			lines = append(lines, fmt.Sprintf("%d:close", o.To))
			continue
		}
		m, err := DecodeDevMsg(o.Payload)
		if err != nil {
			d.t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%d:%v", o.To, m))
	}
	d.a.Ack()
	return strings.Join(lines, "\n")
}

// TestArbiterFFSplitNACKsFirst: on a 2|2 split ffsplit NACKs the losers,
// waits for their replies, and only then ACKs the winners.
func TestArbiterFFSplitNACKsFirst(t *testing.T) {
	d := newArbDriver(t)
	cfg := ids(1, 2, 3, 4)
	for _, id := range cfg {
		d.join(id, AlgorithmFFSplit, TieBreaker{}, cfg)
	}
	d.out()
	r1, r2 := RingID{Rep: 1, Seq: 8}, RingID{Rep: 3, Seq: 8}
	d.send(1, DevMsg{Kind: DevMembership, Ring: r1, Nodes: ids(1, 2)})
	if got := d.out(); !strings.Contains(got, "vote=wait_for_reply") {
		t.Fatalf("unstable membership should wait: %s", got)
	}
	d.send(2, DevMsg{Kind: DevMembership, Ring: r1, Nodes: ids(1, 2)})
	d.send(3, DevMsg{Kind: DevMembership, Ring: r2, Nodes: ids(3, 4)})
	d.out()
	d.send(4, DevMsg{Kind: DevMembership, Ring: r2, Nodes: ids(3, 4)})
	got := d.out()
	if strings.Contains(got, "ACK") && !strings.Contains(got, "NACK") || strings.Count(got, "vote=NACK") != 2 || strings.Contains(got, "vote=ACK") {
		t.Fatalf("first NACKs only:\n%s", got)
	}
	d.send(3, DevMsg{Kind: DevVoteInfoReply, Seq: lastVoteSeq(got, 3)})
	if got := d.out(); got != "" {
		t.Fatalf("ACKs before every NACK was answered:\n%s", got)
	}
	d.send(4, DevMsg{Kind: DevVoteInfoReply, Seq: lastVoteSeq(got, 4)})
	if got := d.out(); strings.Count(got, "vote=ACK") != 2 || !strings.Contains(got, "1:vote_info") || !strings.Contains(got, "2:vote_info") {
		t.Fatalf("ACKs to the winners:\n%s", got)
	}
}

// TestArbiterDeadPeer: a client that sends nothing for 1.5 heartbeats is
// dropped, and ffsplit re-decides among the others.
func TestArbiterDeadPeer(t *testing.T) {
	d := newArbDriver(t)
	cfg := ids(1, 2)
	d.join(1, AlgorithmFFSplit, TieBreaker{}, cfg)
	d.join(2, AlgorithmFFSplit, TieBreaker{}, cfg)
	r := RingID{Rep: 1, Seq: 4}
	d.send(1, DevMsg{Kind: DevMembership, Ring: r, Nodes: cfg})
	d.send(2, DevMsg{Kind: DevMembership, Ring: r, Nodes: cfg})
	d.out()
	d.now = wire.Instant(8 * time.Second)
	d.send(1, DevMsg{Kind: DevEcho})
	d.out()
	if dl := d.a.Ready().Deadline; dl != wire.Instant(12*time.Second) {
		t.Fatalf("deadline %v, want 12s (client 2's DPD)", dl)
	}
	d.now = wire.Instant(12 * time.Second)
	d.a.Advance(d.now)
	if got := d.out(); !strings.Contains(got, "2:close") {
		t.Fatalf("client 2 not dropped:\n%s", got)
	}
	if got := d.a.Clients(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("clients %v", got)
	}
}

// TestArbiterInitChecks: bad node lists and a second algorithm are refused.
func TestArbiterInitChecks(t *testing.T) {
	d := newArbDriver(t)
	d.join(1, AlgorithmFFSplit, TieBreaker{}, ids(2, 3))
	if got := d.out(); !strings.Contains(got, "invalid_node_list") || !strings.Contains(got, "1:close") {
		t.Errorf("config without the client: %s", got)
	}
	d.join(1, AlgorithmFFSplit, TieBreaker{}, ids(1, 2))
	d.join(2, AlgorithmLMS, TieBreaker{}, ids(1, 2))
	if got := d.out(); !strings.Contains(got, "unsupported_algorithm") || !strings.HasPrefix(got, "1:init_reply") {
		t.Errorf("mixed algorithms: %s", got)
	}
	d.a.Receive(d.now, 7, []byte{1})
	d.send(1, DevMsg{Kind: DevMembership, Ring: RingID{Rep: 1, Seq: 4}, Nodes: ids(2)})
	if d.a.Stats().Dropped != 2 {
		t.Errorf("dropped %d", d.a.Stats().Dropped)
	}
}

// TestArbiterLMSNewcomer: with lms, a client of a new partition gets NACK
// while another partition holds ACK; the tie-breaker decides equal halves.
func TestArbiterLMSNewcomer(t *testing.T) {
	d := newArbDriver(t)
	cfg := ids(1, 2)
	d.join(1, AlgorithmLMS, TieBreaker{Mode: TieBreakerHighest}, cfg)
	d.send(1, DevMsg{Kind: DevMembership, Ring: RingID{Rep: 1, Seq: 4}, Nodes: ids(1)})
	d.out()
	d.now = wire.Instant(2 * time.Second)
	d.a.Advance(d.now)
	if got := d.out(); !strings.Contains(got, "1:vote_info seq=1 ring=1.4 vote=ACK") {
		t.Fatalf("single partition: %s", got)
	}
	// Node 2 boots in its own ring: a newcomer while node 1 holds ACK.
	d.a.Connect(d.now, 2)
	d.send(2, DevMsg{Kind: DevInit, NodeID: 2, Algorithm: AlgorithmLMS, TieBreaker: TieBreaker{Mode: TieBreakerHighest},
		Heartbeat: 8 * time.Second, Ring: RingID{Rep: 2, Seq: 4}, Nodes: cfg})
	d.send(2, DevMsg{Kind: DevMembership, Ring: RingID{Rep: 2, Seq: 4}, Nodes: ids(2)})
	if got := d.out(); !strings.Contains(got, "2:reply seq=4 to=membership ring=2.4 vote=NACK") {
		t.Fatalf("newcomer: %s", got)
	}
	// Node 1 re-asks (quorum list): equal score and size, tie-breaker
	// highest is node 2, so node 1 now gets NACK.
	d.send(1, DevMsg{Kind: DevQuorum, Quorate: true, Nodes: ids(1)})
	if got := d.out(); !strings.Contains(got, "to=quorum ring=1.4 vote=NACK") {
		t.Fatalf("tie-breaker: %s", got)
	}
}

// lastVoteSeq finds the seq of the last vote_info to node in out.
func lastVoteSeq(out string, node wire.NodeID) uint32 {
	var seq uint32
	for _, l := range strings.Split(out, "\n") {
		var n wire.NodeID
		var s uint32
		if _, err := fmt.Sscanf(l, "%d:vote_info seq=%d", &n, &s); err == nil && n == node {
			seq = s
		}
	}
	return seq
}
