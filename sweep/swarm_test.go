package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/regress"
	"github.com/quorate/quorate/scenarios"
)

// TestSwarmRegressionCase gives writeRegression a drawn scenario with an
// expectation that cannot hold (n1 not quorate at the end of a schedule
// that restarts every node), and checks that the case it writes is shrunk
// and that quorate regress's runner passes it as a recorded failure.
func TestSwarmRegressionCase(t *testing.T) {
	s, _, err := scenarios.RandomScenario("crash", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Faults) < 3 {
		t.Fatalf("crash seed 3 drew only %d faults", len(s.Faults))
	}
	at, no := s.Duration-time.Second, false
	s.Expect = append(s.Expect, scenarios.Expect{At: &at, Node: "n1", Quorate: &no})
	src, err := scenarios.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := writeRegression(dir, "crash-seed3", src, s.Seed); err != nil {
		t.Fatal(err)
	}
	shrunk, err := os.ReadFile(filepath.Join(dir, "crash-seed3.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(shrunk), "action:"); n != 0 {
		t.Fatalf("the failure does not depend on the faults, yet %d of %d are left:\n%s", n, len(s.Faults), shrunk)
	}
	expect, _ := os.ReadFile(filepath.Join(dir, "crash-seed3.expect"))
	if !strings.HasPrefix(string(expect), "fail\n") {
		t.Fatalf("the sidecar does not record a failure: %q", expect)
	}
	cases, err := regress.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 2 {
		t.Fatalf("regress finds %d cases, want the scenario and its trace", len(cases))
	}
	s2 := regress.Summarize(regress.Run(cases, 1))
	if s2.Failed != 0 || s2.Errors != 0 {
		t.Fatalf("the regression case does not match its recorded outcome: %+v", s2)
	}
}

func TestSwarmUnknownFamily(t *testing.T) {
	_, err := Swarm(SwarmConfig{Families: []string{"crsh"}, Seeds: []uint64{1}})
	if !IsInputError(err) || !strings.Contains(err.Error(), "families: crash, restart") {
		t.Fatalf("want an input error listing the families, got %v", err)
	}
}
