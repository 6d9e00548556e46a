package sweep

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quorate/quorate/sim"
)

// tiny is a small fast scenario: three nodes, one crash, one lossy link.
// With token 10s and loss the membership has not re-formed by 15s on some
// seeds, so a grid over the token gives passing and failing points.
const tiny = `name: tiny
duration: 20s
cluster:
  nodes: [{name: a}, {name: b}, {name: c}]
  totem: {token: 1000ms}
network:
  links:
    - {number: 0, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}, loss: 0.02}
faults:
  - {at: 5s, action: crash, node: c}
expect:
  - {at: 15s, node: a, quorate: true, members: [a, b]}
`

// impossible cannot pass: c has crashed at 5s, yet a must see it at 15s.
var impossible = strings.Replace(tiny, "members: [a, b]", "members: [a, b, c]", 1)

var tinyGrid = []Vary{
	{Key: "cluster.totem.token", Values: []string{"1000ms", "10s"}},
	{Key: "network.links[0].loss", Values: []string{"0", "0.05"}},
}

func scenarioFile(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func seeds(t *testing.T, spec string) []uint64 {
	t.Helper()
	s, err := ParseSeeds(spec)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustRun(t *testing.T, cfg Config) *Sweep {
	t.Helper()
	sw, err := Run(cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return sw
}

// table renders the machine-independent summary (no wall times).
func table(t *testing.T, sw *Sweep) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTable(&b, Summarize(sw), false); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// runsJSON is every run's figures without the wall times.
func runsJSON(t *testing.T, sw *Sweep) string {
	t.Helper()
	var runs []Record
	for _, r := range sw.Runs {
		r.WallS = 0
		runs = append(runs, r)
	}
	b, err := json.Marshal(runs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParallelIndependent: the summary is the same byte for byte whether
// one worker or four run the sweep.
func TestParallelIndependent(t *testing.T) {
	file := scenarioFile(t, tiny)
	for _, grid := range [][]Vary{nil, tinyGrid} {
		one := mustRun(t, Config{File: file, Seeds: seeds(t, "1-12"), Vary: grid, Parallel: 1})
		four := mustRun(t, Config{File: file, Seeds: seeds(t, "1-12"), Vary: grid, Parallel: 4})
		if a, b := table(t, one), table(t, four); a != b {
			t.Errorf("--parallel 1 and 4 differ:\n%s\n%s", a, b)
		}
		if a, b := runsJSON(t, one), runsJSON(t, four); a != b {
			t.Errorf("--parallel 1 and 4 records differ")
		}
		if len(one.Runs) != 12*len(Grid(grid)) {
			t.Errorf("%d runs, want %d", len(one.Runs), 12*len(Grid(grid)))
		}
	}
}

// TestMergeEqualsUnsharded: shards 1/3..3/3, merged, give the summary of
// the unsharded sweep: byte for byte in memory, and through their
// sweep.json files up to the directory each shard wrote its files to.
func TestMergeEqualsUnsharded(t *testing.T) {
	file := scenarioFile(t, tiny)
	all := seeds(t, "1-10,20-21")
	whole := mustRun(t, Config{File: file, Seeds: all, Vary: tinyGrid, Parallel: 3})
	want := table(t, whole)
	if sum := Summarize(whole); sum.Failed == 0 || sum.Passed == 0 {
		t.Fatalf("the grid should mix passing and failing runs:\n%s", want)
	}
	var mem []*Sweep
	for i := 1; i <= 3; i++ {
		mem = append(mem, mustRun(t, Config{File: file, Seeds: all, Shard: Shard{i, 3}, Vary: tinyGrid, Parallel: 2}))
	}
	// Any order of the parts merges to the same sweep.
	merged, err := Merge([]*Sweep{mem[2], mem[0], mem[1]}, []string{"c", "a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if got := table(t, merged); got != want {
		t.Errorf("merged shards:\n%s\nunsharded:\n%s", got, want)
	}
	if runsJSON(t, merged) != runsJSON(t, whole) {
		t.Errorf("merged records differ from the unsharded ones")
	}

	// Through the files: each machine has its own --out directory, which
	// its point files, traces and reproduce commands name.
	dir := t.TempDir()
	wholeOut := filepath.Join(dir, "whole")
	want = table(t, mustRun(t, Config{File: file, Seeds: all, Vary: tinyGrid, Parallel: 3, Out: wholeOut}))
	var parts []*Sweep
	var names []string
	for i := 1; i <= 3; i++ {
		out := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		mustRun(t, Config{File: file, Seeds: all, Shard: Shard{i, 3}, Vary: tinyGrid, Parallel: 2, Out: out})
		p, err := ReadFile(filepath.Join(out, "sweep.json"))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, p)
		names = append(names, filepath.Join(out, "sweep.json"))
	}
	if merged, err = Merge(parts, names); err != nil {
		t.Fatal(err)
	}
	got := table(t, merged)
	for i := 1; i <= 3; i++ {
		got = strings.ReplaceAll(got, filepath.Join(dir, fmt.Sprintf("shard%d", i)), wholeOut)
	}
	if got != want {
		t.Errorf("merged shard files:\n%s\nunsharded:\n%s", got, want)
	}
	if !strings.Contains(got, "reproduce: quorate run "+filepath.Join(wholeOut, "points", "p4.yaml")) {
		t.Errorf("no reproduce command with the written point file:\n%s", got)
	}
}

func TestMergeErrors(t *testing.T) {
	file := scenarioFile(t, tiny)
	all := seeds(t, "1-6")
	s := func(i, n int, grid []Vary) *Sweep {
		return mustRun(t, Config{File: file, Seeds: all, Shard: Shard{i, n}, Vary: grid})
	}
	s13, s23, s33 := s(1, 3, nil), s(2, 3, nil), s(3, 3, nil)
	other := mustRun(t, Config{File: scenarioFile(t, strings.Replace(tiny, "20s", "21s", 1)), Seeds: all, Shard: Shard{2, 3}})
	tests := []struct {
		name  string
		parts []*Sweep
		err   string
	}{
		{"missing shard", []*Sweep{s13, s33}, "2 of the 6 seeds of the sweep (1-6) are in no file: 2,5; missing shard 2/3"},
		{"overlap", []*Sweep{s13, s23, s13}, "seed 1 is in both a and c: the shards overlap"},
		{"other grid", []*Sweep{s13, s(2, 3, tinyGrid)}, "a has grid (none: the scenario as written), but b has grid --vary cluster.totem.token=1000ms,10s"},
		{"other file", []*Sweep{s13, other}, "a and b swept different versions of scenario tiny"},
		{"nothing", nil, "nothing to merge"},
	}
	for _, tt := range tests {
		_, err := Merge(tt.parts, []string{"a", "b", "c"})
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: Merge = %v, want an error with %q", tt.name, err, tt.err)
		}
	}
	if _, err := Merge([]*Sweep{s23, s33, s13}, []string{"a", "b", "c"}); err != nil {
		t.Errorf("complete shards: %v", err)
	}
	// A truncated file is refused when read.
	dir := t.TempDir()
	s13.Runs = s13.Runs[1:]
	if err := s13.WriteFile(filepath.Join(dir, "sweep.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(filepath.Join(dir, "sweep.json")); err == nil || !strings.Contains(err.Error(), "1 runs, but 1 points x 2 seeds of shard \"1/3\" need 2") {
		t.Errorf("truncated sweep.json: %v", err)
	}
}

// TestFailureEntries: a scenario whose expectation cannot hold gives one
// failure per seed, each with its reason, the command that reproduces it
// (which reproduces the same trace) and, with --out, a replayable trace.
func TestFailureEntries(t *testing.T) {
	file := scenarioFile(t, impossible)
	out := filepath.Join(t.TempDir(), "out")
	sw := mustRun(t, Config{File: file, Seeds: seeds(t, "3-5"), Parallel: 2, Out: out})
	sum := Summarize(sw)
	if sum.OK() || sum.Failed != 3 || len(sum.Failures) != 3 {
		t.Fatalf("want 3 failures, got %+v", sum)
	}
	f := sum.Failures[1]
	if f.Point != "base" || f.Seed != 4 || !strings.Contains(f.Failure, "members=[a,b,c]") {
		t.Errorf("failure entry %+v", f)
	}
	if want := "quorate run " + file + " --seed 4"; f.Reproduce != want {
		t.Errorf("reproduce %q, want %q", f.Reproduce, want)
	}
	text := table(t, sw)
	for _, want := range []string{"FAILED: 3 of 3 runs", "base seed 4: expectation failed", "reproduce: quorate run " + file + " --seed 4",
		"trace:     " + filepath.Join(out, "failures", "base-seed4", "trace.jsonl")} {
		if !strings.Contains(text, want) {
			t.Errorf("the table lacks %q:\n%s", want, text)
		}
	}
	rp, err := sim.ReplayFile(f.Trace)
	if err != nil || !rp.Match || rp.Result.TraceSHA256 != sw.Runs[1].TraceSHA256 {
		t.Errorf("the failure's trace does not replay to the run's hash: %v %+v", err, rp)
	}
	for _, name := range []string{"sweep.json", "failures/base-seed3/result.json", "failures/base-seed5/trace.jsonl"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("--out: %v", err)
		}
	}
}

// TestGridReproduce: a failing grid point's command reproduces the run:
// with --out it runs the written point file, without it a one-point sweep.
func TestGridReproduce(t *testing.T) {
	file := scenarioFile(t, impossible)
	grid := []Vary{{Key: "cluster.totem.token", Values: []string{"1000ms", "2000ms"}}}
	out := filepath.Join(t.TempDir(), "out")
	sw := mustRun(t, Config{File: file, Seeds: seeds(t, "1-2"), Vary: grid, Out: out})
	last := sw.Runs[3]
	pointFile := filepath.Join(out, "points", "p2.yaml")
	if last.Point != "p2" || last.Reproduce != "quorate run "+pointFile+" --seed 2" {
		t.Fatalf("record %+v", last)
	}
	// The written point runs on its own (as `quorate run` would) to the same trace.
	again := mustRun(t, Config{File: pointFile, Seeds: []uint64{2}})
	if again.Runs[0].TraceSHA256 != last.TraceSHA256 {
		t.Errorf("%s --seed 2: trace %s, the sweep had %s", pointFile, again.Runs[0].TraceSHA256, last.TraceSHA256)
	}
	// Without --out the command is a sweep of that one point and seed.
	sw = mustRun(t, Config{File: file, Seeds: seeds(t, "1-2"), Vary: grid})
	last = sw.Runs[3]
	if want := "quorate sweep " + file + " --seeds 2 --vary cluster.totem.token=2000ms"; last.Reproduce != want {
		t.Fatalf("reproduce %q, want %q", last.Reproduce, want)
	}
	one := mustRun(t, Config{File: file, Seeds: []uint64{2}, Vary: []Vary{{Key: "cluster.totem.token", Values: []string{"2000ms"}}}})
	if one.Runs[0].TraceSHA256 != last.TraceSHA256 {
		t.Errorf("the one-point sweep gives trace %s, the grid had %s", one.Runs[0].TraceSHA256, last.TraceSHA256)
	}
}

// TestInputErrors: bad grids are input errors that name the --vary flag.
func TestInputErrors(t *testing.T) {
	file := scenarioFile(t, tiny)
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"unknown key", Config{Vary: []Vary{{Key: "cluster.totem.tokn", Values: []string{"1s"}}}},
			`--vary cluster.totem.tokn=1s: the scenario loader rejects it`},
		{"value rejected", Config{Vary: []Vary{{Key: "cluster.totem.token", Values: []string{"1s", "fast"}}}},
			`grid point p2: --vary cluster.totem.token=fast: the scenario loader rejects it`},
		{"no such entry", Config{Vary: []Vary{{Key: "network.links[1].loss", Values: []string{"0.1"}}}},
			"--vary network.links[1].loss=0.1: network.links has 1 entries"},
		{"key twice", Config{Vary: []Vary{{Key: "duration", Values: []string{"1s"}}, {Key: "duration", Values: []string{"2s"}}}},
			"key duration is varied twice"},
		{"the seed", Config{Vary: []Vary{{Key: "seed", Values: []string{"1", "2"}}}}, "every run's seed comes from --seeds"},
		{"no file", Config{File: filepath.Join(t.TempDir(), "none.yaml")}, "no such file"},
		{"no seeds", Config{Seeds: []uint64{}}, "no seeds"},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		if cfg.File == "" {
			cfg.File = file
		}
		if cfg.Seeds == nil {
			cfg.Seeds = []uint64{1}
		}
		_, err := Run(cfg)
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%s: Run = %v, want an input error with %q", tt.name, err, tt.err)
		}
	}
}

// TestSweepMatchesRun: the base point runs the file's own bytes, so a
// sweep's trace hash is the one `quorate run FILE --seed N` gives.
func TestSweepMatchesRun(t *testing.T) {
	file := "../scenarios/examples/switch-failure.yaml"
	sw := mustRun(t, Config{File: file, Seeds: seeds(t, "1-6"), Parallel: 3})
	sc := sw.Points[0].Scenario()
	for _, r := range sw.Runs {
		res, err := sim.Run(sc, sim.Options{Seed: r.Seed, SeedSet: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.TraceSHA256 != r.TraceSHA256 || !r.OK {
			t.Errorf("seed %d: sweep %s ok=%v, run %s", r.Seed, r.TraceSHA256, r.OK, res.TraceSHA256)
		}
		// The figures the report's per-hour and ratio metrics need.
		if r.SimulatedS != res.SimulatedS || r.SimulatedS != 60 || r.Ops != res.Stats.Ops || r.OpsOK != res.Stats.OpsOK {
			t.Errorf("seed %d: record simulated_s %v ops %d/%d, run %v %d/%d", r.Seed, r.SimulatedS, r.OpsOK, r.Ops,
				res.SimulatedS, res.Stats.OpsOK, res.Stats.Ops)
		}
	}
}

// TestReadsRecordsWithoutNewFigures: a sweep.json written before records
// carried simulated_s, ops and ops_ok still reads, with those at zero.
func TestReadsRecordsWithoutNewFigures(t *testing.T) {
	sw := mustRun(t, Config{File: scenarioFile(t, tiny), Seeds: seeds(t, "1-2")})
	b, err := json.Marshal(sw)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	json.Unmarshal(b, &raw)
	for _, r := range raw["runs"].([]any) {
		rec := r.(map[string]any)
		if _, ok := rec["simulated_s"]; !ok {
			t.Fatalf("a new record carries simulated_s: %v", rec)
		}
		delete(rec, "simulated_s")
		delete(rec, "ops")
		delete(rec, "ops_ok")
	}
	old, _ := json.Marshal(raw)
	p := filepath.Join(t.TempDir(), "sweep.json")
	os.WriteFile(p, old, 0o644)
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Runs) != 2 || got.Runs[0].SimulatedS != 0 || got.Runs[0].MembershipChanges != sw.Runs[0].MembershipChanges {
		t.Fatalf("old sweep.json read as %+v", got.Runs)
	}
}
