package agent

import (
	"context"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"time"
)

// A burst of traffic (a flood of messages, a store synchronisation) grows
// the Go heap to hold its queues and buffers. When the burst is over the
// objects are garbage, but no collection runs until something allocates
// again, so the heap's goal stays at the burst's size and the runtime's
// scavenger hands the free pages back to the kernel only over the
// following minutes: the agent's resident memory stays at the burst's
// peak. releaser returns them as soon as the node is quiet again: every
// releaseEvery it reads how much the process allocated since the last
// look and how many free heap pages it still holds; after a quiet period
// (less than releaseQuiet allocated) holding at least releaseFree free
// bytes, it collects and returns every free page (debug.FreeOSMemory, a
// collection of a heap of a few MiB: well under a millisecond). Under load
// it does nothing: allocation is never quiet then.
const (
	releaseEvery = time.Second
	releaseQuiet = 1 << 20
	releaseFree  = 1 << 20
)

// memorySample is what releaser reads.
var memorySample = []rtmetrics.Sample{
	{Name: "/gc/heap/allocs:bytes"},
	{Name: "/memory/classes/heap/free:bytes"},
}

// releaseDecision reports whether to return the heap's free pages now,
// given the bytes allocated since the last look and the free heap bytes
// not yet returned to the kernel.
func releaseDecision(allocated, free uint64) bool {
	return allocated < releaseQuiet && free >= releaseFree
}

// releaseIdleMemory runs releaser on the runtime's own figures until ctx
// ends.
func releaseIdleMemory(ctx context.Context) {
	t := time.NewTicker(releaseEvery)
	defer t.Stop()
	s := make([]rtmetrics.Sample, len(memorySample))
	copy(s, memorySample)
	read := func() (uint64, uint64) {
		rtmetrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	releaser(ctx, t.C, read, debug.FreeOSMemory)
}

// releaser looks at read's figures (bytes allocated so far, free heap
// bytes) on every tick and calls release after a quiet period that left
// enough free; it returns the count of releases when ctx ends.
func releaser(ctx context.Context, tick <-chan time.Time, read func() (allocs, free uint64), release func()) int {
	last, _ := read()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return n
		case <-tick:
		}
		allocs, free := read()
		if releaseDecision(allocs-last, free) {
			release()
			n++
		}
		last = allocs
	}
}
