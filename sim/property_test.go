package sim

import (
	"os"
	"strconv"
	"testing"

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
