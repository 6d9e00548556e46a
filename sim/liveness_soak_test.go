package sim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestSoakLiveness measures, for the random families that end on a quiet
// network (crash, restart, cold start by default; QUORATE_SOAK_FAMILIES
// names others, comma-separated), the settle time of every seed against
// its liveness bound, and reports the worst of each family: the figures of
// docs/fidelity.md ("Liveness over the random families"). Beside the
// swarm of make soak, which judges each run by every checker, it keeps the
// settle time of every seed, so that the report counts them all. QUORATE_SOAK sets the seeds per family (1 means
// 5000), as for the other soaks; without it the test is skipped.
// QUORATE_SOAK_SEEDS=FROM-TO runs only those seeds, so that one sweep can
// be split over several processes.
func TestSoakLiveness(t *testing.T) {
	if os.Getenv("QUORATE_SOAK") == "" {
		t.Skip("set QUORATE_SOAK to run the long sweeps (make soak)")
	}
	first, n := uint64(1), seedsPerFamily(t)
	if v := os.Getenv("QUORATE_SOAK_SEEDS"); v != "" {
		if _, err := fmt.Sscanf(v, "%d-%d", &first, &n); err != nil || first < 1 || n < first {
			t.Fatalf("QUORATE_SOAK_SEEDS=%q: want FROM-TO", v)
		}
	}
	fams := []string{"crash", "restart", "cold-start"}
	if v := os.Getenv("QUORATE_SOAK_FAMILIES"); v != "" {
		fams = strings.Split(v, ",")
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	for _, fam := range fams {
		type worst struct {
			seed            uint64
			measured, bound float64
		}
		var (
			mu                   sync.Mutex
			judged, failed, done int
			worstAbs, worstRel   worst
			firstFailure         string
			next                 = first
			wg                   sync.WaitGroup
			sumMeasured          float64
		)
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					seed := next
					next++
					mu.Unlock()
					if seed > n {
						return
					}
					src, err := scenarios.Random(fam, seed)
					if err != nil {
						t.Error(err)
						return
					}
					sc, err := scenarios.Parse("random.yaml", []byte(src))
					if err != nil {
						t.Errorf("%s seed %d: %v", fam, seed, err)
						return
					}
					res, err := Run(sc, Options{})
					if err != nil {
						t.Errorf("%s seed %d: %v", fam, seed, err)
						return
					}
					mu.Lock()
					done++
					if done%500 == 0 {
						t.Logf("progress family=%s done=%d failed=%d worst_settle_ms=%.0f (seed %d, bound %.0f)", fam, done, failed, worstAbs.measured, worstAbs.seed, worstAbs.bound)
					}
					if lv := res.Liveness; lv != nil && lv.Applicable && lv.Converged {
						judged++
						sumMeasured += lv.MeasuredMs
						if lv.MeasuredMs > worstAbs.measured {
							worstAbs = worst{seed, lv.MeasuredMs, lv.BoundMs}
						}
						if lv.MeasuredMs/lv.BoundMs > worstRel.measured/max(worstRel.bound, 1) {
							worstRel = worst{seed, lv.MeasuredMs, lv.BoundMs}
						}
					}
					if !res.OK {
						failed++
						t.Logf("FAILED family=%s seed=%d: %s", fam, seed, res.Failure)
						if firstFailure == "" {
							firstFailure = fmt.Sprintf("seed %d: %s", seed, res.Failure)
						}
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		mean := 0.0
		if judged > 0 {
			mean = sumMeasured / float64(judged)
		}
		t.Logf("LIVENESS family=%s seeds=%d-%d judged=%d failed=%d mean_settle_ms=%.0f worst_settle_ms=%.0f (seed %d, bound %.0f) worst_ratio=%.2f (seed %d, %.0f of %.0f ms)",
			fam, first, n, judged, failed, mean, worstAbs.measured, worstAbs.seed, worstAbs.bound,
			worstRel.measured/max(worstRel.bound, 1), worstRel.seed, worstRel.measured, worstRel.bound)
		if failed > 0 {
			t.Errorf("family %s: %d of seeds %d-%d failed; first %s", fam, failed, first, n, firstFailure)
		}
	}
}
