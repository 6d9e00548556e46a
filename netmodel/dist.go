package netmodel

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrBadDist is wrapped by every error Dist.Validate returns.
var ErrBadDist = errors.New("netmodel: bad latency distribution")

// DistKind names a latency distribution family; the spellings returned by
// String are the scenario format's `dist:` values.
type DistKind uint8

// Distribution kinds. The zero DistKind is deliberately not a kind, so a
// Dist nobody filled in fails Validate instead of meaning "no latency".
const (
	// DistConstant is always Value.
	DistConstant DistKind = iota + 1
	// DistUniform is uniform on [Min, Max].
	DistUniform
	// DistNormal is normal with Mean and Stddev.
	DistNormal
	// DistLogNormal is log-normal with the given Median and Sigma, the
	// standard deviation of the log (mu = ln(Median)).
	DistLogNormal
	// DistExponential is exponential with the given Mean (rate 1/Mean).
	DistExponential
	// DistPareto is Pareto with scale Min (x_m) and shape Alpha.
	DistPareto
)

var distKindNames = [...]string{
	DistConstant:    "constant",
	DistUniform:     "uniform",
	DistNormal:      "normal",
	DistLogNormal:   "lognormal",
	DistExponential: "exponential",
	DistPareto:      "pareto",
}

// String returns the scenario-format spelling ("normal", "pareto", ...).
func (k DistKind) String() string {
	if k >= DistConstant && int(k) < len(distKindNames) {
		return distKindNames[k]
	}
	return "dist(" + strconv.Itoa(int(k)) + ")"
}

// ParseDistKind reads a scenario-format `dist:` value.
func ParseDistKind(s string) (DistKind, error) {
	for k := DistConstant; int(k) < len(distKindNames); k++ {
		if distKindNames[k] == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%w: unknown dist %q (want constant, uniform, normal, lognormal, exponential or pareto)", ErrBadDist, s)
}

// Dist is a latency distribution. Durations are integer nanoseconds; only
// the fields of Kind are used and the others must be zero:
//
//	constant    Value
//	uniform     Min, Max
//	normal      Mean, Stddev
//	lognormal   Median, Sigma
//	exponential Mean
//	pareto      Min (the scale x_m), Alpha
type Dist struct {
	Kind   DistKind
	Value  time.Duration
	Min    time.Duration
	Max    time.Duration
	Mean   time.Duration
	Stddev time.Duration
	Median time.Duration
	Sigma  float64
	Alpha  float64
}

// Constant returns the distribution that is always v.
func Constant(v time.Duration) Dist { return Dist{Kind: DistConstant, Value: v} }

// field is one parameter of a Dist, for Validate and String.
type field struct {
	name string
	dur  time.Duration
	num  float64
	isF  bool
}

func (f field) zero() bool { return f.dur == 0 && f.num == 0 }

func (f field) String() string {
	if f.isF {
		return f.name + "=" + strconv.FormatFloat(f.num, 'g', -1, 64)
	}
	return f.name + "=" + f.dur.String()
}

// fields lists every parameter in a fixed order.
func (d Dist) fields() [8]field {
	return [8]field{
		{name: "value", dur: d.Value},
		{name: "min", dur: d.Min},
		{name: "max", dur: d.Max},
		{name: "mean", dur: d.Mean},
		{name: "stddev", dur: d.Stddev},
		{name: "median", dur: d.Median},
		{name: "sigma", num: d.Sigma, isF: true},
		{name: "alpha", num: d.Alpha, isF: true},
	}
}

// Indexes into fields(), per kind, in the order String prints them.
var kindFields = [...][]int{
	DistConstant:    {0},
	DistUniform:     {1, 2},
	DistNormal:      {3, 4},
	DistLogNormal:   {5, 6},
	DistExponential: {3},
	DistPareto:      {1, 7},
}

// String prints the distribution in the scenario format's words, for
// example "normal(mean=200µs, stddev=50µs)".
func (d Dist) String() string {
	if d.Kind < DistConstant || int(d.Kind) >= len(kindFields) {
		return d.Kind.String()
	}
	fs := d.fields()
	var b strings.Builder
	b.WriteString(d.Kind.String())
	b.WriteByte('(')
	for i, j := range kindFields[d.Kind] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(fs[j].String())
	}
	b.WriteByte(')')
	return b.String()
}

// Validate reports whether d can be sampled. Every duration must be
// non-negative; uniform needs Min <= Max; lognormal needs Median > 0 and a
// finite Sigma >= 0; exponential needs Mean > 0; pareto needs Min > 0 and a
// finite Alpha > 0. A non-zero field that Kind does not use is an error too,
// because it is almost always a typo (`value` on a normal distribution) that
// would otherwise be ignored silently.
func (d Dist) Validate() error {
	if d.Kind < DistConstant || int(d.Kind) >= len(kindFields) {
		return fmt.Errorf("%w: kind not set or unknown (%s)", ErrBadDist, d.Kind)
	}
	fs := d.fields()
	used := [len(fs)]bool{}
	for _, j := range kindFields[d.Kind] {
		used[j] = true
	}
	for j, f := range fs {
		if !used[j] && !f.zero() {
			return fmt.Errorf("%w: %s does not take %s", ErrBadDist, d.Kind, f)
		}
		if f.dur < 0 {
			return fmt.Errorf("%w: %s: %s is negative", ErrBadDist, d.Kind, f)
		}
		if f.isF && (math.IsNaN(f.num) || math.IsInf(f.num, 0) || f.num < 0) {
			return fmt.Errorf("%w: %s: %s must be finite and >= 0", ErrBadDist, d.Kind, f)
		}
	}
	switch d.Kind {
	case DistUniform:
		if d.Min > d.Max {
			return fmt.Errorf("%w: uniform: min %s > max %s", ErrBadDist, d.Min, d.Max)
		}
	case DistLogNormal:
		if d.Median <= 0 {
			return fmt.Errorf("%w: lognormal: median must be > 0", ErrBadDist)
		}
	case DistExponential:
		if d.Mean <= 0 {
			return fmt.Errorf("%w: exponential: mean must be > 0", ErrBadDist)
		}
	case DistPareto:
		if d.Min <= 0 || d.Alpha <= 0 {
			return fmt.Errorf("%w: pareto: min and alpha must be > 0", ErrBadDist)
		}
	}
	return nil
}
