package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// failingExample is switch-failure with an expectation that cannot hold:
// hp1 still on link 0 three seconds after sw0 failed.
func failingExample(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(src, []byte("{at: 13s, node: hp1, peer: hp2, active_link: 1}"), []byte("{at: 13s, node: hp1, peer: hp2, active_link: 0}"), 1)
	if bytes.Equal(bad, src) {
		t.Fatal("the example changed; the failing variant no longer applies")
	}
	return write(t, "sw.yaml", string(bad))
}

// machineFree drops what depends on the machine and the directories from a
// JSON summary: wall times and trace paths.
func machineFree(t *testing.T, js string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, js)
	}
	var strip func(any)
	strip = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			delete(x, "wall_s")
			delete(x, "trace")
			for _, e := range x {
				strip(e)
			}
		case []any:
			for _, e := range x {
				strip(e)
			}
		}
	}
	strip(v)
	b, _ := json.Marshal(v)
	return string(b)
}

func TestSweepTable(t *testing.T) {
	code, stdout, stderr := capture(t, "sweep", example, "--seeds", "1-6", "--parallel", "3")
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"sweep switch-failure (" + example + ")  seeds 1-6  1 grid point  6 runs",
		"membership changes", "settle ms", "wall s", "│ base  │ 6    │ 6      │ 0      │", "OK: all 6 runs passed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "sweep: 6 runs in") || !strings.Contains(stderr, "on 3 workers") {
		t.Errorf("stderr: %q", stderr)
	}
}

// TestSweepParallel: --parallel 1 and 4 print the same summary.
func TestSweepParallel(t *testing.T) {
	args := []string{"sweep", example, "--seeds", "1-8", "--vary", "cluster.totem.token=1000ms,3000ms", "--format", "json"}
	code1, one, _ := capture(t, append(args, "--parallel", "1")...)
	code4, four, _ := capture(t, append(args, "--parallel", "4")...)
	if code1 != exitOK || code4 != exitOK {
		t.Fatalf("exit %d and %d\n%s", code1, code4, one)
	}
	if machineFree(t, one) != machineFree(t, four) {
		t.Errorf("--parallel 1:\n%s\n--parallel 4:\n%s", one, four)
	}
}

// TestSweepFailure: a failing seed exits 1 and prints its reason and the
// command that reproduces it; --out keeps its trace, which replays.
func TestSweepFailure(t *testing.T) {
	file := failingExample(t)
	out := t.TempDir()
	code, stdout, stderr := capture(t, "sweep", file, "--seeds", "2,4", "--out", out)
	if code != exitFailed {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	trace := filepath.Join(out, "failures", "base-seed4", "trace.jsonl")
	for _, want := range []string{"FAILED: 2 of 2 runs", "base seed 4: expectation failed: at 13s hp1 peer=hp2 active_link=0",
		"reproduce: quorate run " + file + " --seed 4", "trace:     " + trace} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the summary lacks %q:\n%s", want, stdout)
		}
	}
	if code, stdout, _ := capture(t, "replay", trace); code != exitOK {
		t.Errorf("replay of the failure's trace: exit %d\n%s", code, stdout)
	}
	// The reproduce command fails the same way.
	if code, stdout, _ := capture(t, "run", file, "--seed", "4"); code != exitFailed || !strings.Contains(stdout, "active_link=0") {
		t.Errorf("reproduce: exit %d\n%s", code, stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "sweep.json"))
	if err != nil || !bytes.Contains(b, []byte(`"reproduce": "quorate run `+file+` --seed 2"`)) {
		t.Errorf("sweep.json: %v\n%s", err, b)
	}
}

// TestSweepShardsMerge: two shards merged print what the unsharded sweep
// prints, and the merge can write the merged sweep.json.
func TestSweepShardsMerge(t *testing.T) {
	file := failingExample(t)
	dir := t.TempDir()
	args := []string{"sweep", file, "--seeds", "1-5", "--vary", "cluster.totem.token=1000ms,3000ms"}
	code, whole, _ := capture(t, append(args, "--format", "json")...)
	if code != exitFailed {
		t.Fatalf("unsharded: exit %d\n%s", code, whole)
	}
	var files []string
	for _, sh := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, strings.ReplaceAll(sh, "/", "of"))
		if code, stdout, stderr := capture(t, append(args, "--shard", sh, "--out", out)...); code != exitFailed {
			t.Fatalf("shard %s: exit %d\n%s%s", sh, code, stdout, stderr)
		}
		files = append(files, filepath.Join(out, "sweep.json"))
	}
	code, merged, stderr := capture(t, append([]string{"merge", "--format", "json", "--out", filepath.Join(dir, "all")}, files...)...)
	if code != exitFailed {
		t.Fatalf("merge: exit %d\n%s%s", code, merged, stderr)
	}
	if strings.Count(merged, `"failure"`) != 10 || !strings.Contains(merged, `"seeds": "1-5"`) {
		t.Errorf("merged summary:\n%s", merged)
	}
	var w, m map[string]any
	json.Unmarshal([]byte(machineFree(t, whole)), &w)
	json.Unmarshal([]byte(machineFree(t, merged)), &m)
	// The figures of every point are the same; the failures name the
	// shards' own point files, the unsharded ones a one-point sweep.
	for _, key := range []string{"runs", "passed", "failed", "seeds", "grid"} {
		if a, b := w[key], m[key]; !jsonEqual(a, b) {
			t.Errorf("%s: unsharded %v, merged %v", key, a, b)
		}
	}
	wp, mp := w["points"].([]any), m["points"].([]any)
	for i := range wp {
		wi, mi := wp[i].(map[string]any), mp[i].(map[string]any)
		delete(wi, "file")
		delete(mi, "file")
		if !jsonEqual(wi, mi) {
			t.Errorf("point %d: unsharded %v, merged %v", i, wi, mi)
		}
	}
	if len(w["failures"].([]any)) != len(m["failures"].([]any)) {
		t.Errorf("failures: unsharded %v, merged %v", w["failures"], m["failures"])
	}
	// The merged sweep.json merges again with nothing else.
	if code, stdout, _ := capture(t, "merge", filepath.Join(dir, "all", "sweep.json")); code != exitFailed || !strings.Contains(stdout, "FAILED: 10 of 10 runs") {
		t.Errorf("merged sweep.json: exit %d\n%s", code, stdout)
	}
	// A missing shard is an input error that says which.
	if code, _, stderr := capture(t, "merge", files[0]); code != exitBadInput || !strings.Contains(stderr, "missing shard 2/2") {
		t.Errorf("one shard of two: exit %d, %s", code, stderr)
	}
	if code, _, stderr := capture(t, "merge", files[0], files[1], files[0]); code != exitBadInput || !strings.Contains(stderr, "the shards overlap") {
		t.Errorf("overlapping shards: exit %d, %s", code, stderr)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestSweepShardsMergeTable: unsharded and merged tables are the same text
// but for the wall-time column.
func TestSweepShardsMergeTable(t *testing.T) {
	file := failingExample(t)
	dir := t.TempDir()
	_, whole, _ := capture(t, "sweep", file, "--seeds", "1-4")
	var files []string
	for _, sh := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, strings.ReplaceAll(sh, "/", "of"))
		capture(t, "sweep", file, "--seeds", "1-4", "--shard", sh, "--out", out)
		files = append(files, filepath.Join(out, "sweep.json"))
	}
	code, merged, stderr := capture(t, append([]string{"merge"}, files...)...)
	if code != exitFailed {
		t.Fatalf("merge: exit %d\n%s%s", code, merged, stderr)
	}
	if a, b := dropWallAndTraces(whole), dropWallAndTraces(merged); a != b {
		t.Errorf("unsharded:\n%s\nmerged:\n%s", whole, merged)
	}
}

// dropWallAndTraces cuts the last table column (wall s) and the trace lines.
func dropWallAndTraces(s string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "  trace:") {
			continue
		}
		if strings.ContainsAny(line, "│┌├└") {
			r := []rune(strings.TrimRight(line, " "))
			for i := len(r) - 2; i > 0; i-- {
				if strings.ContainsRune("│┐┤┘┬┼┴", r[i]) {
					r = r[:i+1]
					break
				}
			}
			line = string(r)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestSweepBadInput(t *testing.T) {
	tests := []struct {
		args []string
		want string // substring of stderr
	}{
		{[]string{"sweep", example}, "--seeds is required"},
		{[]string{"sweep", example, "--seeds", "5-1"}, "range 5-1 runs backwards"},
		{[]string{"sweep", example, "--seeds", "1,x"}, `"x" is not a seed`},
		{[]string{"sweep", example, "--seeds", "1-3", "--shard", "3/2"}, "--shard"},
		{[]string{"sweep", example, "--seeds", "1-3", "--parallel", "0"}, "--parallel 0"},
		{[]string{"sweep", example, "--seeds", "1-3", "--format", "xml"}, "--format"},
		{[]string{"sweep", example, "--seeds", "1-3", "--vary", "cluster.totem.token"}, "want key=v1,v2"},
		{[]string{"sweep", example, "--seeds", "1-3", "--vary", "cluster.totem.tokn=1s"}, "--vary cluster.totem.tokn=1s: the scenario loader rejects it"},
		{[]string{"sweep", example, "--seeds", "1-3", "--vary", "cluster.totem.token=1s,soon"}, "--vary cluster.totem.token=soon"},
		{[]string{"sweep", example, "--seeds", "1-3", "--vary", "network.links[2].loss=0.1"}, "--vary network.links[2].loss=0.1: network.links has 2 entries"},
		{[]string{"sweep", "/nonexistent.yaml", "--seeds", "1"}, "no such file"},
		{[]string{"sweep", write(t, "bad.yaml", "name: x\n"), "--seeds", "1"}, "bad.yaml:"},
		{[]string{"merge"}, "give the sweep.json files"},
		{[]string{"merge", "/nonexistent/sweep.json"}, "no such file"},
		{[]string{"merge", write(t, "sweep.json", "{}")}, "sweep.json format 0"},
	}
	for _, tt := range tests {
		code, _, stderr := capture(t, tt.args...)
		if code != exitBadInput || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestShrinkCommand: the stale-read demonstration shrinks to the isolation
// alone (the heal does not matter to the stale read) and the result still
// fails; a passing scenario is bad input.
func TestShrinkCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "small.yaml")
	code, _, stderr := capture(t, "shrink", "../../scenarios/examples/stale-read.yaml", "--seed", "1", "--out", out)
	if code != 0 || !strings.Contains(stderr, "faults 2 -> 1") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, _ := capture(t, "run", out, "--seed", "1"); code != exitFailed {
		t.Fatalf("the shrunk scenario exits %d, want 1", code)
	}
	if code, _, _ := capture(t, "shrink", example, "--seed", "1"); code != exitBadInput {
		t.Fatalf("shrinking a passing scenario exits %d, want 2", code)
	}
	if code, _, _ := capture(t, "shrink", example); code != exitBadInput {
		t.Fatalf("shrink without --seed exits %d, want 2", code)
	}
}
