package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// capture runs the CLI with args and returns its exit code, stdout and stderr.
func capture(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	oldOut, oldErr := os.Stdout, os.Stderr
	ro, wo, _ := os.Pipe()
	re, we, _ := os.Pipe()
	os.Stdout, os.Stderr = wo, we
	outc, errc := make(chan string), make(chan string)
	go func() { b, _ := io.ReadAll(ro); outc <- string(b) }()
	go func() { b, _ := io.ReadAll(re); errc <- string(b) }()
	code := execute(args)
	wo.Close()
	we.Close()
	os.Stdout, os.Stderr = oldOut, oldErr
	return code, <-outc, <-errc
}

func write(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const example = "../../scenarios/examples/switch-failure.yaml"

func TestRunAndReplay(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := capture(t, "run", example, "--out", out)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "failover ms") || !strings.Contains(stdout, "OK: every expectation held") {
		t.Fatalf("run printed no failover table:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		OK    bool   `json:"ok"`
		Hash  string `json:"trace_sha256"`
		Seed  uint64 `json:"seed"`
		Links []any  `json:"links"`
	}
	if err := json.Unmarshal(b, &res); err != nil || !res.OK || res.Seed != 1 || len(res.Links) != 6 {
		t.Fatalf("result.json: %v %+v", err, res)
	}
	code, stdout, _ = capture(t, "replay", filepath.Join(out, "trace.jsonl"))
	if code != 0 || !strings.Contains(stdout, "replayed sha256 "+res.Hash) {
		t.Fatalf("replay: exit %d\n%s", code, stdout)
	}
	// The same run with --format json prints result.json's content.
	code, stdout, _ = capture(t, "run", example, "--format", "json")
	if code != 0 || !strings.Contains(stdout, `"trace_sha256": "`+res.Hash) {
		t.Fatalf("--format json: exit %d\n%s", code, stdout)
	}
}

func TestBadInputExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // substring of stderr: file:line:column and field
	}{
		{"malformed yaml", "name: x\nduration: [10s\n", "bad.yaml:"},
		{"misspelled key", "name: x\nduraton: 10s\nduration: 10s\ncluster:\n  nodes: [{name: a}]\n", "bad.yaml:2:1: duraton"},
		{"bad duration", "name: x\nduration: 10x\ncluster:\n  nodes: [{name: a}]\n", "bad.yaml:2:11: duration"},
		{"unknown node", "name: x\nduration: 10s\ncluster:\n  nodes: [{name: a}]\nfaults:\n  - {at: 1s, action: crash, node: zz}\n", "bad.yaml:6:35: faults[0].node"},
		{"unsupported check", "name: x\nduration: 10s\ncluster:\n  nodes: [{name: a}]\nexpect:\n  - {check: linearizable}\n", "bad.yaml:6:5: expect[0].check"},
		{"unknown when state", "name: x\nduration: 10s\ncluster:\n  nodes: [{name: a}]\nfaults:\n  - {when: {totem: comit}, action: crash, node: a}\n",
			"bad.yaml:6:20: faults[0].when.totem: unknown totem state or event \"comit\" (did you mean \"commit\"?) (known: gather, commit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := capture(t, "run", write(t, "bad.yaml", tt.src))
			if code != exitBadInput || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tt.want)
			}
		})
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--seed", "abc", example},
		{"run", "--format", "xml", example},
		{"run"},
		{"nosuchcommand"},
		{"replay", write(t, "x.jsonl", "not a trace\n")},
		{"run", "/nonexistent/file.yaml"},
	} {
		if code, _, _ := capture(t, args...); code != exitBadInput {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestFailedExpectationExitsOne(t *testing.T) {
	src, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(src, []byte("{at: 13s, node: hp1, peer: hp2, active_link: 1}"), []byte("{at: 13s, node: hp1, peer: hp2, active_link: 0}"), 1)
	code, stdout, _ := capture(t, "run", write(t, "sw.yaml", string(bad)))
	if code != exitFailed || !strings.Contains(stdout, "FAILED") || !strings.Contains(stdout, "reproduce with: quorate run") {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
}

// TestStatusAt: --status-at prints pvecm status for the asked node at the
// simulated instant, from the engine's own votequorum state.
func TestStatusAt(t *testing.T) {
	code, stdout, stderr := capture(t, "run", "../../scenarios/examples/crash-one-of-5.yaml", "--status-at", "30s", "--node", "hp1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"== pvecm status on hp1 at 30.000s ==", "Nodes:            4", "Quorate:          Yes",
		"Expected votes:   5", "Total votes:      4", "Quorum:           3", "0x00000001          1 hp1 (local)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "0x00000004") {
		t.Errorf("the crashed node is listed as a member:\n%s", stdout)
	}
	for _, args := range [][]string{
		{"run", "../../scenarios/examples/crash-one-of-5.yaml", "--status-at", "2m"},
		{"run", "../../scenarios/examples/crash-one-of-5.yaml", "--node", "hp1"},
		{"run", "../../scenarios/examples/crash-one-of-5.yaml", "--status-at", "10s", "--node", "nosuch"},
	} {
		if code, _, _ := capture(t, args...); code != exitBadInput {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
