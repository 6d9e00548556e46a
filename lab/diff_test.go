package lab

import (
	"testing"

	"github.com/quorate/quorate/reports"
)

func TestCompare(t *testing.T) {
	mk := func(detect float64, members ...[]string) *reports.Result {
		r := &reports.Result{Nodes: map[string]reports.NodeResult{"a": {}, "b": {}}}
		for _, m := range members {
			r.Timeline = append(r.Timeline, reports.TimelineEntry{Event: "membership", Node: "a", Members: m})
		}
		r.Links = []reports.PairLinks{{Node: "a", Peer: "b", DetectMs: []float64{detect}}}
		return r
	}
	ab, a := []string{"a", "b"}, []string{"a"}
	cases := []struct {
		name  string
		sim   *reports.Result
		lab   *reports.Result
		agree bool
	}{
		{"equal", mk(1000, a, ab), mk(1100, a, ab), true},
		{"timing within the floor", mk(100, a, ab), mk(190, a, ab), true},
		{"timing over the tolerance", mk(1000, a, ab), mk(1300, a, ab), false},
		{"membership differs", mk(1000, a, ab), mk(1000, a, ab, a), false},
	}
	for _, c := range cases {
		d := Compare(c.sim, c.lab, 0.2)
		if d.Agree != c.agree {
			t.Errorf("%s: agree %v, want %v (%+v)", c.name, d.Agree, c.agree, d)
		}
	}
}
