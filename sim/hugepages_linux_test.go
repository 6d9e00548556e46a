package sim

import (
	"bufio"
	"bytes"
	"os"
	"testing"
)

func TestAnonMapping(t *testing.T) {
	for _, c := range []struct {
		line   string
		lo, hi uint64
		ok     bool
	}{
		{"22d441400000-22d447c00000 rw-p 00000000 00:00 0 ", 0x22d441400000, 0x22d447c00000, true},
		{"7f5839800000-7f583b800000 rw-p 00000000 00:00 0                          [anon: Go: heap]", 0x7f5839800000, 0x7f583b800000, true},
		{"22d440000000-22d441400000 ---p 00000000 00:00 0 ", 0, 0, false},                // reserved, not mapped
		{"0058e000-00599000 rw-p 0018e000 fe:00 9986870  /usr/bin/quorate", 0, 0, false}, // the binary's data
		{"7fff9e61f000-7fff9e640000 rw-p 00000000 00:00 0                          [stack]", 0, 0, false},
		{"7f5880335000-7f5880339000 r--p 00000000 00:00 0                          [vvar]", 0, 0, false},
		{"7f58801d5000-7f5880277000 rw-s 00000000 00:01 1024  /dev/zero (deleted)", 0, 0, false}, // shared
		{"zz-7f5880277000 rw-p 00000000 00:00 0", 0, 0, false},
		{"7f5880277000-7f5880270000 rw-p 00000000 00:00 0", 0, 0, false}, // ends before it starts
		{"", 0, 0, false},
	} {
		lo, hi, ok := anonMapping([]byte(c.line))
		if lo != c.lo || hi != c.hi || ok != c.ok {
			t.Errorf("anonMapping(%q) = %x, %x, %v; want %x, %x, %v", c.line, lo, hi, ok, c.lo, c.hi, c.ok)
		}
	}
}

// TestPrepareHeap: the heap grown for a run is given back (the run's
// memory, as --max-memory counts it, does not include it) and, where the
// kernel has transparent huge pages, advised: a mapping at least that
// large carries the "hg" flag.
func TestPrepareHeap(t *testing.T) {
	heapAdvice.mu.Lock()
	n := heapAdvice.prepared + 256<<20
	heapAdvice.mu.Unlock()
	before := processMemory()
	prepareHeap(n)
	if after := processMemory(); after > before+64<<20 {
		t.Fatalf("the run's memory went from %d to %d MiB: the %d MiB prepared were not given back", before>>20, after>>20, n>>20)
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages here:", err)
	}
	if largest := largestAdvised(t); largest < uint64(n) {
		t.Fatalf("the largest mapping advised for huge pages holds %d MiB, want at least the %d MiB prepared", largest>>20, n>>20)
	}
}

// largestAdvised returns the size of the largest mapping of the process
// whose VmFlags in /proc/self/smaps include hg (MADV_HUGEPAGE).
func largestAdvised(t *testing.T) uint64 {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	var largest, size uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if lo, hi, ok := anonMapping(line); ok {
			size = hi - lo
			continue
		}
		if fields := bytes.Fields(line); len(fields) > 0 && string(fields[0]) == "VmFlags:" {
			for _, fl := range fields[1:] {
				if string(fl) == "hg" {
					largest = max(largest, size)
				}
			}
			size = 0
		}
	}
	return largest
}
