package agentcmd

import (
	"runtime/debug"
	"testing"
)

func build(kv ...string) *debug.BuildInfo {
	bi := &debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Path: "github.com/quorate/quorate"}}
	for i := 0; i+1 < len(kv); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
	}
	return bi
}

// TestSameBuild: `quorate agent` hands over to quorate-agent only when both
// binaries are one clean build of one revision; anything else keeps the
// agent in the quorate process.
func TestSameBuild(t *testing.T) {
	clean := []string{"vcs.revision", "abc", "vcs.time", "2026-12-07T06:00:00Z", "vcs.modified", "false", "-ldflags", "-X main.commit=abc", "GOOS", "linux", "GOARCH", "amd64"}
	const rev = "12aa06e7e978e3e9f07d248f10070109f5f3b49f"
	linked := []string{"-ldflags", "-X main.commit=" + rev, "GOOS", "linux"}
	dirty := []string{"-ldflags", "-X main.commit=" + rev + "-dirty", "GOOS", "linux"}
	other := []string{"-ldflags", "-X main.commit=0000000000000000000000000000000000000000", "GOOS", "linux"}
	with := func(k, v string) []string {
		out := append([]string(nil), clean...)
		for i := 0; i < len(out); i += 2 {
			if out[i] == k {
				out[i+1] = v
				return out
			}
		}
		return append(out, k, v)
	}
	cases := []struct {
		name string
		a, b *debug.BuildInfo
		want bool
	}{
		{"one clean build", build(clean...), build(clean...), true},
		{"no VCS information (a test binary, a build outside git)", build(), build(), false},
		{"uncommitted changes here", build(with("vcs.modified", "true")...), build(clean...), false},
		{"uncommitted changes in the daemon", build(clean...), build(with("vcs.modified", "true")...), false},
		{"another revision", build(clean...), build(with("vcs.revision", "def")...), false},
		{"other link flags", build(clean...), build(with("-ldflags", "-X main.commit=def")...), false},
		{"other build tags", build(clean...), build(with("-tags", "canary")...), false},
		{"another architecture", build(clean...), build(with("GOARCH", "arm64")...), false},
		{"no VCS information, one make build", build(linked...), build(linked...), true},
		{"no VCS information, a dirty make build", build(dirty...), build(dirty...), false},
		{"no VCS information, other commits", build(linked...), build(other...), false},
		{"no VCS information, no commit linked in", build("-ldflags", "-s -w"), build("-ldflags", "-s -w"), false},
	}
	for _, c := range cases {
		if got := sameBuild(c.a, c.b); got != c.want {
			t.Errorf("%s: sameBuild = %v, want %v", c.name, got, c.want)
		}
	}
	older := build(clean...)
	older.GoVersion = "go1.24.0"
	if sameBuild(build(clean...), older) {
		t.Error("another toolchain: sameBuild = true, want false")
	}
}

// TestMainBadInput: the daemon binary answers bad input as `quorate agent`
// does, with exit 2.
func TestMainBadInput(t *testing.T) {
	for _, args := range [][]string{{}, {"--bogus"}, {"--config", "x", "extra"}} {
		if code := Main(args); code != ExitBadInput {
			t.Errorf("Main(%q) = %d, want %d", args, code, ExitBadInput)
		}
	}
}
