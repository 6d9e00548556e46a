package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"testing"
)

// TestProfileIsCurrent: default.pgo, the profile go build applies to this
// binary, is a CPU profile (gzip-compressed) of the simulator's hot paths
// under their present names. make test builds without it, so a corrupt
// file would otherwise first show in make build, and a profile whose hot
// functions were renamed would silently optimise nothing; either way, run
// make pgo.
func TestProfileIsCurrent(t *testing.T) {
	f, err := os.Open("default.pgo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("default.pgo is not a profile (%v): run make pgo", err)
	}
	raw, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("default.pgo is truncated (%v): run make pgo", err)
	}
	for _, fn := range []string{
		"github.com/quorate/quorate/sim.(*run).deliver",
		"github.com/quorate/quorate/sim.(*run).flush",
		"github.com/quorate/quorate/engine.(*Node).StepShared",
		"github.com/quorate/quorate/engine/totem.(*Ring).handleToken",
		"github.com/quorate/quorate/engine/store.(*Store).Deliver",
		"github.com/quorate/quorate/sim.(*Kernel).Next",
	} {
		if !bytes.Contains(raw, []byte(fn)) {
			t.Errorf("default.pgo has no samples in %s: run make pgo", fn)
		}
	}
}
