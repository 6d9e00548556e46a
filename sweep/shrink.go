package sweep

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// Shrinking: given a scenario that fails on a seed, drop faults one at a
// time and shorten the run while it still fails in the same way, and keep
// the smallest. The seed stays the same, so every candidate is a plain
// deterministic run; "the same way" means the same failure identity
// (reports.FailureID): the same entry of the expect list, or the same check
// with the same kind of counterexample, or an engine assertion. Any other
// failure is a different bug and the candidate is not kept.

// ShrinkResult is what Shrink found.
type ShrinkResult struct {
	Source   []byte // the smallest scenario that still fails
	Failure  string // its failure
	Faults   [2]int // faults before and after
	Duration [2]time.Duration
	Runs     int // simulations run
	// ID is the failure's identity, the same for the original and the
	// shrunk scenario.
	ID *reports.FailureID
	// CorosyncConf is the scenario's corosync.conf (nil when it names
	// none) and ConfPath where it was read; SelfContained writes it
	// beside the reproducer.
	CorosyncConf []byte
	ConfPath     string
}

// ErrPasses is returned when the scenario does not fail to begin with.
var ErrPasses = errors.New("sweep: the scenario passes on that seed; nothing to shrink")

// Shrink minimises the fault schedule and the duration of the scenario at
// path (its bytes in src) while it keeps failing on seed the way it fails
// now. read resolves files the scenario names (nil: the file system).
func Shrink(path string, src []byte, seed uint64, read scenarios.ReadFunc) (*ShrinkResult, error) {
	res := &ShrinkResult{}
	var first *scenarios.Scenario
	run := func(b []byte) (*reports.Result, error) {
		sc, err := scenarios.ParseWith(path, b, read)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = sc
		}
		res.Runs++
		return sim.Run(sc, sim.Options{Seed: seed, SeedSet: true})
	}
	firstRes, err := run(src)
	if err != nil {
		return nil, err
	}
	if firstRes.OK {
		return nil, ErrPasses
	}
	res.ID = firstRes.FailureID
	if first.Cluster.CorosyncConf != "" {
		res.CorosyncConf = first.Cluster.CorosyncConfSource
		res.ConfPath = scenarios.ConfPath(path, first.Cluster.CorosyncConf)
	}
	stillFails := func(b []byte) (string, bool) {
		r, err := run(b)
		if err != nil || r.OK || !r.FailureID.Same(res.ID) {
			return "", false
		}
		return r.Failure, true
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("sweep: %s: %v", path, err)
	}
	root := doc.Content[0]
	faults := lookup(root, "faults")
	best, bestFailure := src, firstRes.Failure
	if faults != nil && faults.Kind == yaml.SequenceNode {
		res.Faults[0] = len(faults.Content)
		// Drop each fault in turn; keep a removal when the failure stays.
		for changed := true; changed; {
			changed = false
			for i := len(faults.Content) - 1; i >= 0; i-- {
				undo, ok := renumberAfterFault(lookup(root, "expect"), i)
				if !ok {
					continue // an expectation follows this very fault
				}
				saved := faults.Content
				faults.Content = append(append([]*yaml.Node(nil), saved[:i]...), saved[i+1:]...)
				b, err := encode(&doc)
				if err == nil {
					if f, ok := stillFails(b); ok {
						best, bestFailure, changed = b, f, true
						continue
					}
				}
				faults.Content = saved
				undo()
			}
		}
		res.Faults[1] = len(faults.Content)
	}
	// Shorten the run: halve the time after the last fault while the
	// failure stays.
	if d := lookup(root, "duration"); d != nil {
		orig, err := time.ParseDuration(d.Value)
		if err == nil {
			res.Duration[0] = orig
			floor := lastFaultAt(faults) + time.Second
			cur := orig
			for cur-floor > time.Second {
				next := floor + (cur-floor)/2
				d.Value = next.String()
				undo := clipDuring(lookup(root, "expect"), next)
				b, err := encode(&doc)
				if err != nil {
					break
				}
				f, ok := stillFails(b)
				if !ok {
					undo()
					break
				}
				best, bestFailure, cur = b, f, next
			}
			d.Value = cur.String()
			res.Duration[1] = cur
		}
	}
	res.Source, res.Failure = best, bestFailure
	return res, nil
}

func encode(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// lastFaultAt is the latest `at` of the remaining faults.
func lastFaultAt(faults *yaml.Node) time.Duration {
	var last time.Duration
	if faults == nil {
		return 0
	}
	for _, f := range faults.Content {
		if at := lookup(f, "at"); at != nil {
			if d, err := time.ParseDuration(at.Value); err == nil && d > last {
				last = d
			}
		}
	}
	return last
}

// clipDuring ends every `during` window of the expect list at most at end,
// so that a shorter run still judges the same window up to its end; it
// returns a function that restores the windows.
func clipDuring(expect *yaml.Node, end time.Duration) (undo func()) {
	type saved struct {
		n *yaml.Node
		v string
	}
	var changed []saved
	if expect != nil {
		for _, e := range expect.Content {
			w := lookup(e, "during")
			if w == nil || w.Kind != yaml.SequenceNode || len(w.Content) != 2 {
				continue
			}
			if d, err := time.ParseDuration(w.Content[1].Value); err == nil && d > end {
				changed = append(changed, saved{w.Content[1], w.Content[1].Value})
				w.Content[1].Value = end.String()
			}
		}
	}
	return func() {
		for _, c := range changed {
			c.n.Value = c.v
		}
	}
}

// renumberAfterFault moves every after_fault: N of the expect list past
// fault i down by one, for the list without fault i. It refuses (ok false,
// nothing changed) when an expectation follows fault i itself.
func renumberAfterFault(expect *yaml.Node, i int) (undo func(), ok bool) {
	var nodes []*yaml.Node
	if expect != nil {
		for _, e := range expect.Content {
			n := lookup(e, "after_fault")
			if n == nil {
				continue
			}
			v, err := strconv.Atoi(n.Value)
			if err != nil {
				continue
			}
			if v == i {
				return func() {}, false
			}
			if v > i {
				nodes = append(nodes, n)
			}
		}
	}
	for _, n := range nodes {
		v, _ := strconv.Atoi(n.Value)
		n.Value = strconv.Itoa(v - 1)
	}
	return func() {
		for _, n := range nodes {
			v, _ := strconv.Atoi(n.Value)
			n.Value = strconv.Itoa(v + 1)
		}
	}, true
}

// SelfContained returns the shrunk scenario so that it loads from any
// directory: its cluster.corosync_conf names confName, where the caller
// writes res.CorosyncConf (beside the reproducer: the path is relative to
// the scenario file). A scenario without a corosync.conf is returned as
// it is.
func (res *ShrinkResult) SelfContained(confName string) ([]byte, error) {
	if res.CorosyncConf == nil {
		return res.Source, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(res.Source, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("sweep: the shrunk scenario does not parse: %v", err)
	}
	n := lookup(doc.Content[0], "cluster", "corosync_conf")
	if n == nil {
		return res.Source, nil
	}
	n.Value = confName
	return encode(&doc)
}
