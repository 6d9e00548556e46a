package scenarios

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"250us", 250 * time.Microsecond, ""},
		{"1.5ms", 1500 * time.Microsecond, ""},
		{"3s", 3 * time.Second, ""},
		{"2m", 2 * time.Minute, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"0", 0, ""},
		{" 3s ", 3 * time.Second, ""},
		{"3000", 0, "3000 has no unit: write 3000ms"},
		{"1.5", 0, "1.5 has no unit: write 1.5ms"},
		{"10x", 0, `"10x" is not a duration`},
		{"", 0, `"" is not a duration`},
		{"-1s", 0, "negative"},
	}
	for _, tc := range tests {
		got, err := parseDuration(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("parseDuration(%q) error %v; want one containing %q", tc.in, err, tc.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512B", 512, true},
		{"1KiB", 1024, true},
		{"64KiB", 64 << 10, true},
		{"1MiB", 1 << 20, true},
		{"2GiB", 2 << 30, true},
		{"1.5KiB", 1536, true},
		{"4096", 4096, true},
		{"0.5B", 0, false},
		{"-1KiB", 0, false},
		{"1KB", 0, false},
		{"lots", 0, false},
		{"NaN", 0, false},
	}
	for _, tc := range tests {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseSize(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"200/s", 200, true},
		{"0.5/s", 0.5, true},
		{"200", 200, true},
		{"200/m", 0, false},
		{"fast", 0, false},
		{"Inf/s", 0, false},
	}
	for _, tc := range tests {
		got, err := parseRate(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("parseRate(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := map[time.Duration]string{
		15 * time.Second:        "15s",
		2 * time.Minute:         "2m",
		90 * time.Second:        "1m30s",
		time.Hour:               "1h",
		1500 * time.Millisecond: "1.5s",
		250 * time.Microsecond:  "250µs",
	}
	for d, want := range tests {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"duration", "name", "cluster", "network", "workload"}
	tests := map[string]string{
		"duraton":  ` (did you mean "duration"?)`,
		"DURATION": ` (did you mean "duration"?)`,
		"netwrok":  ` (did you mean "network"?)`,
		"work":     ` (did you mean "workload"?)`,
		"base":     "",
		"x":        "",
	}
	for word, want := range tests {
		if got := suggest(word, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

func TestPositionString(t *testing.T) {
	tests := []struct {
		p    Position
		want string
	}{
		{Position{File: "a.yaml", Line: 3, Col: 7}, "a.yaml:3:7"},
		{Position{File: "a.yaml", Line: 3}, "a.yaml:3"},
		{Position{File: "a.yaml"}, "a.yaml"},
	}
	for _, tc := range tests {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}
