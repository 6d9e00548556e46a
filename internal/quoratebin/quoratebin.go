// Package quoratebin builds the quorate binary with the commit linked in,
// as `make image` does, for tests that run it as a container, a Kubernetes
// pod or a Slurm job would.
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

// Build compiles cmd/quorate with -X main.commit=commit into dir and
// returns the binary's path. Static builds it with CGO_ENABLED=0, as
// `make image` does (the image has no C library); that builds the whole
// tree once more, since the cgo build tag changes the net package and all
// that imports it. Otherwise it is the build `go test` compiled the
// packages for, and only links.
func Build(t testing.TB, dir, commit string, static bool) string {
	t.Helper()
	bin := filepath.Join(dir, "quorate")
	ldflags := "-X main.commit=" + commit
	cmd := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, "github.com/quorate/quorate/cmd/quorate")
	cmd.Env = os.Environ()
	if static {
		// As make image: no symbol table or DWARF, a smaller layer.
		cmd.Args[3] = "-s -w " + ldflags
		cmd.Env = append(cmd.Env, "CGO_ENABLED=0")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build quorate: %v\n%s", err, out)
	}
	return bin
}
