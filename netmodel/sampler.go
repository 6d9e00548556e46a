package netmodel

import (
	"errors"
	"math"
	"math/rand/v2"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// MaxSample caps one latency sample (about 146 years). Heavy-tailed
// distributions (pareto with a small alpha, lognormal with a large sigma) can
// produce samples beyond what an int64 of nanoseconds holds, and converting
// such a float to int64 is not portable in Go; capping keeps the result the
// same on every architecture and keeps now+latency from overflowing.
const MaxSample = time.Duration(1 << 62)

// Sampler draws latencies from one Dist using one explicitly seeded source.
// The zero Sampler is not usable; build one with NewSampler. A Sampler is a
// small value with no allocation per sample; it is not safe for concurrent
// use (neither is its source).
type Sampler struct {
	kind  DistKind
	value time.Duration // constant
	a, b  float64       // the distuv parameters, in nanoseconds where they are times
	src   rand.Source
}

// NewSampler returns a sampler for d that draws from src. It returns an
// error if d is not valid (see Dist.Validate) or src is nil: gonum's
// distributions fall back to the global generator on a nil source, which
// would make a run irreproducible.
func NewSampler(d Dist, src rand.Source) (*Sampler, error) {
	s, err := makeSampler(d, src)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func makeSampler(d Dist, src rand.Source) (Sampler, error) {
	if err := d.Validate(); err != nil {
		return Sampler{}, err
	}
	if src == nil {
		return Sampler{}, errors.New("netmodel: nil random source")
	}
	s := Sampler{kind: d.Kind, src: src}
	switch d.Kind {
	case DistConstant:
		s.value = d.Value
	case DistUniform:
		s.a, s.b = float64(d.Min), float64(d.Max)
	case DistNormal:
		s.a, s.b = float64(d.Mean), float64(d.Stddev)
	case DistLogNormal:
		s.a, s.b = math.Log(float64(d.Median)), d.Sigma
	case DistExponential:
		s.a = 1 / float64(d.Mean)
	case DistPareto:
		s.a, s.b = float64(d.Min), d.Alpha
	}
	return s, nil
}

// Sample draws one latency. A constant distribution draws nothing from the
// source; the others draw what gonum's distuv draws for one Rand call. The
// float sample is converted to integer nanoseconds at once (rounded to
// nearest), below 0 clamped to 0 and above MaxSample clamped to MaxSample.
func (s *Sampler) Sample() time.Duration {
	var x float64
	switch s.kind {
	case DistConstant:
		return s.value
	case DistUniform:
		x = distuv.Uniform{Min: s.a, Max: s.b, Src: s.src}.Rand()
	case DistNormal:
		x = distuv.Normal{Mu: s.a, Sigma: s.b, Src: s.src}.Rand()
	case DistLogNormal:
		x = distuv.LogNormal{Mu: s.a, Sigma: s.b, Src: s.src}.Rand()
	case DistExponential:
		x = distuv.Exponential{Rate: s.a, Src: s.src}.Rand()
	case DistPareto:
		x = distuv.Pareto{Xm: s.a, Alpha: s.b, Src: s.src}.Rand()
	default:
		panic("netmodel: Sample on a zero Sampler")
	}
	return toDuration(x)
}

// toDuration converts a float sample in nanoseconds, clamped to
// [0, MaxSample]; NaN becomes 0.
func toDuration(x float64) time.Duration {
	if !(x > 0) {
		return 0
	}
	if x >= float64(MaxSample) {
		return MaxSample
	}
	return time.Duration(math.Round(x))
}
