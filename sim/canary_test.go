//go:build quorate_canary

package sim

import (
	"strings"
	"testing"
)

// TestCanaryBrokenDeliveryIsCaught runs a build of the engine that delivers
// across sequence gaps (go test -tags quorate_canary) through a lossy
// scenario: the ordering checks must fail the run and name the violation.
func TestCanaryBrokenDeliveryIsCaught(t *testing.T) {
	caught := 0
	for seed := uint64(1); seed <= 5; seed++ {
		res := runOK(t, example(t, "lossy-jitter.yaml"), Options{Seed: seed, SeedSet: true})
		if res.OK {
			continue
		}
		d := res.CheckDetails["total_order"] + res.CheckDetails["virtual_synchrony"]
		if !strings.Contains(d, "gap") && !strings.Contains(d, "virtual synchrony") && !strings.Contains(d, "self-delivery") {
			t.Errorf("seed %d failed for another reason: %s", seed, res.Failure)
		}
		caught++
	}
	if caught < 4 {
		t.Fatalf("the broken build passed the checks on %d of 5 seeds", 5-caught)
	}
}
