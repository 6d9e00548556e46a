package corolog

import (
	"fmt"
	"slices"
	"time"
)

// logSpread is the spread of the instants at which the members of a new
// ring log it on synchronised clocks; offsets below it are left alone.
const logSpread = 10 * time.Millisecond

// Alignment is how one node's clock was set against the reference node's.
type Alignment struct {
	Node string
	// Offset is added to the node's timestamps; 0 for the reference.
	Offset time.Duration
	// Shared counts the memberships (ring ids) the node logged that an
	// aligned node logged too; Residual is the largest disagreement left
	// among them after the offset: how well the clocks align.
	Shared   int
	Residual time.Duration
	// Trusted is true when the node shared no membership with the others
	// and its clock was taken as it is (--trust-clocks).
	Trusted bool
}

func (a Alignment) String() string {
	switch {
	case a.Trusted:
		return fmt.Sprintf("%s: no membership in common with the others; clock taken as it is", a.Node)
	case a.Shared == 0:
		return fmt.Sprintf("%s: the reference clock", a.Node)
	}
	return fmt.Sprintf("%s: %+v on %d shared memberships, within %v", a.Node, a.Offset, a.Shared, a.Residual)
}

// align sets every node's clock against the first node's on the
// memberships both logged: every member of a new ring logs "A new
// membership (R) was formed" within a few milliseconds of the others, so
// the median difference of their timestamps over the rings they share is
// the offset between their clocks, and the spread around it says how well
// that holds. Nodes are aligned in turn against every node aligned
// before them. A node sharing no ring with an aligned one cannot be
// aligned: an error naming its first line, unless trust is set.
func align(names []string, events map[string][]Event, trust bool) ([]Alignment, error) {
	rings := map[string]map[string]time.Time{}
	for _, n := range names {
		rings[n] = map[string]time.Time{}
		for _, e := range events[n] {
			if e.Kind == KindRing {
				if _, ok := rings[n][e.Ring]; !ok {
					rings[n][e.Ring] = e.Time
				}
			}
		}
	}
	out := make([]Alignment, len(names))
	done := make([]bool, len(names))
	out[0], done[0] = Alignment{Node: names[0]}, true
	for progress := true; progress; {
		progress = false
		for i, n := range names {
			if done[i] {
				continue
			}
			var diffs []time.Duration
			for j, m := range names {
				if !done[j] {
					continue
				}
				for r, t := range rings[n] {
					if u, ok := rings[m][r]; ok {
						diffs = append(diffs, u.Add(out[j].Offset).Sub(t))
					}
				}
			}
			if len(diffs) == 0 {
				continue
			}
			slices.Sort(diffs)
			off := diffs[len(diffs)/2]
			// The members of a ring log it within a few milliseconds of
			// each other (and a log without hires counts whole seconds):
			// a smaller offset is that spread, not the clocks'.
			if off.Abs() < logSpread {
				off = 0
			}
			var res time.Duration
			for _, d := range diffs {
				res = max(res, (d - off).Abs())
			}
			out[i], done[i], progress = Alignment{Node: n, Offset: off, Shared: len(diffs), Residual: res}, true, true
		}
	}
	for i, n := range names {
		if done[i] {
			continue
		}
		if trust {
			out[i] = Alignment{Node: n, Trusted: true}
			continue
		}
		e := events[n][0]
		return nil, errAt(e.File, e.Num, "the clock of node %s cannot be aligned: its log shares no membership (\"A new membership (...) was formed\") with the logs of %s; "+
			"supply logs that cover a membership change both nodes saw, or pass --trust-clocks to take the clocks as they are",
			n, names[0])
	}
	return out, nil
}
