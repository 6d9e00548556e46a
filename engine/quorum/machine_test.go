package quorum

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// recordT captures Errorf/Fatalf so a test can assert that a checker fired.
type recordT struct {
	testing.TB
	errs []string
}

func (r *recordT) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordT) Fatalf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// splitBrainRun splits a 5-node cluster 3|2 with every node carrying the
// given canary knobs and returns what the split-brain checker reported.
func splitBrainRun(t *testing.T, knobs canaryKnobs) []string {
	rec := &recordT{TB: t}
	h := newHarness(rec, 5, nil)
	h.checks = append(h.checks, checkNoSplitBrain)
	h.boot(ids(1, 2, 3, 4, 5)...)
	for _, q := range h.nodes {
		q.canary = knobs
	}
	h.run(time.Second)
	h.partition(ids(1, 2, 3), ids(4, 5))
	h.run(time.Second)
	return rec.errs
}

// TestCanarySplitBrain plants a bug (sync_init forgets to mark departed
// members DEAD, so the minority keeps counting their votes) and expects the
// split-brain checker to catch it; without the bug the checker is silent.
func TestCanarySplitBrain(t *testing.T) {
	if errs := splitBrainRun(t, canaryKnobs{}); len(errs) != 0 {
		t.Fatalf("checker fired without the planted bug: %v", errs)
	}
	errs := splitBrainRun(t, canaryKnobs{skipDeadMarking: true})
	if len(errs) == 0 || !strings.Contains(errs[0], "split brain") {
		t.Fatalf("checker missed the planted bug: %v", errs)
	}
}

// TestDeterminism runs the same qdevice scenario twice and compares the
// full traces.
func TestDeterminism(t *testing.T) {
	run := func() string {
		h := newHarness(t, 4, withDevice(AlgorithmFFSplit, 1))
		h.traceAll = true
		h.boot(ids(1, 2, 3, 4)...)
		h.run(20 * time.Second)
		h.partition(ids(1, 2), ids(3, 4))
		h.run(40 * time.Second)
		h.setArbiter(false)
		h.fail(4)
		h.run(60 * time.Second)
		return h.flushTrace() + h.status()
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("two runs differ:\n%s\n---\n%s", a, b)
	}
}

// TestOddInput feeds forged and out-of-place input: everything is dropped,
// counted and reported, nothing changes the numbers.
func TestOddInput(t *testing.T) {
	q, err := New(Config{Self: 1, Nodes: []NodeConfig{{ID: 1}, {ID: 2}, {ID: 3}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	q.Configuration(0, RingID{Rep: 1, Seq: 4}, ids(1, 2))
	q.Ack()
	before := q.Status()
	inputs := []struct {
		from wire.NodeID
		b    []byte
	}{
		{2, []byte{0xff}},
		{2, AppendMessage(nil, NodeInfo{NodeID: 3, Votes: 9, ExpectedVotes: 9})},   // for another node
		{3, AppendMessage(nil, NodeInfo{NodeID: 3, Votes: 9, ExpectedVotes: 9})},   // from a non-member
		{2, AppendMessage(nil, NodeInfo{NodeID: 0, Votes: 9})},                     // device before the sender
		{2, AppendMessage(nil, SyncBarrier{Ring: RingID{Rep: 9, Seq: 1}})},         // another ring
		{2, append(AppendMessage(nil, Reconfigure{Param: ParamExpectedVotes}), 0)}, // trailing byte
	}
	for _, in := range inputs {
		q.Deliver(wire.Instant(time.Second), in.from, in.b)
	}
	q.Configuration(0, RingID{Rep: 2, Seq: 8}, ids(2, 3)) // without this node
	q.ArbiterReceive(0, []byte{1, 2, 3})                  // no device
	if got := q.Stats().Dropped; got != uint64(len(inputs))+2 {
		t.Errorf("dropped %d, want %d", got, len(inputs)+2)
	}
	evs := q.Ready().Events
	for _, e := range evs {
		if e.Kind != EventDropped {
			t.Errorf("unexpected event %v", e)
		}
	}
	if after := q.Status(); after.String() != before.String() {
		t.Errorf("status changed:\n%v\n%v", before, after)
	}
}

// TestSetVotes covers corosync-quorumtool -v.
func TestSetVotes(t *testing.T) {
	h := newHarness(t, 3, nil)
	h.boot(1, 2, 3)
	h.run(time.Second)
	if err := h.node(1).SetVotes(h.now, 9, 1); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
	if err := h.node(1).SetVotes(h.now, 2, 3); err != nil {
		t.Fatal(err)
	}
	h.pump(0)
	h.run(time.Second)
	if st := h.node(3).Status(); st.TotalVotes != 5 || st.ExpectedVotes != 5 || st.Quorum != 3 {
		t.Errorf("after votes 2→3: %v", st)
	}
	// A lone node of the cluster cannot give itself a vote that leaves
	// Quorum above its total.
	h.partition(ids(1), ids(2, 3))
	h.run(time.Second)
	if err := h.node(1).SetVotes(h.now, 1, 2); !errors.Is(err, ErrInvalidParam) {
		t.Errorf("lone node votes 2: %v\n%s", err, h.status())
	}
}

// TestReload covers a configuration reload with a smaller nodelist and
// two_node switched on.
func TestReload(t *testing.T) {
	h := newHarness(t, 3, nil)
	h.boot(1, 2, 3)
	h.run(time.Second)
	h.fail(3)
	h.run(time.Second)
	for _, id := range ids(1, 2) {
		cfg := h.cfgs[h.pos(id)]
		cfg.Nodes = cfg.Nodes[:2]
		cfg.TwoNode = true
		if err := h.node(id).Reload(h.now, cfg); err != nil {
			t.Fatal(err)
		}
		h.pump(h.pos(id))
	}
	h.run(time.Second)
	st := h.node(1).Status()
	if st.ExpectedVotes != 2 || st.Quorum != 1 || !st.Quorate || strings.Join(st.Flags, " ") != "2Node Quorate WaitForAll" {
		t.Errorf("after reload: %v", st)
	}
	if err := h.node(1).Reload(h.now, Config{Self: 2, Nodes: h.cfgs[0].Nodes}); !errors.Is(err, ErrBadNode) {
		t.Errorf("reload as another node: %v", err)
	}
	if err := h.node(1).Reload(h.now, Config{Self: 1}); !errors.Is(err, ErrNoNodelist) {
		t.Errorf("reload without nodelist: %v", err)
	}
}

// TestDeviceStopped: a dead qdevice daemon stops polling; votequorum
// declares it dead after quorum.device.timeout (NA,NV) and the node loses
// the device's vote; a restarted daemon brings it back.
func TestDeviceStopped(t *testing.T) {
	h := newHarness(t, 2, withDevice(AlgorithmFFSplit, 1))
	h.boot(1, 2)
	h.run(20 * time.Second)
	h.node(1).StopDevice(h.now)
	h.pump(0)
	h.run(20 * time.Second)
	st := h.node(1).Status()
	if st.TotalVotes != 2 || st.Nodes[0].Qdevice() != "NA,NV,NMW" || !strings.Contains(h.flushTrace(), "n1: qdevice_lost") {
		t.Errorf("after stop: %v", st)
	}
	if got := h.node(2).Status().Nodes[0].Qdevice(); got != "NA,NV,NMW" {
		t.Errorf("node 2 sees node 1 as %s", got)
	}
	h.node(1).StartDevice(h.now)
	h.pump(0)
	h.run(20 * time.Second)
	if st := h.node(1).Status(); st.TotalVotes != 3 || st.Nodes[0].Qdevice() != "A,V,NMW" {
		t.Errorf("after restart: %v", st)
	}
}

// TestMasterWins: with master_wins forced on, the flag is announced and a
// node whose partition holds a casting master is quorate regardless of
// the count (are_we_quorate).
func TestMasterWins(t *testing.T) {
	h := newHarness(t, 2, func(c *Config) {
		c.Device = &DeviceConfig{Votes: 1, MasterWins: true}
	})
	h.boot(1, 2)
	h.run(20 * time.Second)
	if got := h.node(2).Status().Nodes[0].Qdevice(); got != "A,V,MW" {
		t.Errorf("node 1 seen from node 2: %s", got)
	}
	r := AreWeQuorate(QuorateInput{Quorum: 3, TotalVotes: 1, ExpectedVotes: 4, MasterWins: true})
	if !r.Quorate {
		t.Errorf("master wins: %+v", r)
	}
}

// TestStatusLines checks the exact "Quorum:" and "Flags:" values and the
// qdevice row of status-output.md §3 and §4.
func TestStatusLines(t *testing.T) {
	h := newHarness(t, 2, withDevice(AlgorithmFFSplit, 1))
	h.boot(1, 2)
	h.run(20 * time.Second)
	h.partition(ids(1), ids(2))
	h.run(40 * time.Second)
	s1, s2 := h.node(1).Status(), h.node(2).Status()
	checks := []struct{ got, want string }{
		{s1.QuorumLine(), "2  "},
		{s1.FlagsLine(), "Quorate Qdevice "},
		{s2.QuorumLine(), "2 Activity blocked"},
		{s2.FlagsLine(), "Qdevice "},
		{fmt.Sprintf("%d %s", s1.Device.RowVotes(), s1.Device.Name), "1 Qdevice"},
		{fmt.Sprint(s2.Device.RowVotes(), s2.Device.Votes), "0 1"},
		{s2.Nodes[0].Qdevice(), "A,NV,NMW"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	if !s1.ShowQdevice || len(s2.Members) != 1 {
		t.Errorf("status: %+v", s2)
	}
	q, _ := New(Config{Self: 3, Nodes: []NodeConfig{{ID: 1}, {ID: 2}, {ID: 3}}}, 0)
	if st := q.Status(); st.FlagsLine() != "" || st.QuorumLine() != "2 Activity blocked" {
		t.Errorf("lone node: %q %q", st.FlagsLine(), st.QuorumLine())
	}
}

// TestEnumStrings covers the String methods, including unknown values.
func TestEnumStrings(t *testing.T) {
	got := strings.Join([]string{
		NodeMember.String(), NodeState(9).String(), AlgorithmLMS.String(), Algorithm(7).String(),
		TieBreaker{Mode: TieBreakerNodeID, Node: 3}.String(), TieBreakerMode(9).String(), ATBList.String(), ATBMode(9).String(),
		MsgNodeInfo.String(), MsgKind(99).String(), ParamCancelWFA.String(), ReconfigParam(9).String(),
		QdeviceRegister.String(), QdeviceOp(9).String(), VoteACK.String(), Vote(99).String(),
		DevVoteInfo.String(), DevKind(99).String(), InitUnsupportedAlgorithm.String(), InitError(9).String(),
		EventQuorate.String(), EventKind(99).String(), (FlagQuorate | FlagQdeviceAlive | 1<<10).String(), NodeFlags(0).String(),
		RingID{Rep: 1, Seq: 0x1c}.String(),
	}, " ")
	want := "Member NodeState(9) lms Algorithm(7) 3 TieBreakerMode(9) list ATBMode(9) " +
		"NODEINFO MsgKind(99) cancel_wfa ReconfigParam(9) register QdeviceOp(9) ACK Vote(99) " +
		"vote_info DevKind(99) unsupported_algorithm InitError(9) quorate EventKind(99) quorate|qdev_alive|0x400 - 1.1c"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestDeviceStream drives one node's qdevice stream by hand: dial, init,
// refusal, stray input and a peer close.
func TestDeviceStream(t *testing.T) {
	q, err := New(Config{Self: 1, Nodes: []NodeConfig{{ID: 1}, {ID: 2}}, Device: &DeviceConfig{Votes: 1}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ring := RingID{Rep: 1, Seq: 4}
	q.Configuration(0, ring, ids(1))
	msgs := q.Ready().Multicast // NODEINFOs, the registration, the barrier
	q.Ack()
	for _, m := range msgs {
		q.Deliver(1, 1, m)
	}
	if ops := q.Ready().Arbiter; len(ops) != 1 || !ops[0].Dial {
		t.Fatalf("want a dial, got %+v", ops)
	}
	for _, m := range q.Ready().Multicast {
		q.Deliver(1, 1, m)
	}
	q.Ack()
	q.ArbiterReceive(2, AppendDevMsg(nil, DevMsg{Kind: DevEchoReply})) // before connecting
	q.ArbiterConnected(2)
	init, err := DecodeDevMsg(q.Ready().Arbiter[0].Payload)
	if err != nil || init.Kind != DevInit || init.Ring != ring || len(init.Nodes) != 2 {
		t.Fatalf("init: %v %v", init, err)
	}
	q.Ack()
	q.ArbiterConnected(3)                                                            // not dialing: ignored
	q.ArbiterReceive(3, AppendDevMsg(nil, DevMsg{Kind: DevVoteInfo, Vote: VoteACK})) // before the init reply
	q.ArbiterReceive(3, AppendDevMsg(nil, DevMsg{Kind: DevInitReply, Error: InitUnsupportedAlgorithm}))
	rd := q.Ready()
	if len(rd.Arbiter) != 1 || !rd.Arbiter[0].Hangup || q.Stats().Dropped != 2 {
		t.Fatalf("refused init: %+v dropped=%d", rd.Arbiter, q.Stats().Dropped)
	}
	q.Ack()
	// Redial after the reconnect delay, then a proper session closed by the peer.
	q.Advance(wire.Instant(10 * time.Second))
	q.ArbiterConnected(wire.Instant(10 * time.Second))
	q.ArbiterReceive(wire.Instant(10*time.Second), AppendDevMsg(nil, DevMsg{Kind: DevInitReply}))
	q.ArbiterReceive(wire.Instant(10*time.Second), AppendDevMsg(nil, DevMsg{Kind: DevEcho}))
	q.ArbiterClosed(wire.Instant(11 * time.Second))
	var kinds []string
	for _, e := range q.Ready().Events {
		kinds = append(kinds, e.Kind.String())
	}
	if got := strings.Join(kinds, " "); !strings.HasSuffix(got, "arbiter_up dropped arbiter_down") {
		t.Errorf("events: %s", got)
	}
}
