package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

const incidentData = "../../scenarios/corolog/testdata/incidents"

// TestWhatIfSecondLink is the worked example of docs/ops.md: a switch
// failure took a single-link cluster apart (every node alone, no
// quorum); imported from the real Corosync logs it replays the same way,
// and replayed on the same cluster with a second link it keeps quorum
// throughout.
func TestWhatIfSecondLink(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(incidentData, "switch-1link")
	logs := []string{filepath.Join(d, "node1.log"), filepath.Join(d, "node2.log"), filepath.Join(d, "node3.log")}
	incident := filepath.Join(dir, "incident.yaml")
	code, stdout, stderr := capture(t, append([]string{"trace", "import", "--year", "2026", "--corosync-conf", filepath.Join(d, "corosync.conf"), "-o", incident}, logs...)...)
	if code != 0 {
		t.Fatalf("trace import: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"node2: 0s on 2 shared memberships", "node1: {node1,node2,node3} → {node1} → {node1,node2,node3}"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("trace import's report lacks %q:\n%s", want, stderr)
		}
	}
	code, stdout, stderr = capture(t, "run", incident)
	if code != 0 || !strings.Contains(stdout, "the simulator went through the same member sets and quorum verdicts on every node") {
		t.Errorf("run %s: exit %d\n%s%s", incident, code, stdout, stderr)
	}
	// The replay follows the recorded changes to within one token hold
	// period (totem.hold = 0.8 × token_retransmit − 10 ms: 685 ms for this
	// cluster's effective token of 3650 ms) and 50 ms for the daemons' own
	// timing: the logs date the token's last pass before the cut ("Token
	// has not been received in N ms"), but an idle ring's representative
	// holds the token up to a hold period, so the replay's last pass falls
	// anywhere in the hold period before the cut, by phase.
	if m := regexp.MustCompile(`each change within (\d+)ms of the recorded one`).FindStringSubmatch(stdout); m == nil {
		t.Errorf("run %s does not say how close the replay came in time:\n%s", incident, stdout)
	} else if ms, _ := strconv.Atoi(m[1]); ms > 735 {
		t.Errorf("run %s: changes up to %d ms from the recorded ones, want at most 735:\n%s", incident, ms, stdout)
	}
	// The same sidecar with the changes recorded 20 s later: the replay
	// is not in time.
	side := strings.TrimSuffix(incident, ".yaml") + ".members.json"
	var mf membersFile
	if err := json.Unmarshal(mustRead(t, side), &mf); err != nil {
		t.Fatal(err)
	}
	good := mustRead(t, side)
	for n := range mf.MembershipMs {
		for i := range mf.MembershipMs[n] {
			mf.MembershipMs[n][i] += 20000
		}
	}
	b, _ := json.Marshal(mf)
	if err := os.WriteFile(side, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, _ := capture(t, "run", incident); code != 1 || !strings.Contains(stdout, "but not in time: first node1: change 1") {
		t.Errorf("run with a sidecar 20 s late: exit %d\n%s", code, stdout)
	}
	if err := os.WriteFile(side, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if lost := quorumLost(t, incident); len(lost) == 0 {
		t.Errorf("the single-link replay never lost quorum; the incident did")
	}

	whatIf := filepath.Join(dir, "what-if.yaml")
	code, stdout, stderr = capture(t, append([]string{"trace", "import", "--year", "2026", "--corosync-conf", filepath.Join(d, "corosync.conf"),
		"--what-if", filepath.Join(d, "corosync.two-links.conf"), "-o", whatIf}, logs...)...)
	if code != 0 {
		t.Fatalf("trace import --what-if: exit %d\n%s%s", code, stdout, stderr)
	}
	y, _ := os.ReadFile(whatIf)
	for _, want := range []string{"{number: 1, switch: link1", "action: switch_down, switch: link0", "action: switch_up, switch: link0"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("what-if scenario lacks %q:\n%s", want, y)
		}
	}
	if strings.Contains(string(y), "expect:") {
		t.Errorf("what-if scenario expects the recorded outcome:\n%s", y)
	}
	code, stdout, stderr = capture(t, "run", whatIf)
	if code != 0 || !strings.Contains(stdout, "What if (") || !strings.Contains(stdout, "the outcome departs from the recorded one first at node1: missing change {node1}") {
		t.Errorf("run %s: exit %d\n%s%s", whatIf, code, stdout, stderr)
	}
	if lost := quorumLost(t, whatIf); len(lost) > 0 {
		t.Errorf("with a second link quorum was still lost: %v", lost)
	}
}

// quorumLost lists the nodes that lost quorum after first having it.
func quorumLost(t *testing.T, file string) []string {
	t.Helper()
	sc, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(sc, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	had := map[string]bool{}
	var lost []string
	for _, e := range res.Timeline {
		if e.Quorate == nil {
			continue
		}
		if *e.Quorate {
			had[e.Node] = true
		} else if had[e.Node] {
			lost = append(lost, e.Node)
		}
	}
	return lost
}

// TestTraceImportCorosyncBadInput: logs that cannot be imported exit 2
// naming the file and line and what to supply.
func TestTraceImportCorosyncBadInput(t *testing.T) {
	dir := t.TempDir()
	d := filepath.Join(incidentData, "crash-restart")
	conf := filepath.Join(d, "corosync.conf")
	b, err := os.ReadFile(filepath.Join(d, "node2.log"))
	if err != nil {
		t.Fatal(err)
	}
	// node2's log of another day: no ring in common with node1's.
	other := write(t, "node2.log", strings.ReplaceAll(string(b), "A new membership (", "A new membership (9"))
	one := write(t, "onenode.conf", strings.Split(string(mustRead(t, conf)), "nodelist {")[0]+"nodelist {\n  node {\n    name: node1\n    nodeid: 1\n    ring0_addr: 10.99.0.1\n    ring1_addr: 10.99.1.1\n  }\n}\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--corosync-conf", conf, conf}, conf + ":1: not a Corosync log"},
		{[]string{"--corosync-conf", one, filepath.Join(d, "node1.log")}, "node id 2 is not in the nodelist of " + one},
		{[]string{"--corosync-conf", conf, filepath.Join(d, "node1.log"), other}, other + ":1: the clock of node node2 cannot be aligned"},
		{[]string{"--corosync-conf", conf, "--what-if", filepath.Join(dir, "missing.conf"), filepath.Join(d, "node1.log")}, "missing.conf"},
		{[]string{"--what-if", conf, filepath.Join(d, "node1.log")}, "--what-if goes with --corosync-conf"},
	} {
		code, _, stderr := capture(t, append([]string{"trace", "import"}, tt.args...)...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
	if code, _, stderr := capture(t, "trace", "import", "--corosync-conf", conf, "--trust-clocks", "-o", filepath.Join(dir, "x.yaml"),
		filepath.Join(d, "node1.log"), other); code != 0 || !strings.Contains(stderr, "clock taken as it is") {
		t.Errorf("--trust-clocks: exit %d\n%s", code, stderr)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWhatIfNodeGone: a what-if cluster without a node the faults name is
// bad input, not a crash of the importer.
func TestWhatIfNodeGone(t *testing.T) {
	d := filepath.Join(incidentData, "crash-restart")
	conf := string(mustRead(t, filepath.Join(d, "corosync.conf")))
	i := strings.LastIndex(conf, "  node {")
	two := write(t, "two.conf", conf[:i]+"}\n")
	code, _, stderr := capture(t, "trace", "import", "--corosync-conf", filepath.Join(d, "corosync.conf"), "--what-if", two,
		filepath.Join(d, "node1.log"), filepath.Join(d, "node2.log"), filepath.Join(d, "node3.log"))
	if code != 2 || !strings.Contains(stderr, "the changed cluster cannot replay the recorded faults") {
		t.Errorf("exit %d, stderr %q; want 2 and the changed cluster's problem", code, stderr)
	}
}
