package sim

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// hugePage is the size of a transparent huge page on the architectures the
// simulator is built for.
const hugePage = 2 << 20

// hugePagesOnRequest reports whether the kernel gives transparent huge
// pages to the memory a process advises and to no other (the mode shown
// as "[madvise]"), read once per process.
var hugePagesOnRequest = sync.OnceValue(func() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && bytes.Contains(b, []byte("[madvise]"))
})

// adviseHugePages asks for transparent huge pages (MADV_HUGEPAGE) on every
// private, anonymous, writable mapping of the process that holds a whole
// huge page: the Go heap and the runtime's other large structures. Errors
// are ignored: the advice is an optimisation, and a kernel without it
// runs the same.
func adviseHugePages() {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lo, hi, ok := anonMapping(sc.Bytes())
		lo = (lo + hugePage - 1) &^ (hugePage - 1)
		hi &^= hugePage - 1
		if ok && lo < hi {
			_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(lo), uintptr(hi-lo), unix.MADV_HUGEPAGE)
		}
	}
}

// anonMapping parses one line of /proc/self/maps ("start-end perms offset
// dev inode [path]") and returns the range of a private, anonymous,
// readable and writable mapping (no path, or an "[anon:…]" name).
func anonMapping(line []byte) (lo, hi uint64, ok bool) {
	fields := bytes.Fields(line)
	if len(fields) < 5 || string(fields[1]) != "rw-p" || string(fields[4]) != "0" {
		return 0, 0, false
	}
	if len(fields) > 5 && !bytes.HasPrefix(fields[5], []byte("[anon:")) {
		return 0, 0, false // a file, the stack, the vdso
	}
	start, end, found := bytes.Cut(fields[0], []byte("-"))
	if !found {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(string(start), 16, 64)
	hi, err2 := strconv.ParseUint(string(end), 16, 64)
	if err1 != nil || err2 != nil || hi <= lo {
		return 0, 0, false
	}
	return lo, hi, true
}
