package sim

import (
	"path/filepath"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestWorkedExamples runs every scenario in scenarios/worked: each turns a
// row of the worked-examples table (docs/reference/quorum.md section 5) into
// expectations, and each must hold all of them.
func TestWorkedExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "worked", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no worked examples found")
	}
	for _, f := range files {
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
