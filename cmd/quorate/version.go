package main

import (
	"runtime/debug"
)

// commit is the source revision, set at link time by builds outside a git
// checkout (-ldflags "-X main.commit=..."); otherwise the revision Go
// stamps into the binary is used.
var commit string

// buildVersion names the commit the binary was built from, so that a
// result, an image or a bug report can be traced to its source: the
// linker-set commit, else the VCS revision Go recorded ("-dirty" when the
// tree had uncommitted changes), else "unknown" (e.g. under go test).
func buildVersion() string {
	if commit != "" {
		return commit
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	return rev + dirty
}
