package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShardBaseAndMergePattern: shards numbered from 0 (as a Kubernetes
// Indexed Job numbers its pods), merged through a pattern quorate expands
// itself, write the unsharded sweep's summary.txt byte for byte and report
// each shard's wall time and seeds/hour.
func TestShardBaseAndMergePattern(t *testing.T) {
	file := failingExample(t)
	dir := t.TempDir()
	args := []string{"sweep", file, "--seeds", "1-5", "--vary", "cluster.totem.token=1000ms,3000ms", "--parallel", "1"}
	if code, stdout, stderr := capture(t, append(args, "--out", filepath.Join(dir, "whole"))...); code != exitFailed {
		t.Fatalf("unsharded: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, i := range []string{"0", "1"} {
		code, stdout, stderr := capture(t, append(args, "--shard-base", "0", "--shard", i+"/2", "--out", filepath.Join(dir, "shard-"+i))...)
		if code != exitFailed {
			t.Fatalf("shard %s/2 from 0: exit %d\n%s%s", i, code, stdout, stderr)
		}
		if want := "shard " + map[string]string{"0": "1/2", "1": "2/2"}[i] + ":"; !strings.Contains(stderr, want) || !strings.Contains(stderr, "seeds/hour") {
			t.Errorf("shard %s/2 from 0: stderr lacks %q and seeds/hour:\n%s", i, want, stderr)
		}
	}
	code, stdout, stderr := capture(t, "merge", "--out", filepath.Join(dir, "merged"), filepath.Join(dir, "shard-*", "sweep.json"))
	if code != exitFailed || !strings.Contains(stdout, "FAILED: 10 of 10 runs") {
		t.Fatalf("merge of a pattern: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"shard 1/2: 3 seeds (6 runs)", "shard 2/2: 2 seeds (4 runs)", "2 shards: 5 seeds; the slowest shard took"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("merge stderr lacks %q:\n%s", want, stderr)
		}
	}
	whole, err1 := os.ReadFile(filepath.Join(dir, "whole", "summary.txt"))
	merged, err2 := os.ReadFile(filepath.Join(dir, "merged", "summary.txt"))
	if err1 != nil || err2 != nil || !bytes.Equal(whole, merged) || len(whole) == 0 {
		t.Errorf("summary.txt (%v, %v): unsharded\n%s\nmerged\n%s", err1, err2, whole, merged)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"merge", filepath.Join(dir, "nothing-*", "sweep.json")}, "no file matches the pattern"},
		{[]string{"merge", filepath.Join(dir, "shard-[", "sweep.json")}, "bad pattern"},
		{append(args, "--shard-base", "0", "--shard", "2/2"), "0 <= I < N"},
		{append(args, "--shard-base", "2", "--shard", "1/2"), "--shard-base 2"},
		{append(args, "--failed-exit-code", "300"), "want an exit status 0 to 125"},
	} {
		if code, _, stderr := capture(t, tt.args...); code != exitBadInput || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tt.args, code, tt.want, stderr)
		}
	}
}

// TestMergeWait: a merge started before the last shard is written waits
// for it, gives up after --wait naming the missing shard, and does not
// wait on an error more time cannot fix.
func TestMergeWait(t *testing.T) {
	defer func(p time.Duration) { mergePoll = p }(mergePoll)
	mergePoll = 50 * time.Millisecond
	file := failingExample(t)
	dir, staging := t.TempDir(), t.TempDir()
	for _, i := range []string{"1", "2"} {
		out := filepath.Join(dir, "shard-"+i)
		if i == "2" {
			out = filepath.Join(staging, "shard-2")
		}
		if code, stdout, stderr := capture(t, "sweep", file, "--seeds", "1-4", "--shard", i+"/2", "--out", out, "--failed-exit-code", "0"); code != exitOK {
			t.Fatalf("shard %s: exit %d\n%s%s", i, code, stdout, stderr)
		}
	}
	pattern := filepath.Join(dir, "shard-*", "sweep.json")

	start := time.Now()
	code, _, stderr := capture(t, "merge", "--wait", "300ms", pattern)
	if code != exitBadInput || !strings.Contains(stderr, "missing shard 2/2") || !strings.Contains(stderr, "merge: waiting until") || time.Since(start) < 300*time.Millisecond {
		t.Errorf("merge --wait 300ms without shard 2: exit %d after %v\n%s", code, time.Since(start), stderr)
	}
	start = time.Now()
	code, _, stderr = capture(t, "merge", "--wait", "1m", filepath.Join(dir, "shard-1", "sweep.json"), filepath.Join(dir, "shard-1", "sweep.json"))
	if code != exitBadInput || !strings.Contains(stderr, "the shards overlap") || time.Since(start) > 30*time.Second {
		t.Errorf("merge --wait of overlapping shards: exit %d after %v (want at once)\n%s", code, time.Since(start), stderr)
	}

	moved := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond)
		moved <- os.Rename(filepath.Join(staging, "shard-2"), filepath.Join(dir, "shard-2"))
	}()
	code, stdout, stderr := capture(t, "merge", "--wait", "2m", pattern)
	if err := <-moved; err != nil {
		t.Fatal(err)
	}
	if code != exitFailed || !strings.Contains(stdout, "FAILED: 4 of 4 runs") || !strings.Contains(stderr, "missing shard 2/2") {
		t.Errorf("merge --wait while shard 2 arrives: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestFailedExitCode: a batch job's shard with failing runs can exit 0
// (its failures are results for the merge), or any chosen status.
func TestFailedExitCode(t *testing.T) {
	file := failingExample(t)
	for _, tt := range []struct {
		flag string
		code int
	}{{"0", 0}, {"1", 1}, {"3", 3}} {
		code, stdout, stderr := capture(t, "sweep", file, "--seeds", "1", "--failed-exit-code", tt.flag)
		if code != tt.code || !strings.Contains(stdout, "FAILED: 1 of 1 runs") {
			t.Errorf("--failed-exit-code %s: exit %d, want %d\n%s%s", tt.flag, code, tt.code, stdout, stderr)
		}
	}
}

// TestVersion: --version names the build ("unknown" in a test binary,
// which carries no VCS stamp; make image links the commit in).
func TestVersion(t *testing.T) {
	code, stdout, _ := capture(t, "--version")
	if code != exitOK || stdout != "quorate "+buildVersion()+"\n" || buildVersion() == "" {
		t.Errorf("--version: exit %d %q", code, stdout)
	}
}
