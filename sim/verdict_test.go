package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/check"
	"github.com/quorate/quorate/engine/wire"
)

// TestDescribeUnsettled: a failed liveness check says where the nodes
// stood at the end, so that a cycle of rings, a node left without a ring
// and a merge that never came read differently.
func TestDescribeUnsettled(t *testing.T) {
	at := func(ss ...float64) []wire.Instant {
		out := make([]wire.Instant, len(ss))
		for i, s := range ss {
			out[i] = wire.Instant(s * float64(time.Second))
		}
		return out
	}
	cycle := func(fromMs, toMs, everyMs int) []wire.Instant {
		var out []wire.Instant
		for ms := fromMs; ms < toMs; ms += everyMs {
			out = append(out, wire.Instant(time.Duration(ms)*time.Millisecond))
		}
		return out
	}
	quiet, end := wire.Instant(10*time.Second), wire.Instant(30*time.Second)
	tests := []struct {
		name string
		held []heldRing
		want []string
		not  []string
	}{
		{
			name: "two rings that fail each other",
			held: []heldRing{
				{ring: check.RingRef{Rep: 1, Seq: 0x40}, members: []string{"n1", "n2"}, holders: []string{"n1", "n2"},
					installs: [][]wire.Instant{cycle(12000, 30000, 20), cycle(12000, 30000, 20)}},
				{ring: check.RingRef{Rep: 3, Seq: 0x40}, members: []string{"n3", "n4", "n5"}, holders: []string{"n3", "n4"},
					installs: [][]wire.Instant{cycle(12000, 30000, 20), at(5, 12)}},
				{ring: check.RingRef{Rep: 3, Seq: 0x3c}, members: []string{"n3", "n4", "n5"}, holders: []string{"n5"},
					installs: [][]wire.Instant{cycle(12000, 29990, 20)}},
			},
			want: []string{
				"{n1,n2} held ring 1.40 of themselves, 900 installs since the last change",
				"{n3,n4} held ring 3.40 of {n3,n4,n5}, 1-900 installs",
				"{n5} held ring 3.3c of {n3,n4,n5}",
				"still re-forming: one ring every 20ms in the last 1s (rings that keep failing each other",
			},
			not: []string{"no ring installed"},
		},
		{
			name: "a merge that never came",
			held: []heldRing{
				{ring: check.RingRef{Rep: 1, Seq: 8}, members: []string{"n1"}, holders: []string{"n1"}, installs: [][]wire.Instant{at(1, 11)}},
				{ring: check.RingRef{Rep: 2, Seq: 8}, members: []string{"n2"}, holders: []string{"n2"}, installs: [][]wire.Instant{at(1, 12.5)}},
			},
			want: []string{
				"{n1} held ring 1.8 of themselves, 1 install since",
				"no ring installed in the last 17.5s of the run (the last at 12.5s)",
			},
			not: []string{"re-forming", "failing each other"},
		},
		{
			name: "one group re-forming alone",
			held: []heldRing{
				{ring: check.RingRef{Rep: 1, Seq: 0x80}, members: []string{"n1", "n2"}, holders: []string{"n1", "n2"},
					installs: [][]wire.Instant{cycle(12000, 30000, 50), cycle(12000, 30000, 50)}},
				{ring: check.RingRef{Rep: 3, Seq: 8}, members: []string{"n3"}, holders: []string{"n3"}, installs: [][]wire.Instant{at(11)}},
			},
			want: []string{"still re-forming: one ring every 50ms"},
			not:  []string{"failing each other"},
		},
		{
			name: "a node without a ring",
			held: []heldRing{
				{holders: []string{"n1"}, installs: [][]wire.Instant{nil}},
				{ring: check.RingRef{Rep: 2, Seq: 4}, members: []string{"n2"}, holders: []string{"n2"}, installs: [][]wire.Instant{at(1)}},
			},
			want: []string{"{n1} had no ring, 0 installs since the last change", "{n2} held ring 2.4 of themselves, 0 installs"},
			not:  []string{"re-forming", "no ring installed"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := describeUnsettled(tc.held, quiet, end)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("has %q in\n%s", w, got)
				}
			}
		})
	}
}
