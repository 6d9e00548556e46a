package scenarios

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
)

// roundTrip encodes s, parses the text back and reports any difference.
func roundTrip(t *testing.T, name string, s *Scenario) {
	t.Helper()
	src, err := Encode(s)
	if err != nil {
		t.Fatalf("%s: encode: %v", name, err)
	}
	if s.Path != "" {
		// Loaded scenarios keep their file name in the positions of an
		// inline corosync.conf; load the text under the same name.
		name = s.Path
	}
	back, err := Parse(name, src)
	if err != nil {
		t.Fatalf("%s: the encoded scenario does not load: %v\n%s", name, err, src)
	}
	want := *s
	stripPositions(&want)
	stripPositions(back)
	want.Expect = append([]Expect(nil), s.Expect...)
	want.Faults = append([]Fault(nil), s.Faults...)
	want.Cluster.Nodes = append([]Node(nil), s.Cluster.Nodes...)
	want.Network.Links = append([]Link(nil), s.Network.Links...)
	stripPositions(&want)
	for i := range back.Faults {
		back.Faults[i].ConfLine, want.Faults[i].ConfLine = 0, 0
	}
	if !reflect.DeepEqual(&want, back) {
		t.Fatalf("%s: the encoded scenario loads differently\nwant %#v\ngot  %#v\n%s", name, want, *back, src)
	}
}

// TestEncodeExamples encodes every example and valid test scenario that carries its cluster
// in the file and checks that the text loads back to the same scenario.
func TestEncodeExamples(t *testing.T) {
	files, _ := filepath.Glob("examples/*.yaml")
	valid, _ := filepath.Glob("testdata/valid/*.yaml")
	files = append(files, valid...)
	n := 0
	for _, f := range files {
		s, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if s.Cluster.CorosyncConf != "" {
			continue
		}
		roundTrip(t, f, s)
		n++
	}
	if n < 20 {
		t.Fatalf("only %d examples encoded", n)
	}
}

// TestRandomRoundTrip checks over many seeds of every family that the
// generated scenario is valid and that its YAML loads back to the same value.
func TestRandomRoundTrip(t *testing.T) {
	seeds := uint64(60)
	if testing.Short() {
		seeds = 20
	}
	for _, fam := range Families {
		for seed := uint64(1); seed <= seeds; seed++ {
			s, _, err := RandomScenario(fam, seed)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, fmt.Sprintf("%s-%d.yaml", fam, seed), s)
		}
	}
	if _, _, err := RandomScenario("nope", 1); err == nil {
		t.Fatal("an unknown family was accepted")
	}
}
