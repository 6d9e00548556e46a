package main

import (
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
