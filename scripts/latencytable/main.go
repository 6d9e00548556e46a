// Command latencytable prints the tables of docs/latency-study.md from the
// sweep.json files of the study (scripts/latency-study.sh): for each
// sweep, one table per figure with the node counts as rows and the base
// latencies as columns. Each cell pools the seeds of one grid point.
//
//	go run ./scripts/latencytable out/latency-study/*/sweep.json
package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quorate/quorate/sweep"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: latencytable SWEEP.json...")
		os.Exit(2)
	}
	for _, path := range os.Args[1:] {
		sw, err := sweep.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if err := write(os.Stdout, filepath.Base(filepath.Dir(path)), sw); err != nil {
			fmt.Fprintln(os.Stderr, path+":", err)
			os.Exit(1)
		}
	}
}

// cell pools the runs of one grid point.
type cell struct {
	runs, failed, neverFormed int
	changes                   int64
	formedH                   float64 // hours from formation to the end, summed
	quorate                   float64 // quorate fraction, summed
	p50, p99                  []float64
	linkDowns, tokensLost     int64
	wallS                     float64
}

func write(w io.Writer, name string, sw *sweep.Sweep) error {
	if len(sw.Grid) < 2 || sw.Grid[0].Key != "cluster.nodes" {
		return fmt.Errorf("want a grid of cluster.nodes, then the latency (have %d axes)", len(sw.Grid))
	}
	rows, cols := sw.Grid[0].Values, sw.Grid[1].Values
	cells := map[[2]string]*cell{}
	point := map[string][2]string{}
	for _, p := range sw.Points {
		var k [2]string
		for _, s := range p.Settings {
			switch s.Key {
			case sw.Grid[0].Key:
				k[0] = s.Value
			case sw.Grid[1].Key:
				k[1] = s.Value
			}
		}
		point[p.Name] = k
		cells[k] = &cell{}
	}
	for _, r := range sw.Runs {
		c := cells[point[r.Point]]
		if r.Figures == nil {
			return fmt.Errorf("run %s seed %d has no figures: written by an older quorate", r.Point, r.Seed)
		}
		f := r.Figures
		c.runs++
		c.wallS += r.WallS
		if !r.OK {
			c.failed++
		}
		if f.FormedMs == nil {
			c.neverFormed++
		} else {
			c.changes += f.ChangesAfterFormed
			c.formedH += (f.SimulatedS*1e3 - *f.FormedMs) / 3.6e6
		}
		c.quorate += f.QuorateFraction
		c.linkDowns += int64(f.LinkDowns)
		c.tokensLost += int64(f.TokensLost)
		if q := f.WriteLatencyMs; q != nil {
			c.p50, c.p99 = append(c.p50, q.P50), append(c.p99, q.P99)
		}
	}
	var labels []string
	for _, v := range cols {
		labels = append(labels, latencyLabel(v))
	}
	fmt.Fprintf(w, "## %s (%s, seeds %s, %s per run)\n\n", name, sw.Scenario, sw.Seeds, dur(sw))
	for _, g := range sw.Grid[2:] {
		if len(g.Values) != 1 {
			return fmt.Errorf("%s: a third axis must have one value (each cell pools the seeds of one point)", g.Flag())
		}
		fmt.Fprintf(w, "Fixed: `%s`.\n\n", g.Flag())
	}
	table := func(title string, f func(c *cell) string) {
		fmt.Fprintf(w, "%s\n\n| nodes \\ latency | %s |\n|---|%s\n", title, strings.Join(labels, " | "), strings.Repeat("---|", len(cols)))
		for _, r := range rows {
			fmt.Fprintf(w, "| %s |", r)
			for _, c := range cols {
				fmt.Fprintf(w, " %s |", f(cells[[2]string{r, c}]))
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	table("Membership changes per hour after formation (pooled over the seeds; `n/f`: n seeds never formed)", func(c *cell) string {
		s := "-"
		if c.formedH > 0 {
			s = fmt.Sprintf("%.0f", float64(c.changes)/c.formedH)
		}
		if c.neverFormed > 0 {
			s += fmt.Sprintf(" %d/f", c.neverFormed)
		}
		return s
	})
	table("Quorate share of node-time, % (mean over the seeds, start-up included)", func(c *cell) string {
		return fmt.Sprintf("%.1f", 100*c.quorate/float64(c.runs))
	})
	table("Store write latency p50 / p99, ms (median over the seeds of each run's p50 and p99)", func(c *cell) string {
		if len(c.p50) == 0 {
			return "-"
		}
		return fmt.Sprintf("%s / %s", ms(median(c.p50)), ms(median(c.p99)))
	})
	table("Knet link downs and Totem tokens lost per run (mean over the seeds)", func(c *cell) string {
		return fmt.Sprintf("%.0f / %.0f", float64(c.linkDowns)/float64(c.runs), float64(c.tokensLost)/float64(c.runs))
	})
	table("Runs failing a check (of the seeds)", func(c *cell) string {
		return fmt.Sprintf("%d/%d", c.failed, c.runs)
	})
	var wall float64
	for _, c := range cells {
		wall += c.wallS
	}
	fmt.Fprintf(w, "CPU time of the runs: %.0f s.\n\n", wall)
	return nil
}

// latencyLabel names a latency value of the grid by its base: a duration
// as it is, a uniform distribution by the middle of its range, any other
// distribution by its min, median, mean or value.
func latencyLabel(v string) string {
	var m map[string]string
	if err := yaml.Unmarshal([]byte(v), &m); err != nil || m == nil {
		return v
	}
	if lo, err1 := time.ParseDuration(m["min"]); err1 == nil {
		if hi, err2 := time.ParseDuration(m["max"]); err2 == nil {
			return strconv.FormatFloat((lo+hi).Seconds()*1e3/2, 'g', 4, 64) + "ms"
		}
		return m["min"]
	}
	for _, k := range []string{"median", "mean", "value"} {
		if m[k] != "" {
			return m[k]
		}
	}
	return v
}

func dur(sw *sweep.Sweep) string {
	for _, r := range sw.Runs {
		if r.Figures != nil {
			return (time.Duration(r.Figures.SimulatedS) * time.Second).String()
		}
	}
	return "?"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

func ms(x float64) string {
	switch {
	case math.IsNaN(x):
		return "-"
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2g", x)
}
