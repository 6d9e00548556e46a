package sim

import (
	"strings"
	"testing"
)

// timeFormsScenario crashes hp3 at 20s for good: hp1 and hp2 form a ring
// of two. Every expectation below held at some instant before the crash.
const timeFormsScenario = `
name: time-forms
duration: 40s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}]
  totem: {token: 1000ms}
faults:
  - {at: 20s, action: crash, node: hp3}
expect:
%s
`

// TestByCountsFromTheLastFault: by T is judged from the last fault before
// T, so the three-node ring of the first seconds cannot satisfy an
// expectation written after the crash. Before by was measured from the
// fault, the first case passed on the state at about 2s.
func TestByCountsFromTheLastFault(t *testing.T) {
	for _, tc := range []struct {
		name, expect string
		ok, vacuous  bool
		reason       string
	}{
		{"the ring of three before the crash is vacuous",
			"  - {by: 35s, node: hp1, members: [hp1, hp2, hp3]}", true, true, ""},
		{"by from 0 when asked explicitly",
			"  - {by: 35s, after: 0s, node: hp1, members: [hp1, hp2, hp3]}", true, false, ""},
		{"by after the crash sees the ring of two",
			"  - {by: 35s, nodes: [hp1, hp2], members: [hp1, hp2]}", true, false, ""},
		{"within after the crash",
			"  - {within: 10s, nodes: [hp1, hp2], members: [hp1, hp2]}", true, false, ""},
		{"within too short for the new ring",
			"  - {within: 1ms, node: hp1, members: [hp1, hp2]}", false, false, "never held"},
		{"after_fault names the fault",
			"  - {within: 10s, after_fault: 0, node: hp2, members: [hp1, hp2]}", true, false, ""},
		{"quorate already before the crash is vacuous",
			"  - {by: 35s, node: hp1, quorate: true}", true, true, ""},
		{"at_end is the state when the run stops",
			"  - {at_end: true, nodes: [hp1, hp2], quorate: true, members: [hp1, hp2]}", true, false, ""},
		{"at_end on the crashed node fails",
			"  - {at_end: true, node: hp3, quorate: true}", false, false, "hp3 is down at 40s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := parse(t, strings.Replace(timeFormsScenario, "%s", tc.expect, 1))
			res := runOK(t, sc, Options{})
			e := res.Expectations[0]
			if e.OK != tc.ok || e.Vacuous != tc.vacuous || !strings.Contains(e.Reason, tc.reason) {
				t.Fatalf("%s: ok=%v vacuous=%v reason %q warning %q; want ok=%v vacuous=%v reason containing %q",
					e.Expect, e.OK, e.Vacuous, e.Reason, e.Warning, tc.ok, tc.vacuous, tc.reason)
			}
			strict := runOK(t, sc, Options{Strict: true})
			if wantOK := tc.ok && !tc.vacuous; strict.Expectations[0].OK != wantOK || strict.OK != wantOK {
				t.Fatalf("--strict: %s ok=%v (run ok=%v), want %v: %s", e.Expect, strict.Expectations[0].OK, strict.OK, wantOK, strict.Failure)
			}
			if res.TraceSHA256 != strict.TraceSHA256 {
				t.Fatalf("--strict changed the trace")
			}
		})
	}
}

// TestByAfterHealNeedsTheMerge is the trap by used to be: hp3 is cut off at
// 10s and crashes at 15s, the partition heals at 20s, and "all three by
// 35s" passed on the ring of the first seconds. Counted from the heal it
// fails, and says so.
func TestByAfterHealNeedsTheMerge(t *testing.T) {
	sc := parse(t, `
name: heal-without-hp3
duration: 40s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}]
  totem: {token: 1000ms}
faults:
  - {at: 10s, action: isolate, node: hp3}
  - {at: 15s, action: crash, node: hp3}
  - {at: 20s, action: heal}
expect:
  - {by: 35s, node: hp1, members: [hp1, hp2, hp3]}
`)
	res := runOK(t, sc, Options{})
	e := res.Expectations[0]
	if e.OK || e.Vacuous || !strings.Contains(e.Reason, "never held from faults[2] heal at 20s to 35s") {
		t.Fatalf("%s: ok=%v vacuous=%v reason %q; want a failure counted from the heal", e.Expect, e.OK, e.Vacuous, e.Reason)
	}
}
