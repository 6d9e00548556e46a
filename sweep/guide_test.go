package sweep

import (
	"reflect"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// TestSwarmGuidedParallel: a guided swarm draws in rounds against the
// coverage of the rounds before, so one worker and two give the same
// runs (the same traces) and the same coverage; the guide changes what
// is drawn (the runs differ from the plain swarm's); and the scenario of
// a run of a later round, drawn again against the coverage state of the
// rounds before it and loaded from its YAML, reproduces the run by itself.
func TestSwarmGuidedParallel(t *testing.T) {
	fams := []string{"crash", "partition"}
	seeds := []uint64{1, 2, 3, 4, 5}
	run := func(parallel int, guided bool) *Sweep {
		t.Helper()
		cfg := SwarmConfig{Families: fams, Seeds: seeds, Parallel: parallel, Guided: guided}
		if guided {
			cfg.Round = 2
		}
		sw, err := Swarm(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	one, two, plain := run(1, true), run(2, true), run(2, false)
	if one.Scenario != SwarmGuidedScenario || one.GuidedRound != 2 || one.SourceSHA256 == plain.SourceSHA256 {
		t.Fatalf("a guided sweep.json must say so: scenario %q round %d, hash %.12s (plain %.12s)",
			one.Scenario, one.GuidedRound, one.SourceSHA256, plain.SourceSHA256)
	}
	differ := 0
	for i := range one.Runs {
		a, b := one.Runs[i], two.Runs[i]
		if a.Point != b.Point || a.Seed != b.Seed || a.TraceSHA256 != b.TraceSHA256 || a.OK != b.OK {
			t.Fatalf("run %d: --parallel 1 gives %s seed %d trace %.12s, --parallel 2 gives %s seed %d trace %.12s",
				i, a.Point, a.Seed, a.TraceSHA256, b.Point, b.Seed, b.TraceSHA256)
		}
		if a.TraceSHA256 != plain.Runs[i].TraceSHA256 {
			differ++
		}
	}
	if !reflect.DeepEqual(one.Coverage, two.Coverage) {
		t.Fatal("the coverage of --parallel 1 and 2 differ")
	}
	if differ == 0 {
		t.Fatal("every guided run is the plain run: the guide changed nothing")
	}

	// Replay the rounds: the state after rounds 1 and 2 (seeds 1-4) is
	// what seed 5 of round 3 was drawn against.
	st := newGuideState(fams)
	for i, r := range one.Runs {
		if r.Seed <= 4 {
			rec := r
			rec.coverage, rec.aims, rec.tries = two.Runs[i].coverage, two.Runs[i].aims, two.Runs[i].tries
			st.add(rec)
		}
	}
	// Records are added in point order, then seed order: the same sums.
	g := st.guide()
	gd := &guided{guide: g, round: 2, reached: len(st.universe) - len(g.Missing)}
	for i, fam := range fams {
		s, _, err := gd.draw(fam, 5)
		if err != nil {
			t.Fatal(err)
		}
		src, err := scenarios.Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenarios.Parse(fam+"-seed5.yaml", src)
		if err != nil {
			t.Fatal(err)
		}
		res, err := sim.Run(sc, sim.Options{Seed: 5, SeedSet: true})
		if err != nil {
			t.Fatal(err)
		}
		want := one.Runs[i*len(seeds)+4]
		if want.Seed != 5 || res.TraceSHA256 != want.TraceSHA256 {
			t.Fatalf("%s seed 5 from its YAML: trace %.12s, the swarm ran %.12s (seed %d)", fam, res.TraceSHA256, want.TraceSHA256, want.Seed)
		}
		if !strings.Contains(s.Description, "guided (round 2)") {
			t.Fatalf("the description does not say what the draw was guided by: %q", s.Description)
		}
	}
}

// TestSwarmRoundNeedsGuided: a round without --guided, or below one seed,
// is bad input.
func TestSwarmRoundNeedsGuided(t *testing.T) {
	for _, cfg := range []SwarmConfig{{Seeds: []uint64{1}, Round: 3}, {Seeds: []uint64{1}, Round: -1, Guided: true}} {
		if _, err := Swarm(cfg); !IsInputError(err) || !strings.Contains(err.Error(), "guided") {
			t.Fatalf("round %d guided %v: want an input error, got %v", cfg.Round, cfg.Guided, err)
		}
	}
}

// TestGuideStateOrder: the guide lists the missing cells in the
// universe's order whatever order the runs reached them in.
func TestGuideStateOrder(t *testing.T) {
	st := newGuideState([]string{"crash"})
	all := len(st.universe)
	rec := Record{aims: []scenarios.Cell{st.universe[3], st.universe[3]}, tries: []triggerTry{{"totem/commit", true}, {"totem/commit", false}}}
	st.add(rec)
	gd := st.guide()
	if len(gd.Missing) != all || gd.Aimed[3] != 2 || gd.Tried["totem/commit"] != 2 || gd.Fired["totem/commit"] != 1 {
		t.Fatalf("guide after one run: %d of %d missing, aimed[3] %d, tried %v fired %v", len(gd.Missing), all, gd.Aimed[3], gd.Tried, gd.Fired)
	}
}

// TestSwarmGuidedShards: each shard of a guided swarm guides itself; the
// shards merge into a guided sweep, and a guided shard does not merge
// with a plain one.
func TestSwarmGuidedShards(t *testing.T) {
	seeds := []uint64{1, 2}
	shard := func(i int, guided bool) *Sweep {
		t.Helper()
		sw, err := Swarm(SwarmConfig{Families: []string{"cold-start"}, Seeds: seeds, Parallel: 1, Guided: guided,
			Shard: Shard{Index: i, Count: 2}})
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	g1, g2, p2 := shard(1, true), shard(2, true), shard(2, false)
	merged, err := Merge([]*Sweep{g1, g2}, []string{"g1", "g2"})
	if err != nil {
		t.Fatal(err)
	}
	if merged.Scenario != SwarmGuidedScenario || merged.GuidedRound != DefaultRound || len(merged.Runs) != 2 {
		t.Fatalf("merged guided shards: scenario %q, round %d, %d runs", merged.Scenario, merged.GuidedRound, len(merged.Runs))
	}
	if _, err := Merge([]*Sweep{g1, p2}, []string{"g1", "p2"}); err == nil || !strings.Contains(err.Error(), "swarm-guided") {
		t.Fatalf("a guided and a plain shard merged: %v", err)
	}
}
