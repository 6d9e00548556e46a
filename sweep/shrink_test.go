package sweep

import (
	"errors"
	"strings"
	"testing"
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
