package sim

import (
	"os"
	"runtime/debug"
)

// CollectorPercent is the garbage collector's target (GOGC) while the
// simulator runs: the heap may grow to this percentage over the live heap
// before a collection. A run keeps a small live heap (a few tens of MB for
// five nodes under load) and allocates fast (every packet's frame and
// payload copy in the engine, about a gigabyte per simulated minute of
// 1,000 multicasts/s), so the runtime's default of 100 collects about twice
// per simulated second and a quarter of the CPU goes to the collector. At
// 400 the collections are a fifth as many; the heap peaks near five times
// the live data, and --max-memory's soft limit (SetMemoryLimit) still makes
// the collector work harder before the limit is reached.
const CollectorPercent = 400

// TuneCollector sets the collector's target to CollectorPercent for the
// simulator's commands, unless the GOGC environment variable chooses one.
// It returns a function that restores the previous target.
func TuneCollector() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(CollectorPercent)
	return func() { debug.SetGCPercent(old) }
}
