package view

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the output (go test ./reports/view -update rewrites it):\n%s", p, got)
	}
}

func writeFixtureRun(t *testing.T, formats string) string {
	t.Helper()
	r, err := LoadRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	f, err := ParseFormats(formats)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, err := WriteRun(r, out, f); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeFixtureSweep(t *testing.T) string {
	t.Helper()
	m, _ := MetricByName("membership_changes_per_hour")
	out := t.TempDir()
	f, _ := ParseFormats("html,md,json")
	if _, err := WriteSweep(BuildSweep(sweepFixture(), m), out, f); err != nil {
		t.Fatal(err)
	}
	return out
}

func read(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunGolden(t *testing.T) {
	out := writeFixtureRun(t, "html,md,json")
	golden(t, "run.report.md", read(t, filepath.Join(out, "report.md")))
	golden(t, "run.report.json", read(t, filepath.Join(out, "report.json")))
	for _, svg := range []string{"report-nodes.svg", "report-links.svg"} {
		if b := read(t, filepath.Join(out, svg)); !bytes.Contains(b, []byte("<svg")) {
			t.Fatalf("%s is not an SVG", svg)
		}
	}
}

func TestSweepGolden(t *testing.T) {
	out := writeFixtureSweep(t)
	golden(t, "sweep.report.md", read(t, filepath.Join(out, "report.md")))
	golden(t, "sweep.report.json", read(t, filepath.Join(out, "report.json")))
}

func TestFormatsWritten(t *testing.T) {
	out := writeFixtureRun(t, "json")
	ents, _ := os.ReadDir(out)
	if len(ents) != 1 || ents[0].Name() != "report.json" {
		t.Fatalf("--format json wrote %v", ents)
	}
	if _, err := ParseFormats("html,pdf"); err == nil || !strings.Contains(err.Error(), `"pdf"`) {
		t.Fatalf("bad format: %v", err)
	}
}

// TestHTMLSelfContained checks the page needs nothing from elsewhere: no
// external scripts, styles, images or fonts, and every chart inline.
func TestHTMLSelfContained(t *testing.T) {
	for _, out := range []string{writeFixtureRun(t, "html"), writeFixtureSweep(t)} {
		b := string(read(t, filepath.Join(out, "report.html")))
		for _, bad := range []string{"<script src", "<link", "<img", "@import", "url(http", "<?xml"} {
			if strings.Contains(b, bad) {
				t.Errorf("%s/report.html contains %q", out, bad)
			}
		}
		if n := strings.Count(b, `<svg class="chart"`); n < 2 {
			t.Errorf("%s/report.html has %d inline charts", out, n)
		}
	}
}

func TestLoadRunErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadRun(dir); err == nil || !strings.Contains(err.Error(), "result.json") {
		t.Fatalf("missing result.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "result.json"), []byte(`{"scenario":`), 0o644)
	if _, err := LoadRun(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "result.json")+": not a result.json") {
		t.Fatalf("corrupt result.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "result.json"), read(t, "testdata/run/result.json"), 0o644)
	if _, err := LoadRun(dir); err == nil || !strings.Contains(err.Error(), "trace.jsonl") {
		t.Fatalf("missing trace: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "trace.jsonl"), []byte("{\"t\":0,\"k\":\"header\"}\n{nope\n"), 0o644)
	_, err := LoadRun(dir)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), filepath.Join(dir, "trace.jsonl")+":2:") {
		t.Fatalf("corrupt trace: %v", err)
	}
}

var renderedRE = regexp.MustCompile(`id="charts-rendered" data-rendered="(\d+)">(\d+) of (\d+)<`)

// TestBrowserRendersCharts loads the pages in headless Chromium: the
// page's script counts the charts the browser laid out and writes the
// count into the DOM, which --dump-dom prints. Without Chromium the test
// is skipped, except under CI=true, where it fails.
func TestBrowserRendersCharts(t *testing.T) {
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (scripts/setup.sh installs it)")
		}
		t.Skip("chromium not installed")
	}
	for _, tc := range []struct {
		name string
		dir  string
		want string
	}{
		{"run", writeFixtureRun(t, "html"), "2"},
		{"sweep", writeFixtureSweep(t), "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom := dumpDOM(t, bin, filepath.Join(tc.dir, "report.html"))
			m := renderedRE.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no chart count in the DOM: the page's script did not run\n%.2000s", dom)
			}
			if m[1] != tc.want || m[2] != tc.want || m[3] != tc.want {
				t.Fatalf("browser drew %s of %s charts, want %s", m[2], m[3], tc.want)
			}
		})
	}
}

// chromiumWait bounds one headless Chromium page load: a few seconds on an
// idle machine, generous for two busy cores.
const chromiumWait = 5 * time.Minute

func dumpDOM(t *testing.T, bin, page string) string {
	t.Helper()
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+abs)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v\n%s", bin, err, stderr.String())
		}
	case <-time.After(chromiumWait):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s --dump-dom did not finish in %v (it takes a few seconds on an idle machine)\n%s", bin, chromiumWait, stderr.String())
	}
	return stdout.String()
}
