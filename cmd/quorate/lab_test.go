package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/quorate/quorate/lab"
	"github.com/quorate/quorate/reports"
)

// TestLabDiff runs the lab's smoke scenario (a switch failure, a crash and
// a restart, a kv workload) on real agents through `quorate lab diff`: the
// lab's own result must pass every expectation and check, the simulator's
// membership sequences must be the lab's, and nothing may be left behind.
// The timings are reported, not asserted: on a loaded machine they are
// the instrument's as much as the protocol's (docs/fidelity.md has them).
func TestLabDiff(t *testing.T) {
	if testing.Short() {
		t.Skip("lab test skipped under -short")
	}
	if err := lab.Check(""); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true, but the lab cannot run: %v", err)
		}
		t.Skip(err)
	}
	out := t.TempDir()
	code, stdout, stderr := cli(t, "", "lab", "diff", "../../lab/testdata/switch-crash-kv.yaml", "--out", out, "--format", "json")
	t.Logf("lab log:\n%s", stderr)
	m := regexp.MustCompile(`(?m)^lab ([0-9a-f]{6}) `).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no run id in the lab's log (exit %d)", code)
	}
	if left := lab.Leftovers(m[1]); len(left) > 0 {
		t.Errorf("the run left namespaces behind: %v", left)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if b, err := os.ReadFile(p); err == nil && strings.Contains(string(b), out) {
			t.Errorf("the run left a process behind: %q", strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	if code != 0 && code != 1 {
		t.Fatalf("lab diff: exit %d\n%s", code, stdout)
	}
	var d lab.Diff
	if err := json.Unmarshal([]byte(stdout), &d); err != nil {
		t.Fatalf("lab diff --format json: %v\n%s", err, stdout)
	}
	var res reports.Result
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err == nil {
		err = json.Unmarshal(b, &res)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK {
		t.Errorf("the smoke scenario failed in the lab: %s", res.Failure)
	}
	if !res.Checks["linearizable"] || res.Stats.OpsOK < 100 {
		t.Errorf("kv through the agents: linearizable %v, %d of %d operations completed", res.Checks["linearizable"], res.Stats.OpsOK, res.Stats.Ops)
	}
	if d.MembershipDiff != "" {
		t.Errorf("the simulator's membership sequences are not the lab's: %s", d.MembershipDiff)
	}
	if len(d.LabMembership["hp3"]) < 4 {
		t.Errorf("hp3's sequence in the lab misses the crash and the rejoin: %v", d.LabMembership["hp3"])
	}
	for _, f := range d.Figures {
		t.Logf("%-45s sim %9.1f lab %9.1f within %v", f.Name, f.Sim, f.Lab, f.Within)
	}
	if code == 1 && d.Agree {
		t.Errorf("exit 1 although the runs agree")
	}
}

// TestLabBadInput: a scenario the lab cannot carry out is refused before
// anything is built, naming the place and the reason (exit 2).
func TestLabBadInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dup.yaml")
	if err := os.WriteFile(path, []byte("name: dup\nduration: 10s\ncluster:\n  nodes: [{name: a}, {name: b}]\nnetwork:\n  links:\n    - {number: 0, duplicate: 0.1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"lab", "run", path}, {"lab", "diff", path}, {"lab", "run", path, "--compare"}} {
		code, _, stderr := cli(t, "", args...)
		if code != 2 || !strings.Contains(stderr, "dup.yaml:7:") || !strings.Contains(stderr, "duplication") {
			t.Errorf("%v: exit %d, want 2 naming dup.yaml:7 and duplication\n%s", args, code, stderr)
		}
	}
	if code, _, stderr := cli(t, "", "lab", "diff", path, "--tolerance", "-1"); code != 2 || !strings.Contains(stderr, "tolerance") {
		t.Errorf("--tolerance -1: exit %d\n%s", code, stderr)
	}
}
