//go:build !linux

package sim

// adviseHugePages does nothing where transparent huge pages are not
// Linux's madvise.
func adviseHugePages() {}
