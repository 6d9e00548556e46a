package journal

import (
	"slices"
	"strconv"
	"strings"
)

// Verdicts are, per node, votequorum's verdicts in the order the node
// reached them, a verdict equal to the one before it left out: the
// quorum history an imported scenario must reproduce beside its
// membership Sequences.
type Verdicts map[string][]bool

// Add appends quorate to node's verdicts unless it equals the last one.
func (v Verdicts) Add(node string, quorate bool) {
	seq := v[node]
	if n := len(seq); n > 0 && seq[n-1] == quorate {
		return
	}
	v[node] = append(seq, quorate)
}

// From returns v with each node's verdicts cut to begin at the first one
// equal to the node's first in start, as Sequences.From does.
func (v Verdicts) From(start Verdicts) Verdicts {
	out := Verdicts{}
	for n, seq := range v {
		out[n] = seq
		if ref := start[n]; len(ref) > 0 {
			if i := slices.Index(seq, ref[0]); i >= 0 {
				out[n] = seq[i:]
			}
		}
	}
	return out
}

// Diff describes the first difference between v (what was observed) and
// got, node by node in name order; "" when they are equal. A node v has
// no verdicts for is not compared.
func (v Verdicts) Diff(got Verdicts) string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		want, have := v[n], got[n]
		if slices.Equal(want, have) {
			continue
		}
		for i := range max(len(want), len(have)) {
			switch {
			case i >= len(want):
				return n + ": extra quorum change to " + verdict(have[i]) + " after " + verdictString(want)
			case i >= len(have):
				return n + ": missing quorum change to " + verdict(want[i]) + " after " + verdictString(have)
			case want[i] != have[i]:
				return n + ": quorum change " + strconv.Itoa(i+1) + " is " + verdict(have[i]) + ", want " + verdict(want[i])
			}
		}
	}
	return ""
}

// String prints one line per node: "hp1: quorate → not quorate".
func (v Verdicts) String() string {
	names := make([]string, 0, len(v))
	for n := range v {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ": " + verdictString(v[n]) + "\n")
	}
	return b.String()
}

func verdict(q bool) string {
	if q {
		return "quorate"
	}
	return "not quorate"
}

func verdictString(seq []bool) string {
	parts := make([]string, len(seq))
	for i, q := range seq {
		parts[i] = verdict(q)
	}
	return strings.Join(parts, " → ")
}
