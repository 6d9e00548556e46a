package netmodel

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat"
)

const us = time.Microsecond

// draw returns n samples of d from a PCG seeded with seed.
func draw(t testing.TB, d Dist, seed uint64, n int) []float64 {
	t.Helper()
	s, err := NewSampler(d, rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	if err != nil {
		t.Fatalf("NewSampler(%v): %v", d, err)
	}
	xs := make([]float64, n)
	for i := range xs {
		v := s.Sample()
		if v < 0 {
			t.Fatalf("%v: negative sample %v", d, v)
		}
		xs[i] = float64(v)
	}
	return xs
}

func within(got, want, relTol float64) bool {
	return math.Abs(got-want) <= relTol*math.Abs(want)
}

func TestSamplerMoments(t *testing.T) {
	const n = 100_000
	tests := []struct {
		d              Dist
		mean, sd, tolM float64 // wanted mean and stddev in ns; relative tolerance
		tolS           float64
	}{
		{Constant(100 * us), 100e3, 0, 0, 0},
		{Dist{Kind: DistUniform, Min: 100 * us, Max: 300 * us}, 200e3, 200e3 / math.Sqrt(12), 0.01, 0.02},
		{Dist{Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us}, 200e3, 50e3, 0.01, 0.02},
		{Dist{Kind: DistExponential, Mean: 500 * us}, 500e3, 500e3, 0.02, 0.03},
		// Pareto: mean alpha*xm/(alpha-1); alpha 3 keeps the variance finite
		// but the tail heavy, so the stddev is not checked and the mean gets a
		// looser tolerance.
		{Dist{Kind: DistPareto, Min: 100 * us, Alpha: 3}, 150e3, -1, 0.05, 0},
	}
	for _, tc := range tests {
		t.Run(tc.d.String(), func(t *testing.T) {
			xs := draw(t, tc.d, 1, n)
			mean, sd := stat.MeanStdDev(xs, nil)
			if !within(mean, tc.mean, tc.tolM) {
				t.Errorf("mean %.1f, want %.1f ±%.0f%%", mean, tc.mean, 100*tc.tolM)
			}
			if tc.sd >= 0 && !within(sd, tc.sd, tc.tolS) {
				t.Errorf("stddev %.1f, want %.1f ±%.0f%%", sd, tc.sd, 100*tc.tolS)
			}
		})
	}
}

func TestSamplerLogNormal(t *testing.T) {
	d := Dist{Kind: DistLogNormal, Median: 300 * us, Sigma: 0.5}
	xs := draw(t, d, 7, 100_000)
	logs := make([]float64, len(xs))
	for i, x := range xs {
		logs[i] = math.Log(x)
	}
	slices.Sort(xs)
	if med := stat.Quantile(0.5, stat.Empirical, xs, nil); !within(med, 300e3, 0.01) {
		t.Errorf("median %.1f, want 300000 ±1%%", med)
	}
	if _, sd := stat.MeanStdDev(logs, nil); !within(sd, 0.5, 0.02) {
		t.Errorf("log stddev %.4f, want 0.5 ±2%%", sd)
	}
}

func TestSamplerClampsAtZero(t *testing.T) {
	d := Dist{Kind: DistNormal, Mean: 10 * us, Stddev: 100 * us}
	xs := draw(t, d, 3, 100_000) // draw fails on a negative sample
	zeros := 0
	for _, x := range xs {
		if x == 0 {
			zeros++
		}
	}
	// P(N(10, 100) < 0) = Phi(-0.1) ~ 0.46.
	if f := float64(zeros) / float64(len(xs)); f < 0.44 || f > 0.48 {
		t.Errorf("fraction clamped to 0 = %.3f, want ~0.46", f)
	}
}

func TestSamplerClampsHuge(t *testing.T) {
	d := Dist{Kind: DistPareto, Min: time.Second, Alpha: 0.01}
	xs := draw(t, d, 5, 10_000)
	if m := slices.Max(xs); m != float64(MaxSample) {
		t.Errorf("max sample %v, want MaxSample", m)
	}
}

func TestSamplerSeeds(t *testing.T) {
	for _, d := range []Dist{
		{Kind: DistUniform, Min: 0, Max: time.Millisecond},
		{Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us},
		{Kind: DistLogNormal, Median: 200 * us, Sigma: 1},
		{Kind: DistExponential, Mean: 200 * us},
		{Kind: DistPareto, Min: 200 * us, Alpha: 2},
	} {
		a, b, c := draw(t, d, 42, 1000), draw(t, d, 42, 1000), draw(t, d, 43, 1000)
		if !slices.Equal(a, b) {
			t.Errorf("%v: same seed, different samples", d)
		}
		if slices.Equal(a, c) {
			t.Errorf("%v: different seeds, same samples", d)
		}
	}
}

func TestNewSamplerErrors(t *testing.T) {
	if _, err := NewSampler(Constant(us), nil); err == nil {
		t.Error("nil source: no error")
	}
	if _, err := NewSampler(Dist{}, rand.NewPCG(1, 2)); !errors.Is(err, ErrBadDist) {
		t.Errorf("zero Dist: err %v, want ErrBadDist", err)
	}
}

func TestDistValidateAndString(t *testing.T) {
	tests := []struct {
		d    Dist
		str  string
		good bool
	}{
		{Constant(0), "constant(value=0s)", true},
		{Constant(100 * us), "constant(value=100µs)", true},
		{Dist{Kind: DistUniform, Min: us, Max: 2 * us}, "uniform(min=1µs, max=2µs)", true},
		{Dist{Kind: DistUniform, Min: 3 * us, Max: 2 * us}, "uniform(min=3µs, max=2µs)", false},
		{Dist{Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us}, "normal(mean=200µs, stddev=50µs)", true},
		{Dist{Kind: DistNormal, Mean: 200 * us, Stddev: -1}, "normal(mean=200µs, stddev=-1ns)", false},
		{Dist{Kind: DistNormal, Mean: 200 * us, Value: us}, "normal(mean=200µs, stddev=0s)", false},
		{Dist{Kind: DistLogNormal, Median: us, Sigma: 0.5}, "lognormal(median=1µs, sigma=0.5)", true},
		{Dist{Kind: DistLogNormal, Sigma: 0.5}, "lognormal(median=0s, sigma=0.5)", false},
		{Dist{Kind: DistLogNormal, Median: us, Sigma: math.NaN()}, "lognormal(median=1µs, sigma=NaN)", false},
		{Dist{Kind: DistExponential, Mean: time.Millisecond}, "exponential(mean=1ms)", true},
		{Dist{Kind: DistExponential}, "exponential(mean=0s)", false},
		{Dist{Kind: DistPareto, Min: us, Alpha: 1.5}, "pareto(min=1µs, alpha=1.5)", true},
		{Dist{Kind: DistPareto, Min: us}, "pareto(min=1µs, alpha=0)", false},
		{Dist{Kind: DistPareto, Min: us, Alpha: math.Inf(1)}, "pareto(min=1µs, alpha=+Inf)", false},
		{Dist{}, "dist(0)", false},
		{Dist{Kind: 99}, "dist(99)", false},
	}
	for _, tc := range tests {
		if got := tc.d.String(); got != tc.str {
			t.Errorf("String() = %q, want %q", got, tc.str)
		}
		err := tc.d.Validate()
		if (err == nil) != tc.good {
			t.Errorf("%v: Validate() = %v, want ok=%v", tc.d, err, tc.good)
		}
		if err != nil && !errors.Is(err, ErrBadDist) {
			t.Errorf("%v: %v does not wrap ErrBadDist", tc.d, err)
		}
	}
}

func TestParseDistKind(t *testing.T) {
	for k := DistConstant; k <= DistPareto; k++ {
		if got, err := ParseDistKind(k.String()); err != nil || got != k {
			t.Errorf("ParseDistKind(%q) = %v, %v", k, got, err)
		}
	}
	if _, err := ParseDistKind("gaussian"); !errors.Is(err, ErrBadDist) {
		t.Errorf("ParseDistKind(gaussian): err %v", err)
	}
}
