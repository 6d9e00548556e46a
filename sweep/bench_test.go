package sweep

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/sim"
)

// heaviest is the library scenario that takes longest per seed
// (BenchmarkLibraryPerSeed measures them all; docs/benchmarks.md has the
// figures that chose it).
const heaviest = "../scenarios/library/redundant-links-switch-upgrade.yaml"

// BenchmarkLibraryPerSeed: one seed of every library scenario on one
// worker, to find the heaviest.
func BenchmarkLibraryPerSeed(b *testing.B) {
	files, err := filepath.Glob("../scenarios/library/*.yaml")
	if err != nil || len(files) == 0 {
		b.Fatalf("no library scenarios: %v", err)
	}
	for _, f := range files {
		b.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(b *testing.B) {
			benchSweep(b, f, 1, 1)
		})
	}
}

// BenchmarkSweepHeaviest: seeds per hour of the heaviest library scenario
// on one and on two workers; the ratio of the two is the parallel
// speed-up. Eight seeds per sweep keep both workers busy to the end.
func BenchmarkSweepHeaviest(b *testing.B) {
	for _, parallel := range []int{1, 2} {
		b.Run(fmt.Sprintf("parallel=%d", parallel), func(b *testing.B) {
			benchSweep(b, heaviest, 8, parallel)
		})
	}
}

// benchSweep runs sweeps of n seeds of file on parallel workers and
// reports seeds per hour of wall time and wall seconds per seed.
func benchSweep(b *testing.B, file string, n, parallel int) {
	all := make([]uint64, n)
	for i := range all {
		all[i] = uint64(i + 1)
	}
	defer sim.TuneCollector()() // as quorate sweep runs
	start := time.Now()
	runs := 0
	for b.Loop() {
		sw, err := Run(Config{File: file, Seeds: all, Parallel: parallel})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range sw.Runs {
			if !r.OK {
				b.Fatalf("seed %d failed: %s", r.Seed, r.Failure)
			}
		}
		runs += len(sw.Runs)
	}
	wall := time.Since(start)
	b.ReportMetric(float64(runs)/wall.Hours(), "seeds/h")
	b.ReportMetric(wall.Seconds()/float64(runs), "s/seed")
}
