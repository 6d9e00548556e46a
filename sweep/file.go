package sweep

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// Format is the version of sweep.json this package writes and reads.
const Format = 1

// Sweep is sweep.json: what was swept and every run's key figures. A
// sharded sweep holds only its shard's runs; Merge combines the shards.
type Sweep struct {
	Format       int      `json:"format"`
	Scenario     string   `json:"scenario"`      // the scenario's name
	File         string   `json:"file"`          // the scenario file as named on the command line
	SourceSHA256 string   `json:"source_sha256"` // of the file's bytes: shards must have swept the same file
	Seeds        string   `json:"seeds"`         // the whole sweep's seed list (see FormatSeeds)
	Shard        *Shard   `json:"shard,omitempty"`
	Grid         []Vary   `json:"grid,omitempty"`
	Points       []*Point `json:"points"`
	// Runs are in point order, then seed order.
	Runs     []Record `json:"runs"`
	WallS    float64  `json:"wall_s"`             // elapsed time of the sweep (of all shards, summed, after a merge)
	Parallel int      `json:"parallel,omitempty"` // workers; 0 after a merge
	// Timing: each shard's wall time and seeds/hour (one entry unless
	// merged); absent in files written before it was recorded.
	Timing []Timing `json:"timing,omitempty"`
	// Coverage sums the runs' coverage cells (reports.CoverageCell):
	// what the sweep's faults met, in protocol terms; absent in files
	// written before it was kept.
	Coverage []reports.CoverageCell `json:"coverage,omitempty"`
	// GuidedRound is a guided swarm's round (seeds drawn against one
	// coverage state); 0 for any other sweep.
	GuidedRound int `json:"guided_round,omitempty"`
}

// Record is one run's key figures.
type Record struct {
	Point             string `json:"point"`
	Seed              uint64 `json:"seed"`
	OK                bool   `json:"ok"`
	Failure           string `json:"failure,omitempty"`
	TraceSHA256       string `json:"trace_sha256"`
	MembershipChanges int64  `json:"membership_changes"`
	// Ops and OpsOK count the run's client operations and those that
	// succeeded; zero in files written before they were recorded.
	Ops       int64             `json:"ops,omitempty"`
	OpsOK     int64             `json:"ops_ok,omitempty"`
	Liveness  *reports.Liveness `json:"liveness,omitempty"`
	WallS     float64           `json:"wall_s"`
	Reproduce string            `json:"reproduce,omitempty"` // failing runs: the command that runs it again
	Trace     string            `json:"trace,omitempty"`     // failing runs with --out: the trace of the re-run
	// Figures: absent in files written before they were recorded.
	*Figures
	// coverage is the run's coverage cells, summed into Sweep.Coverage
	// (not kept per run: 100,000 runs would make the file huge).
	coverage []reports.CoverageCell
	// aims are the cells a guided draw aimed at (scenarios.RandomGuided).
	aims []scenarios.Cell
	// tries are its faults fired on an event, and which fired.
	tries []triggerTry
}

// WriteFile writes the sweep as indented JSON.
func (s *Sweep) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := writeJSON(path, s); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// writeJSON writes v as indented JSON through a temporary file renamed
// into place, so that a merge reading a shared results volume while a
// shard finishes sees the whole file or none.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadFile reads a sweep.json and checks that its runs are exactly its
// shard's seeds at each of its points, in order.
func ReadFile(path string) (*Sweep, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Sweep
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: not a sweep.json: %w", path, err)
	}
	if s.Format != Format {
		return nil, fmt.Errorf("%s: sweep.json format %d, this quorate reads format %d", path, s.Format, Format)
	}
	if err := s.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// seedList parses the sweep's whole seed list.
func (s *Sweep) seedList() ([]uint64, error) {
	seeds, err := ParseSeeds(s.Seeds)
	if err != nil {
		return nil, fmt.Errorf("bad seeds: %w", err)
	}
	return seeds, nil
}

// shard is the sweep's shard, the zero Shard when it has none.
func (s *Sweep) shard() Shard {
	if s.Shard == nil {
		return Shard{}
	}
	return *s.Shard
}

// check verifies that Runs are Points x the shard's seeds, in order.
func (s *Sweep) check() error {
	all, err := s.seedList()
	if err != nil {
		return err
	}
	if sh := s.shard(); !sh.Whole() && (sh.Index < 1 || sh.Index > sh.Count) {
		return fmt.Errorf("bad shard %d/%d", sh.Index, sh.Count)
	}
	if len(s.Points) == 0 {
		return fmt.Errorf("no grid points")
	}
	seeds := s.shard().Seeds(all)
	if len(s.Runs) != len(s.Points)*len(seeds) {
		return fmt.Errorf("%d runs, but %d points x %d seeds of shard %q need %d (is the file truncated?)",
			len(s.Runs), len(s.Points), len(seeds), s.shard().String(), len(s.Points)*len(seeds))
	}
	for i, r := range s.Runs {
		p, seed := s.Points[i/max(len(seeds), 1)], seeds[i%max(len(seeds), 1)]
		if r.Point != p.Name || r.Seed != seed {
			return fmt.Errorf("run %d is point %s seed %d, expected point %s seed %d", i, r.Point, r.Seed, p.Name, seed)
		}
	}
	return nil
}

// IncompleteError is Merge's error when the parts agree but leave seeds
// of the sweep uncovered: shards that may still be running.
type IncompleteError struct{ msg string }

func (e *IncompleteError) Error() string { return e.msg }

// Merge combines the result files of the shards of one sweep (or of
// sweeps of one scenario and grid over disjoint seed lists) into the sweep
// of all their seeds, as if it had run unsharded. names label the parts in
// error messages. The parts must agree on the scenario (its name and the
// file's hash) and the grid; together they must cover the union of their
// seed lists exactly once at every point.
func Merge(parts []*Sweep, names []string) (*Sweep, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("nothing to merge")
	}
	first := parts[0]
	owner := map[uint64]int{} // seed -> part
	var want []uint64
	for i, p := range parts {
		if p.Scenario != first.Scenario {
			return nil, fmt.Errorf("%s swept scenario %s, but %s swept scenario %s: merge combines shards of one sweep",
				names[0], first.Scenario, names[i], p.Scenario)
		}
		if p.SourceSHA256 != first.SourceSHA256 {
			return nil, fmt.Errorf("%s and %s swept different versions of scenario %s (%s has sha256 %.12s, %s has %.12s): merge combines shards of one sweep",
				names[0], names[i], p.Scenario, first.File, first.SourceSHA256, p.File, p.SourceSHA256)
		}
		if !reflect.DeepEqual(p.Grid, first.Grid) || !samePoints(p.Points, first.Points) {
			return nil, fmt.Errorf("%s has grid %s, but %s has grid %s: merge combines shards of one sweep",
				names[0], gridText(first.Grid), names[i], gridText(p.Grid))
		}
		all, err := p.seedList()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", names[i], err)
		}
		want = append(want, all...)
		for _, seed := range p.shard().Seeds(all) {
			if j, dup := owner[seed]; dup {
				return nil, fmt.Errorf("seed %d is in both %s and %s: the shards overlap (each machine needs its own --shard I/N)",
					seed, names[j], names[i])
			}
			owner[seed] = i
		}
	}
	slices.Sort(want)
	want = slices.Compact(want)
	var missing []uint64
	for _, seed := range want {
		if _, ok := owner[seed]; !ok {
			missing = append(missing, seed)
		}
	}
	if len(missing) > 0 {
		return nil, &IncompleteError{msg: fmt.Sprintf("%d of the %d seeds of the sweep (%s) are in no file: %s%s",
			len(missing), len(want), FormatSeeds(want), FormatSeeds(missing), missingShards(parts))}
	}
	out := &Sweep{
		Format:       Format,
		Scenario:     first.Scenario,
		File:         first.File,
		SourceSHA256: first.SourceSHA256,
		Seeds:        FormatSeeds(want),
		Grid:         first.Grid,
		Points:       first.Points,
		GuidedRound:  first.GuidedRound,
	}
	// Index every run, then lay them out in point order and seed order.
	type key struct {
		point string
		seed  uint64
	}
	byKey := map[key]Record{}
	for _, p := range parts {
		out.WallS += p.WallS
		for _, r := range p.Runs {
			byKey[key{r.Point, r.Seed}] = r
		}
	}
	out.Timing = mergeTimings(parts)
	for _, p := range parts {
		out.Coverage = reports.AddCoverage(out.Coverage, p.Coverage...)
	}
	for _, pt := range out.Points {
		for _, seed := range want {
			out.Runs = append(out.Runs, byKey[key{pt.Name, seed}])
		}
	}
	return out, nil
}

// missingShards names the shards absent from parts when they are shards
// of one seed list, as a hint for the missing-seeds error.
func missingShards(parts []*Sweep) string {
	n, seeds := parts[0].shard().Count, parts[0].Seeds
	have := map[int]bool{}
	for _, p := range parts {
		if p.shard().Whole() || p.shard().Count != n || p.Seeds != seeds {
			return ""
		}
		have[p.shard().Index] = true
	}
	var miss []string
	for i := 1; i <= n; i++ {
		if !have[i] {
			miss = append(miss, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(miss) == 0 {
		return ""
	}
	return "; missing shard " + strings.Join(miss, ", ")
}

func samePoints(a, b []*Point) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Settings, b[i].Settings) {
			return false
		}
	}
	return true
}

func gridText(g []Vary) string {
	if len(g) == 0 {
		return "(none: the scenario as written)"
	}
	var parts []string
	for _, v := range g {
		parts = append(parts, v.Flag())
	}
	return strings.Join(parts, " ")
}
