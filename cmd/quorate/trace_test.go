package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/scenarios/journal"
)

// writeJournals writes the journals of a three-node incident: the agents
// start 20 ms apart, as a script starting them would; hp3's agent is
// stopped at 8s and started again at 12s, after hp1 and hp2 formed their
// ring of two (at 8s + token + consensus, about 11.6s).
func writeJournals(t *testing.T, dir string) []string {
	t.Helper()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := &journal.Config{Format: journal.FormatVersion, ConfigVersion: 1, LinkMode: "passive",
		Token: journal.Duration(time.Second), TokenCoefficient: journal.Duration(650 * time.Millisecond),
		Links: []journal.ConfigLink{{Number: 0, Priority: 1, Port: 5405}}}
	names := []string{"hp1", "hp2", "hp3"}
	for i, n := range names {
		cfg.Nodes = append(cfg.Nodes, journal.ConfigNode{Name: n, ID: uint32(i + 1), Votes: 1, Addrs: map[string]string{"0": "10.0.0." + n[2:]}})
	}
	yes, no := true, false
	var paths []string
	for i, n := range names {
		var lines []string
		add := func(at time.Duration, r journal.Record) {
			r.Time, r.Cluster, r.Node, r.NodeID = t0.Add(at), "lab", n, uint32(i+1)
			b, _ := json.Marshal(r)
			lines = append(lines, string(b))
		}
		add(time.Duration(i)*20*time.Millisecond, journal.Record{Kind: journal.KindStart, Config: cfg})
		add(time.Second, journal.Record{Kind: journal.KindMembership, Members: names})
		add(time.Second, journal.Record{Kind: journal.KindQuorum, Quorate: &yes})
		if n == "hp3" {
			add(8*time.Second, journal.Record{Kind: journal.KindStop, Reason: "signal"})
			add(12*time.Second, journal.Record{Kind: journal.KindStart, Config: cfg})
			add(12*time.Second, journal.Record{Kind: journal.KindMembership, Members: []string{"hp3"}})
			add(12*time.Second, journal.Record{Kind: journal.KindQuorum, Quorate: &no})
		} else {
			add(11600*time.Millisecond, journal.Record{Kind: journal.KindMembership, Members: names[:2]})
		}
		add(14500*time.Millisecond, journal.Record{Kind: journal.KindMembership, Members: names})
		add(14500*time.Millisecond, journal.Record{Kind: journal.KindQuorum, Quorate: &yes})
		add(20*time.Second, journal.Record{Kind: journal.KindStop, Reason: "signal"})
		p := filepath.Join(dir, n+".jsonl")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestTraceImport: the imported scenario runs in the simulator, and the
// sidecar holds the observed membership sequences.
func TestTraceImport(t *testing.T) {
	dir := t.TempDir()
	paths := writeJournals(t, dir)
	out := filepath.Join(dir, "incident.yaml")
	code, stdout, stderr := capture(t, append([]string{"trace", "import", "-o", out}, paths...)...)
	if code != 0 {
		t.Fatalf("trace import: exit %d\n%s%s", code, stdout, stderr)
	}
	y, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"{at: 8s, action: crash, node: hp3}", "{at: 12s, action: restart, node: hp3}"} {
		if !strings.Contains(string(y), want) {
			t.Errorf("scenario lacks %q:\n%s", want, y)
		}
	}
	var mf membersFile
	b, err := os.ReadFile(filepath.Join(dir, "incident.members.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &mf); err != nil {
		t.Fatal(err)
	}
	if got := mf.Membership.String(); !strings.Contains(got, "hp1: {hp1,hp2,hp3} → {hp1,hp2} → {hp1,hp2,hp3}\n") || mf.Scenario != "trace-lab" {
		t.Errorf("members file: %s\n%s", mf.Scenario, got)
	}
	code, stdout, stderr = capture(t, "run", out)
	if code != 0 || !strings.Contains(stdout, "every expectation held") {
		t.Errorf("run of the imported scenario: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("quorate run %s:\n%s", out, stdout)
}

func TestTraceImportBadInput(t *testing.T) {
	dir := t.TempDir()
	paths := writeJournals(t, dir)
	syslog := write(t, "syslog", "Mar  1 12:00:00 hp1 corosync[812]: [TOTEM ] A new membership (1.4) was formed.\n")
	b, _ := os.ReadFile(paths[1])
	other := write(t, "other.jsonl", strings.ReplaceAll(string(b), `"cluster":"lab"`, `"cluster":"prod"`))
	lines := strings.Split(string(b), "\n")
	lines[2] = lines[2][:20]
	torn := write(t, "torn.jsonl", strings.Join(lines, "\n"))
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "import"}, "give at least one journal file"},
		{[]string{"trace", "import", syslog}, syslog + ":1: not a quorate journal"},
		{[]string{"trace", "import", paths[0], other}, other + `:1: record of cluster "prod"`},
		{[]string{"trace", "import", torn}, torn + ":3: corrupt line in the middle"},
		{[]string{"trace", "import", filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
	} {
		code, _, stderr := capture(t, tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}
