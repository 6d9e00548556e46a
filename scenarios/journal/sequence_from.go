package journal

import "slices"

// From returns s with each node's sequence cut to begin at the first set
// equal to the first set of the node's sequence in start, for comparing a
// whole run with observations that begin later (Corosync imports begin
// at the cluster's formation: the order in which nodes started within
// milliseconds of each other formed their first rings is a race no
// replay can time). A node that start lacks, or whose start set s never
// reaches, is kept whole.
func (s Sequences) From(start Sequences) Sequences {
	out := Sequences{}
	for n, seq := range s {
		out[n] = seq
		ref := start[n]
		if len(ref) == 0 {
			continue
		}
		if i := slices.IndexFunc(seq, func(set []string) bool { return slices.Equal(set, ref[0]) }); i >= 0 {
			out[n] = seq[i:]
		}
	}
	return out
}
