package sim

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// seedsPerFamily is 200 in `make test`; QUORATE_SOAK=N (or 1 for 5000)
// raises it for `make soak`.
func seedsPerFamily(t *testing.T) uint64 {
	if v := os.Getenv("QUORATE_SOAK"); v != "" {
		if n, err := strconv.ParseUint(v, 10, 64); err == nil && n > 1 {
			return n
		}
		return 5000
	}
	if testing.Short() {
		return 20
	}
	return 200
}

// knownCycle is the seeds of this test's range whose run ends in the
// two-ring cycle of docs/fidelity.md ("Two rings that fail each other",
// "Liveness over the random families": about one run in ten thousand,
// on the larger clusters, and Corosync keeps the same cycle). Such a run
// must fail liveness with the cycle's diagnosis and no other check: a
// listed seed that passes, or fails otherwise, fails the test.
var knownCycle = map[string][]uint64{
	// 14 nodes, {n2, n4, n6, n11} against the rest, since Totem's
	// packing; the two families draw the same schedule for this seed,
	// which settled at 0.70 of its bound before.
	"crash":   {87},
	"restart": {87},
}

// inKnownCycle reports whether a run failed as the cycle does: liveness
// is its only failed check, and its finding shows the rings still
// re-forming.
func inKnownCycle(res *reports.Result) bool {
	for name, ok := range res.Checks {
		if !ok && name != checkLivenessName {
			return false
		}
	}
	ok, judged := res.Checks[checkLivenessName]
	return judged && !ok && strings.Contains(res.CheckDetails[checkLivenessName], "rings that keep failing each other")
}

// TestPropertySweeps runs random fault schedules of every family (crash,
// restart, partition, loss up to 5%, reordering, cold start, mixed) over
// many seeds with every checker on: total order, virtual synchrony and
// liveness must hold in each. A failure prints the scenario's YAML, which
// reproduces it exactly (`quorate run` on the saved text).
func TestPropertySweeps(t *testing.T) {
	n := seedsPerFamily(t)
	for _, fam := range scenarios.Families {
		t.Run(fam, func(t *testing.T) {
			t.Parallel()
			seeds := n
			if fam == "store" {
				// The store family mixes every fault with ordered reads;
				// it gets half as many seeds again (300 in make test).
				seeds = n * 3 / 2
			}
			failed := 0
			for seed := uint64(1); seed <= seeds; seed++ {
				src, err := scenarios.Random(fam, seed)
				if err != nil {
					t.Fatal(err)
				}
				sc, err := scenarios.Parse("random.yaml", []byte(src))
				if err != nil {
					t.Fatalf("seed %d: generated scenario does not load: %v\n%s", seed, err, src)
				}
				res, err := Run(sc, Options{})
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if slices.Contains(knownCycle[fam], seed) {
					if !inKnownCycle(res) {
						t.Errorf("family %s seed %d is listed as ending in the two-ring cycle, but: ok=%v %s", fam, seed, res.OK, res.Failure)
					}
					continue
				}
				if !res.OK {
					failed++
					t.Errorf("family %s seed %d failed: %s\nscenario:\n%s", fam, seed, res.Failure, src)
					if failed == 5 {
						t.Fatalf("family %s: stopping after %d failing seeds", fam, failed)
					}
				}
			}
		})
	}
}
