package engine

import (
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/engine/wire"
)

// PlanInstall, the one decision both drivers take a cluster configuration
// by: an older or equal config_version (the running one or the one a
// planned restart installs) is kept out, a newer one is taken at once,
// unless it leaves out members of the current ring, which it waits
// RestartGrace for.
func TestPlanInstall(t *testing.T) {
	tn := newTestNet(t)
	ids := []wire.NodeID{1, 2, 3}
	for _, id := range ids {
		cfg := testConfig(id, ids...)
		cfg.ConfigVersion = 5
		tn.start(cfg)
	}
	tn.run(10 * time.Second)
	n := tn.nodes[1]
	if _, _, m := n.Ring(); !slices.Equal(m, ids) {
		t.Fatalf("members %v", m)
	}
	version := func(v uint64, nodes ...wire.NodeID) Config {
		c := testConfig(1, nodes...)
		c.ConfigVersion = v
		return c
	}
	tests := []struct {
		name  string
		cfg   Config
		want  InstallVerdict
		delay time.Duration
		gone  []wire.NodeID
	}{
		{"older", version(4, ids...), InstallOlder, 0, nil},
		{"same", version(5, ids...), InstallSame, 0, nil},
		{"newer", version(6, ids...), InstallNow, 0, nil},
		{"node added", version(6, 1, 2, 3, 4), InstallNow, 0, nil},
		{"running member removed", version(6, 1, 2), InstallAfterRemovals, RestartGrace, []wire.NodeID{3}},
	}
	for _, tt := range tests {
		v, d, gone := n.PlanInstall(tt.cfg)
		if v != tt.want || d != tt.delay || !slices.Equal(gone, tt.gone) {
			t.Errorf("%s: PlanInstall = %v, %v, %v; want %v, %v, %v", tt.name, v, d, gone, tt.want, tt.delay, tt.gone)
		}
	}
	// A planned restart into version 6 counts as running it.
	cfg := version(6, ids...)
	cfg.LinkMode = links.ModeActive
	if restart, err := n.Apply(tn.now, cfg); err != nil || !restart {
		t.Fatalf("Apply of a link mode change: restart %v, %v", restart, err)
	}
	if v, _, _ := n.PlanInstall(version(6, ids...)); v != InstallSame {
		t.Errorf("PlanInstall of the version a restart is planned for: %v, want InstallSame", v)
	}
	if v, _, _ := n.PlanInstall(version(7, ids...)); v != InstallNow {
		t.Errorf("PlanInstall of a version above the planned one: %v, want InstallNow", v)
	}
}
