package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestTriggerNames holds the simulator's mapping of engine events onto
// trigger names equal to the names the loader accepts: a name the loader
// takes but no event produces would be a trigger that can never fire.
func TestTriggerNames(t *testing.T) {
	got := triggerNames()
	if a, b := slices.Sorted(maps.Keys(got)), slices.Sorted(slices.Values(scenarios.TriggerLayers)); !slices.Equal(a, b) {
		t.Fatalf("layers: the simulator maps %v, the loader accepts %v", a, b)
	}
	for l, want := range scenarios.TriggerEvents {
		g := slices.Sorted(slices.Values(got[l]))
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(g, w) {
			t.Errorf("%s: the simulator maps %v, the loader accepts %v", l, g, w)
		}
	}
}

// triggerScenario crashes hp3 and restarts it, so that hp1 goes through
// GATHER, COMMIT and RECOVERY twice; the fault under test is appended.
func triggerScenario(fault string) string {
	return `
name: trigger
duration: 25s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}, {name: hp4}, {name: hp5}]
  totem: {token: 800ms, token_coefficient: 0ms}
faults:
  - {at: 6s, action: crash, node: hp3}
  - {at: 12s, action: restart, node: hp3}
` + "  - " + fault + `
expect:
  - {check: total_order}
  - {check: virtual_synchrony}
`
}

type traceLine struct {
	T      int64  `json:"t"`
	Ev     string `json:"k"`
	Node   string `json:"node"`
	Action string `json:"action"`
	Detail string `json:"detail"`
	Fault  int64  `json:"fault"`
}

// runTrace runs src and returns its parsed trace lines and trace hash.
func runTrace(t *testing.T, src string, seed uint64) ([]traceLine, string) {
	t.Helper()
	sc, err := scenarios.Parse("trigger.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	res, err := Run(sc, Options{Seed: seed, SeedSet: true, Trace: &buf})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Fatalf("run failed: %s", res.Failure)
	}
	var out []traceLine
	sc2 := bufio.NewScanner(&buf)
	sc2.Buffer(nil, 1<<20)
	for sc2.Scan() {
		var l traceLine
		if err := json.Unmarshal(sc2.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out, res.TraceSHA256
}

// TestTriggerFiresOnState: a crash armed at 11s fires when hp1 next enters
// COMMIT (after hp3's restart at 12s), in the same instant, after the
// batch that reported it, and nowhere else.
func TestTriggerFiresOnState(t *testing.T) {
	src := triggerScenario("{at: 11s, when: {node: hp1, totem: commit}, action: crash, node: hp2}")
	lines, hash := runTrace(t, src, 1)
	commit, fired := int64(-1), int64(-1)
	crashes := 0
	for _, l := range lines {
		if commit < 0 && l.Ev == "totem" && l.Node == "hp1" && strings.HasPrefix(l.Detail, "state COMMIT") && l.T >= 11e9 {
			commit = l.T
		}
		if l.Ev == "fault" && l.Action == "crash" && strings.HasPrefix(l.Detail, "hp2") {
			fired = l.T
			crashes++
			if !strings.Contains(l.Detail, "when hp1 totem commit") {
				t.Errorf("the fault's detail %q does not say what fired it", l.Detail)
			}
		}
	}
	if commit < 0 {
		t.Fatal("hp1 never entered COMMIT after 7s; the scenario no longer exercises the trigger")
	}
	if crashes != 1 || fired != commit {
		t.Fatalf("hp2 crashed %d times, at %d ns; hp1 entered COMMIT at %d ns", crashes, fired, commit)
	}
	if _, again := runTrace(t, src, 1); again != hash {
		t.Fatal("a triggered fault makes the run non-deterministic")
	}
}

// TestTriggerWindowAndDelay: delay shifts the fault, before disarms it,
// and a trigger whose event never comes fires nothing.
func TestTriggerWindowAndDelay(t *testing.T) {
	count := func(lines []traceLine) (n int, at int64) {
		for _, l := range lines {
			if l.Ev == "fault" && strings.Contains(l.Detail, " when ") {
				n, at = n+1, l.T
			}
		}
		return n, at
	}
	lines, _ := runTrace(t, triggerScenario("{at: 11s, when: {node: hp1, totem: commit, delay: 250ms}, action: crash, node: hp2}"), 1)
	var commit int64 = -1
	for _, l := range lines {
		if commit < 0 && l.Ev == "totem" && l.Node == "hp1" && strings.HasPrefix(l.Detail, "state COMMIT") && l.T >= 11e9 {
			commit = l.T
		}
	}
	if n, at := count(lines); n != 1 || at != commit+250e6 {
		t.Fatalf("delayed trigger: %d fault(s), at %d; COMMIT at %d", n, at, commit)
	}
	// Armed from 10s to 11s, after the ring re-formed without hp3 and
	// before it comes back: no COMMIT in the window (the same trigger
	// without before fires, below).
	lines, _ = runTrace(t, triggerScenario("{at: 10s, when: {totem: commit, before: 11s}, action: crash, node: hp2}"), 1)
	if n, _ := count(lines); n != 0 {
		t.Fatalf("a trigger disarmed before its event fired %d time(s)", n)
	}
	lines, _ = runTrace(t, triggerScenario("{at: 10s, when: {totem: commit}, action: crash, node: hp2}"), 1)
	if n, at := count(lines); n != 1 || at < 12e9 {
		t.Fatalf("the trigger armed from 10s without before: %d fault(s), the last at %d", n, at)
	}
	// hp5 never loses quorum here.
	lines, _ = runTrace(t, triggerScenario("{when: {node: hp5, quorum: inquorate}, action: crash, node: hp2}"), 1)
	if n, _ := count(lines); n != 0 {
		t.Fatalf("a trigger on an event that never happens fired %d time(s)", n)
	}
}

// TestTriggerProbability: with probability 0.5 over many candidate events
// (any node entering GATHER), seeds differ in which event fires, and each
// fires at most once.
func TestTriggerProbability(t *testing.T) {
	src := triggerScenario("{at: 2s, when: {totem: gather, probability: 0.3}, action: set_loss, link: 0, loss: 0}")
	times := map[int64]bool{}
	for seed := uint64(1); seed <= 8; seed++ {
		lines, _ := runTrace(t, src, seed)
		n := 0
		for _, l := range lines {
			if l.Ev == "fault" && l.Action == "set_loss" {
				n++
				times[l.T] = true
			}
		}
		if n > 1 {
			t.Fatalf("seed %d: the trigger fired %d times", seed, n)
		}
	}
	if len(times) < 2 {
		t.Fatalf("8 seeds fired the trigger at %d distinct instant(s); the draw decides nothing", len(times))
	}
}

// TestCoverageCells: the faults' cells are the states of the nodes they
// touch: a crash fired when its node enters COMMIT lands in a commit cell,
// a restart of a crashed node in the down cell, a heal on every node.
func TestCoverageCells(t *testing.T) {
	src := triggerScenario("{at: 11s, when: {node: hp2, totem: commit}, action: crash, node: hp2}")
	src = strings.Replace(src, "expect:", "  - {at: 20s, action: heal}\nexpect:", 1)
	sc, err := scenarios.Parse("cov.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(sc, Options{})
	if err != nil || !res.OK {
		t.Fatalf("run: %v %+v", err, res)
	}
	find := func(f, totem string) (n int64) {
		for _, c := range res.Coverage {
			if string(c.Fault) == f && c.Totem == totem {
				n += c.Count
			}
		}
		return n
	}
	if n := find("crash", "commit"); n != 1 {
		t.Errorf("crash in commit visited %d times, want 1: %+v", n, res.Coverage)
	}
	if n := find("restart", "down"); n != 1 {
		t.Errorf("restart of a down node visited %d times, want 1: %+v", n, res.Coverage)
	}
	var heal int64
	for _, c := range res.Coverage {
		if c.Fault == "heal" {
			heal += c.Count
		}
	}
	if heal != 5 {
		t.Errorf("heal touched %d nodes, want all 5: %+v", heal, res.Coverage)
	}
}
