package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportRun(t *testing.T) {
	dir := t.TempDir()
	if code, out, errs := capture(t, "run", example, "--out", dir); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errs)
	}
	code, stdout, stderr := capture(t, "report", dir)
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	for _, f := range []string{"report.html", "report.md", "report.json", "report-nodes.svg", "report-links.svg"} {
		if !strings.Contains(stdout, filepath.Join(dir, f)) {
			t.Errorf("report did not list %s:\n%s", f, stdout)
		}
	}
	var rep struct {
		Kind  string `json:"kind"`
		OK    bool   `json:"ok"`
		Nodes []struct {
			Node string `json:"node"`
		} `json:"nodes"`
		Links []any `json:"links"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("report.json: %v\n%s", err, b)
	}
	// Three nodes, each seeing two links to each of two peers.
	if rep.Kind != "run" || !rep.OK || len(rep.Nodes) != 3 || rep.Nodes[0].Node != "hp1" || len(rep.Links) != 12 {
		t.Fatalf("report.json: %+v", rep)
	}
	other := t.TempDir()
	if code, _, stderr := capture(t, "report", dir, "--format", "md", "--out", other); code != 0 {
		t.Fatalf("report --out: exit %d\n%s", code, stderr)
	}
	if ents, _ := os.ReadDir(other); len(ents) != 3 { // report.md and two SVGs
		t.Fatalf("--format md --out wrote %d files", len(ents))
	}
}

func TestReportSweepHeatmap(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := capture(t, "sweep", example, "--seeds", "1", "--out", dir,
		"--vary", "cluster.totem.token=1000ms,3000ms", "--vary", "network.links[0].latency.mean=0.2ms,0.4ms")
	if code != 0 {
		t.Fatalf("sweep: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := capture(t, "report", dir, "--metric", "membership_changes_per_hour"); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	var rep struct {
		Kind    string `json:"kind"`
		Runs    int    `json:"runs"`
		Heatmap struct {
			XKey  string `json:"x_key"`
			Cells []struct {
				Value *float64 `json:"value"`
				N     int      `json:"n"`
			} `json:"cells"`
		} `json:"heatmap"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "sweep" || rep.Runs != 4 || rep.Heatmap.XKey != "cluster.totem.token" || len(rep.Heatmap.Cells) != 4 {
		t.Fatalf("report.json: %s", b)
	}
	// switch-failure forms its ring once and then fails over to link 1
	// without a membership change: the start-up ring is not churn, so 0
	// changes per hour of formed time.
	for _, c := range rep.Heatmap.Cells {
		if c.N != 1 || c.Value == nil || *c.Value != 0 {
			t.Fatalf("cell %+v: want 0 changes/h after formation from one run", c)
		}
	}
	// The same sweep by every change per hour of the run: the one
	// start-up ring in 60 s is 60 per hour.
	if code, _, stderr := capture(t, "report", dir, "--metric", "membership_changes", "--format", "json"); code != 0 {
		t.Fatalf("report --metric membership_changes: exit %d\n%s", code, stderr)
	}
}

func TestReportBadInputExitsTwo(t *testing.T) {
	empty := t.TempDir()
	corrupt := t.TempDir()
	os.WriteFile(filepath.Join(corrupt, "result.json"), []byte("{not json"), 0o644)
	noTrace := t.TempDir()
	res, err := os.ReadFile("../../reports/view/testdata/run/result.json")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(noTrace, "result.json"), res, 0o644)
	badTrace := t.TempDir()
	os.WriteFile(filepath.Join(badTrace, "result.json"), res, 0o644)
	os.WriteFile(filepath.Join(badTrace, "trace.jsonl"), []byte("{\"t\":0,\"k\":\"header\"}\n{\"t\":1,\"k\":\"boot\"\n"), 0o644)
	badSweep := t.TempDir()
	os.WriteFile(filepath.Join(badSweep, "sweep.json"), []byte(`{"format": 1, "runs": 3}`), 0o644)
	file := write(t, "f.txt", "x")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"report", empty}, empty + ": no result.json (a run directory) or sweep.json"},
		{[]string{"report", corrupt}, filepath.Join(corrupt, "result.json") + ": not a result.json"},
		{[]string{"report", noTrace}, filepath.Join(noTrace, "trace.jsonl")},
		{[]string{"report", badTrace}, filepath.Join(badTrace, "trace.jsonl") + ":2:"},
		{[]string{"report", badSweep}, filepath.Join(badSweep, "sweep.json")},
		{[]string{"report", file}, "not a directory"},
		{[]string{"report", "/nonexistent/dir"}, "/nonexistent/dir"},
		{[]string{"report", empty, "--format", "pdf"}, `"pdf" is not a format`},
		{[]string{"report", empty, "--metric", "speed"}, `--metric "speed"`},
		{[]string{"report"}, "accepts 1 arg"},
	} {
		code, _, stderr := capture(t, tc.args...)
		if code != exitBadInput || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestReportHistoryLink: a kv run's report links porcupine's history.html,
// also from a report written to another directory, and draws the latency CDF.
func TestReportHistoryLink(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run")
	if code, _, stderr := capture(t, "run", "../../scenarios/examples/stale-read.yaml", "--out", dir); code != exitFailed {
		t.Fatalf("stale-read: exit %d (want 1: its linearizability check fails)\n%s", code, stderr)
	}
	out := filepath.Join(root, "rep")
	if code, _, stderr := capture(t, "report", dir, "--out", out); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	page, _ := os.ReadFile(filepath.Join(out, "report.html"))
	if !strings.Contains(string(page), `href="../run/history.html"`) {
		t.Errorf("report.html does not link ../run/history.html")
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "[../run/history.html](../run/history.html)") || !strings.Contains(string(md), "![Operation latency CDF") {
		t.Errorf("report.md lacks the history link or the latency chart:\n%s", md)
	}
	if _, err := os.Stat(filepath.Join(out, "report-latency.svg")); err != nil {
		t.Error(err)
	}
}
