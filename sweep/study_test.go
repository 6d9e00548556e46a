package sweep

import (
	"os"
	"testing"
)

// TestLatencyStudyGrid: every corner of the latency study's grid (make
// study) loads, with the node count the point asks for.
func TestLatencyStudyGrid(t *testing.T) {
	const file = "../scenarios/studies/latency-study.yaml"
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, lat := range []Vary{
		{Key: "network.links[0].latency", Values: []string{"{dist: uniform, min: 0.45ms, max: 0.55ms}", "{dist: uniform, min: 45ms, max: 55ms}"}},
		{Key: "network.links[0].latency.min", Values: []string{"0.5ms", "50ms"}},
	} {
		cfg := Config{File: file, Vary: []Vary{
			{Key: "cluster.nodes", Values: []string{"3", "16"}},
			lat,
			{Key: "network.links[0].loss", Values: []string{"0", "0.01"}},
		}}
		points, err := preparePoints(cfg, src)
		if err != nil {
			t.Fatal(err)
		}
		if len(points) != 8 {
			t.Fatalf("%d points, want 8", len(points))
		}
		for _, p := range points {
			want := map[string]int{"3": 3, "16": 16}[p.Settings[0].Value]
			if got := len(p.Scenario().Cluster.Nodes); got != want {
				t.Errorf("%s %v: %d nodes, want %d", p.Name, p.Settings, got, want)
			}
		}
	}
}
