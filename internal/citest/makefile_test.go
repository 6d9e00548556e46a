package citest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryGoTestHasATimeout: every go test the Makefile runs sets
// -timeout. Without it ./sim, about 200 s alone on an idle machine, hit
// Go's default 10 minutes on a loaded one.
func TestEveryGoTestHasATimeout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for i, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "$(GO) test") || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		runs++
		if !strings.Contains(line, "-timeout") {
			t.Errorf("Makefile:%d: go test without -timeout: %s", i+1, strings.TrimSpace(line))
		}
	}
	if runs < 5 {
		t.Fatalf("found %d go test lines in the Makefile; the check reads it wrong", runs)
	}
	if !strings.Contains(string(b), "\ntest-loaded:") {
		t.Error("the Makefile has no test-loaded target (the suite under CPU load)")
	}
	if _, err := os.Stat(filepath.Join("..", "..", "scripts", "loaded.sh")); err != nil {
		t.Error(err)
	}
}
