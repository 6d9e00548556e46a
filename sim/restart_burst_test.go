package sim

import (
	"path/filepath"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// restartBurstCorosyncMs is the median time real Corosync 3.1.7 took to
// form one ring of all four nodes after the last restart of the schedule
// of testdata/regress/random-crash-795.yaml, measured from that daemon's
// Totem start (its first GATHER, when its interface came up), over 12
// repetitions of scripts/corosync/exp_restart_burst.sh (docs/fidelity.md,
// "A burst of crashes and restarts"). The simulator boots a node's Totem
// at the restart instant, so the two are compared from the same point.
const restartBurstCorosyncMs = 1690.0

// TestRestartBurst runs the crash scenario of seed 795. Before the JOIN
// rule of memb_join_process was followed (re-enter GATHER on a JOIN from a
// non-member that fails more nodes), its nodes installed rings of
// themselves every consensus period for 14.7 s after the last restart; real
// Corosync needs about 1.7 s. The simulated settle time must be within the
// fidelity tolerance of that median, and no node may install more rings on
// the way than Corosync did on one node in those repetitions.
func TestRestartBurst(t *testing.T) {
	sc, err := scenarios.Load(filepath.Join("..", "testdata", "regress", "random-crash-795.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{})
	if !res.OK {
		t.Fatalf("seed 795: %s", res.Failure)
	}
	lv := res.Liveness
	if lv == nil || !lv.Converged {
		t.Fatalf("seed 795: no liveness figure: %+v", lv)
	}
	diff := (lv.MeasuredMs - restartBurstCorosyncMs) / restartBurstCorosyncMs * 100
	if diff > fidelityTolerance || diff < -fidelityTolerance {
		t.Errorf("seed 795 settled %.0f ms after the last restart, %+.0f%% from Corosync's median %.0f ms (tolerance %.0f%%)",
			lv.MeasuredMs, diff, restartBurstCorosyncMs, fidelityTolerance)
	}
	// Corosync installed two to four rings on one node after the last
	// restart (the restarted node's own ring, rings of two or three, the
	// ring of four); the chain of singleton rings installed eight.
	if lv.Churn > 4 {
		t.Errorf("seed 795: a node installed %d rings after the last restart, Corosync at most 4", lv.Churn)
	}
	t.Logf("seed 795: settled %.0f ms after the last restart (%+.0f%% from Corosync), %d membership changes, bound %.0f ms",
		lv.MeasuredMs, diff, lv.Churn, lv.BoundMs)
}
