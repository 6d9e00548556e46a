package store

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

type ids = []wire.NodeID

// settled returns a scripted cluster of n nodes, formed, quorate and idle.
func settled(t *testing.T, n int) *cluster {
	c := newCluster(t, n, nil, nil)
	c.settle()
	return c
}

func wantErr(t *testing.T, h *hop, want error) {
	t.Helper()
	if h.res == nil {
		t.Fatalf("%s %q on node %d: no result, want %v", h.kind, h.key, h.node, want)
	}
	if !errors.Is(h.res.Err, want) {
		t.Fatalf("%s %q on node %d: %v, want %v", h.kind, h.key, h.node, h.res.Err, want)
	}
}

func wantValue(t *testing.T, c *cluster, id wire.NodeID, key, value string) {
	t.Helper()
	e, ok := c.node(id).s.Get(key)
	if value == "" && ok || value != "" && (!ok || !bytes.Equal(e.Value, []byte(value))) {
		t.Fatalf("node %d %q = %q (present %v), want %q", id, key, e.Value, ok, value)
	}
}

// TestWriteAckedOnlyWhenEveryMemberConfirmed: the writer's own delivery is
// not enough (pmxcfs would answer there, §2 step 4); the Result comes with
// the last member's confirmation.
func TestWriteAckedOnlyWhenEveryMemberConfirmed(t *testing.T) {
	c := settled(t, 3)
	h := c.put(2, "storage.cfg", "dir: local")
	cp := c.node(1).comp
	c.deliverOne(cp) // the write: applied everywhere
	for _, id := range c.ids {
		wantValue(t, c, id, "storage.cfg", "dir: local")
	}
	for len(cp.queue) > 1 {
		c.deliverOne(cp)
		if h.res != nil {
			t.Fatalf("result before every member confirmed (%d confirmations to go)", len(cp.queue))
		}
	}
	c.deliverOne(cp)
	wantErr(t, h, nil)
	if h.res.Version != 1 || h.res.Revision != 1 || !h.res.Found {
		t.Fatalf("result %+v, want version 1", h.res)
	}
	c.finalHeal()
	c.checkFinal()
	c.report(t, "final")
}

// TestInquorateNodeRefusesAtOnce: no quorum, no write, no ordered read;
// local reads still answer (pmxcfs.md §2 step 2, §7).
func TestInquorateNodeRefusesAtOnce(t *testing.T) {
	c := settled(t, 3)
	c.put(1, "k", "v1")
	c.settle()
	c.partition(ids{1, 2}, ids{3})
	c.settle()
	for _, h := range []*hop{
		c.put(3, "k", "v2"),
		c.op(3, OpDelete, "k", nil, 0, "", 0),
		c.op(3, OpCAS, "k", []byte("v2"), 1, "", 0),
		c.op(3, OpLock, "lock", nil, 0, "h", time.Second),
		c.read(3, "k"),
	} {
		wantErr(t, h, ErrReadOnly)
	}
	wantValue(t, c, 3, "k", "v1")
	c.report(t, "refusals")
}

// TestMinorityOverwrittenOnMerge: the majority keeps writing; the minority
// keeps running, serves stale local reads, and takes the majority's state
// wholesale at the merge (pmxcfs.md §3.6).
func TestMinorityOverwrittenOnMerge(t *testing.T) {
	c := settled(t, 5)
	c.put(1, "k", "old")
	c.settle()
	c.partition(ids{1, 2, 3}, ids{4, 5})
	c.settle()
	acked := c.put(2, "k", "new")
	c.put(3, "other", "x")
	c.settle()
	wantErr(t, acked, nil)
	wantValue(t, c, 4, "k", "old")
	wantErr(t, c.read(5, "k"), ErrReadOnly)
	minority := c.node(4).s.Status()
	c.heal()
	c.settle()
	for _, id := range c.ids {
		wantValue(t, c, id, "k", "new")
		wantValue(t, c, id, "other", "x")
	}
	if st := c.node(4).s.Status(); !minority.Epoch.Less(st.Epoch) {
		t.Fatalf("minority epoch %s did not advance (now %s)", minority.Epoch, st.Epoch)
	}
	c.checkFinal()
	c.report(t, "merge")
}

// TestRestartedNodeRejoins: a node restarted from its persisted snapshot
// rejoins with its old state and converges.
func TestRestartedNodeRejoins(t *testing.T) {
	c := settled(t, 3)
	c.put(3, "a", "1")
	c.settle()
	c.crash(3)
	c.settle()
	c.put(1, "a", "2")
	c.put(2, "b", "3")
	c.settle()
	c.restart(3)
	c.settle()
	wantValue(t, c, 3, "a", "1") // its persisted state, alone and inquorate
	c.heal()
	c.settle()
	wantValue(t, c, 3, "a", "2")
	wantValue(t, c, 3, "b", "3")
	c.checkFinal()
	c.report(t, "rejoin")
}

// TestColdStartKeepsAckedWrites: every node crashes and boots again; the
// persisted snapshots carry every acknowledged write.
func TestColdStartKeepsAckedWrites(t *testing.T) {
	c := settled(t, 3)
	for i, k := range []string{"a", "b", "c"} {
		wantErr(t, c.wait(c.put(wire.NodeID(i+1), k, k+"1")), nil)
	}
	for _, id := range c.ids {
		c.crash(id)
	}
	c.finalHeal()
	for _, k := range []string{"a", "b", "c"} {
		wantValue(t, c, 2, k, k+"1")
	}
	c.checkFinal()
	c.report(t, "cold start")
}

// TestOrderedReadSeesAckedWrite: a read begun after a write was answered
// sees it, on any node of the quorate partition.
func TestOrderedReadSeesAckedWrite(t *testing.T) {
	c := settled(t, 3)
	w := c.put(1, "k", "v")
	c.settle()
	wantErr(t, w, nil)
	r := c.read(3, "k")
	c.settle()
	wantErr(t, r, nil)
	if !r.res.Found || string(r.res.Value) != "v" || r.res.Version != w.res.Version {
		t.Fatalf("read %+v after write %+v", r.res, w.res)
	}
	miss := c.read(2, "missing")
	c.settle()
	if wantErr(t, miss, nil); miss.res.Found {
		t.Fatal("found a key never written")
	}
	c.checkFinal()
	c.report(t, "reads")
}

// TestDeferredDuringSync: an operation delivered while the sync runs is
// held back and applied after it, in order, by every member.
func TestDeferredDuringSync(t *testing.T) {
	c := settled(t, 3)
	c.partition(ids{1, 2}, ids{3})
	c.settle()
	c.put(1, "k", "v")
	c.settle()
	c.heal() // node 3 lags: a transfer follows the states
	h := c.put(3, "k2", "w")
	c.settle()
	wantErr(t, h, nil)
	if c.node(1).s.Stats().Deferred == 0 {
		t.Fatal("the write was not held back during the sync")
	}
	for _, id := range c.ids {
		wantValue(t, c, id, "k2", "w")
	}
	c.checkFinal()
	c.report(t, "deferred")
}

// TestWriteInFlightAtPartition: the writer's group delivers its write in
// the old regular configuration, the majority never gets it. The writer
// cannot know whether it will survive: ErrIndeterminate; the majority's
// state wins and the write is gone.
func TestWriteInFlightAtPartition(t *testing.T) {
	c := settled(t, 3)
	c.least = true
	h := c.put(3, "k", "lost")
	c.partition(ids{1, 2}, ids{3})
	c.settle()
	wantErr(t, h, ErrIndeterminate)
	wantValue(t, c, 3, "k", "lost")
	wantValue(t, c, 1, "k", "")
	c.put(1, "k2", "x")
	c.settle()
	c.least = false
	c.heal()
	c.settle()
	wantValue(t, c, 3, "k", "")
	c.checkFinal()
	c.report(t, "in flight")
}

// TestTransitionalDeliveryRefused: a write that reaches its group only in
// the transitional configuration is applied nowhere.
func TestTransitionalDeliveryRefused(t *testing.T) {
	c := settled(t, 3)
	c.least = true
	c.put(1, "first", "a") // node 3's group misses this one: a gap
	h := c.put(3, "k", "v")
	before := c.node(3).s.Stats().Refused
	c.partition(ids{1, 2}, ids{3})
	c.settle()
	wantErr(t, h, ErrIndeterminate)
	if c.node(3).s.Stats().Refused != before+1 {
		t.Fatal("node 3 did not refuse its write in the transitional configuration")
	}
	for _, id := range c.ids {
		wantValue(t, c, id, "k", "")
	}
	c.least = false
	c.finalHeal()
	c.checkFinal()
	c.report(t, "transitional")
}

// TestVerdictIsAgreed: one member loses quorum (its qdevice vote, say);
// once its verdict is delivered every member refuses writes alike, though
// the others' own flags still say quorate.
func TestVerdictIsAgreed(t *testing.T) {
	c := settled(t, 3)
	x := c.node(3)
	x.inquorate = true
	c.tellVerdict(x)
	h := c.put(1, "k", "v")
	c.settle()
	wantErr(t, h, ErrReadOnly)
	for _, id := range c.ids {
		if c.node(id).s.Status().Writable {
			t.Fatalf("node %d still writable", id)
		}
	}
	x.inquorate = false
	c.tellVerdict(x)
	h = c.put(1, "k", "v")
	c.settle()
	wantErr(t, h, nil)
	c.checkFinal()
	c.report(t, "agreed")
}

// TestStaleVerdictNotCarried: a verdict belongs to one ring. After a
// membership change a node that was quorate is read-only until it hears
// its verdict for the new ring, and the ring is not writable before every
// member's verdict is delivered.
func TestStaleVerdictNotCarried(t *testing.T) {
	c := settled(t, 3)
	c.autoVer = false
	c.partition(ids{1, 2}, ids{3})
	s := c.node(1).s
	if _, err := s.Put(c.now, "k", nil); err != ErrReadOnly {
		t.Fatalf("Put before the new ring's verdict: %v, want ErrReadOnly", err)
	}
	c.deliverAll()
	if st := s.Status(); st.Phase != PhaseSynced || st.Writable {
		t.Fatalf("synced ring without verdicts: %+v", st)
	}
	c.tellVerdict(c.node(1))
	c.deliverAll()
	h := c.put(1, "k", "v") // node 2's verdict is still owed: held back
	c.deliverAll()
	if h.res != nil || s.Status().Writable {
		t.Fatal("writable before every member's verdict")
	}
	c.tellVerdict(c.node(2))
	c.deliverAll()
	wantErr(t, h, nil)
	c.finalHeal()
	c.checkFinal()
	c.report(t, "verdicts")
}

// TestLockLifecycle: take, refuse another holder, renew (restarts the
// clock), expire through the lowest member's Unlock, take again.
func TestLockLifecycle(t *testing.T) {
	c := settled(t, 3)
	const key = "priv/lock/file-storage_cfg"
	ttl := 100 * time.Millisecond
	wantErr(t, c.wait(c.op(2, OpLock, key, nil, 0, "node2", ttl)), nil)
	wantErr(t, c.wait(c.op(3, OpLock, key, nil, 0, "node3", ttl)), ErrLocked)
	c.advance(60 * time.Millisecond)
	wantErr(t, c.wait(c.op(2, OpLock, key, nil, 0, "node2", ttl)), nil) // renewal
	c.advance(90 * time.Millisecond)                                    // 150 ms after taking, 90 after renewing
	c.settle()
	if _, ok := c.node(3).s.Get(key); !ok {
		t.Fatal("lock expired before its renewed ttl")
	}
	if dl := c.node(1).s.Ready().Deadline; dl == 0 || dl > c.now.Add(20*time.Millisecond) {
		t.Fatalf("lowest member's deadline %v, now %v", dl, c.now)
	}
	c.node(1).s.Ack()
	c.advance(20 * time.Millisecond)
	c.settle()
	for _, id := range c.ids {
		if _, ok := c.node(id).s.Get(key); ok {
			t.Fatalf("node %d still holds the expired lock", id)
		}
	}
	wantErr(t, c.wait(c.op(3, OpLock, key, nil, 0, "node3", ttl)), nil)
	wantErr(t, c.wait(c.op(1, OpDelete, key, nil, 0, "", 0)), nil) // release
	c.checkFinal()
	c.report(t, "lock")
}

// TestUnlockLosesToRenewal: a renewal ordered before the Unlock keeps the
// lock: the Unlock names the version it saw expire.
func TestUnlockLosesToRenewal(t *testing.T) {
	c := settled(t, 3)
	const key = "priv/lock/vm100"
	wantErr(t, c.wait(c.op(2, OpLock, key, nil, 0, "h", 10*time.Millisecond)), nil)
	c.op(2, OpLock, key, nil, 0, "h", 10*time.Millisecond) // renewal, queued first
	c.advance(20 * time.Millisecond)                       // node 1 queues its Unlock after it
	c.settle()
	e, ok := c.node(1).s.Get(key)
	if !ok || e.Holder != "h" {
		t.Fatal("the stale Unlock removed a renewed lock")
	}
	c.checkFinal()
	c.report(t, "renewal")
}

// TestForcedSplitBrain documents pmxcfs.md §3.6: with quorum forced on
// both sides both write, and one side's state wins wholesale at the merge
// (here the higher epoch); the other side's acknowledged writes are gone,
// which the checkers duly report.
func TestForcedSplitBrain(t *testing.T) {
	c := settled(t, 3)
	c.node(3).forceYes = true
	c.partition(ids{1, 2}, ids{3})
	c.settle()
	wantErr(t, c.wait(c.put(1, "k", "majority")), nil)
	wantErr(t, c.wait(c.put(3, "k", "forced")), nil)
	winner := c.node(1).s.Status().Epoch
	if e3 := c.node(3).s.Status().Epoch; winner.Less(e3) {
		winner = e3
	}
	c.node(3).forceYes = false
	c.heal()
	c.settle()
	if got := c.node(2).s.Status().Epoch; got.Less(winner) {
		t.Fatalf("merged epoch %s older than the newer side's %s", got, winner)
	}
	c.checkFinal()
	lost := 0
	for _, e := range c.errs {
		if strings.HasPrefix(e, "acked write lost") {
			lost++
		}
	}
	if lost != 1 || len(c.errs) != 1 {
		t.Fatalf("want exactly the losing side's write reported lost, got %v", c.errs)
	}
}

// TestCanaryAckOnApplyScripted: pmxcfs's acknowledgement rule loses a
// write when the writer alone delivered it and crashed (§7, last row);
// the store's rule answers nothing and loses nothing acknowledged.
func TestCanaryAckOnApplyScripted(t *testing.T) {
	run := func(plant func(*Store)) *cluster {
		c := newCluster(t, 3, nil, plant)
		c.settle()
		c.least = true
		c.put(1, "k", "v")
		c.crashAlone(1, 1)
		c.settle()
		c.put(2, "k2", "after")
		c.settle()
		c.least = false
		c.finalHeal()
		c.checkFinal()
		return c
	}
	if c := run(nil); len(c.errs) != 0 {
		c.report(t, "correct store")
	}
	c := run(func(s *Store) { s.bugAckOnApply = true })
	if len(c.errs) == 0 || !strings.HasPrefix(c.errs[0], "acked write lost") {
		t.Fatalf("the checkers missed the ack-on-apply canary: %v", c.errs)
	}
}
