package sweep

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Timing is how long one shard (or an unsharded sweep) took on its
// machine, so that users can size the number of machines N: a sweep of S
// seeds on N machines like this one takes about S / N / SeedsPerHour
// hours. It lives in sweep.json beside the runs, never in the summary,
// whose deterministic part must not depend on the machine.
type Timing struct {
	Shard        *Shard  `json:"shard,omitempty"` // nil: the whole seed list
	Seeds        int     `json:"seeds"`           // seeds this shard ran (each at every grid point)
	Runs         int     `json:"runs"`            // simulations: seeds x grid points
	Parallel     int     `json:"parallel"`        // workers
	WallS        float64 `json:"wall_s"`          // elapsed time of the shard
	SeedsPerHour float64 `json:"seeds_per_hour"`  // Seeds / WallS, per hour
}

func newTiming(sh Shard, seeds, runs, parallel int, wall time.Duration) Timing {
	t := Timing{Seeds: seeds, Runs: runs, Parallel: parallel, WallS: wall.Seconds()}
	if !sh.Whole() {
		t.Shard = &sh
	}
	if t.WallS > 0 {
		t.SeedsPerHour = float64(seeds) / t.WallS * 3600
	}
	return t
}

// timings is the sweep's Timing list; a file written before sweeps
// recorded it gets one entry made from its wall time.
func (s *Sweep) timings() []Timing {
	if len(s.Timing) > 0 {
		return s.Timing
	}
	seeds := len(s.Runs) / max(len(s.Points), 1)
	return []Timing{newTiming(s.shard(), seeds, len(s.Runs), s.Parallel, time.Duration(s.WallS*float64(time.Second)))}
}

// mergeTimings lists the parts' timings in shard order.
func mergeTimings(parts []*Sweep) []Timing {
	var all []Timing
	for _, p := range parts {
		all = append(all, p.timings()...)
	}
	slices.SortStableFunc(all, func(a, b Timing) int {
		ai, bi := 0, 0
		if a.Shard != nil {
			ai = a.Shard.Index
		}
		if b.Shard != nil {
			bi = b.Shard.Index
		}
		return cmp.Compare(ai, bi)
	})
	return all
}

// WriteTiming prints one line per shard (wall time, workers, seeds/hour)
// and, for several shards, the slowest one: the figures that size N.
func WriteTiming(w io.Writer, ts []Timing) {
	var slowest float64
	seeds := 0
	for _, t := range ts {
		name := "sweep"
		if t.Shard != nil {
			name = "shard " + t.Shard.String()
		}
		fmt.Fprintf(w, "%s: %d seeds (%d runs) in %s on %d worker%s: %s seeds/hour\n", name, t.Seeds, t.Runs,
			round(time.Duration(t.WallS*float64(time.Second))), t.Parallel, plural(t.Parallel), perHour(t.SeedsPerHour))
		slowest = max(slowest, t.WallS)
		seeds += t.Seeds
	}
	if len(ts) > 1 {
		fmt.Fprintf(w, "%d shards: %d seeds; the slowest shard took %s, so the sweep ran at %s seeds/hour\n",
			len(ts), seeds, round(time.Duration(slowest*float64(time.Second))), perHour(float64(seeds)/slowest*3600))
	}
}

// perHour prints a rate with thousands separators and no false precision.
func perHour(r float64) string {
	if r <= 0 || r != r {
		return "-"
	}
	s := strconv.FormatInt(int64(r+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// SummaryFile is the name of the machine-independent summary that a sweep
// or a merge writes beside sweep.json: the table without wall times or
// trace paths, so that the merged shards' file equals the unsharded
// sweep's byte for byte (cmp is the check).
const SummaryFile = "summary.txt"

// WriteResults writes dir/sweep.json and dir/summary.txt.
func (s *Sweep) WriteResults(dir string) error {
	if err := s.WriteFile(filepath.Join(dir, "sweep.json")); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, machineFree(Summarize(s)), false); err != nil {
		return err
	}
	path := filepath.Join(dir, SummaryFile)
	if err := os.WriteFile(path+".tmp", buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// machineFree drops from a summary what names a machine's own --out
// directory: the trace paths, and the varied scenario files of grid
// points, which failure messages name relative to --out (points/p4.yaml)
// and reproduce commands replace by the equivalent quorate sweep --seeds N
// --vary ... command.
func machineFree(s *Summary) *Summary {
	c := *s
	c.Failures = slices.Clone(s.Failures)
	for i, f := range c.Failures {
		c.Failures[i].Trace = ""
		for _, p := range s.Points {
			if p.Name == f.Point && len(p.Settings) > 0 {
				c.Failures[i].Reproduce = reproduce(Config{File: s.File}, &Point{Settings: p.Settings}, f.Seed)
				file := p.File
				if f.Trace != "" { // OUT/failures/<point>-seed<N>/trace.jsonl: the run's own OUT
					file = filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(f.Trace))), "points", filepath.Base(p.File))
				}
				c.Failures[i].Failure = strings.ReplaceAll(f.Failure, file, path.Join("points", filepath.Base(p.File)))
			}
		}
	}
	return &c
}
