package sim

import (
	"path/filepath"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestLibrary runs every scenario of the Proxmox documentation library
// (scenarios/library), each with the seed its file gives: every one must
// hold all its expectations.
func TestLibrary(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "library", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no library scenarios found")
	}
	for _, f := range files {
		f := f
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.Load(f)
			if err != nil {
				t.Fatal(err)
			}
			res := runOK(t, sc, Options{})
			if !res.OK {
				t.Fatalf("%s failed: %s", f, res.Failure)
			}
		})
	}
}
