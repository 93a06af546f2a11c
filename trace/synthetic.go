package trace

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// LengthDist describes how a synthetic token count is drawn.
//
//	fixed:     Mean
//	normal:    N(Mean, Std²), rounded, clamped to [Min, Max]
type LengthDist struct {
	Kind string  `yaml:"kind"` // fixed | normal
	Mean float64 `yaml:"mean"`
	Std  float64 `yaml:"std"`
	Min  int32   `yaml:"min"`
	Max  int32   `yaml:"max"`
}

// Synthetic describes an open-loop synthetic workload. Generation stops at
// Count requests or at Duration nanoseconds of arrivals, whichever comes first
// (zero means no limit; at least one must be set).
type Synthetic struct {
	Arrival  string     // poisson
	Rate     float64    // requests per second
	Prompt   LengthDist // prompt tokens
	Output   LengthDist // output tokens
	Count    int64
	Duration int64 // ns
	Seed     uint64
}

type syntheticReader struct {
	spec Synthetic
	rng  *rand.Rand
	n    int64
	t    float64 // ns
}

// NewSynthetic returns a Reader that generates spec's requests lazily.
func NewSynthetic(spec Synthetic) (Reader, error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &syntheticReader{spec: spec, rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15))}, nil
}

func (s Synthetic) validate() error {
	var errs []string
	switch s.Arrival {
	case "poisson", "":
	default:
		errs = append(errs, fmt.Sprintf("arrival %q: expected poisson", s.Arrival))
	}
	if !(s.Rate > 0) || math.IsInf(s.Rate, 0) {
		errs = append(errs, fmt.Sprintf("rate %v: expected a positive request rate", s.Rate))
	}
	if s.Count <= 0 && s.Duration <= 0 {
		errs = append(errs, "neither count nor duration set: expected at least one")
	}
	for _, d := range []struct {
		name string
		l    LengthDist
	}{{"prompt", s.Prompt}, {"output", s.Output}} {
		if err := d.l.validate(); err != nil {
			errs = append(errs, d.name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("trace: synthetic workload: %v", errs)
	}
	return nil
}

func (l LengthDist) validate() error {
	switch l.Kind {
	case "fixed", "":
		if l.Mean < 1 {
			return fmt.Errorf("mean %v: expected at least 1 token", l.Mean)
		}
	case "normal":
		if l.Mean < 1 || l.Std < 0 {
			return fmt.Errorf("mean %v std %v: expected mean >= 1 and std >= 0", l.Mean, l.Std)
		}
	default:
		return fmt.Errorf("kind %q: expected fixed or normal", l.Kind)
	}
	return nil
}

func (l LengthDist) draw(rng *rand.Rand) int32 {
	v := l.Mean
	if l.Kind == "normal" {
		v = l.Mean + l.Std*rng.NormFloat64()
	}
	n := int32(math.Round(v))
	lo := l.Min
	if lo < 1 {
		lo = 1
	}
	if n < lo {
		n = lo
	}
	if l.Max > 0 && n > l.Max {
		n = l.Max
	}
	return n
}

func (s *syntheticReader) Next() (Request, error) {
	if s.spec.Count > 0 && s.n >= s.spec.Count {
		return Request{}, io.EOF
	}
	if s.n > 0 {
		s.t += s.rng.ExpFloat64() / s.spec.Rate * 1e9
	}
	at := int64(s.t)
	if s.spec.Duration > 0 && at >= s.spec.Duration {
		return Request{}, io.EOF
	}
	r := Request{
		ID:           RequestID(s.n),
		Arrival:      at,
		PromptTokens: s.spec.Prompt.draw(s.rng),
		OutputTokens: s.spec.Output.draw(s.rng),
	}
	s.n++
	return r, nil
}

func (s *syntheticReader) Close() error { return nil }
