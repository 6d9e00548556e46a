package sim

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/reports/view"
	"github.com/quorate/quorate/scenarios"
)

// everyFault applies every fault action once; heal, power_off and
// cold_start carry no detail, the case whose label once lost its ring.
const everyFault = `
name: every-fault
duration: 100s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}, {name: hp4}]
  totem: {token: 1000ms}
  quorum:
    device: {algorithm: ffsplit}
network:
  links:
    - {number: 0, switch: sw0}
    - {number: 1, switch: sw1}
faults:
  - {at: 5s, action: crash, node: hp4}
  - {at: 10s, action: restart, node: hp4}
  - {at: 15s, action: power_off}
  - {at: 20s, action: cold_start}
  - {at: 30s, action: partition, groups: [[hp1, hp2], [hp3, hp4]]}
  - {at: 35s, action: heal}
  - {at: 40s, action: isolate, node: hp2}
  - {at: 45s, action: heal}
  - {at: 50s, action: drop, from: [hp1], to: [hp3]}
  - {at: 55s, action: heal}
  - {at: 60s, action: switch_down, switch: sw0}
  - {at: 62s, action: switch_up, switch: sw0}
  - {at: 64s, action: link_down, node: hp1, link: 1}
  - {at: 66s, action: link_up, node: hp1, link: 1}
  - {at: 68s, action: set_latency, link: 0, latency: {dist: constant, value: 1ms}}
  - {at: 70s, action: set_loss, link: 0, loss: 0}
  - {at: 72s, action: qnetd_down}
  - {at: 74s, action: qnetd_up}
  - {at: 76s, action: set_expected, node: hp1, votes: 4}
  - {at: 80s, action: crash, node: hp4}
  - {at: 85s, action: delnode, node: hp4, on: hp1}
  - {at: 90s, action: separate, node: hp3}
`

// TestFaultKindsRoundTrip runs every fault action, writes result.json and
// the trace, reads them back as the report does, and checks that the
// report's fault table shows the ring each fault led to, as the run found.
func TestFaultKindsRoundTrip(t *testing.T) {
	var known []reports.FaultAction
	for _, a := range scenarios.FaultActions() {
		known = append(known, reports.FaultAction(a))
	}
	if typed := slices.Sorted(slices.Values(reports.FaultActions)); !slices.Equal(typed, known) {
		t.Fatalf("reports.FaultActions %v, the scenario format knows %v", typed, known)
	}
	sc := parse(t, everyFault)
	var trace bytes.Buffer
	res := runOK(t, sc, Options{Trace: &trace})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back reports.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	tr, err := view.ReadTrace(&trace, "trace.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	rep := view.BuildRun(&back, tr)
	if len(rep.Faults) != len(sc.Faults) || len(back.Responses) != len(sc.Faults) {
		t.Fatalf("%d faults in the scenario, %d in the report, %d responses", len(sc.Faults), len(rep.Faults), len(back.Responses))
	}
	seen := map[reports.FaultAction]bool{}
	withRing := map[reports.FaultAction]bool{}
	for i, fr := range back.Responses {
		f := rep.Faults[i]
		seen[f.Action] = true
		if fr.Action != f.Action || fr.Action != reports.FaultAction(sc.Faults[i].Action) {
			t.Errorf("fault %d: result.json says %q, report %q, scenario %q", i, fr.Action, f.Action, sc.Faults[i].Action)
		}
		if f.NextRing != fr.RingID {
			t.Errorf("fault %d (%s at %.0fms): the run found ring %q next, the report shows %q",
				i, fr.Fault, fr.TMs, fr.RingID, f.NextRing)
		}
		if fr.RingID != "" {
			withRing[fr.Action] = true
		}
	}
	needConf := []reports.FaultAction{reports.FaultEditConf, reports.FaultAddNode, reports.FaultQdevSetup, reports.FaultQdevRemove}
	for _, a := range reports.FaultActions {
		// These edit the cluster's corosync.conf and need a cluster taken
		// from one; the library's scenarios run them
		// (TestConfigChangeLibrarySeeds) and TestClusterOpsExpectationsCanFail
		// reads their responses.
		if !seen[a] && !slices.Contains(needConf, a) {
			t.Errorf("action %s did not reach the report", a)
		}
	}
	for _, a := range []reports.FaultAction{reports.FaultHeal, reports.FaultColdStart, reports.FaultCrash} {
		if !withRing[a] {
			t.Errorf("no %s led to a new ring: the test would not see a lost one", a)
		}
	}
}
