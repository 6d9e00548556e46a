package sim

import (
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestPacketCostSlowsNodes: with a processing cost per packet the same
// cluster forms its first full ring later (its joins and tokens queue
// behind each other) and stays deterministic; without one the run is the
// plain simulation.
func TestPacketCostSlowsNodes(t *testing.T) {
	src := `name: cost
duration: 20s
cluster:
  nodes: [{name: n1}, {name: n2}, {name: n3}, {name: n4}, {name: n5}]
  packet_cost: COST
network:
  links:
    - {number: 0, switch: sw0, latency: {dist: constant, value: 0.1ms}}
`
	formed := func(cost string) (float64, string) {
		sc, err := scenarios.Parse("cost.yaml", []byte(strings.Replace(src, "COST", cost, 1)))
		if err != nil {
			t.Fatal(err)
		}
		res := runOK(t, sc, Options{Seed: 3, SeedSet: true})
		if again := runOK(t, sc, Options{Seed: 3, SeedSet: true}); again.TraceSHA256 != res.TraceSHA256 {
			t.Fatalf("packet_cost %s: two runs differ", cost)
		}
		at, ok := settle(res, 0, allOf(5))
		if !ok {
			t.Fatalf("packet_cost %s: no ring of all five in 20s", cost)
		}
		return at, res.TraceSHA256
	}
	free, h0 := formed("0s")
	slow, h1 := formed("3ms")
	if h0 == h1 {
		t.Fatal("a packet cost changed nothing")
	}
	if slow <= free {
		t.Fatalf("ring of five at %.0f ms with 3 ms per packet, %.0f ms without: want later", slow, free)
	}
	t.Logf("ring of five: %.0f ms without cost, %.0f ms with 3 ms per packet", free, slow)
}
