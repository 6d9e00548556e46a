package agent

import (
	"math/bits"
	"slices"
	"time"
)

// histSub is the number of sub-buckets per power of two of a latency
// histogram: 32 keeps every bucket within about 3 % of its values, which
// is finer than the noise of a shared machine, at 1,920 counters.
const (
	histSubBits = 5
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// histIndex returns the bucket of a value in nanoseconds: values below
// histSub have a bucket each, larger ones histSub buckets per power of two.
func histIndex(v uint64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - histSubBits
	return (shift+1)*histSub + int(v>>shift) - histSub
}

// histUpper returns the largest value of bucket i.
func histUpper(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	shift := i/histSub - 1
	mant := uint64(i%histSub + histSub)
	return (mant+1)<<shift - 1
}

// latencyHist counts latencies in log-linear buckets; owned by the loop.
type latencyHist struct {
	counts [histBuckets]uint64
	n      uint64
	sum    uint64
}

func (h *latencyHist) add(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[histIndex(v)]++
	h.n++
	h.sum += v
}

// info returns the histogram's non-empty buckets for the admin socket.
func (h *latencyHist) info() LatencyHistogram {
	out := LatencyHistogram{Count: h.n, SumNs: h.sum}
	for i, c := range h.counts {
		if c != 0 {
			out.Buckets = append(out.Buckets, HistBucket{LeNs: histUpper(i), N: c})
		}
	}
	return out
}

// LatencyHistogram is a distribution of latencies in log-linear buckets
// (32 per power of two, so a quantile read from it is at most about 3 %
// above the true value). Only non-empty buckets are listed, ascending.
type LatencyHistogram struct {
	Count   uint64       `json:"count"`
	SumNs   uint64       `json:"sum_ns"`
	Buckets []HistBucket `json:"buckets,omitempty"`
}

// HistBucket holds the N values v with previous bucket's LeNs < v <= LeNs.
type HistBucket struct {
	LeNs uint64 `json:"le_ns"`
	N    uint64 `json:"n"`
}

// Quantile returns the upper bound of the bucket holding the q-th value
// (0 < q <= 1), 0 for an empty histogram.
func (h LatencyHistogram) Quantile(q float64) time.Duration {
	if h.Count == 0 {
		return 0
	}
	rank := uint64(q * float64(h.Count))
	if float64(rank) < q*float64(h.Count) || rank == 0 {
		rank++
	}
	var seen uint64
	for _, b := range h.Buckets {
		seen += b.N
		if seen >= rank {
			return time.Duration(b.LeNs)
		}
	}
	return time.Duration(h.Buckets[len(h.Buckets)-1].LeNs)
}

// Max returns the upper bound of the highest non-empty bucket.
func (h LatencyHistogram) Max() time.Duration {
	if len(h.Buckets) == 0 {
		return 0
	}
	return time.Duration(h.Buckets[len(h.Buckets)-1].LeNs)
}

// Mean returns the exact mean latency.
func (h LatencyHistogram) Mean() time.Duration {
	if h.Count == 0 {
		return 0
	}
	return time.Duration(h.SumNs / h.Count)
}

// Merge returns the sum of two histograms (e.g. of several nodes).
func (h LatencyHistogram) Merge(o LatencyHistogram) LatencyHistogram {
	return h.combine(o, 1)
}

// Sub returns what was counted after an earlier reading prev of the same
// cumulative histogram: the distribution of one measurement window.
func (h LatencyHistogram) Sub(prev LatencyHistogram) LatencyHistogram {
	return h.combine(prev, -1)
}

func (h LatencyHistogram) combine(o LatencyHistogram, sign int) LatencyHistogram {
	m := map[uint64]int64{}
	for _, b := range h.Buckets {
		m[b.LeNs] += int64(b.N)
	}
	for _, b := range o.Buckets {
		m[b.LeNs] += int64(sign) * int64(b.N)
	}
	out := LatencyHistogram{Count: uint64(int64(h.Count) + int64(sign)*int64(o.Count)),
		SumNs: uint64(int64(h.SumNs) + int64(sign)*int64(o.SumNs))}
	for le, n := range m {
		if n > 0 {
			out.Buckets = append(out.Buckets, HistBucket{LeNs: le, N: uint64(n)})
		}
	}
	slices.SortFunc(out.Buckets, func(a, b HistBucket) int {
		switch {
		case a.LeNs < b.LeNs:
			return -1
		case a.LeNs > b.LeNs:
			return 1
		}
		return 0
	})
	return out
}
