// Package regress runs a directory of regression cases against their
// recorded outcomes: recorded traces must replay bit for bit, and scenarios
// must pass or fail exactly as recorded in their .expect sidecars.
package regress

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// Kind is the kind of a regression case.
type Kind string

// Case kinds.
const (
	KindTrace    Kind = "trace"    // a recorded trace.jsonl: it must replay to the recorded hash
	KindScenario Kind = "scenario" // a scenario YAML: it must pass or fail as its .expect says
)

// ErrBadInput marks a case directory or case file that cannot be used.
var ErrBadInput = errors.New("regress: bad input")

// Case is one regression case found by Discover.
type Case struct {
	Name string // file name within the directory
	Kind Kind
	Path string
	// For scenarios: the recorded outcome. ExpectOK is false for a
	// scenario recorded as failing; ExpectContains, when set, is a
	// substring the failure must contain.
	ExpectOK       bool
	ExpectContains string
}

// Expected describes the recorded outcome of a scenario case.
func (c Case) Expected() string {
	if c.Kind == KindTrace {
		return "replay match"
	}
	if c.ExpectOK {
		return "ok"
	}
	if c.ExpectContains != "" {
		return "fail (" + c.ExpectContains + ")"
	}
	return "fail"
}

// Outcome is the result of running one case.
type Outcome struct {
	Case     Case
	Expected string // the recorded outcome, for people
	Got      string // what this run did, for people
	Pass     bool   // the run matches the recorded outcome
	Detail   string // why it does not (first divergence, failure text)
	Err      error  // the case could not be run at all (bad input)
	Wall     time.Duration
}

// Result is the word for the result column: pass, FAIL or ERROR.
func (o Outcome) Result() string {
	switch {
	case o.Err != nil:
		return "ERROR"
	case o.Pass:
		return "pass"
	default:
		return "FAIL"
	}
}

// Discover lists the cases of dir in name order: every *.jsonl is a trace
// case, every *.yaml (or *.yml) a scenario case whose recorded outcome is
// read from its NAME.expect sidecar (default ok). Other files are ignored.
func Discover(dir string) ([]Case, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	var cases []Case
	expects := map[string]bool{}
	scenarioBases := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		switch ext := filepath.Ext(name); ext {
		case ".jsonl":
			cases = append(cases, Case{Name: name, Kind: KindTrace, Path: p})
		case ".yaml", ".yml":
			base := strings.TrimSuffix(name, ext)
			if scenarioBases[base] {
				return nil, fmt.Errorf("%w: %s: two scenarios named %s share one .expect sidecar", ErrBadInput, p, base)
			}
			scenarioBases[base] = true
			c := Case{Name: name, Kind: KindScenario, Path: p, ExpectOK: true}
			if err := readExpect(filepath.Join(dir, base+".expect"), &c); err != nil {
				return nil, err
			}
			cases = append(cases, c)
		case ".expect":
			expects[strings.TrimSuffix(name, ext)] = true
		}
	}
	for base := range expects {
		if !scenarioBases[base] {
			return nil, fmt.Errorf("%w: %s: no scenario %s.yaml for this sidecar", ErrBadInput, filepath.Join(dir, base+".expect"), base)
		}
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%w: %s: no cases (*.jsonl traces or *.yaml scenarios)", ErrBadInput, dir)
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].Name < cases[j].Name })
	return cases, nil
}

// readExpect fills c from the sidecar at path, if there is one: a first
// line "ok" or "fail", and for fail an optional second line, a substring
// the failure must contain.
func readExpect(path string, c *Case) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadInput, err)
	}
	exp, err := ParseExpect(string(b))
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadInput, path, err)
	}
	c.ExpectOK, c.ExpectContains = exp.OK, exp.Contains
	return nil
}

// Expect is the recorded outcome of a scenario.
type Expect struct {
	OK       bool
	Contains string
}

// ParseExpect parses the text of a .expect sidecar.
func ParseExpect(text string) (Expect, error) {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return Expect{}, errors.New(`empty: want "ok" or "fail"`)
	}
	switch lines[0] {
	case "ok":
		if len(lines) > 1 {
			return Expect{}, errors.New(`"ok" takes no further lines`)
		}
		return Expect{OK: true}, nil
	case "fail":
		if len(lines) > 2 {
			return Expect{}, errors.New(`"fail" takes at most one further line, the substring the failure must contain`)
		}
		e := Expect{}
		if len(lines) == 2 {
			e.Contains = lines[1]
		}
		return e, nil
	}
	return Expect{}, fmt.Errorf(`first line %q: want "ok" or "fail"`, lines[0])
}

// Run runs cases on parallel workers (at least 1) and returns their
// outcomes in the order of cases.
func Run(cases []Case, parallel int) []Outcome {
	if parallel < 1 {
		parallel = 1
	}
	out := make([]Outcome, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(cases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = RunCase(cases[i])
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// RunCase runs one case.
func RunCase(c Case) (o Outcome) {
	start := time.Now()
	o = Outcome{Case: c, Expected: c.Expected()}
	defer func() {
		if p := recover(); p != nil {
			o.Pass, o.Got, o.Detail = false, "panic", fmt.Sprint(p)
		}
		o.Wall = time.Since(start)
	}()
	switch c.Kind {
	case KindTrace:
		runTrace(c, &o)
	case KindScenario:
		runScenario(c, &o)
	default:
		o.Err = fmt.Errorf("%w: %s: unknown case kind %q", ErrBadInput, c.Path, c.Kind)
	}
	return o
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func runTrace(c Case, o *Outcome) {
	rp, err := sim.ReplayFile(c.Path)
	if err != nil {
		o.Err = fmt.Errorf("%w: %w", ErrBadInput, err)
		o.Got = "unreadable"
		return
	}
	o.Expected = "sha256 " + short(rp.RecordedHash)
	o.Got = "sha256 " + short(rp.Result.TraceSHA256)
	o.Pass = rp.Match
	if !rp.Match {
		if rp.Result.TraceSHA256 == rp.RecordedHash {
			o.Got += " (lines differ)" // the recorded lines were edited, not the end hash
		}
		o.Detail = "replay does not reproduce the recorded trace"
		if rp.Divergence != "" {
			o.Detail = "first divergence: " + rp.Divergence
		}
	}
}

func runScenario(c Case, o *Outcome) {
	sc, err := scenarios.Load(c.Path)
	if err != nil {
		o.Err = fmt.Errorf("%w: %w", ErrBadInput, err)
		o.Got = "unreadable"
		return
	}
	res, err := sim.Run(sc, sim.Options{})
	var failure string
	switch {
	case err != nil && res == nil:
		o.Err = fmt.Errorf("%w: %s: %w", ErrBadInput, c.Path, err)
		o.Got = "unrunnable"
		return
	case err != nil:
		failure = err.Error()
	case !res.OK:
		failure = res.Failure
		if failure == "" {
			failure = "failed"
		}
	}
	if failure == "" {
		o.Got = "ok"
		o.Pass = c.ExpectOK
		if !o.Pass {
			o.Detail = "recorded as failing but now passes: a check or expectation no longer sees the failure"
		}
		return
	}
	o.Got = "fail"
	switch {
	case c.ExpectOK:
		o.Detail = failure
	case c.ExpectContains != "" && !strings.Contains(failure, c.ExpectContains):
		o.Got = "fail (other)"
		o.Detail = fmt.Sprintf("failure does not mention %q: %s", c.ExpectContains, failure)
	default:
		if c.ExpectContains != "" {
			o.Got = "fail (" + c.ExpectContains + ")"
		}
		o.Pass = true
	}
}

// Summary counts outcomes.
type Summary struct {
	Cases, Passed, Failed, Errors int
	Wall                          time.Duration // sum of case walls
}

// Summarize counts outcomes.
func Summarize(outcomes []Outcome) Summary {
	var s Summary
	for _, o := range outcomes {
		s.Cases++
		s.Wall += o.Wall
		switch {
		case o.Err != nil:
			s.Errors++
		case o.Pass:
			s.Passed++
		default:
			s.Failed++
		}
	}
	return s
}

// WriteTable writes the outcome table, the details of every case that did
// not pass, and a summary line.
func WriteTable(w io.Writer, outcomes []Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tKIND\tEXPECTED\tGOT\tRESULT\tWALL")
	for _, o := range outcomes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", o.Case.Name, o.Case.Kind, o.Expected, o.Got, o.Result(),
			o.Wall.Round(time.Millisecond))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, o := range outcomes {
		switch {
		case o.Err != nil:
			fmt.Fprintf(w, "\nERROR %s: %v\n", o.Case.Name, o.Err)
		case !o.Pass:
			fmt.Fprintf(w, "\nFAIL %s: %s\n", o.Case.Name, o.Detail)
		}
	}
	s := Summarize(outcomes)
	_, err := fmt.Fprintf(w, "\n%d cases: %d passed, %d failed, %d errors (%s of case time)\n",
		s.Cases, s.Passed, s.Failed, s.Errors, s.Wall.Round(time.Millisecond))
	return err
}
