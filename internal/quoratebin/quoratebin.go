// Package quoratebin builds the quorate binary the way `make image` does
// (static, CGO_ENABLED=0, the commit linked in), for tests that run it as
// a container, a Kubernetes pod or a Slurm job would.
package quoratebin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Commit is the checkout's HEAD revision, as `make image` links it in.
func Commit(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v (the test needs the git checkout)", err)
	}
	return strings.TrimSpace(string(out))
}

// Build compiles cmd/quorate statically with -X main.commit=commit into
// dir and returns the binary's path.
func Build(t testing.TB, dir, commit string) string {
	t.Helper()
	bin := filepath.Join(dir, "quorate")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.commit="+commit, "-o", bin, "github.com/quorate/quorate/cmd/quorate")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build quorate: %v\n%s", err, out)
	}
	return bin
}
