package agentcmd

import (
	"debug/buildinfo"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
)

// DaemonName is the daemon binary: the agent alone, installed beside quorate.
const DaemonName = "quorate-agent"

// ExecEnv set to 0 keeps `quorate agent` in the quorate process.
const ExecEnv = "QUORATE_AGENT_EXEC"

// Exec replaces the process with the daemon binary installed beside the
// running executable, passing args (those after `agent`), when both binaries
// come from one clean build of one revision; it returns only when it does
// not, and then the caller runs the agent in this process. The same build
// is required so that `quorate agent` never runs other code than its own:
// a tree with uncommitted changes, a test binary or a daemon from another
// revision keeps the agent in this process.
func Exec(args []string) {
	if os.Getenv(ExecEnv) == "0" {
		return
	}
	self, err := os.Executable()
	if err != nil {
		return
	}
	daemon := filepath.Join(filepath.Dir(self), DaemonName)
	mine, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	theirs, err := buildinfo.ReadFile(daemon)
	if err != nil || !sameBuild(mine, theirs) {
		return
	}
	// On success Exec does not return; on failure the agent runs here.
	_ = syscall.Exec(daemon, append([]string{daemon}, args...), os.Environ())
}

// sameBuild reports whether two binaries were built by the same toolchain
// from the same clean revision of the same module with the same flags. The
// revision is the one Go records (vcs.revision, with vcs.modified false) or,
// where the toolchain records none (GOFLAGS=-buildvcs=false, git
// worktrees), the commit `make build` links in (-X main.commit=REV, where
// REV ends in -dirty for a tree with uncommitted changes).
func sameBuild(a, b *debug.BuildInfo) bool {
	if a.GoVersion != b.GoVersion || a.Main.Path != b.Main.Path || a.Main.Path == "" {
		return false
	}
	sa, sb := settings(a), settings(b)
	rev := revision(sa)
	if rev == "" || rev != revision(sb) {
		return false
	}
	for _, k := range []string{"vcs.revision", "vcs.modified", "vcs.time", "-ldflags", "-tags", "CGO_ENABLED", "GOARCH", "GOOS"} {
		if sa[k] != sb[k] {
			return false
		}
	}
	return true
}

// revision is the clean revision a binary was built from, or "".
func revision(s map[string]string) string {
	if r := s["vcs.revision"]; r != "" {
		if s["vcs.modified"] != "false" {
			return ""
		}
		return r
	}
	for _, f := range strings.Fields(s["-ldflags"]) {
		if c, ok := strings.CutPrefix(f, "main.commit="); ok && len(c) == 40 && strings.Trim(c, "0123456789abcdef") == "" {
			return c
		}
	}
	return ""
}

func settings(bi *debug.BuildInfo) map[string]string {
	m := make(map[string]string, len(bi.Settings))
	for _, s := range bi.Settings {
		m[s.Key] = s.Value
	}
	return m
}
