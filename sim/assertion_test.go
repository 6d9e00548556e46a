package sim

import (
	"bytes"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/invariant"
	"github.com/quorate/quorate/scenarios"
)

// TestViolationFailsTheRun: an engine Violation raised while a node's
// batch is performed (here by the trace writer, on hp2's first membership
// line) stops the run as a failure that names the node, the layer and the
// invariant, with a typed failure id, an assertion line in the trace, and
// the command that reproduces it.
func TestViolationFailsTheRun(t *testing.T) {
	sc, err := scenarios.Parse("v.yaml", []byte(triggerScenario("{at: 20s, action: heal}")))
	if err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	fired := false
	opt := Options{Trace: &trace, Command: "quorate run v.yaml --seed 1", verify: func(line []byte) {
		if !fired && bytes.Contains(line, []byte(`"k":"membership","node":"hp2"`)) {
			fired = true
			invariant.Fail("totem", "what must hold", "the values")
		}
	}}
	res, err := Run(sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.OK || !fired {
		t.Fatalf("the run passed (violation raised: %v)", fired)
	}
	for _, want := range []string{"engine assertion failed", "on hp2", "totem: invariant violated: what must hold (the values)"} {
		if !strings.Contains(res.Failure, want) {
			t.Errorf("failure %q does not say %q", res.Failure, want)
		}
	}
	if res.FailureID == nil || res.FailureID.Kind != "engine assertion totem: what must hold" {
		t.Errorf("failure id %v", res.FailureID)
	}
	if res.Reproduce != opt.Command {
		t.Errorf("reproduce %q", res.Reproduce)
	}
	if !strings.Contains(trace.String(), `"k":"assertion","node":"hp2","layer":"totem","what":"what must hold","detail":"the values"`) {
		t.Errorf("the trace has no typed assertion line:\n%s", trace.String()[max(0, trace.Len()-600):])
	}
}

// TestTimersNodesCannotStart: a token so short that knet's derived
// heartbeat falls below its timer resolution is refused before the run,
// naming the token, rather than failing every node at boot.
func TestTimersNodesCannotStart(t *testing.T) {
	src := strings.Replace(triggerScenario("{at: 20s, action: heal}"), "token: 800ms", "token: 500ms", 1)
	sc, err := scenarios.Parse("short.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(sc, Options{})
	if !scenarios.IsInputError(err) || !strings.Contains(err.Error(), "short.yaml:6:18: cluster.totem.token: the knet heartbeat of node hp1 would be every 125ms") {
		t.Fatalf("want an input error at the token, got %v", err)
	}
	// With the heartbeat set explicitly the same token runs.
	src += "network:\n  links: [{number: 0, ping_interval: 200ms, ping_timeout: 400ms}]\n"
	sc, err = scenarios.Parse("short.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := Run(sc, Options{}); err != nil || !res.OK {
		t.Fatalf("token 500ms with explicit ping timers: %v %v", err, res.Failure)
	}
}

// TestLivenessNotJudgeableIsItsOwnFailure: a run that asks for liveness
// but ends lossy fails as not judgeable even when its nodes did not
// settle, so that shrinking a run that did not settle on a lossless
// network (by dropping the fault that ended the loss) cannot keep it as
// the same failure.
func TestLivenessNotJudgeableIsItsOwnFailure(t *testing.T) {
	src := `
name: lossy
duration: 3s
cluster:
  nodes: [{name: a}, {name: b}, {name: c}]
network:
  links: [{number: 0, loss: 0.9}]
expect:
  - {check: liveness}
`
	sc, err := scenarios.Parse("lossy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(sc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Liveness == nil || res.Liveness.Converged {
		t.Fatalf("the nodes settled on a 90%% lossy link in 3s: %+v", res.Liveness)
	}
	if res.OK || res.FailureID == nil || res.FailureID.Kind != "not judgeable" ||
		!strings.Contains(res.Failure, "does not end on a lossless network") {
		t.Fatalf("failure %q (%v), want liveness not judgeable", res.Failure, res.FailureID)
	}
}
