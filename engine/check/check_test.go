package check

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/quorate/quorate/engine/wire"
)

// A tiny language for hand-made histories: each process is a list of
// items "R1.4:1,2,3" (regular ring rep 1 seq 4 with members), "T:1,2"
// (transitional), "m1:7@1.4/3" (workload message from node 1 counter 7,
// sequenced on ring 1.4 with seq 3), "s1.4/2" (other agreed traffic,
// sequenced on ring 1.4 with seq 2); a seq "3+1" is part 1 of the
// messages packed at seq 3.
func hist(t *testing.T, procs map[string][]string) *History {
	t.Helper()
	h := &History{}
	names := []string{"n1", "n2", "n3"}
	parsed := map[string][]Delivery{}
	for _, name := range names {
		for _, it := range procs[name] {
			parsed[name] = append(parsed[name], parseItem(t, it))
		}
	}
	var ps []*Process
	for i, name := range names {
		if _, ok := procs[name]; !ok {
			continue
		}
		p := &Process{Node: wire.NodeID(i + 1), Name: name}
		h.Attach(p)
		ps = append(ps, p)
	}
	// Every workload message is recorded as multicast by its origin, as
	// the simulator records it, before any delivery.
	for _, name := range names {
		for _, d := range parsed[name] {
			if d.Kind == KindMsg && d.ID != 0 {
				origin := wire.NodeID(d.ID >> 40)
				for _, q := range ps {
					if q.Node == origin {
						h.Sent.Add(d.ID, SentMsg{Proc: q})
					}
				}
			}
		}
	}
	for _, p := range ps {
		for _, d := range parsed[p.Name] {
			p.Add(d)
		}
	}
	return h
}

func parseItem(t *testing.T, s string) Delivery {
	var d Delivery
	place := placeOf(t)
	ring := func(r string) RingRef {
		var rep, seq uint64
		parts := strings.Split(r, ".")
		rep = mustU(t, parts[0])
		seq = mustU(t, parts[1])
		return RingRef{Rep: wire.NodeID(rep), Seq: seq}
	}
	members := func(m string) []wire.NodeID {
		var out []wire.NodeID
		for _, x := range strings.Split(m, ",") {
			out = append(out, wire.NodeID(mustU(t, x)))
		}
		return out
	}
	switch s[0] {
	case 'R':
		r, m, _ := strings.Cut(s[1:], ":")
		d = Delivery{Kind: KindRegular, Ring: ring(r), Members: members(m)}
	case 'T':
		d = Delivery{Kind: KindTrans, Members: members(s[2:])}
	case 's': // other agreed traffic (no workload id): "s1.4/3"
		r, seq, _ := strings.Cut(s[1:], "/")
		d = Delivery{Kind: KindMsg, Ring: ring(r)}
		d.Seq, d.Part = place(seq)
	case 'm':
		idPart, rest, _ := strings.Cut(s[1:], "@")
		from, ctr, _ := strings.Cut(idPart, ":")
		r, seq, _ := strings.Cut(rest, "/")
		d = Delivery{Kind: KindMsg, ID: mustU(t, from)<<40 | mustU(t, ctr), Sender: wire.NodeID(mustU(t, from)), Ring: ring(r)}
		d.Seq, d.Part = place(seq)
	}
	return d
}

// placeOf parses "3" (seq 3) or "3+1" (seq 3, part 1).
func placeOf(t *testing.T) func(string) (uint32, uint16) {
	return func(s string) (uint32, uint16) {
		seq, part, ok := strings.Cut(s, "+")
		if !ok {
			return uint32(mustU(t, seq)), 0
		}
		return uint32(mustU(t, seq)), uint16(mustU(t, part))
	}
}

func mustU(t *testing.T, s string) uint64 {
	var v uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		v = v*10 + uint64(c-'0')
	}
	return v
}

func TestCheckersPassOnAGoodHistory(t *testing.T) {
	good := hist(t, map[string][]string{
		"n1": {"R1.4:1,2,3", "m1:1@1.4/1", "m2:1@1.4/2", "T:1,2", "m3:1@1.4/3", "R1.8:1,2", "m1:2@1.8/1"},
		"n2": {"R1.4:1,2,3", "m1:1@1.4/1", "m2:1@1.4/2", "T:1,2", "m3:1@1.4/3", "R1.8:1,2", "m1:2@1.8/1"},
		"n3": {"R1.4:1,2,3", "m1:1@1.4/1", "m2:1@1.4/2", "m3:1@1.4/3", "T:3", "R3.8:3"},
	})
	packed := hist(t, map[string][]string{
		"n1": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/1+1", "s1.4/1+2", "m2:1@1.4/2", "m1:3@1.4/3"},
		"n2": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/1+1", "s1.4/1+2", "m2:1@1.4/2", "m1:3@1.4/3"},
	})
	for _, h := range []*History{good, packed} {
		for name, r := range map[string]CheckResult{
			"integrity": CheckIntegrity(h), "agreement": CheckAgreement(h), "total order": CheckTotalOrder(h),
			"virtual synchrony": CheckVirtualSynchrony(h), "gaps": CheckGaps(h), "self-delivery": CheckSelfDelivery(h, 1<<62),
		} {
			if !r.OK {
				t.Errorf("%s failed on a good history: %s", name, r.Detail)
			}
		}
	}
}

// Each checker must be able to fail: a bad history per property.
func TestCheckersCatchViolations(t *testing.T) {
	tests := []struct {
		name  string
		check func(*History) CheckResult
		procs map[string][]string
		want  string
	}{
		{"reordered messages", CheckTotalOrder, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m2:1@1.4/2"},
			"n2": {"R1.4:1,2", "m2:1@1.4/2", "m1:1@1.4/1"},
		}, "total order: n2#0 delivered message 1:1 (ring 1.4 seq 1) after message 2:1"},
		{"order broken through a third message", CheckTotalOrder, map[string][]string{
			"n1": {"R1.4:1,2,3", "m1:1@1.4/1", "m3:1@1.4/2", "m2:1@1.4/3"},
			"n2": {"R1.4:1,2,3", "m2:1@1.4/3", "m1:1@1.4/1"},
		}, "total order"},
		{"duplicate", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:1@1.4/1"},
		}, "no duplication"},
		{"created", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:1", "m2:9@1.4/1"},
		}, "no creation"},
		{"configuration without self", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:2,3"},
		}, "self-inclusion"},
		{"ring id going back", CheckIntegrity, map[string][]string{
			"n1": {"R1.8:1", "R1.4:1"},
		}, "monotonicity"},
		{"transitional outside the new ring", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:1,2", "T:1,2", "R1.8:1"},
		}, "transitional"},
		{"different messages in one configuration", CheckVirtualSynchrony, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/2", "T:1,2", "R1.8:1,2"},
			"n2": {"R1.4:1,2", "m1:1@1.4/1", "T:1,2", "R1.8:1,2"},
		}, "delivered different messages in 1.4: only n1#0: 1:2; only n2#0: none"},
		{"same messages in another order in one configuration", CheckVirtualSynchrony, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/2", "T:1,2", "R1.8:1,2"},
			"n2": {"R1.4:1,2", "m1:2@1.4/2", "m1:1@1.4/1", "T:1,2", "R1.8:1,2"},
		}, "in different orders"},
		{"different member lists for one ring", CheckAgreement, map[string][]string{
			"n1": {"R1.4:1,2"},
			"n2": {"R1.4:1,2,3"},
		}, "membership agreement"},
		{"delivery skips a seq", CheckGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:2@1.4/3"},
		}, "gap"},
		{"other agreed traffic skips a seq", CheckGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "s1.4/2", "s1.4/4", "m1:2@1.4/5"},
		}, "seq 4 after seq 2"},
		{"packed parts reordered", CheckTotalOrder, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/1+1"},
			"n2": {"R1.4:1,2", "m1:2@1.4/1+1", "m1:1@1.4/1"},
		}, "delivered message 1:1 (ring 1.4 seq 1) after message 1:2 (ring 1.4 seq 1 part 1)"},
		{"a packed part skipped", CheckGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:3@1.4/1+2"},
		}, "delivered seq 1 part 2 after seq 1 on ring 1.4"},
		{"the next frame entered past its first part", CheckGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "s1.4/2+1"},
		}, "delivered seq 2 part 1 after seq 1"},
		{"one message at two parts", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1"},
			"n2": {"R1.4:1,2", "m1:1@1.4/1+1"},
		}, "at ring 1.4 seq 1, and by n2#0 at ring 1.4 seq 1 part 1: sequenced twice"},
		{"a packed message twice", CheckIntegrity, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:2@1.4/1+1", "m1:2@1.4/1+1"},
		}, "delivered message 1:2 twice (ring 1.4 seq 1 part 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check(hist(t, tt.procs))
			if r.OK || !strings.Contains(r.Detail, tt.want) {
				t.Fatalf("got ok=%v %q, want a failure mentioning %q", r.OK, r.Detail, tt.want)
			}
		})
	}
}

func TestSelfDeliveryCatchesLoss(t *testing.T) {
	h := hist(t, map[string][]string{"n1": {"R1.4:1,2"}, "n2": {"R1.4:1,2", "m2:1@1.4/1"}})
	h.Sent.Add(1<<40|5, SentMsg{Proc: h.Procs[0], At: 10})
	if r := CheckSelfDelivery(h, 100); r.OK || !strings.Contains(r.Detail, "self-delivery: n1#0") {
		t.Fatalf("lost own message not caught: %+v", r)
	}
	if r := CheckSelfDelivery(h, 5); !r.OK {
		t.Fatalf("a message sent after the settle instant was judged: %s", r.Detail)
	}
}

func TestRecordBytes(t *testing.T) {
	if n := unsafe.Sizeof(sentSlot{}); n != SentSlotBytes {
		t.Fatalf("a recorded workload message is %d bytes, SentSlotBytes says %d", n, SentSlotBytes)
	}
}

// TestDeliveredBeforeRecordedSent: a recording may list a delivery before
// its multicast (two clocks); the checks wait for the end to judge it.
func TestDeliveredBeforeRecordedSent(t *testing.T) {
	build := func(sendSeq uint32, record bool) *History {
		h := &History{}
		n1 := &Process{Node: 1, Name: "n1"}
		n2 := &Process{Node: 2, Name: "n2"}
		h.Attach(n1)
		h.Attach(n2)
		ring := RingRef{Rep: 1, Seq: 4}
		id := uint64(1)<<40 | 1
		for _, p := range []*Process{n1, n2} {
			p.Add(Delivery{Kind: KindRegular, Ring: ring, Members: []wire.NodeID{1, 2}})
		}
		n2.Add(Delivery{Kind: KindMsg, Ring: ring, Seq: 1, ID: id})
		n1.Add(Delivery{Kind: KindMsg, Ring: ring, Seq: 1, ID: id})
		if record {
			h.Sent.Add(id, SentMsg{Proc: n1, At: 5})
		}
		// A delivery after the record names the sequence number sendSeq.
		n2.Add(Delivery{Kind: KindMsg, Ring: ring, Seq: sendSeq, ID: id})
		return h
	}
	if r := CheckIntegrity(build(1, true)); !strings.Contains(r.Detail, "no duplication: n2#0 delivered message 1:1 twice") {
		t.Fatalf("a second delivery of a message: %+v", r)
	}
	h := build(2, true)
	if r := CheckIntegrity(h); r.OK || !strings.Contains(r.Detail, "sequenced twice") {
		t.Fatalf("a message at two sequence numbers, the first before its record: %+v", r)
	}
	if r := CheckSelfDelivery(h, 100); !r.OK {
		t.Fatalf("n1 delivered its message before the record of sending it: %s", r.Detail)
	}
	if r := CheckIntegrity(build(1, false)); r.OK || !strings.Contains(r.Detail, "no creation: n2#0 delivered message 1:1 that nobody sent") {
		t.Fatalf("a message never recorded as sent: %+v", r)
	}
}

// TestSentLogStaysFlat: a message is released once every member of its
// ring delivered it, so a long loaded run holds only what is in flight; the
// messages a crashed member never delivered move to the map and are still
// judged; a delivery of a released message is a duplicate.
func TestSentLogStaysFlat(t *testing.T) {
	h := &History{}
	ps := []*Process{{Node: 1, Name: "n1"}, {Node: 2, Name: "n2"}, {Node: 3, Name: "n3"}}
	for _, p := range ps {
		h.Attach(p)
	}
	r1, r2 := RingRef{Rep: 1, Seq: 4}, RingRef{Rep: 1, Seq: 8}
	for _, p := range ps {
		p.Add(Delivery{Kind: KindRegular, Ring: r1, Members: []wire.NodeID{1, 2, 3}})
	}
	const total = 20000
	ring, seq, most := r1, uint32(0), 0
	for c := uint64(1); c <= total; c++ {
		id := 1<<40 | c
		h.Sent.Add(id, SentMsg{Proc: ps[0]})
		if c == 11 { // n3 crashed after seq 4; n1 and n2 move on without it
			for _, p := range ps[:2] {
				p.Add(Delivery{Kind: KindTrans, Ring: r2, Members: []wire.NodeID{1, 2}})
				p.Add(Delivery{Kind: KindRegular, Ring: r2, Members: []wire.NodeID{1, 2}})
			}
			ps[2].End = 1
			ring, seq = r2, 0
		}
		seq++
		for _, p := range ps {
			if p.End == 0 && (p.Node != 3 || c <= 4) {
				p.Add(Delivery{Kind: KindMsg, Ring: ring, Seq: seq, ID: id})
			}
		}
		most = max(most, h.Sent.Held())
	}
	if most > releaseLag+8 {
		t.Fatalf("the log held up to %d messages, want about the lag (%d) at most", most, releaseLag)
	}
	if n := h.Sent.Held(); n != 6 {
		t.Fatalf("the log holds %d messages at the end, want the 6 n3 never delivered", n)
	}
	if h.Sent.Len() != total {
		t.Fatalf("Len %d, want every message recorded (%d)", h.Sent.Len(), total)
	}
	for name, r := range map[string]CheckResult{"integrity": CheckIntegrity(h), "total order": CheckTotalOrder(h),
		"virtual synchrony": CheckVirtualSynchrony(h), "gaps": CheckGaps(h), "self-delivery": CheckSelfDelivery(h, 1<<62)} {
		if !r.OK {
			t.Fatalf("%s: %s", name, r.Detail)
		}
	}
	// A message that moved to the map is still judged: here at another
	// sequence number than its first delivery.
	ps[1].Add(Delivery{Kind: KindMsg, Ring: r1, Seq: 99, ID: 1<<40 | 7})
	if r := CheckIntegrity(h); r.OK || !strings.Contains(r.Detail, "sequenced twice") {
		t.Fatalf("a kept message delivered at another place: %+v", r)
	}
	h2 := &History{}
	p := &Process{Node: 1, Name: "n1"}
	h2.Attach(p)
	p.Add(Delivery{Kind: KindRegular, Ring: r1, Members: []wire.NodeID{1}})
	h2.Sent.Add(1<<40|1, SentMsg{Proc: p})
	p.Add(Delivery{Kind: KindMsg, Ring: r1, Seq: 1, ID: 1<<40 | 1})
	p.Add(Delivery{Kind: KindMsg, Ring: r1, Seq: 2, ID: 1<<40 | 1})
	if r := CheckIntegrity(h2); r.OK || !strings.Contains(r.Detail, "after as many deliveries of it as its ring has members") {
		t.Fatalf("a released message delivered again: %+v", r)
	}
}

// TestVirtualSynchronyNamesOrCounts: a finding names the messages two
// processes disagree on while their segments are short, and falls back to
// counts once a segment passed segIDs messages.
func TestVirtualSynchronyNamesOrCounts(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{10, "only n1#0: 1:10; only n2#0: none"},
		{segIDs + 10, fmt.Sprintf("n1#0 delivered %d messages, the last 1:%d, n2#0 delivered %d messages, the last 1:%d", segIDs+10, segIDs+10, segIDs+9, segIDs+9)},
	} {
		h := &History{}
		n1, n2 := &Process{Node: 1, Name: "n1"}, &Process{Node: 2, Name: "n2"}
		h.Attach(n1)
		h.Attach(n2)
		r1, r2 := RingRef{Rep: 1, Seq: 4}, RingRef{Rep: 1, Seq: 8}
		both := []wire.NodeID{1, 2}
		for c := 1; c <= tc.n; c++ {
			h.Sent.Add(1<<40|uint64(c), SentMsg{Proc: n1})
		}
		for _, p := range []*Process{n1, n2} {
			p.Add(Delivery{Kind: KindRegular, Ring: r1, Members: both})
			last := tc.n
			if p == n2 {
				last-- // n2 moves on without the last message
			}
			for c := 1; c <= last; c++ {
				p.Add(Delivery{Kind: KindMsg, Ring: r1, Seq: uint32(c), ID: 1<<40 | uint64(c)})
			}
			p.Add(Delivery{Kind: KindTrans, Ring: r2, Members: both})
			p.Add(Delivery{Kind: KindRegular, Ring: r2, Members: both})
		}
		if r := CheckVirtualSynchrony(h); r.OK || !strings.Contains(r.Detail, tc.want) {
			t.Errorf("%d messages: got %+v, want a finding with %q", tc.n, r, tc.want)
		}
	}
}

// TestVirtualSynchronyKeepsBoundedNames: once the moves' witnesses keep
// keptIDs ids, later witnesses keep none and their findings give counts.
func TestVirtualSynchronyKeepsBoundedNames(t *testing.T) {
	defer func(k int) { keptIDs = k }(keptIDs)
	keptIDs = 5
	h := &History{}
	n1, n2 := &Process{Node: 1, Name: "n1"}, &Process{Node: 2, Name: "n2"}
	h.Attach(n1)
	h.Attach(n2)
	both := []wire.NodeID{1, 2}
	ctr := uint64(0)
	// Three rings of four messages each: the first move's witness keeps
	// its 4 ids, the second's would pass 5 and keeps none.
	rings := []RingRef{{Rep: 1, Seq: 4}, {Rep: 1, Seq: 8}, {Rep: 1, Seq: 12}}
	for _, p := range []*Process{n1, n2} {
		for i, r := range rings {
			if i > 0 {
				p.Add(Delivery{Kind: KindTrans, Ring: r, Members: both})
			}
			p.Add(Delivery{Kind: KindRegular, Ring: r, Members: both})
			if i == 2 {
				break
			}
			for k := uint32(1); k <= 4; k++ {
				if p == n1 {
					ctr++
					h.Sent.Add(1<<40|ctr, SentMsg{Proc: n1})
				}
				id := 1<<40 | uint64(i*4) + uint64(k)
				if p == n2 && i == 1 && k == 4 {
					continue // n2 misses the last message of the second ring
				}
				p.Add(Delivery{Kind: KindMsg, Ring: r, Seq: k, ID: id})
			}
		}
	}
	r := CheckVirtualSynchrony(h)
	if want := "n1#0 delivered 4 messages, the last 1:8, n2#0 delivered 3 messages, the last 1:7"; r.OK || !strings.Contains(r.Detail, want) {
		t.Fatalf("got %+v, want a finding with %q", r, want)
	}
	if h.kept != 4 {
		t.Fatalf("the witnesses keep %d ids, want 4", h.kept)
	}
}
