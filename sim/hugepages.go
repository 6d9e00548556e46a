package sim

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// Transparent huge pages for the run's heap.
//
// A large cluster's run touches its memory at random: at 128 nodes every
// packet lands on a different node's records, hundreds of megabytes apart,
// and with 4 KiB pages most of those touches also miss the TLB. Backed by
// 2 MiB pages the 128-node benchmark runs about a tenth faster, with a
// twentieth of the page faults (docs/benchmarks.md). Most distributions
// give a process huge pages only where it asks for them (madvise), and the
// Go runtime does not ask for its heap; advice on memory already touched
// is too late (those pages stay small), and the runtime touches a mapping
// as soon as it adds it. So before a run the simulator grows the heap by
// what the run is expected to hold, without touching it (a large
// allocation from fresh address space is not cleared; one that reuses a
// heap's freed spans is, as in a swarm whose later run has a larger
// estimate than the ones before, which then pays a clear of the estimate
// once), gives those pages back, and advises the
// mappings: the run's heap is then faulted in huge pages from its first
// touch. The runtime's later mappings are advised as the loop notices them
// (adviseHeap). Nothing a run computes depends on any of this, and it is
// done only where the kernel grants huge pages on request
// (hugePagesOnRequest): where it gives them to every process (always),
// or to none (never, or no support), there is nothing to ask.

// hugePageRunMax is the largest run, by its memory estimate (Estimate),
// whose heap is prepared and advised. On BenchmarkTotem128Nodes (an
// estimate of 288 MiB) the prepared heap won 9 of 12 alternating pairs of
// runs, the medians 3.89 against 3.51 simulated seconds per CPU second,
// with 3,500 page faults instead of 75,000. On BenchmarkTotem384Nodes
// (1.5 GiB estimated, 2.6 GB resident) it lost 8% and 5%, gained 4% and
// lost a third once in four pairs, and the machine's own "always" setting
// gained nothing there either: the working set misses the caches with
// any page size. Between the two, a gigabyte.
const hugePageRunMax = 1 << 30

// adviseStep is how much the runtime's mappings must grow before they are
// advised again: reading the process's mappings costs tens of
// microseconds, and the runtime maps its heap a few megabytes at a time.
const adviseStep = 2 << 20

var heapAdvice struct {
	mu       sync.Mutex
	at       int64 // the runtime's mapped memory when it was last advised
	prepared int64 // the largest heap prepared so far
}

// prepareHeap makes room for a run expected to hold n bytes, once per
// process for the largest n asked (see above).
func prepareHeap(n int64) {
	heapAdvice.mu.Lock()
	defer heapAdvice.mu.Unlock()
	if n <= heapAdvice.prepared {
		return
	}
	heapAdvice.prepared = n
	b := make([]byte, n)
	runtime.KeepAlive(b)
	b = nil
	// Collected and released: counted neither by the run's memory nor by
	// the machine's, until the run touches it.
	debug.FreeOSMemory()
	mapped, _ := runtimeMemory()
	heapAdvice.at = mapped
	adviseHugePages()
}

// adviseHeap advises the process's mappings when the runtime has mapped
// adviseStep more than the last time they were advised (mapped: all the
// memory the runtime holds from the system, released or not, which only
// grows). Safe for concurrent runs.
func adviseHeap(mapped int64) {
	heapAdvice.mu.Lock()
	defer heapAdvice.mu.Unlock()
	if mapped < heapAdvice.at+adviseStep {
		return
	}
	heapAdvice.at = mapped
	adviseHugePages()
}
