package sim

import (
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// A tiny language for hand-made histories: each process is a list of
// items "R1.4:1,2,3" (regular ring rep 1 seq 4 with members), "T:1,2"
// (transitional), "m1:7@1.4/3" (workload message from node 1 counter 7,
// sequenced on ring 1.4 with seq 3), "s1.4/2" (other agreed traffic,
// sequenced on ring 1.4 with seq 2).
func hist(t *testing.T, procs map[string][]string) *history {
	t.Helper()
	h := &history{sent: map[uint64]sent{}}
	names := []string{"n1", "n2", "n3"}
	for i, name := range names {
		items, ok := procs[name]
		if !ok {
			continue
		}
		p := &process{node: wire.NodeID(i + 1), name: name}
		for _, it := range items {
			p.add(parseItem(t, it))
		}
		h.procs = append(h.procs, p)
	}
	for _, p := range h.procs {
		for d := range p.all() {
			if d.kind == dMsg && d.id != 0 {
				origin := wire.NodeID(d.id >> 40)
				for _, q := range h.procs {
					if q.node == origin {
						h.sent[d.id] = sent{proc: q}
					}
				}
			}
		}
	}
	return h
}

func parseItem(t *testing.T, s string) delivery {
	var d delivery
	ring := func(r string) ringRef {
		var rep, seq uint64
		parts := strings.Split(r, ".")
		rep = mustU(t, parts[0])
		seq = mustU(t, parts[1])
		return ringRef{rep: wire.NodeID(rep), seq: seq}
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
		d = delivery{kind: dRegular, ring: ring(r), members: members(m)}
	case 'T':
		d = delivery{kind: dTrans, members: members(s[2:])}
	case 's': // other agreed traffic (no workload id): "s1.4/3"
		r, seq, _ := strings.Cut(s[1:], "/")
		d = delivery{kind: dMsg, ring: ring(r), seq: uint32(mustU(t, seq))}
	case 'm':
		idPart, rest, _ := strings.Cut(s[1:], "@")
		from, ctr, _ := strings.Cut(idPart, ":")
		r, seq, _ := strings.Cut(rest, "/")
		d = delivery{kind: dMsg, id: mustU(t, from)<<40 | mustU(t, ctr), sender: wire.NodeID(mustU(t, from)),
			ring: ring(r), seq: uint32(mustU(t, seq))}
	}
	return d
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
	for name, r := range map[string]checkResult{
		"integrity": checkIntegrity(good), "agreement": checkAgreement(good), "total order": checkTotalOrder(good),
		"virtual synchrony": checkVirtualSynchrony(good), "gaps": checkGaps(good), "self-delivery": checkSelfDelivery(good, 1<<62),
	} {
		if !r.ok {
			t.Errorf("%s failed on a good history: %s", name, r.detail)
		}
	}
}

// Each checker must be able to fail: a bad history per property.
func TestCheckersCatchViolations(t *testing.T) {
	tests := []struct {
		name  string
		check func(*history) checkResult
		procs map[string][]string
		want  string
	}{
		{"reordered messages", checkTotalOrder, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m2:1@1.4/2"},
			"n2": {"R1.4:1,2", "m2:1@1.4/2", "m1:1@1.4/1"},
		}, "total order: n1#0 delivered"},
		{"order broken through a third message", checkTotalOrder, map[string][]string{
			"n1": {"R1.4:1,2,3", "m1:1@1.4/1", "m3:1@1.4/2", "m2:1@1.4/3"},
			"n2": {"R1.4:1,2,3", "m2:1@1.4/3", "m1:1@1.4/1"},
		}, "total order"},
		{"duplicate", checkIntegrity, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:1@1.4/1"},
		}, "no duplication"},
		{"created", checkIntegrity, map[string][]string{
			"n1": {"R1.4:1", "m2:9@1.4/1"},
		}, "no creation"},
		{"configuration without self", checkIntegrity, map[string][]string{
			"n1": {"R1.4:2,3"},
		}, "self-inclusion"},
		{"ring id going back", checkIntegrity, map[string][]string{
			"n1": {"R1.8:1", "R1.4:1"},
		}, "monotonicity"},
		{"transitional outside the new ring", checkIntegrity, map[string][]string{
			"n1": {"R1.4:1,2", "T:1,2", "R1.8:1"},
		}, "transitional"},
		{"different messages in one configuration", checkVirtualSynchrony, map[string][]string{
			"n1": {"R1.4:1,2", "m1:1@1.4/1", "m1:2@1.4/2", "T:1,2", "R1.8:1,2"},
			"n2": {"R1.4:1,2", "m1:1@1.4/1", "T:1,2", "R1.8:1,2"},
		}, "virtual synchrony"},
		{"different member lists for one ring", checkAgreement, map[string][]string{
			"n1": {"R1.4:1,2"},
			"n2": {"R1.4:1,2,3"},
		}, "membership agreement"},
		{"delivery skips a seq", checkGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "m1:2@1.4/3"},
		}, "gap"},
		{"other agreed traffic skips a seq", checkGaps, map[string][]string{
			"n1": {"R1.4:1", "m1:1@1.4/1", "s1.4/2", "s1.4/4", "m1:2@1.4/5"},
		}, "seq 4 after seq 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check(hist(t, tt.procs))
			if r.ok || !strings.Contains(r.detail, tt.want) {
				t.Fatalf("got ok=%v %q, want a failure mentioning %q", r.ok, r.detail, tt.want)
			}
		})
	}
}

func TestSelfDeliveryCatchesLoss(t *testing.T) {
	h := hist(t, map[string][]string{"n1": {"R1.4:1,2"}, "n2": {"R1.4:1,2", "m2:1@1.4/1"}})
	h.sent[1<<40|5] = sent{proc: h.procs[0], at: 10}
	if r := checkSelfDelivery(h, 100); r.ok || !strings.Contains(r.detail, "self-delivery: n1#0") {
		t.Fatalf("lost own message not caught: %+v", r)
	}
	if r := checkSelfDelivery(h, 5); !r.ok {
		t.Fatalf("a message sent after the settle instant was judged: %s", r.detail)
	}
}
