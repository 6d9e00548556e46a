package sweep

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSummaryFileMergedEqualsUnsharded: the summary.txt of merged shard
// files is the unsharded sweep's byte for byte, failing runs included,
// though each shard wrote to its own directory.
func TestSummaryFileMergedEqualsUnsharded(t *testing.T) {
	file := scenarioFile(t, tiny)
	all := seeds(t, "1-6")
	dir := t.TempDir()
	whole := mustRun(t, Config{File: file, Seeds: all, Vary: tinyGrid, Parallel: 2, Out: filepath.Join(dir, "whole")})
	var parts []*Sweep
	var names []string
	for _, i := range []int{3, 1, 2} {
		out := filepath.Join(dir, fmt.Sprintf("shard-%d", i))
		mustRun(t, Config{File: file, Seeds: all, Shard: Shard{i, 3}, Vary: tinyGrid, Parallel: 1, Out: out})
		p, err := ReadFile(filepath.Join(out, "sweep.json"))
		if err != nil {
			t.Fatal(err)
		}
		parts, names = append(parts, p), append(names, out)
	}
	merged, err := Merge(parts, names)
	if err != nil {
		t.Fatal(err)
	}
	if err := merged.WriteResults(filepath.Join(dir, "merged")); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(dir, "whole", SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "merged", SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("merged %s:\n%s\nunsharded:\n%s", SummaryFile, got, want)
	}
	text := string(want)
	if !strings.Contains(text, "FAILED:") || !strings.Contains(text, "reproduce: quorate sweep "+file+" --seeds ") {
		t.Errorf("the sweep should fail on some grid points, with a reproduce command naming no --out directory:\n%s", text)
	}
	for _, bad := range []string{dir, "wall", "trace:"} {
		if strings.Contains(text, bad) {
			t.Errorf("%s names %q, which depends on the machine:\n%s", SummaryFile, bad, text)
		}
	}

	// Timing: the whole sweep's, then every shard's in shard order.
	if len(whole.Timing) != 1 || whole.Timing[0].Shard != nil || whole.Timing[0].Seeds != 6 || whole.Timing[0].Runs != 24 || whole.Timing[0].Parallel != 2 {
		t.Errorf("unsharded timing %+v", whole.Timing)
	}
	if tm := whole.Timing[0]; tm.WallS <= 0 || math.Abs(tm.SeedsPerHour-6/tm.WallS*3600) > 1e-6*tm.SeedsPerHour {
		t.Errorf("unsharded timing %+v: seeds/hour is not seeds / wall", tm)
	}
	if len(merged.Timing) != 3 {
		t.Fatalf("merged timing %+v, want the three shards'", merged.Timing)
	}
	for i, tm := range merged.Timing {
		if tm.Shard == nil || *tm.Shard != (Shard{i + 1, 3}) || tm.Seeds != 2 || tm.Runs != 8 || tm.WallS <= 0 {
			t.Errorf("merged timing %d: %+v", i, tm)
		}
	}
	back, err := ReadFile(filepath.Join(dir, "merged", "sweep.json"))
	if err != nil || len(back.Timing) != 3 {
		t.Errorf("merged sweep.json read back: %v, timing %+v", err, back.Timing)
	}
}

func TestWriteTiming(t *testing.T) {
	ts := []Timing{
		{Shard: &Shard{1, 2}, Seeds: 500, Runs: 1000, Parallel: 2, WallS: 90, SeedsPerHour: 20000},
		{Shard: &Shard{2, 2}, Seeds: 500, Runs: 1000, Parallel: 1, WallS: 120, SeedsPerHour: 15000},
	}
	var b bytes.Buffer
	WriteTiming(&b, ts)
	want := "shard 1/2: 500 seeds (1000 runs) in 1m30s on 2 workers: 20,000 seeds/hour\n" +
		"shard 2/2: 500 seeds (1000 runs) in 2m0s on 1 worker: 15,000 seeds/hour\n" +
		"2 shards: 1000 seeds; the slowest shard took 2m0s, so the sweep ran at 30,000 seeds/hour\n"
	if b.String() != want {
		t.Errorf("WriteTiming:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	WriteTiming(&b, []Timing{{Seeds: 7, Runs: 7, Parallel: 1, WallS: 0.5, SeedsPerHour: 50400}})
	if want := "sweep: 7 seeds (7 runs) in 500ms on 1 worker: 50,400 seeds/hour\n"; b.String() != want {
		t.Errorf("WriteTiming unsharded: %q, want %q", b.String(), want)
	}
}

// TestTimingOfOldFiles: a sweep.json without timing (written before it
// was recorded) still merges, with the timing made from its wall time.
func TestTimingOfOldFiles(t *testing.T) {
	s := &Sweep{Shard: &Shard{2, 4}, Points: []*Point{{Name: "p1"}, {Name: "p2"}}, Runs: make([]Record, 6), WallS: 1.5, Parallel: 3}
	got := s.timings()
	if len(got) != 1 || *got[0].Shard != (Shard{2, 4}) || got[0].Seeds != 3 || got[0].Runs != 6 || got[0].SeedsPerHour != 3/1.5*3600 {
		t.Errorf("timings of an old file: %+v", got)
	}
}

func TestParseShardFrom(t *testing.T) {
	for _, tt := range []struct {
		in   string
		base int
		want Shard
		err  string
	}{
		{"0/4", 0, Shard{1, 4}, ""},
		{"3/4", 0, Shard{4, 4}, ""},
		{"0/1", 0, Shard{1, 1}, ""},
		{"4/4", 0, Shard{}, "0 <= I < N"},
		{"-1/4", 0, Shard{}, "0 <= I < N"},
		{"x/4", 0, Shard{}, "want I/N"},
		{"2", 0, Shard{}, "want I/N"},
		{"1/4", 1, Shard{1, 4}, ""},
		{"0/4", 1, Shard{}, "1 <= I <= N"},
		{"1/4", 2, Shard{}, "--shard-base 2"},
	} {
		got, err := ParseShardFrom(tt.in, tt.base)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseShardFrom(%q, %d) = %v, %v; want an error with %q", tt.in, tt.base, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseShardFrom(%q, %d) = %v, %v; want %v", tt.in, tt.base, got, err, tt.want)
		}
	}
}
