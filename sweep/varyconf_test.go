package sweep

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestVaryReachesCorosyncConfLinks: a link setting that a scenario takes
// from its corosync.conf can be varied. It used to fail: "the scenario
// has no network.links, so it has no network.links[1]".
func TestVaryReachesCorosyncConfLinks(t *testing.T) {
	file := filepath.Join("..", "scenarios", "examples", "corosync-conf.yaml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	base, err := scenarios.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{File: file, Vary: []Vary{{Key: "network.links[1].priority", Values: []string{"10", "30"}}}}
	points, err := preparePoints(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 2 {
		t.Fatalf("%d points", len(points))
	}
	for i, want := range []int{10, 30} {
		got := points[i].sc.Network.Links
		if len(got) != len(base.Network.Links) {
			t.Fatalf("point %d: %d links, the conf has %d", i, len(got), len(base.Network.Links))
		}
		for j, l := range got {
			b := base.Network.Links[j]
			l.Pos, b.Pos = scenarios.Position{}, scenarios.Position{}
			if j == 1 {
				if l.Priority != want {
					t.Errorf("point %d: link 1 priority %d, want %d", i, l.Priority, want)
				}
				b.Priority = want
			}
			if l != b {
				t.Errorf("point %d: link %d is %+v, the conf gives %+v", i, j, l, b)
			}
		}
	}
}
