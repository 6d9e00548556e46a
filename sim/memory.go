package sim

import (
	"errors"
	"fmt"
	"github.com/quorate/quorate/engine/check"
	"runtime/metrics"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// ErrMemoryLimit marks a run stopped, or refused before it started,
// because it needs more memory than Options.MaxMemory (an input error:
// exit 2, as for a scenario too large for the machine).
var ErrMemoryLimit = errors.New("sim: over the memory limit")

// memCheckEvery is how many kernel events pass between two looks at the
// process's memory (a look costs about a microsecond, an event one to
// several hundred). It was 32,768: at 384 nodes an event can allocate
// tens of kilobytes (a join to every peer), and a run went from under the
// limit to several gigabytes over it between two looks.
const memCheckEvery = 1 << 10

// figure is one thing a run keeps that grows with its length.
type figure struct {
	what  string
	count int64
	bytes int64
}

func (f figure) String() string {
	return fmt.Sprintf("%d %s (about %s)", f.count, f.what, bytesText(f.bytes))
}

// figures lists what the run keeps, largest first.
func (r *run) figures() []figure {
	fs := []figure{
		{"workload messages held for the ordering checks", int64(r.hist.Sent.Held()), int64(r.hist.Sent.Held()) * check.SentSlotBytes},
		{"packets in flight", int64(len(r.pkts)), int64(len(r.pkts)) * int64(unsafe.Sizeof(inflight{}))},
		{"events queued", int64(r.k.Len()), int64(r.k.Len()) * int64(unsafe.Sizeof(item{}))},
		{"timeline entries", int64(len(r.obs.tl)), int64(len(r.obs.tl)) * int64(unsafe.Sizeof(reports.TimelineEntry{}))},
	}
	if r.kv != nil {
		n := int64(r.kv.hist.held())
		fs = append(fs, figure{"kv operations held for the linearizability check", n, n * int64(unsafe.Sizeof(kvOp{})+16)})
		l := int64(len(r.kv.hist.lat) + len(r.kv.hist.latW))
		fs = append(fs, figure{"kv latencies kept for their quantiles", l, l * 8})
	}
	slices.SortStableFunc(fs, func(a, b figure) int { return int(b.bytes - a.bytes) })
	return fs
}

var memSample = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

// processMemory is what the Go runtime holds from the operating system and
// has not given back: close to the process's resident size.
func processMemory() int64 {
	mapped, released := runtimeMemory()
	return mapped - released
}

// runtimeMemory returns all the memory the Go runtime has mapped and the
// part of it released back to the system.
func runtimeMemory() (mapped, released int64) {
	metrics.Read(memSample)
	return int64(memSample[0].Value.Uint64()), int64(memSample[1].Value.Uint64())
}

// lookAtMemory is the loop's look at the process's memory, every
// memCheckEvery events: the runtime's new mappings are advised to use huge
// pages when the run uses them (sim/hugepages.go), and a run over
// Options.MaxMemory stops.
func (r *run) lookAtMemory() error {
	mapped, released := runtimeMemory()
	if r.hugePages {
		adviseHeap(mapped)
	}
	return r.overLimit(mapped - released)
}

// overMemory reports a run that holds more than its limit, naming the
// figure that grew most.
func (r *run) overMemory() error { return r.overLimit(processMemory()) }

// overLimit says, when the run has a limit and used is over it, that the
// run holds used and what grew most.
func (r *run) overLimit(used int64) error {
	if r.opt.MaxMemory <= 0 || used <= r.opt.MaxMemory {
		return nil
	}
	top := r.figures()[0]
	return fmt.Errorf("%w: the run holds %s at simulated %v, over --max-memory %s; what grew most: %v; shorten the run, lower the load, or raise --max-memory",
		ErrMemoryLimit, bytesText(used), time.Duration(r.k.Now()), bytesText(r.opt.MaxMemory), top)
}

// Estimate is what a scenario is expected to keep in memory at its end:
// a base per node and per pair of nodes, and the records the checkers
// keep that grow with the duration and the load (the kv operations).
func Estimate(sc *scenarios.Scenario) (int64, []string) {
	n := int64(len(sc.Cluster.Nodes))
	secs := sc.Duration.Seconds()
	base := 32<<20 + n*(1<<20) + n*n*(8<<10)
	parts := []string{fmt.Sprintf("%s for %d nodes", bytesText(base), n)}
	total := base
	if w := sc.Workload; w != nil {
		msgs := int64(w.Rate * secs)
		// A multicast workload adds nothing that grows: the ordering
		// checks release a message once every member of its ring has
		// delivered it (those a crashed member missed stay, a few per
		// crash).
		if w.Kind == "kv" {
			// The kv history holds a batch of closed segments and each
			// key's open one (a minute of operations is generous: a
			// segment stays open while an operation of its key is in
			// flight, or unknown in a ring that still runs); the
			// latencies of completed operations stay for their quantiles.
			held := min(msgs, int64(linBatch)+int64(w.Rate*60))
			b := held*int64(unsafe.Sizeof(kvOp{})+16) + msgs*16
			parts = append(parts, fmt.Sprintf("%s for %d kv operations", bytesText(b), msgs))
			total += b
		}
	}
	return total, parts
}

// tooLarge refuses, before it starts, a scenario whose estimate is over
// the limit.
func tooLarge(sc *scenarios.Scenario, limit int64) error {
	if limit <= 0 {
		return nil
	}
	est, parts := Estimate(sc)
	if est <= limit {
		return nil
	}
	need := bytesText(est) + " (" + strings.Join(parts, " + ") + ")"
	if len(parts) == 1 {
		need = parts[0] // the one part is the whole estimate
	}
	return fmt.Errorf("%w: scenario %s is estimated to need %s, over --max-memory %s; shorten it, lower the load, or raise --max-memory",
		ErrMemoryLimit, sc.Name, need, bytesText(limit))
}

func bytesText(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", b>>10)
}
