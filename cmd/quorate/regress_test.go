package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const regressCorpus = "../../testdata/regress"

func TestRegressCorpus(t *testing.T) {
	junit := filepath.Join(t.TempDir(), "junit.xml")
	code, stdout, stderr := capture(t, "regress", regressCorpus, "--junit", junit, "--parallel", "4")
	if code != 0 {
		t.Fatalf("regress exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"CASE", "stale-read.yaml", "switch-failure-seed1.jsonl", "0 failed, 0 errors"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests < 20 || doc.Failures != 0 {
		t.Errorf("junit tests=%d failures=%d", doc.Tests, doc.Failures)
	}
}

func TestRegressTamperedTrace(t *testing.T) {
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(regressCorpus, "switch-failure-seed1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "good.jsonl"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	old := []byte(`"k":"boot","node":"hp1"`)
	if !bytes.Contains(b, old) {
		t.Fatal("nothing to tamper with")
	}
	bad := bytes.Replace(b, old, []byte(`"k":"boot","node":"hp9"`), 1)
	if err := os.WriteFile(filepath.Join(dir, "tampered.jsonl"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "out.xml")
	code, stdout, stderr := capture(t, "regress", dir, "--junit", junit)
	if code != 1 {
		t.Fatalf("regress exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"FAIL tampered.jsonl: first divergence", "1 passed, 1 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	x, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), `failures="1"`) {
		t.Errorf("junit:\n%s", x)
	}
}

func TestRegressBadInput(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.Mkdir(garbage, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(garbage, "x.jsonl"), []byte("not a trace\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badExpect := filepath.Join(dir, "badexpect")
	if err := os.Mkdir(badExpect, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"a.yaml": "name: a\n", "a.expect": "perhaps\n"} {
		if err := os.WriteFile(filepath.Join(badExpect, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"regress", filepath.Join(dir, "missing")},
		{"regress", dir}, // no cases
		{"regress", garbage},
		{"regress", badExpect},
		{"regress"},
		{"regress", regressCorpus, "--parallel", "0"},
	} {
		code, stdout, stderr := capture(t, args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}
