package regress

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	corpus       = "../testdata/regress"
	passScenario = "../scenarios/examples/switch-failure.yaml"
	failScenario = "../testdata/regress/stale-read.yaml"
	goodTrace    = "../testdata/regress/switch-failure-seed1.jsonl"
)

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// tamper copies a trace and changes one of its lines, so the replay
// diverges from it while it still parses.
func tamper(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	old := []byte(`"k":"boot","node":"hp1"`)
	if !bytes.Contains(b, old) {
		t.Fatalf("%s: nothing to tamper with", from)
	}
	writeFile(t, to, bytes.Replace(b, old, []byte(`"k":"boot","node":"hp9"`), 1))
}

func TestParseExpect(t *testing.T) {
	for _, tc := range []struct {
		text    string
		want    Expect
		wantErr bool
	}{
		{text: "ok\n", want: Expect{OK: true}},
		{text: "ok", want: Expect{OK: true}},
		{text: "  ok  \r\n\n", want: Expect{OK: true}},
		{text: "fail\n", want: Expect{}},
		{text: "fail\nlinearizability\n", want: Expect{Contains: "linearizability"}},
		{text: "fail\n\n  stale read of key  \n", want: Expect{Contains: "stale read of key"}},
		{text: "", wantErr: true},
		{text: "\n\n", wantErr: true},
		{text: "pass\n", wantErr: true},
		{text: "OK\n", wantErr: true},
		{text: "ok\nsomething\n", wantErr: true},
		{text: "fail\na\nb\n", wantErr: true},
	} {
		got, err := ParseExpect(tc.text)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseExpect(%q) error = %v, want error %v", tc.text, err, tc.wantErr)
			continue
		}
		if err == nil && got != tc.want {
			t.Errorf("ParseExpect(%q) = %+v, want %+v", tc.text, got, tc.want)
		}
	}
}

func TestDiscover(t *testing.T) {
	type file struct{ name, text string }
	for _, tc := range []struct {
		name    string
		files   []file
		want    []Case // Path is filled in relative to the dir
		wantErr string
	}{
		{
			name: "kinds and sidecars",
			files: []file{
				{"b.jsonl", "x"}, {"a.yaml", "x"}, {"c.yaml", "x"}, {"c.expect", "fail\nboom\n"},
				{"d.yml", "x"}, {"d.expect", "ok\n"}, {"README.md", "x"}, {".hidden.jsonl", "x"},
			},
			want: []Case{
				{Name: "a.yaml", Kind: KindScenario, ExpectOK: true},
				{Name: "b.jsonl", Kind: KindTrace},
				{Name: "c.yaml", Kind: KindScenario, ExpectContains: "boom"},
				{Name: "d.yml", Kind: KindScenario, ExpectOK: true},
			},
		},
		{name: "empty", files: nil, wantErr: "no cases"},
		{name: "only other files", files: []file{{"notes.txt", "x"}}, wantErr: "no cases"},
		{name: "bad sidecar", files: []file{{"a.yaml", "x"}, {"a.expect", "maybe\n"}}, wantErr: `"maybe"`},
		{name: "orphan sidecar", files: []file{{"a.jsonl", "x"}, {"b.expect", "ok\n"}}, wantErr: "no scenario b.yaml"},
		{name: "yaml and yml share a sidecar", files: []file{{"a.yaml", "x"}, {"a.yml", "x"}}, wantErr: "share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				writeFile(t, filepath.Join(dir, f.name), []byte(f.text))
			}
			got, err := Discover(dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrBadInput) {
					t.Fatalf("Discover error = %v, want ErrBadInput mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Discover = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				w := tc.want[i]
				w.Path = filepath.Join(dir, w.Name)
				if got[i] != w {
					t.Errorf("case %d = %+v, want %+v", i, got[i], w)
				}
			}
		})
	}
}

func TestDiscoverMissingDir(t *testing.T) {
	_, err := Discover(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, ErrBadInput) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Discover(missing) = %v, want ErrBadInput and ErrNotExist", err)
	}
}

func TestRunCases(t *testing.T) {
	dir := t.TempDir()
	tampered := filepath.Join(dir, "tampered.jsonl")
	tamper(t, goodTrace, tampered)
	garbage := filepath.Join(dir, "garbage.jsonl")
	writeFile(t, garbage, []byte("not a trace\n"))
	badYAML := filepath.Join(dir, "bad.yaml")
	writeFile(t, badYAML, []byte("name: [\n"))

	for _, tc := range []struct {
		name       string
		c          Case
		wantPass   bool
		wantErr    bool
		wantGot    string
		wantDetail string
	}{
		{name: "trace replays", c: Case{Name: "t", Kind: KindTrace, Path: goodTrace}, wantPass: true},
		{name: "tampered trace", c: Case{Name: "t", Kind: KindTrace, Path: tampered}, wantDetail: "first divergence: line 2"},
		{name: "unreadable trace", c: Case{Name: "t", Kind: KindTrace, Path: garbage}, wantErr: true, wantGot: "unreadable"},
		{name: "missing trace", c: Case{Name: "t", Kind: KindTrace, Path: filepath.Join(dir, "nope.jsonl")}, wantErr: true},
		{name: "scenario ok as recorded", c: Case{Name: "s", Kind: KindScenario, Path: passScenario, ExpectOK: true}, wantPass: true, wantGot: "ok"},
		{name: "scenario recorded failing now passes", c: Case{Name: "s", Kind: KindScenario, Path: passScenario}, wantGot: "ok", wantDetail: "now passes"},
		{name: "scenario fails as recorded", c: Case{Name: "s", Kind: KindScenario, Path: failScenario, ExpectContains: "linearizability"}, wantPass: true, wantGot: "fail (linearizability)"},
		{name: "scenario fails, no substring", c: Case{Name: "s", Kind: KindScenario, Path: failScenario}, wantPass: true, wantGot: "fail"},
		{name: "scenario fails another way", c: Case{Name: "s", Kind: KindScenario, Path: failScenario, ExpectContains: "no such failure"}, wantGot: "fail (other)", wantDetail: `does not mention "no such failure"`},
		{name: "scenario recorded ok now fails", c: Case{Name: "s", Kind: KindScenario, Path: failScenario, ExpectOK: true}, wantGot: "fail", wantDetail: "linearizability"},
		{name: "bad scenario", c: Case{Name: "s", Kind: KindScenario, Path: badYAML, ExpectOK: true}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := RunCase(tc.c)
			if (o.Err != nil) != tc.wantErr {
				t.Fatalf("Err = %v, want error %v", o.Err, tc.wantErr)
			}
			if o.Err != nil && !errors.Is(o.Err, ErrBadInput) {
				t.Errorf("Err = %v, want ErrBadInput", o.Err)
			}
			if !tc.wantErr && o.Pass != tc.wantPass {
				t.Errorf("Pass = %v, want %v (detail %q)", o.Pass, tc.wantPass, o.Detail)
			}
			if tc.wantGot != "" && o.Got != tc.wantGot {
				t.Errorf("Got = %q, want %q", o.Got, tc.wantGot)
			}
			if tc.wantDetail != "" && !strings.Contains(o.Detail, tc.wantDetail) {
				t.Errorf("Detail = %q, want it to contain %q", o.Detail, tc.wantDetail)
			}
			if o.Pass && o.Detail != "" {
				t.Errorf("passing case has detail %q", o.Detail)
			}
			if o.Wall <= 0 {
				t.Errorf("Wall = %v", o.Wall)
			}
		})
	}
}

func TestRunKeepsOrder(t *testing.T) {
	cases := []Case{
		{Name: "1", Kind: KindScenario, Path: failScenario},
		{Name: "2", Kind: KindTrace, Path: goodTrace},
		{Name: "3", Kind: KindScenario, Path: passScenario, ExpectOK: true},
		{Name: "4", Kind: "bogus"},
	}
	for _, parallel := range []int{0, 1, 3, 16} {
		out := Run(cases, parallel)
		if len(out) != len(cases) {
			t.Fatalf("parallel %d: %d outcomes", parallel, len(out))
		}
		for i, o := range out {
			if o.Case != cases[i] {
				t.Errorf("parallel %d: outcome %d is of case %q", parallel, i, o.Case.Name)
			}
		}
		if s := Summarize(out); s != (Summary{Cases: 4, Passed: 3, Errors: 1, Wall: s.Wall}) {
			t.Errorf("parallel %d: summary %+v", parallel, s)
		}
	}
}

func TestCorpus(t *testing.T) {
	cases, err := Discover(corpus)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 20 {
		t.Errorf("corpus has %d cases, want at least 20", len(cases))
	}
	for _, o := range Run(cases, 4) {
		if o.Err != nil || !o.Pass {
			t.Errorf("%s: %s: expected %s, got %s: %v %s", o.Case.Name, o.Result(), o.Expected, o.Got, o.Err, o.Detail)
		}
	}
}

func TestWriteTable(t *testing.T) {
	out := []Outcome{
		{Case: Case{Name: "a.jsonl", Kind: KindTrace}, Expected: "sha256 x", Got: "sha256 x", Pass: true, Wall: 12 * time.Millisecond},
		{Case: Case{Name: "b.yaml", Kind: KindScenario}, Expected: "fail", Got: "ok", Detail: "now passes"},
		{Case: Case{Name: "c.jsonl", Kind: KindTrace}, Got: "unreadable", Err: errors.New("boom")},
	}
	var b bytes.Buffer
	if err := WriteTable(&b, out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CASE", "KIND", "EXPECTED", "GOT", "RESULT", "WALL", "a.jsonl", "12ms",
		"FAIL b.yaml: now passes", "ERROR c.jsonl: boom", "3 cases: 1 passed, 1 failed, 1 errors"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}

func TestJUnitParsesBack(t *testing.T) {
	out := []Outcome{
		{Case: Case{Name: "a.jsonl", Kind: KindTrace}, Expected: "sha256 x", Got: "sha256 x", Pass: true, Wall: 1500 * time.Millisecond},
		{Case: Case{Name: "b.yaml", Kind: KindScenario}, Expected: "fail", Got: "ok", Detail: "now passes <&>", Wall: 250 * time.Millisecond},
		{Case: Case{Name: "c.jsonl", Kind: KindTrace}, Expected: "sha256 y", Got: "sha256 z", Detail: "first divergence: line 7"},
		{Case: Case{Name: "d.jsonl", Kind: KindTrace}, Got: "unreadable", Err: errors.New("not a trace")},
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b, out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "<?xml") {
		t.Errorf("no XML declaration:\n%s", b.String())
	}
	// Parse with a generic shape, independent of the writer's types.
	var doc struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Errors   int      `xml:"errors,attr"`
		Suites   []struct {
			Name     string  `xml:"name,attr"`
			Tests    int     `xml:"tests,attr"`
			Failures int     `xml:"failures,attr"`
			Errors   int     `xml:"errors,attr"`
			Time     float64 `xml:"time,attr"`
			Cases    []struct {
				Name      string  `xml:"name,attr"`
				Classname string  `xml:"classname,attr"`
				Time      float64 `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
				Error *struct {
					Message string `xml:"message,attr"`
				} `xml:"error"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("JUnit output does not parse: %v\n%s", err, b.String())
	}
	if doc.Tests != 4 || doc.Failures != 2 || doc.Errors != 1 {
		t.Errorf("testsuites counts tests=%d failures=%d errors=%d, want 4 2 1", doc.Tests, doc.Failures, doc.Errors)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	if s.Name == "" || s.Tests != 4 || s.Failures != 2 || s.Errors != 1 || len(s.Cases) != 4 {
		t.Errorf("testsuite %q tests=%d failures=%d errors=%d cases=%d, want 4 2 1 4", s.Name, s.Tests, s.Failures, s.Errors, len(s.Cases))
	}
	if s.Time != 1.75 {
		t.Errorf("testsuite time = %v, want 1.75 (seconds)", s.Time)
	}
	var failures, errs int
	for i, c := range s.Cases {
		if c.Name != out[i].Case.Name || c.Classname != "regress."+string(out[i].Case.Kind) {
			t.Errorf("testcase %d name=%q classname=%q", i, c.Name, c.Classname)
		}
		if c.Failure != nil {
			failures++
		}
		if c.Error != nil {
			errs++
		}
	}
	if failures != 2 || errs != 1 {
		t.Errorf("%d failure and %d error elements, want 2 and 1", failures, errs)
	}
	if s.Cases[0].Time != 1.5 {
		t.Errorf("testcase time = %v, want 1.5", s.Cases[0].Time)
	}
	if f := s.Cases[1].Failure; f == nil || f.Text != "now passes <&>" || f.Message != "expected fail, got ok" {
		t.Errorf("failure element = %+v", f)
	}
}

func TestJUnitEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, nil); err != nil {
		t.Fatal(err)
	}
	var doc JUnitSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Tests != 0 || len(doc.Suites) != 1 || doc.Suites[0].Tests != 0 {
		t.Errorf("empty report: %+v", doc)
	}
}
