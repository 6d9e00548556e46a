package sweep

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

const shrinkable = `name: shrink-me
duration: 90s
cluster:
  nodes: [{name: a}, {name: b}, {name: c}]
  totem: {token: 1000ms}
network:
  links:
    - {number: 0, switch: sw0, priority: 20}
    - {number: 1, switch: sw1, priority: 10}
faults:
  - {at: 10s, action: switch_down, switch: sw1}
  - {at: 15s, action: switch_up, switch: sw1}
  - {at: 20s, action: set_latency, link: 0, latency: {dist: constant, value: 1ms}}
  - {at: 30s, action: crash, node: c}
  - {at: 40s, action: link_down, node: a, link: 1}
  - {at: 50s, action: link_up, node: a, link: 1}
expect:
  - {during: [8s, 90s], node: a, members: [a, b, c]}
`

// TestShrinkKeepsTheCause: of six faults only the crash breaks the
// expectation; the shrinker keeps it alone, shortens the run, and the
// result still fails the same way.
func TestShrinkKeepsTheCause(t *testing.T) {
	res, err := Shrink("shrink.yaml", []byte(shrinkable), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Faults != [2]int{6, 1} || !strings.Contains(string(res.Source), "action: crash") {
		t.Fatalf("faults %v, scenario:\n%s", res.Faults, res.Source)
	}
	if res.Duration[1] >= res.Duration[0] || res.Duration[1] < 31e9 {
		t.Fatalf("duration %v -> %v", res.Duration[0], res.Duration[1])
	}
	if !strings.HasPrefix(res.Failure, "expectation failed") {
		t.Fatalf("failure %q", res.Failure)
	}
	// The shrunk scenario reproduces the failure on its own.
	again, err := Shrink("shrunk.yaml", res.Source, 1, nil)
	if err != nil || again.Faults[1] != 1 {
		t.Fatalf("re-shrinking the result: %v %+v", err, again)
	}
}

func TestShrinkPassingScenario(t *testing.T) {
	ok := strings.Replace(shrinkable, "  - {at: 30s, action: crash, node: c}\n", "", 1)
	if _, err := Shrink("ok.yaml", []byte(ok), 1, nil); !errors.Is(err, ErrPasses) {
		t.Fatalf("a passing scenario: %v", err)
	}
}

// twoFailures fails only its last expectation (c crashes); without the
// switch failure its first expectation would fail instead, and without any
// fault only the first one fails.
const twoFailures = `name: two-failures
duration: 60s
cluster:
  nodes: [{name: a}, {name: b}, {name: c}]
  totem: {token: 1000ms}
network:
  links:
    - {number: 0, switch: sw0}
    - {number: 1, switch: sw1}
faults:
  - {at: 10s, action: switch_down, switch: sw1}
  - {at: 30s, action: crash, node: c}
expect:
  - {at: 20s, node: a, peer: b, link: 1, link_up: false}
  - {during: [8s, 60s], node: a, members: [a, b, c]}
`

// TestShrinkKeepsTheFailure: the shrinker must not trade the failure it was
// given for another one. It used to count any failed expectation as the
// same failure, and shrank this scenario into one without faults that
// fails its first expectation.
func TestShrinkKeepsTheFailure(t *testing.T) {
	res, err := Shrink("two.yaml", []byte(twoFailures), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ID == nil || res.ID.Expect == nil || *res.ID.Expect != 1 {
		t.Fatalf("failure identity %v, want expect[1]", res.ID)
	}
	if res.Faults != [2]int{2, 2} || !strings.Contains(res.Failure, "members=[a,b,c]") {
		t.Fatalf("faults %v, failure %q:\n%s", res.Faults, res.Failure, res.Source)
	}
}

// TestShrinkSelfContained: a reproducer of a scenario whose cluster comes
// from a corosync.conf loads from another directory, with the conf written
// beside it.
func TestShrinkSelfContained(t *testing.T) {
	src := filepath.Join("..", "scenarios", "examples", "corosync-conf.yaml")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	// Break it: a crash, and an expectation that every node stays.
	b = []byte(strings.Replace(string(b), "faults:\n", "faults:\n  - {at: 30s, action: crash, node: tre}\n", 1))
	b = append(b, "  - {during: [10s, 60s], node: uno, members: [uno, due, tre]}\n"...)
	res, err := Shrink(src, b, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.CorosyncConf == nil {
		t.Fatal("the corosync.conf did not come with the result")
	}
	dir := t.TempDir()
	out, err := res.SelfContained("repro.corosync.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repro.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repro.corosync.conf"), res.CorosyncConf, 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(filepath.Join(dir, "repro.yaml"))
	if err != nil {
		t.Fatalf("the reproducer does not load from %s: %v\n%s", dir, err, out)
	}
	r, err := sim.Run(sc, sim.Options{Seed: 1, SeedSet: true})
	if err != nil || r.OK || !r.FailureID.Same(res.ID) {
		t.Fatalf("the reproducer fails as %v (%v), want %v", r.FailureID, err, res.ID)
	}
}
