package sweep

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// MaxSeeds bounds the seed list of one sweep: a typo such as "1-10000000000"
// must be an error, not an attempt to allocate the list.
const MaxSeeds = 10_000_000

// ParseSeeds reads a seed list: comma-separated seeds and inclusive ranges,
// as in "1-200", "1,5,9" or "1-10,20-30". The result is sorted, so a sweep
// always reports in seed order. A seed given twice (directly or by
// overlapping ranges) is an error, as is a range that runs backwards.
func ParseSeeds(spec string) ([]uint64, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("--seeds is empty; give seeds and ranges such as 1-200 or 1,5,9")
	}
	var seeds []uint64
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("--seeds %q: item %d is empty (a stray comma?)", spec, i+1)
		}
		lo, hi := part, part
		if a, b, ok := strings.Cut(part, "-"); ok {
			lo, hi = strings.TrimSpace(a), strings.TrimSpace(b)
		}
		first, err := parseSeed(spec, lo)
		if err != nil {
			return nil, err
		}
		last, err := parseSeed(spec, hi)
		if err != nil {
			return nil, err
		}
		if last < first {
			return nil, fmt.Errorf("--seeds %q: range %s runs backwards (write %d-%d)", spec, part, last, first)
		}
		if last-first >= MaxSeeds || uint64(len(seeds))+(last-first+1) > MaxSeeds {
			return nil, fmt.Errorf("--seeds %q: more than %d seeds", spec, MaxSeeds)
		}
		for s := first; ; s++ {
			seeds = append(seeds, s)
			if s == last {
				break
			}
		}
	}
	slices.Sort(seeds)
	for i := 1; i < len(seeds); i++ {
		if seeds[i] == seeds[i-1] {
			return nil, fmt.Errorf("--seeds %q: seed %d is listed twice", spec, seeds[i])
		}
	}
	return seeds, nil
}

func parseSeed(spec, s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("--seeds %q: a range needs a seed on both sides of '-' (e.g. 1-200)", spec)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("--seeds %q: %q is not a seed (a whole number 0 to %d)", spec, s, uint64(1<<64-1))
	}
	return n, nil
}

// FormatSeeds writes a sorted seed list in the shortest form ParseSeeds
// reads back: runs of consecutive seeds as ranges ("1-10,20,22-30").
func FormatSeeds(seeds []uint64) string {
	var b strings.Builder
	for i := 0; i < len(seeds); {
		j := i
		for j+1 < len(seeds) && seeds[j+1] == seeds[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatUint(seeds[i], 10))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.FormatUint(seeds[j], 10))
		}
		i = j + 1
	}
	return b.String()
}

// Shard is one machine's share of a sweep: of the seed list, the seeds
// whose 0-based position pos satisfies pos % Count == Index-1. The Count
// shards 1/Count .. Count/Count together cover the list exactly once.
// The zero Shard is the whole list.
type Shard struct {
	Index int `json:"index"` // 1-based
	Count int `json:"count"`
}

// ParseShard reads "I/N" with 1 <= I <= N.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 2/4 for the second of four machines", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q: I and N must be whole numbers, as in 2/4", s)
	}
	if n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("--shard %q: need 1 <= I <= N (shards are numbered from 1)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// ParseShardFrom reads "I/N" where the first shard is numbered base (0
// or 1): with base 0, "0/4" is the first of four shards, as a Kubernetes
// Indexed Job numbers its pods (JOB_COMPLETION_INDEX), which cannot add 1
// in a container without a shell. The result counts from 1.
func ParseShardFrom(s string, base int) (Shard, error) {
	switch base {
	case 1:
		return ParseShard(s)
	case 0:
	default:
		return Shard{}, fmt.Errorf("--shard-base %d: shards are numbered from 0 or from 1", base)
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("--shard %q: want I/N, e.g. 1/4 for the second of four machines with --shard-base 0", s)
	}
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("--shard %q: need 0 <= I < N with --shard-base 0", s)
	}
	return Shard{Index: i + 1, Count: n}, nil
}

// Whole reports whether the shard is the entire seed list.
func (s Shard) Whole() bool { return s.Count <= 1 }

// String prints "I/N", or "" for the whole list.
func (s Shard) String() string {
	if s.Whole() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Seeds returns the shard's share of seeds, in order.
func (s Shard) Seeds(seeds []uint64) []uint64 {
	if s.Whole() {
		return slices.Clone(seeds)
	}
	var out []uint64
	for pos := s.Index - 1; pos < len(seeds); pos += s.Count {
		out = append(out, seeds[pos])
	}
	return out
}
