package sweep

import (
	"fmt"
	"maps"
	"slices"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// DefaultRound is how many seeds of the shard a guided swarm draws
// against one coverage state.
const DefaultRound = 5

// SwarmGuidedScenario is the scenario name of a guided swarm's
// sweep.json: its runs are drawn against the coverage of the rounds
// before them, so its shards do not merge with a plain swarm's.
const SwarmGuidedScenario = "swarm-guided"

// guideUniverse is every cell a guided swarm of the families aims at:
// the cells (reports.CoverageUniverse) of the fault kinds their guided
// draws may apply, in canonical order.
func guideUniverse(fams []string) []scenarios.Cell {
	var kinds []reports.FaultAction
	for _, f := range fams {
		for _, k := range scenarios.GuidedKinds(f) {
			if !slices.Contains(kinds, reports.FaultAction(k)) {
				kinds = append(kinds, reports.FaultAction(k))
			}
		}
	}
	var out []scenarios.Cell
	for _, c := range reports.CoverageUniverse(kinds) {
		out = append(out, scenarios.Cell{Fault: string(c.Fault), Totem: c.Totem, Quorum: c.Quorum, Store: c.Store})
	}
	return out
}

// guideState is what a guided swarm knows after some rounds: the coverage
// reached and how often each cell was aimed at. Rounds add to it in the
// order of their runs (points, then seeds), never in the order workers
// finish, so the Guide of every round is a function of the seeds alone.
type guideState struct {
	universe []scenarios.Cell
	reached  map[scenarios.Cell]bool
	aimed    map[scenarios.Cell]int
	// tried and fired count the faults fired on each trigger event and
	// those whose event came (scenarios.Guide.Tried, Fired).
	tried, fired map[string]int
}

// triggerTry is one fault of a run fired on an event, and whether it came.
type triggerTry struct {
	event string
	fired bool
}

// triggerTries lists the run's faults fired on an event and which fired:
// those the result's fault responses name.
func triggerTries(sc *scenarios.Scenario, res *reports.Result) []triggerTry {
	applied := map[int]bool{}
	for _, f := range res.Responses {
		applied[f.File] = true
	}
	var out []triggerTry
	for _, f := range sc.Faults {
		if f.When != nil {
			out = append(out, triggerTry{event: scenarios.TriggerKey(f.When), fired: applied[f.Index]})
		}
	}
	return out
}

func newGuideState(fams []string) *guideState {
	return &guideState{universe: guideUniverse(fams), reached: map[scenarios.Cell]bool{}, aimed: map[scenarios.Cell]int{},
		tried: map[string]int{}, fired: map[string]int{}}
}

// add counts one run: the cells it reached and those its draw aimed at.
func (g *guideState) add(rec Record) {
	for _, c := range rec.coverage {
		if c.Count > 0 {
			g.reached[scenarios.Cell{Fault: string(c.Fault), Totem: c.Totem, Quorum: c.Quorum, Store: c.Store}] = true
		}
	}
	for _, c := range rec.aims {
		g.aimed[c]++
	}
	for _, t := range rec.tries {
		g.tried[t.event]++
		if t.fired {
			g.fired[t.event]++
		}
	}
}

// guide is the Guide of the next round: the universe's cells not reached,
// in the universe's order, with their aim counts.
func (g *guideState) guide() *scenarios.Guide {
	gd := &scenarios.Guide{Missing: []scenarios.Cell{}, Aimed: []int{}, Tried: maps.Clone(g.tried), Fired: maps.Clone(g.fired)}
	for _, c := range g.universe {
		if !g.reached[c] {
			gd.Missing = append(gd.Missing, c)
			gd.Aimed = append(gd.Aimed, g.aimed[c])
		}
	}
	return gd
}

// swarmGuided runs the guided swarm in rounds of cfg.Round seeds of the
// shard: every run of round k is drawn against the Guide of rounds before
// k, and the rounds run one after another (in parallel within), so the
// scenarios, and so the results, do not depend on the workers' timing or
// their number. The runs come back in point order, then seed order.
func swarmGuided(cfg SwarmConfig, fams []string, points []*Point, seeds []uint64, parallel int) ([]Record, error) {
	round := cfg.Round
	if round < 1 {
		round = DefaultRound
	}
	st := newGuideState(fams)
	recs := make([]Record, len(points)*len(seeds))
	total := len(recs)
	doneBefore, failedBefore := 0, 0
	for r0, k := 0, 0; r0 < len(seeds); r0, k = r0+round, k+1 {
		rs := seeds[r0:min(r0+round, len(seeds))]
		// The first round has no coverage to aim at: it is the plain
		// draw (aiming at every cell at once fires most faults on events
		// whose rate nothing has measured yet, and many never come).
		var gd *scenarios.Guide
		if k > 0 {
			gd = st.guide()
		}
		var prog func(done, total, failed int)
		if cfg.Progress != nil {
			prog = func(done, _, failed int) { cfg.Progress(doneBefore+done, total, failedBefore+failed) }
		}
		one := func(p *Point, seed uint64) (Record, error) {
			return swarmOne(cfg, p.Name, seed, &guided{guide: gd, round: k, reached: st.reachedCount()})
		}
		out, err := runAll(prog, points, rs, parallel, one)
		if err != nil {
			return nil, err
		}
		for i, rec := range out {
			p, j := i/len(rs), i%len(rs)
			recs[p*len(seeds)+r0+j] = rec
			st.add(rec)
			doneBefore++
			if !rec.OK {
				failedBefore++
			}
		}
	}
	return recs, nil
}

// reachedCount is how many cells of the universe the runs reached.
func (g *guideState) reachedCount() int {
	n := 0
	for _, c := range g.universe {
		if g.reached[c] {
			n++
		}
	}
	return n
}

// guided is what one run of a guided swarm is drawn against.
type guided struct {
	guide   *scenarios.Guide // nil in the first round: the plain draw
	round   int
	reached int // cells reached before the round
}

// draw draws the guided scenario of fam and seed; its description says
// what it was drawn against, and its YAML reproduces it by itself.
func (gd *guided) draw(fam string, seed uint64) (*scenarios.Scenario, []scenarios.Cell, error) {
	if gd.guide == nil {
		s, _, err := scenarios.RandomScenario(fam, seed)
		if err != nil {
			return nil, nil, err
		}
		s.Description = fmt.Sprintf("random %s schedule drawn from seed %d, guided (round %d: the plain draw, no coverage yet)",
			fam, seed, gd.round)
		return s, nil, nil
	}
	s, aims, err := scenarios.RandomGuided(fam, seed, gd.guide)
	if err != nil {
		return nil, nil, err
	}
	s.Description = fmt.Sprintf("random %s schedule drawn from seed %d, guided (round %d) toward the %d cells of %d not reached before",
		fam, seed, gd.round, len(gd.guide.Missing), len(gd.guide.Missing)+gd.reached)
	return s, aims, nil
}
