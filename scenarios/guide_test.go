package scenarios

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// universe lists every cell of the fault kinds, as reports.CoverageUniverse
// does (spelled out here: reports sits beside this package, not below it).
func universe(kinds []string) []Cell {
	var out []Cell
	for _, f := range kinds {
		for _, t := range []string{"gather", "commit", "recovery", "operational"} {
			for _, q := range []string{"quorate", "inquorate", "sync"} {
				for _, s := range []string{"syncing", "read_only", "writable"} {
					out = append(out, Cell{f, t, q, s})
				}
			}
		}
		out = append(out, Cell{f, "down", "down", "down"})
	}
	return out
}

func guideOf(missing []Cell) *Guide {
	return &Guide{Missing: missing, Aimed: make([]int, len(missing))}
}

// TestGuidedDraws: over seeds of every family, a guided draw against a
// coverage state that misses everything is valid, loads back from its
// YAML to the same value, applies only the family's GuidedKinds (the
// universe the swarm aims at), and is a pure function of its inputs.
func TestGuidedDraws(t *testing.T) {
	seeds := uint64(40)
	if testing.Short() {
		seeds = 15
	}
	for _, fam := range Families {
		gd := guideOf(universe(GuidedKinds(fam)))
		if len(gd.Missing) == 0 {
			t.Fatalf("family %s has no guided fault kinds", fam)
		}
		triggered := 0
		for seed := uint64(1); seed <= seeds; seed++ {
			s, aims, err := RandomGuided(fam, seed, gd)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, fmt.Sprintf("guided-%s-%d.yaml", fam, seed), s)
			for _, f := range s.Faults {
				if !slices.Contains(GuidedKinds(fam), f.Action) {
					t.Fatalf("%s seed %d draws %s, not in GuidedKinds %v", fam, seed, f.Action, GuidedKinds(fam))
				}
				if f.When != nil {
					triggered++
				}
			}
			for _, c := range aims {
				if !slices.Contains(gd.Missing, c) {
					t.Fatalf("%s seed %d aims at %v, which is not missing", fam, seed, c)
				}
			}
			again, aims2, err := RandomGuided(fam, seed, gd)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := Encode(s)
			b, _ := Encode(again)
			if string(a) != string(b) || !reflect.DeepEqual(aims, aims2) {
				t.Fatalf("%s seed %d: two guided draws against one guide differ (%v)", fam, seed, err)
			}
		}
		if triggered == 0 && fam != "config" {
			t.Errorf("family %s: no guided draw fired a fault on an event over %d seeds", fam, seeds)
		}
	}
}

// TestGuideWeightsTowardMissing: the weight of a trigger is the pull of
// the missing cells it lands on, and it decays with the aims at them.
func TestGuideWeightsTowardMissing(t *testing.T) {
	commit := Cell{"crash", "commit", "quorate", "writable"}
	gd := guideOf([]Cell{commit, {"crash", "gather", "inquorate", "read_only"}, {"heal", "commit", "sync", "syncing"}})
	if w := gd.weight("crash", pattern{totem: "commit"}); w != 1 {
		t.Fatalf("weight of a commit trigger on crash = %v, want 1 (one missing cell)", w)
	}
	if w := gd.weight("crash", pattern{totem: "recovery"}); w != 0 {
		t.Fatalf("weight of a recovery trigger on crash = %v, want 0 (nothing missing there)", w)
	}
	if w := gd.weight("crash", pattern{}); w != 2 {
		t.Fatalf("weight of any crash = %v, want 2", w)
	}
	gd.Aimed[0] = 3
	if w := gd.weight("crash", pattern{totem: "commit"}); w != 0.5 {
		t.Fatalf("after 3 aims the cell pulls %v, want 1/sqrt(4)", w)
	}
	if got := gd.aim("crash", pattern{totem: "commit"}); !reflect.DeepEqual(got, []Cell{commit}) {
		t.Fatalf("aim = %v", got)
	}
}

// TestGuideShiftsDraws: with every cell reached but the crash family's
// crashes in COMMIT, guided draws fire far more crashes on Totem's commit
// than against a state that misses nothing, and than the plain draw.
func TestGuideShiftsDraws(t *testing.T) {
	kinds := GuidedKinds("crash")
	var missing []Cell
	for _, c := range universe(kinds) {
		if c.Fault == "crash" && c.Totem == "commit" {
			missing = append(missing, c)
		}
	}
	aimed := guideOf(missing)
	count := func(draw func(seed uint64) (*Scenario, error)) (commit, crashes int) {
		for seed := uint64(1); seed <= 60; seed++ {
			s, err := draw(seed)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range s.Faults {
				if f.Action != "crash" {
					continue
				}
				crashes++
				if f.When != nil && f.When.Layer == "totem" && f.When.Event == "commit" {
					commit++
				}
			}
		}
		return commit, crashes
	}
	gc, gn := count(func(seed uint64) (*Scenario, error) {
		s, _, err := RandomGuided("crash", seed, aimed)
		return s, err
	})
	nc, nn := count(func(seed uint64) (*Scenario, error) {
		s, _, err := RandomGuided("crash", seed, guideOf(nil))
		return s, err
	})
	pc, pn := count(func(seed uint64) (*Scenario, error) {
		s, _, err := RandomScenario("crash", seed)
		return s, err
	})
	t.Logf("crashes fired on commit: guided toward it %d of %d, nothing missing %d of %d, plain %d of %d", gc, gn, nc, nn, pc, pn)
	if gn == 0 || gc*2 < gn {
		t.Fatalf("aimed at crash x commit, only %d of %d crashes fire on commit", gc, gn)
	}
	if nc*10 > nn || pc*10 > pn {
		t.Fatalf("without the aim, %d of %d (guided) and %d of %d (plain) crashes fire on commit: the shift is not the guide's", nc, nn, pc, pn)
	}
}

// TestWeighted: a weighted draw never picks a zero weight and follows
// the weights.
func TestWeighted(t *testing.T) {
	g := &gen{guide: &Guide{}}
	g.r = newTestRand(7)
	hits := make([]int, 3)
	for range 3000 {
		hits[weighted(g.r, 3, func(i int) float64 { return []float64{1, 0, 3}[i] })]++
	}
	if hits[1] != 0 || hits[2] < 2*hits[0] {
		t.Fatalf("weights 1, 0, 3 drew %v", hits)
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 1)) }
