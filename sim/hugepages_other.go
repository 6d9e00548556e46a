//go:build !linux

package sim

// hugePagesOnRequest is false where transparent huge pages are not
// Linux's.
func hugePagesOnRequest() bool { return false }

// adviseHugePages does nothing where transparent huge pages are not
// Linux's madvise.
func adviseHugePages() {}
