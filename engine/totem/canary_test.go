package totem

import (
	"strings"
	"testing"
)

// TestCanaryDeliverAcrossGaps plants a bug (agreed delivery that passes
// over missing messages) and expects the checkers to catch it: a checker
// that never fails proves nothing.
func TestCanaryDeliverAcrossGaps(t *testing.T) {
	caught := 0
	for seed := range uint64(30) {
		errs, _ := runSchedule(families[0], seed, func(r *Ring) { r.bugDeliverGap = true })
		for _, e := range errs {
			if strings.Contains(e, "gap: ") || strings.Contains(e, "total order") ||
				strings.Contains(e, "virtual synchrony") {
				caught++
				break
			}
		}
	}
	if caught == 0 {
		t.Fatal("checkers never caught delivery across gaps")
	}
	t.Logf("caught in %d of 30 seeds", caught)
}

// TestCanarySkipTransitional plants a bug that skips the transitional
// configuration step of spec §7.4.
func TestCanarySkipTransitional(t *testing.T) {
	errs, _ := runSchedule(families[0], 1, func(r *Ring) { r.bugNoTrans = true })
	for _, e := range errs {
		if strings.Contains(e, "without its transitional configuration") {
			return
		}
	}
	t.Fatalf("checkers missed the skipped transitional configuration: %v", errs)
}
