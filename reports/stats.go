package reports

import (
	"fmt"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Summary is min / median / max (and mean) of a sample.
type Summary struct {
	N                int
	Min, Median, Max float64
	Mean             float64
}

// Summarize computes the summary of xs with gonum's empirical quantile
// (the median of an even sample is its lower middle value, a value that
// was actually measured).
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return Summary{
		N:      len(s),
		Min:    s[0],
		Median: stat.Quantile(0.5, stat.Empirical, s, nil),
		Max:    s[len(s)-1],
		Mean:   stat.Mean(s, nil),
	}
}

// Quantile summarises xs (ms) by its empirical median and 99th
// percentile, or nil for an empty sample.
func Quantile(xs []float64) *Quantiles {
	if len(xs) == 0 {
		return nil
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return &Quantiles{N: len(s), P50: stat.Quantile(0.5, stat.Empirical, s, nil), P99: stat.Quantile(0.99, stat.Empirical, s, nil)}
}

// String prints "min / median / max" in ms, or "-" for an empty sample.
func (s Summary) String() string {
	if s.N == 0 {
		return "-"
	}
	if s.N == 1 {
		return fmt.Sprintf("%.0f", s.Min)
	}
	return fmt.Sprintf("%.0f / %.0f / %.0f", s.Min, s.Median, s.Max)
}
