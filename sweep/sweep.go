// Package sweep runs one scenario over many seeds and a grid of parameter
// values, in parallel and optionally sharded over machines, and aggregates
// the runs into a summary that does not depend on how the work was split:
// results are kept in grid and seed order whatever the number of workers,
// and the result files of the shards merge into the summary of the whole.
package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"
	"gopkg.in/yaml.v3"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// Config is what one sweep runs.
type Config struct {
	File     string   // the scenario file, as the user named it
	Seeds    []uint64 // the whole sweep's seeds, sorted (see ParseSeeds)
	Shard    Shard    // this machine's share; the zero Shard runs every seed
	Vary     []Vary   // the grid axes; none: the scenario as written
	Parallel int      // worker goroutines; < 1 means GOMAXPROCS
	// Out, when not empty, receives sweep.json, summary.txt (see
	// SummaryFile), points/<point>.yaml for
	// each grid point and failures/<point>-seed<N>/ for each failing run.
	Out string
	// Progress, when set, is called after each run from one goroutine.
	Progress func(done, total, failed int)
}

// InputError is a problem with what the sweep was asked to do (a bad
// scenario, --vary or seed list): the command line exits 2 for it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(format string, a ...any) error { return &InputError{Err: fmt.Errorf(format, a...)} }

// IsInputError reports whether err is an *InputError.
func IsInputError(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}

// Run performs the sweep: it loads the scenario, expands the grid, runs
// every seed of the shard at every point on cfg.Parallel workers (one whole
// simulation per worker at a time), re-runs each failing seed with a trace
// when cfg.Out is set, and writes the result files. A failing run is not an
// error: it is a Record with OK false. Errors are *InputError for bad
// input, or I/O errors writing cfg.Out.
func Run(cfg Config) (*Sweep, error) {
	start := time.Now()
	if len(cfg.Seeds) == 0 {
		return nil, inputErr("no seeds to run")
	}
	src, err := os.ReadFile(cfg.File)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	points, err := preparePoints(cfg, src)
	if err != nil {
		return nil, err
	}
	sw := &Sweep{
		Format:       Format,
		Scenario:     points[0].sc.Name,
		File:         cfg.File,
		SourceSHA256: sha(src),
		Seeds:        FormatSeeds(cfg.Seeds),
		Grid:         cfg.Vary,
		Points:       points,
	}
	if !cfg.Shard.Whole() {
		sh := cfg.Shard
		sw.Shard = &sh
	}
	seeds := cfg.Shard.Seeds(cfg.Seeds)
	sw.Parallel = cfg.Parallel
	if sw.Parallel < 1 {
		sw.Parallel = runtime.GOMAXPROCS(0)
	}
	one := func(p *Point, seed uint64) (Record, error) { return runOne(cfg, p, seed) }
	if sw.Runs, err = runAll(cfg.Progress, points, seeds, sw.Parallel, one); err != nil {
		return nil, err
	}
	sw.Coverage = sumCoverage(sw.Runs)
	wall := time.Since(start)
	sw.WallS = wall.Seconds()
	sw.Timing = []Timing{newTiming(cfg.Shard, len(seeds), len(sw.Runs), sw.Parallel, wall)}
	if cfg.Out != "" {
		if err := sw.WriteResults(cfg.Out); err != nil {
			return nil, err
		}
	}
	return sw, nil
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// preparePoints loads the scenario at every grid point; with cfg.Out it
// writes each varied scenario to Out/points/<name>.yaml.
func preparePoints(cfg Config, src []byte) ([]*Point, error) {
	if len(cfg.Vary) == 0 {
		sc, err := scenarios.Parse(cfg.File, src)
		if err != nil {
			return nil, &InputError{Err: err}
		}
		if err := sim.Unsupported(sc); err != nil {
			return nil, &InputError{Err: err}
		}
		return []*Point{{Name: "base", File: cfg.File, sc: sc}}, nil
	}
	seen := map[string]bool{}
	for _, v := range cfg.Vary {
		if v.Key == "seed" {
			return nil, inputErr("%s: every run's seed comes from --seeds; list the seeds there", v.Flag())
		}
		if seen[v.Key] {
			return nil, inputErr("%s: key %s is varied twice; give all its values in one --vary", v.Flag(), v.Key)
		}
		seen[v.Key] = true
	}
	src, err := confLinksForVary(cfg, src)
	if err != nil {
		return nil, err
	}
	grid := Grid(cfg.Vary)
	var pointsDir string
	if cfg.Out != "" {
		pointsDir = filepath.Join(cfg.Out, "points")
		if err := os.MkdirAll(pointsDir, 0o755); err != nil {
			return nil, fmt.Errorf("--out: %w", err)
		}
	}
	var points []*Point
	for i, settings := range grid {
		p := &Point{Name: pointName(i, len(grid)), Settings: settings}
		var conf func(string) string
		if pointsDir != "" {
			p.File = filepath.Join(pointsDir, p.Name+".yaml")
			conf = func(c string) string { return relocate(filepath.Join(filepath.Dir(cfg.File), c), pointsDir) }
		} else {
			// Not written anywhere: one name for every point, so that
			// the reproducing sweep of one point runs the same bytes.
			stem := strings.TrimSuffix(filepath.Base(cfg.File), filepath.Ext(cfg.File))
			p.File = filepath.Join(filepath.Dir(cfg.File), stem+".vary.yaml")
		}
		out, err := Apply(src, settings, conf)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("--vary %w", err)}
		}
		sc, err := scenarios.Parse(p.File, out)
		if err != nil {
			return nil, &InputError{Err: fmt.Errorf("grid point %s: %s: the scenario loader rejects it:\n%w", p.Name, blame(settings, err), err)}
		}
		if err := sim.Unsupported(sc); err != nil {
			return nil, &InputError{Err: fmt.Errorf("grid point %s: %s: %w", p.Name, blame(settings, err), err)}
		}
		p.sc = sc
		if pointsDir != "" {
			if err := os.WriteFile(p.File, out, 0o644); err != nil {
				return nil, fmt.Errorf("--out: %w", err)
			}
		}
		points = append(points, p)
	}
	return points, nil
}

// confLinksForVary writes the links a scenario takes from its
// corosync.conf into its network.links when a --vary key names one of
// them, so that the key has something to change: without network.links
// in the file, "network.links[1].priority" had no node to set. The links
// are written as the loader built them from the conf (number, switch,
// knet priority and heartbeat settings, the default latency), so the
// points differ from the base scenario only in the varied value.
func confLinksForVary(cfg Config, src []byte) ([]byte, error) {
	wants := false
	for _, v := range cfg.Vary {
		wants = wants || strings.HasPrefix(v.Key, "network.links")
	}
	if !wants {
		return src, nil
	}
	base, err := scenarios.Parse(cfg.File, src)
	if err != nil {
		return nil, &InputError{Err: err}
	}
	if base.Cluster.CorosyncConf == "" {
		return src, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return src, nil // Apply reports it
	}
	root := doc.Content[0]
	if lookup(root, "network", "links") != nil {
		return src, nil
	}
	links := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, l := range base.Network.Links {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		add := func(k, v string) {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k},
				&yaml.Node{Kind: yaml.ScalarNode, Value: v})
		}
		add("number", strconv.Itoa(l.Number))
		add("switch", l.Switch)
		add("priority", strconv.Itoa(l.Priority))
		if l.PingInterval > 0 {
			add("ping_interval", l.PingInterval.String())
		}
		if l.PingTimeout > 0 {
			add("ping_timeout", l.PingTimeout.String())
		}
		add("pong_count", strconv.Itoa(l.PongCount))
		if l.Latency.Dist == "constant" {
			lat := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
			lat.Content = []*yaml.Node{
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "dist"}, {Kind: yaml.ScalarNode, Value: "constant"},
				{Kind: yaml.ScalarNode, Tag: "!!str", Value: "value"}, {Kind: yaml.ScalarNode, Value: l.Latency.Value.String()},
			}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "latency"}, lat)
		}
		links.Content = append(links.Content, m)
	}
	netw := lookup(root, "network")
	if netw == nil {
		netw = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "network"}, netw)
	}
	if netw.Kind != yaml.MappingNode {
		return src, nil
	}
	netw.Content = append(netw.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "links"}, links)
	return encode(&doc)
}

// relocate rewrites path (relative to the working directory) to be
// relative to dir, or absolute when that is not possible.
func relocate(path, dir string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// blame names the --vary flags whose keys the loader's errors are about,
// or every setting of the point when none matches.
func blame(settings []Setting, err error) string {
	var list scenarios.ErrorList
	var fields []string
	if errors.As(err, &list) {
		for _, e := range list {
			fields = append(fields, e.Field)
		}
	}
	var named, all []string
	for _, s := range settings {
		all = append(all, "--vary "+s.String())
		for _, f := range fields {
			if f != "" && (f == s.Key || strings.HasPrefix(f, s.Key+".") || strings.HasPrefix(f, s.Key+"[") ||
				strings.HasPrefix(s.Key, f+".") || strings.HasPrefix(s.Key, f+"[")) {
				named = append(named, "--vary "+s.String())
				break
			}
		}
	}
	if len(named) > 0 {
		return strings.Join(named, ", ")
	}
	return strings.Join(all, ", ")
}

// runAll runs every seed at every point with one and returns the records
// in point order, then seed order: the same slice whatever parallel is.
func runAll(progress func(done, total, failed int), points []*Point, seeds []uint64, parallel int,
	one func(p *Point, seed uint64) (Record, error)) ([]Record, error) {
	total := len(points) * len(seeds)
	recs := make([]Record, total)
	jobs := make(chan int)
	done := make(chan bool, parallel)
	var stop atomic.Bool
	var errOnce sync.Once
	var firstErr error
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		stop.Store(true)
	}
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for slot := range jobs {
				if stop.Load() {
					done <- false
					continue
				}
				p, seed := points[slot/len(seeds)], seeds[slot%len(seeds)]
				rec, err := one(p, seed)
				if err != nil {
					fail(err)
				}
				recs[slot] = rec
				done <- err == nil && !rec.OK
			}
		}()
	}
	go func() {
		for slot := range total {
			jobs <- slot
		}
		close(jobs)
	}()
	failed := 0
	for n := 1; n <= total; n++ {
		if <-done {
			failed++
		}
		if progress != nil {
			progress(n, total, failed)
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return recs, nil
}

// reproduce is the command that runs one seed of one point again.
func reproduce(cfg Config, p *Point, seed uint64) string {
	s := strconv.FormatUint(seed, 10)
	if len(p.Settings) == 0 || cfg.Out != "" {
		return "quorate run " + shellQuote(p.File) + " --seed " + s
	}
	var b strings.Builder
	b.WriteString("quorate sweep " + shellQuote(cfg.File) + " --seeds " + s)
	for _, st := range p.Settings {
		b.WriteString(" --vary " + shellQuote(st.String()))
	}
	return b.String()
}

// runOne simulates one seed at one point; a failing run is re-run with a
// trace into Out/failures/<point>-seed<N>/ when cfg.Out is set.
func runOne(cfg Config, p *Point, seed uint64) (Record, error) {
	cmd := reproduce(cfg, p, seed)
	res, err := sim.Run(p.sc, sim.Options{Seed: seed, SeedSet: true, Command: cmd})
	if err != nil {
		return Record{}, &InputError{Err: fmt.Errorf("point %s seed %d: %w", p.Name, seed, err)}
	}
	rec := newRecord(p.Name, res)
	if rec.OK {
		return rec, nil
	}
	rec.Reproduce = cmd
	if cfg.Out == "" {
		return rec, nil
	}
	dir := filepath.Join(cfg.Out, "failures", fmt.Sprintf("%s-seed%d", p.Name, seed))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return rec, fmt.Errorf("--out: %w", err)
	}
	rec.Trace = filepath.Join(dir, "trace.jsonl")
	f, err := os.Create(rec.Trace)
	if err != nil {
		return rec, fmt.Errorf("--out: %w", err)
	}
	again, err := sim.Run(p.sc, sim.Options{Seed: seed, SeedSet: true, Command: cmd, Trace: f})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return rec, fmt.Errorf("point %s seed %d: re-running with a trace: %w", p.Name, seed, err)
	}
	if again.TraceSHA256 != res.TraceSHA256 {
		return rec, fmt.Errorf("point %s seed %d is not deterministic: trace sha256 %s, then %s on the re-run with a trace",
			p.Name, seed, res.TraceSHA256, again.TraceSHA256)
	}
	if err := writeJSON(filepath.Join(dir, "result.json"), again); err != nil {
		return rec, fmt.Errorf("--out: %w", err)
	}
	return rec, nil
}

func newRecord(point string, res *reports.Result) Record {
	rec := Record{
		Point:             point,
		Seed:              res.Seed,
		OK:                res.OK,
		Failure:           res.Failure,
		TraceSHA256:       res.TraceSHA256,
		MembershipChanges: res.Stats.MembershipChanges,
		Ops:               res.Stats.Ops,
		OpsOK:             res.Stats.OpsOK,
		WallS:             res.WallS,
		coverage:          res.Coverage,
	}
	f := figures(res)
	rec.Figures = &f
	if res.Liveness != nil {
		l := *res.Liveness
		rec.Liveness = &l
	}
	return rec
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_./=:,@%+-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Progress shows a sweep's advance on a writer (stderr): a progress bar
// with an ETA on a terminal, otherwise one line about every tenth of the
// runs (none in the first second: a quick sweep prints only its last
// line), so that CI logs stay short. Update is Config.Progress.
type Progress struct {
	w      io.Writer
	bar    *progressbar.ProgressBar
	start  time.Time
	decile int
}

// NewProgress starts reporting a sweep of total runs on w; tty chooses the
// bar over the lines.
func NewProgress(w io.Writer, total int, tty bool) *Progress {
	p := &Progress{w: w, start: time.Now()}
	if tty && total > 0 {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("sweep"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// Update records that done of total runs have finished, failed of them failing.
func (p *Progress) Update(done, total, failed int) {
	if p.bar != nil {
		if failed > 0 {
			p.bar.Describe(fmt.Sprintf("sweep (%d failed)", failed))
		}
		_ = p.bar.Set(done)
		return
	}
	if total == 0 {
		return
	}
	d := done * 10 / total
	elapsed := time.Since(p.start)
	if d <= p.decile || elapsed < quiet {
		return
	}
	p.decile = d
	line := fmt.Sprintf("sweep: %d/%d runs (%d%%), %d failed, %s elapsed", done, total, done*100/total, failed, round(elapsed))
	if done < total {
		eta := time.Duration(float64(elapsed) / float64(done) * float64(total-done))
		line += ", ETA " + round(eta).String()
	}
	fmt.Fprintln(p.w, line)
}

// Finish ends the bar and prints how long the sweep took.
func (p *Progress) Finish(runs, workers int) {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
	fmt.Fprintf(p.w, "sweep: %d runs in %s on %d worker%s\n", runs, round(time.Since(p.start)), workers, plural(workers))
}

// quiet is how long a sweep runs before the lines start.
const quiet = time.Second

func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
