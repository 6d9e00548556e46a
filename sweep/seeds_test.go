package sweep

import (
	"slices"
	"strings"
	"testing"
)

func TestParseSeeds(t *testing.T) {
	tests := []struct {
		spec string
		want []uint64
		err  string // substring of the error; "" for success
	}{
		{spec: "1-5", want: []uint64{1, 2, 3, 4, 5}},
		{spec: "7", want: []uint64{7}},
		{spec: "1,5,9", want: []uint64{1, 5, 9}},
		{spec: "9,1,5", want: []uint64{1, 5, 9}},
		{spec: "1-3,10-12", want: []uint64{1, 2, 3, 10, 11, 12}},
		{spec: " 1 - 2 , 4 ", want: []uint64{1, 2, 4}},
		{spec: "0-1", want: []uint64{0, 1}},
		{spec: "18446744073709551614-18446744073709551615", want: []uint64{1<<64 - 2, 1<<64 - 1}},
		{spec: "", err: "--seeds is empty"},
		{spec: "1,", err: "item 2 is empty"},
		{spec: "1,,2", err: "item 2 is empty"},
		{spec: "1-", err: "both sides"},
		{spec: "-3", err: "both sides"},
		{spec: "5-1", err: "runs backwards (write 1-5)"},
		{spec: "a", err: `"a" is not a seed`},
		{spec: "1-2-3", err: `"2-3" is not a seed`},
		{spec: "1.5", err: `"1.5" is not a seed`},
		{spec: "-1", err: "both sides"},
		{spec: "1-5,3", err: "seed 3 is listed twice"},
		{spec: "1-10,5-20", err: "seed 5 is listed twice"},
		{spec: "1-100000000", err: "more than 10000000 seeds"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			got, err := ParseSeeds(tt.spec)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseSeeds(%q) = %v, %v; want an error with %q", tt.spec, got, err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("ParseSeeds(%q) = %v, %v; want %v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestFormatSeeds(t *testing.T) {
	tests := []struct {
		seeds []uint64
		want  string
	}{
		{nil, ""},
		{[]uint64{3}, "3"},
		{[]uint64{1, 2, 3, 4}, "1-4"},
		{[]uint64{1, 2, 4, 6, 7}, "1-2,4,6-7"},
		{[]uint64{0, 1, 1<<64 - 1}, "0-1,18446744073709551615"},
	}
	for _, tt := range tests {
		got := FormatSeeds(tt.seeds)
		if got != tt.want {
			t.Errorf("FormatSeeds(%v) = %q, want %q", tt.seeds, got, tt.want)
		}
		if tt.want == "" {
			continue
		}
		back, err := ParseSeeds(got)
		if err != nil || !slices.Equal(back, tt.seeds) {
			t.Errorf("ParseSeeds(FormatSeeds(%v)) = %v, %v", tt.seeds, back, err)
		}
	}
}

func TestParseShard(t *testing.T) {
	tests := []struct {
		in   string
		want Shard
		err  string
	}{
		{in: "1/1", want: Shard{1, 1}},
		{in: "2/4", want: Shard{2, 4}},
		{in: "4/4", want: Shard{4, 4}},
		{in: "0/4", err: "1 <= I <= N"},
		{in: "5/4", err: "1 <= I <= N"},
		{in: "1/0", err: "1 <= I <= N"},
		{in: "2", err: "want I/N"},
		{in: "a/b", err: "whole numbers"},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseShard(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestShardPartition: for any N, the shards 1/N..N/N together hold every
// seed of the list exactly once, and each holds the positions p with
// p % N == I-1.
func TestShardPartition(t *testing.T) {
	lists := map[string][]uint64{}
	for _, spec := range []string{"1-1000", "1-10,20-30,99", "5", "1-3"} {
		seeds, err := ParseSeeds(spec)
		if err != nil {
			t.Fatal(err)
		}
		lists[spec] = seeds
	}
	for spec, seeds := range lists {
		for n := 1; n <= 7; n++ {
			count := map[uint64]int{}
			for i := 1; i <= n; i++ {
				sh := Shard{Index: i, Count: n}
				for _, s := range sh.Seeds(seeds) {
					count[s]++
					pos, _ := slices.BinarySearch(seeds, s)
					if pos%n != i-1 {
						t.Errorf("%s shard %d/%d holds seed %d at position %d", spec, i, n, s, pos)
					}
				}
			}
			if len(count) != len(seeds) {
				t.Errorf("%s in %d shards: %d of %d seeds covered", spec, n, len(count), len(seeds))
			}
			for s, c := range count {
				if c != 1 {
					t.Errorf("%s in %d shards: seed %d run %d times", spec, n, s, c)
				}
			}
		}
	}
	if got := (Shard{}).Seeds([]uint64{4, 5}); !slices.Equal(got, []uint64{4, 5}) {
		t.Errorf("the zero shard holds %v, want every seed", got)
	}
}
