package journal

import (
	"slices"
	"strconv"
	"strings"
)

// Sequences are, per node, the member sets of the regular configurations
// the node installed, in order, each member set sorted by name and a set
// equal to the one before it left out: a new ring with the same members is
// not a membership change. This is what an imported scenario must
// reproduce, and what the simulator's timeline is compared with.
type Sequences map[string][][]string

// Add appends members to node's sequence unless it equals the last set.
func (s Sequences) Add(node string, members []string) {
	set := slices.Clone(members)
	slices.Sort(set)
	set = slices.Compact(set)
	seq := s[node]
	if n := len(seq); n > 0 && slices.Equal(seq[n-1], set) {
		return
	}
	s[node] = append(seq, set)
}

// Diff describes the first difference between s (what was observed) and
// got, node by node in name order; "" when they are equal.
func (s Sequences) Diff(got Sequences) string {
	names := make([]string, 0, len(s)+len(got))
	for n := range s {
		names = append(names, n)
	}
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		want, have := s[n], got[n]
		for i := range max(len(want), len(have)) {
			switch {
			case i >= len(want):
				return n + ": extra change " + setString(have[i]) + " after " + seqString(want)
			case i >= len(have):
				return n + ": missing change " + setString(want[i]) + " after " + seqString(have)
			case !slices.Equal(want[i], have[i]):
				return n + ": change " + strconv.Itoa(i+1) + " is " + setString(have[i]) + ", want " + setString(want[i]) +
					" (want " + seqString(want) + ", got " + seqString(have) + ")"
			}
		}
	}
	return ""
}

// String prints one line per node: "hp1: {hp1,hp2,hp3} → {hp1,hp2}".
func (s Sequences) String() string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, n := range names {
		b.WriteString(n + ": " + seqString(s[n]) + "\n")
	}
	return b.String()
}

func setString(set []string) string { return "{" + strings.Join(set, ",") + "}" }

func seqString(seq [][]string) string {
	parts := make([]string, len(seq))
	for i, set := range seq {
		parts[i] = setString(set)
	}
	return strings.Join(parts, " → ")
}
