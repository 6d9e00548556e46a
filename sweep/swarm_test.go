package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
	// The liveness check is left out: its verdict depends on the schedule
	// (without the faults, the drawn link's loss re-forms a ring late in
	// the run, which fails liveness instead), and the failure must not.
	s.Expect = slices.DeleteFunc(s.Expect, func(e scenarios.Expect) bool { return e.Check == "liveness" })
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

// TestSwarmCoverage: a swarm sums its runs' coverage cells, the shards of
// one merge to the same sums, and the summary counts what was reached.
func TestSwarmCoverage(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4}
	whole, err := Swarm(SwarmConfig{Families: []string{"crash"}, Seeds: seeds, Parallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(whole.Coverage) == 0 {
		t.Fatal("a crash swarm recorded no coverage")
	}
	var parts []*Sweep
	for i := 1; i <= 2; i++ {
		p, err := Swarm(SwarmConfig{Families: []string{"crash"}, Seeds: seeds, Parallel: 1, Shard: Shard{Index: i, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
	}
	merged, err := Merge(parts, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(merged.Coverage, whole.Coverage) {
		t.Fatalf("merged shards' coverage differs from the whole swarm's:\n%v\n%v", merged.Coverage, whole.Coverage)
	}
	var visits int64
	for _, c := range whole.Coverage {
		visits += c.Count
	}
	s := Summarize(whole)
	c := s.Coverage
	if c == nil || c.Reached != len(whole.Coverage) || c.Reached+len(c.NeverReached) != c.Cells || visits < int64(c.Reached) {
		t.Fatalf("summary %+v does not add up over %d cells", c, len(whole.Coverage))
	}
	var b strings.Builder
	if err := WriteTable(&b, s, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), fmt.Sprintf("coverage: %d of %d cells", c.Reached, c.Cells)) {
		t.Fatalf("the table does not print the coverage:\n%s", b.String())
	}
}
