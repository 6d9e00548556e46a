package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

func TestSwarmBadInput(t *testing.T) {
	families := strings.Join(scenarios.Families, ", ")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown family", []string{"swarm", "--family", "crsh", "--seeds", "1-3"}, "--family \"crsh\": unknown family (families: " + families + ")"},
		{"unknown in a list", []string{"swarm", "--family", "crash,nope", "--seeds", "1"}, "unknown family"},
		{"no seeds", []string{"swarm"}, "--seeds is required"},
		{"reversed range", []string{"swarm", "--seeds", "9-1"}, "--seeds \"9-1\": range 9-1 runs backwards"},
		{"not a range", []string{"swarm", "--seeds", "one"}, "--seeds \"one\""},
		{"bad shard", []string{"swarm", "--seeds", "1-4", "--shard", "3/2"}, "--shard:"},
		{"no workers", []string{"swarm", "--seeds", "1-4", "--parallel", "0"}, "need at least 1 worker"},
		{"bad format", []string{"swarm", "--seeds", "1", "--format", "xml"}, "--format must be table or json"},
		{"a file", []string{"swarm", "--seeds", "1", "x.yaml"}, ""},
		{"round without guided", []string{"swarm", "--seeds", "1", "--round", "3"}, "--round: rounds are for a guided swarm; add --guided"},
		{"empty round", []string{"swarm", "--seeds", "1", "--guided", "--round", "0"}, "--round 0: a round is at least 1 seed"},
		{"bad round", []string{"swarm", "--seeds", "1", "--guided", "--round", "x"}, "invalid argument \"x\" for \"--round\""},
		{"guided with a value", []string{"swarm", "--seeds", "1", "--guided=maybe"}, "--guided"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := capture(t, tc.args...)
			if code != exitBadInput {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitBadInput, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr does not say %q:\n%s", tc.want, stderr)
			}
		})
	}
}

// TestSwarmShardsMerge runs a few seeds whole and as two shards, and
// checks that merging the shards gives the whole swarm's summary.
func TestSwarmShardsMerge(t *testing.T) {
	dir := t.TempDir()
	args := []string{"swarm", "--family", "cold-start,partition", "--seeds", "1-4", "--parallel", "2", "--format", "json"}
	code, whole, stderr := capture(t, append(args, "--out", filepath.Join(dir, "whole"))...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, whole, stderr)
	}
	if !strings.Contains(whole, `"runs": 8`) && !strings.Contains(whole, `"runs":8`) {
		t.Fatalf("expected 8 runs (2 families x 4 seeds):\n%s", whole)
	}
	for _, sh := range []string{"1/2", "2/2"} {
		out := filepath.Join(dir, "shard"+sh[:1])
		if code, so, se := capture(t, append(args, "--shard", sh, "--out", out)...); code != exitOK {
			t.Fatalf("shard %s: exit %d\n%s%s", sh, code, so, se)
		}
	}
	code, merged, stderr := capture(t, "merge", "--format", "json",
		filepath.Join(dir, "shard1", "sweep.json"), filepath.Join(dir, "shard2", "sweep.json"))
	if code != exitOK {
		t.Fatalf("merge: exit %d\n%s%s", code, merged, stderr)
	}
	if machineFree(t, merged) != machineFree(t, whole) {
		t.Fatalf("the merged shards differ from the whole swarm\nmerged: %s\nwhole:  %s", machineFree(t, merged), machineFree(t, whole))
	}
}

// TestSwarmGuidedParallel: a guided swarm with one worker and with two
// prints the same summary and writes the same sweep.json, but for the
// wall times and the number of workers.
func TestSwarmGuidedParallel(t *testing.T) {
	dir := t.TempDir()
	var sums, files []string
	for _, p := range []string{"1", "2"} {
		out := filepath.Join(dir, "p"+p)
		code, stdout, stderr := capture(t, "swarm", "--guided", "--round", "2", "--family", "cold-start,crash",
			"--seeds", "1-4", "--parallel", p, "--format", "json", "--out", out)
		if code != exitOK {
			t.Fatalf("--parallel %s: exit %d\n%s%s", p, code, stdout, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "sweep.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if v["scenario"] != "swarm-guided" || v["guided_round"] != 2.0 {
			t.Fatalf("sweep.json does not say it is guided: scenario %v, guided_round %v", v["scenario"], v["guided_round"])
		}
		delete(v, "parallel")
		delete(v, "timing")
		b, _ = json.Marshal(v)
		sums, files = append(sums, stripParallel(t, machineFree(t, stdout))), append(files, machineFree(t, string(b)))
	}
	if sums[0] != sums[1] {
		t.Fatalf("the summaries of --parallel 1 and 2 differ:\n%s\n%s", sums[0], sums[1])
	}
	if files[0] != files[1] {
		t.Fatalf("the sweep.json of --parallel 1 and 2 differ:\n%s\n%s", files[0], files[1])
	}
}

// stripParallel drops what depends on the number of workers from a
// summary in JSON: the workers and the throughput.
func stripParallel(t *testing.T, js string) string {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"parallel", "timing", "seeds_per_hour"} {
		delete(v, k)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
