package sweep

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// SwarmConfig is what one swarm runs: random scenarios of the families,
// one per seed, each on a cluster drawn from the same seed.
type SwarmConfig struct {
	Families []string // scenarios.Families when empty
	Seeds    []uint64
	Shard    Shard
	Parallel int // < 1 means GOMAXPROCS
	// Out, when not empty, receives sweep.json and, for every failing
	// seed, failures/<family>-seed<N>/ (the drawn scenario, its trace and
	// result) and regress/<family>-seed<N>.{yaml,expect,jsonl}: the
	// shrunk scenario with its recorded failure and its trace, a case
	// "quorate regress DIR/regress" runs.
	Out      string
	Progress func(done, total, failed int)
	// Guided weights each seed's draws toward the coverage cells the
	// swarm has not reached yet (scenarios.RandomGuided), in rounds of
	// Round seeds (DefaultRound when < 1): the runs of a round are drawn
	// against the coverage of the rounds before it, so the result does
	// not depend on Parallel. Its sweep.json names scenario
	// SwarmGuidedScenario.
	Guided bool
	Round  int
}

// SwarmScenario is the scenario name a swarm's sweep.json carries.
const SwarmScenario = "swarm"

// Swarm runs the random scenarios of cfg.Families at every seed of the
// shard and returns them as a Sweep with one point per family, so the
// summary, the table and Merge work on it as on any sweep. A failing seed
// is shrunk and written as a regression case when cfg.Out is set.
func Swarm(cfg SwarmConfig) (*Sweep, error) {
	start := time.Now()
	fams := cfg.Families
	if len(fams) == 0 {
		fams = scenarios.Families
	}
	for _, f := range fams {
		if !slices.Contains(scenarios.Families, f) {
			return nil, inputErr("unknown family %q (families: %s)", f, strings.Join(scenarios.Families, ", "))
		}
	}
	if len(cfg.Seeds) == 0 {
		return nil, inputErr("no seeds to run")
	}
	if cfg.Round < 0 || (cfg.Round > 0 && !cfg.Guided) {
		return nil, inputErr("a round of %d seeds: rounds are for a guided swarm, of at least one seed", cfg.Round)
	}
	gen, err := generatorHash()
	if err != nil {
		return nil, err
	}
	sw := &Sweep{Format: Format, Scenario: SwarmScenario, File: "", SourceSHA256: gen,
		Seeds: FormatSeeds(cfg.Seeds)}
	if cfg.Guided {
		cfg.Round = cmp.Or(cfg.Round, DefaultRound)
		sw.Scenario, sw.GuidedRound = SwarmGuidedScenario, cfg.Round
		// The round size decides every draw after the first round.
		sw.SourceSHA256 = sha([]byte(fmt.Sprintf("%s guided round %d", gen, cfg.Round)))
	}
	for _, f := range fams {
		sw.Points = append(sw.Points, &Point{Name: f})
	}
	if !cfg.Shard.Whole() {
		sh := cfg.Shard
		sw.Shard = &sh
	}
	sw.Parallel = cfg.Parallel
	if sw.Parallel < 1 {
		sw.Parallel = runtime.GOMAXPROCS(0)
	}
	if cfg.Guided {
		sw.Runs, err = swarmGuided(cfg, fams, sw.Points, cfg.Shard.Seeds(cfg.Seeds), sw.Parallel)
	} else {
		one := func(p *Point, seed uint64) (Record, error) { return swarmOne(cfg, p.Name, seed, nil) }
		sw.Runs, err = runAll(cfg.Progress, sw.Points, cfg.Shard.Seeds(cfg.Seeds), sw.Parallel, one)
	}
	if err != nil {
		return nil, err
	}
	sw.Coverage = sumCoverage(sw.Runs)
	sw.WallS = time.Since(start).Seconds()
	if cfg.Out != "" {
		if err := sw.WriteFile(filepath.Join(cfg.Out, "sweep.json")); err != nil {
			return nil, err
		}
	}
	return sw, nil
}

// generatorHash identifies the generator: the hash of the first scenario
// of every family. Shards of one swarm agree on it; a changed generator
// draws other scenarios from the same seeds, and Merge refuses to mix them.
func generatorHash() (string, error) {
	var all []byte
	for _, f := range scenarios.Families {
		src, err := scenarios.Random(f, 1)
		if err != nil {
			return "", err
		}
		all = append(all, src...)
	}
	return sha(all), nil
}

// swarmOne draws and runs one seed of one family, guided when gd is not
// nil; a failure is shrunk and written out when cfg.Out is set.
func swarmOne(cfg SwarmConfig, fam string, seed uint64, gd *guided) (Record, error) {
	name := fmt.Sprintf("%s-seed%d", fam, seed)
	var (
		src  string
		aims []scenarios.Cell
		err  error
	)
	cmd := "quorate swarm --family " + fam + " --seeds " + strconv.FormatUint(seed, 10)
	dir := filepath.Join(cfg.Out, "failures", name)
	if gd == nil {
		src, err = scenarios.Random(fam, seed)
	} else {
		var s *scenarios.Scenario
		if s, aims, err = gd.draw(fam, seed); err == nil {
			var b []byte
			b, err = scenarios.Encode(s)
			src = string(b)
		}
		// A guided draw depends on the runs before it: the scenario
		// written with the failure reproduces it, or the whole swarm.
		cmd = guidedReproduce(cfg)
		if cfg.Out != "" {
			cmd = "quorate run " + shellQuote(filepath.Join(dir, "scenario.yaml"))
		}
	}
	if err != nil {
		return Record{}, err
	}
	sc, err := scenarios.Parse(name+".yaml", []byte(src))
	if err != nil {
		return Record{}, fmt.Errorf("family %s seed %d: the generator drew an invalid scenario: %w", fam, seed, err)
	}
	res, err := sim.Run(sc, sim.Options{Seed: seed, SeedSet: true, Command: cmd})
	if err != nil {
		return Record{}, fmt.Errorf("family %s seed %d: %w", fam, seed, err)
	}
	rec := newRecord(fam, res)
	rec.aims = aims
	if gd != nil {
		rec.tries = triggerTries(sc, res)
	}
	if rec.OK {
		return rec, nil
	}
	rec.Reproduce = cmd
	if cfg.Out == "" {
		return rec, nil
	}
	if err := writeRun(dir, sc, []byte(src), seed, cmd); err != nil {
		return rec, err
	}
	rec.Trace = filepath.Join(dir, "trace.jsonl")
	if err := writeRegression(filepath.Join(cfg.Out, "regress"), name, []byte(src), seed); err != nil {
		return rec, fmt.Errorf("family %s seed %d: %w", fam, seed, err)
	}
	return rec, nil
}

// writeRun writes the scenario, the trace of a re-run and its result.
func writeRun(dir string, sc *scenarios.Scenario, src []byte, seed uint64, cmd string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scenario.yaml"), src, 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, "trace.jsonl"))
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	res, err := sim.Run(sc, sim.Options{Seed: seed, SeedSet: true, Command: cmd, Trace: f})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: re-running with a trace: %w", dir, err)
	}
	return writeJSON(filepath.Join(dir, "result.json"), res)
}

// writeRegression shrinks the failing scenario and writes it as a
// regression case: NAME.yaml (the shrunk scenario), NAME.expect (fail and
// the failing check) and NAME.jsonl (its trace).
func writeRegression(dir, name string, src []byte, seed uint64) error {
	sh, err := Shrink(name+".yaml", src, seed, nil)
	if errors.Is(err, ErrPasses) {
		return fmt.Errorf("the failure did not reproduce on a second run (non-determinism)")
	}
	if err != nil {
		return fmt.Errorf("shrink: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	base := filepath.Join(dir, name)
	if err := os.WriteFile(base+".yaml", sh.Source, 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	what := sh.Failure
	if i := strings.Index(what, ":"); i >= 0 {
		what = what[:i] // the failing check or expectation
	}
	expect := "fail\n" + what + "\n"
	if err := os.WriteFile(base+".expect", []byte(expect), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	sc, err := scenarios.Parse(base+".yaml", sh.Source)
	if err != nil {
		return fmt.Errorf("the shrunk scenario does not load: %w", err)
	}
	var trace bytes.Buffer
	res, err := sim.Run(sc, sim.Options{Seed: seed, SeedSet: true, Trace: &trace})
	if err != nil {
		return fmt.Errorf("tracing the shrunk scenario: %w", err)
	}
	if res.OK {
		return fmt.Errorf("the shrunk scenario passes when traced (non-determinism)")
	}
	if err := os.WriteFile(base+".jsonl", trace.Bytes(), 0o644); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	return nil
}

// guidedReproduce is the command that runs a guided swarm again: its runs
// depend on the rounds before them, so the whole of it (the shard).
func guidedReproduce(cfg SwarmConfig) string {
	var b strings.Builder
	b.WriteString("quorate swarm --guided --round " + strconv.Itoa(cfg.Round))
	if len(cfg.Families) > 0 {
		b.WriteString(" --family " + strings.Join(cfg.Families, ","))
	}
	b.WriteString(" --seeds " + FormatSeeds(cfg.Seeds))
	if !cfg.Shard.Whole() {
		b.WriteString(" --shard " + cfg.Shard.String())
	}
	return b.String()
}
