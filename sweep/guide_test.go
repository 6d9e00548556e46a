package sweep

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// TestSwarmGuidedParallel: a guided swarm draws in rounds against the
// coverage of the rounds before, so one worker and two give the same
// runs (the same traces) and the same coverage; and the scenario of a run
// of a later round, drawn again against the coverage state of the rounds
// before it and loaded from its YAML, reproduces the run by itself, and
// is not the plain draw (the guide changed it).
func TestSwarmGuidedParallel(t *testing.T) {
	fams := []string{"crash", "partition"}
	seeds := []uint64{1, 2, 3, 4}
	run := func(parallel int) *Sweep {
		t.Helper()
		sw, err := Swarm(SwarmConfig{Families: fams, Seeds: seeds, Parallel: parallel, Guided: true, Round: 2})
		if err != nil {
			t.Fatal(err)
		}
		return sw
	}
	one, two := run(1), run(2)
	gen, _ := generatorHash()
	if one.Scenario != SwarmGuidedScenario || one.GuidedRound != 2 || one.SourceSHA256 == gen {
		t.Fatalf("a guided sweep.json must say so: scenario %q round %d, hash %.12s (plain %.12s)",
			one.Scenario, one.GuidedRound, one.SourceSHA256, gen)
	}
	for i := range one.Runs {
		a, b := one.Runs[i], two.Runs[i]
		if a.Point != b.Point || a.Seed != b.Seed || a.TraceSHA256 != b.TraceSHA256 || a.OK != b.OK {
			t.Fatalf("run %d: --parallel 1 gives %s seed %d trace %.12s, --parallel 2 gives %s seed %d trace %.12s",
				i, a.Point, a.Seed, a.TraceSHA256, b.Point, b.Seed, b.TraceSHA256)
		}
	}
	if !reflect.DeepEqual(one.Coverage, two.Coverage) {
		t.Fatal("the coverage of --parallel 1 and 2 differ")
	}

	// Replay round 0 (seeds 1 and 2): its state is what seeds 3 and 4 of
	// round 1 were drawn against.
	st := newGuideState(fams)
	for _, r := range two.Runs {
		if r.Seed <= 2 {
			st.add(r)
		}
	}
	gd := &guided{guide: st.guide(), round: 1, reached: st.reachedCount()}
	differ := 0
	for i, fam := range fams {
		for j, seed := range seeds[2:] {
			s, _, err := gd.draw(fam, seed)
			if err != nil {
				t.Fatal(err)
			}
			src, err := scenarios.Encode(s)
			if err != nil {
				t.Fatal(err)
			}
			if plain, _ := scenarios.Random(fam, seed); plain != string(src) {
				differ++
			}
			sc, err := scenarios.Parse(fmt.Sprintf("%s-seed%d.yaml", fam, seed), src)
			if err != nil {
				t.Fatal(err)
			}
			res, err := sim.Run(sc, sim.Options{Seed: seed, SeedSet: true})
			if err != nil {
				t.Fatal(err)
			}
			want := one.Runs[i*len(seeds)+2+j]
			if want.Seed != seed || res.TraceSHA256 != want.TraceSHA256 {
				t.Fatalf("%s seed %d from its YAML: trace %.12s, the swarm ran %.12s (seed %d)", fam, seed, res.TraceSHA256, want.TraceSHA256, want.Seed)
			}
			if !strings.Contains(s.Description, "guided (round 1)") {
				t.Fatalf("the description does not say what the draw was guided by: %q", s.Description)
			}
		}
	}
	if differ == 0 {
		t.Fatal("every guided draw is the plain one: the guide changed nothing")
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
