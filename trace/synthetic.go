package trace

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// resolveLengths loads an empirical distribution's Source into Values.
func resolveLengths(l LengthDist) (LengthDist, error) {
	if l.Kind != "empirical" || len(l.Values) > 0 || l.Source == "" {
		return l, nil
	}
	name, col, _ := strings.Cut(l.Source, ":")
	p, o, err := EmbeddedLengths(name)
	if err != nil {
		return l, err
	}
	switch col {
	case "prompt":
		l.Values = p
	case "output":
		l.Values = o
	default:
		return l, fmt.Errorf("source %q: expected NAME:prompt or NAME:output", l.Source)
	}
	return l, nil
}

// Synthetic describes an open-loop synthetic workload. Generation stops at
// Count requests or at Duration nanoseconds of arrivals, whichever comes first
// (zero means no limit; at least one must be set).
//
// Rate must lie in [MinRate, MaxRate]; an arrival beyond int64 nanoseconds
// ends the stream with an error rather than wrapping around.
//
// Poisson arrivals have exponential gaps of mean 1/Rate. Gamma arrivals have
// gamma-distributed gaps with the same mean and coefficient of variation CV
// (shape 1/CV², scale CV²/Rate): CV > 1 is burstier than Poisson, CV < 1
// more regular, CV = 1 is Poisson.
type Synthetic struct {
	Arrival  string     // poisson | gamma
	Rate     float64    // requests per second
	CV       float64    // gamma: coefficient of variation of the gaps
	Prompt   LengthDist // prompt tokens
	Output   LengthDist // output tokens
	Count    int64
	Duration int64 // ns
	Seed     uint64
}

// Rate bounds: one request in 11.6 days up to one per nanosecond.
const (
	MinRate = 1e-6
	MaxRate = 1e9
)

type syntheticReader struct {
	spec  Synthetic
	rng   *rand.Rand
	n     int64
	t     float64 // ns
	joint bool    // prompt and output are the two columns of one source
}

// jointSource reports whether prompt and output name the two columns of the
// same embedded length distribution, so that rows are drawn whole.
func jointSource(p, o LengthDist) bool {
	if p.Kind != "empirical" || o.Kind != "empirical" || len(p.Values) != len(o.Values) {
		return false
	}
	pn, pc, _ := strings.Cut(p.Source, ":")
	on, oc, _ := strings.Cut(o.Source, ":")
	return pn != "" && pn == on && pc == "prompt" && oc == "output"
}

// NewSynthetic returns a Reader that generates spec's requests lazily.
func NewSynthetic(spec Synthetic) (Reader, error) {
	var err error
	if spec.Prompt, err = resolveLengths(spec.Prompt); err != nil {
		return nil, fmt.Errorf("trace: synthetic workload: prompt: %w", err)
	}
	if spec.Output, err = resolveLengths(spec.Output); err != nil {
		return nil, fmt.Errorf("trace: synthetic workload: output: %w", err)
	}
	if err := spec.validate(); err != nil {
		return nil, err
	}
	return &syntheticReader{spec: spec, rng: rand.New(rand.NewPCG(spec.Seed, spec.Seed^0x9e3779b97f4a7c15)),
		joint: jointSource(spec.Prompt, spec.Output)}, nil
}

func (s Synthetic) validate() error {
	var errs []string
	switch s.Arrival {
	case "poisson", "":
	case "gamma":
		if !(s.CV > 0) || math.IsInf(s.CV, 0) {
			errs = append(errs, fmt.Sprintf("cv %v: expected a positive coefficient of variation for gamma arrivals", s.CV))
		}
	default:
		errs = append(errs, fmt.Sprintf("arrival %q: expected poisson or gamma", s.Arrival))
	}
	if !(s.Rate >= MinRate && s.Rate <= MaxRate) {
		errs = append(errs, fmt.Sprintf("rate %v: expected %g to %g requests per second", s.Rate, MinRate, MaxRate))
	}
	if s.Count < 0 {
		errs = append(errs, fmt.Sprintf("count %d: expected a positive number of requests (or 0 with a duration)", s.Count))
	}
	if s.Duration < 0 || s.Duration > DefaultMaxSpan {
		errs = append(errs, fmt.Sprintf("duration %d ns: expected 0 to %d ns (366 days)", s.Duration, DefaultMaxSpan))
	}
	if s.Count == 0 && s.Duration == 0 {
		errs = append(errs, "count and duration both 0: expected a request count, a duration or both")
	}
	for _, d := range []struct {
		name string
		l    LengthDist
	}{{"prompt", s.Prompt}, {"output", s.Output}} {
		if err := d.l.Validate(); err != nil {
			errs = append(errs, d.name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("trace: synthetic workload: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (s *syntheticReader) Next() (Request, error) {
	if s.spec.Count > 0 && s.n >= s.spec.Count {
		return Request{}, io.EOF
	}
	if s.n > 0 {
		if s.spec.Arrival == "gamma" {
			k := 1 / (s.spec.CV * s.spec.CV)
			s.t += gamma(s.rng, k) / k / s.spec.Rate * 1e9
		} else {
			s.t += s.rng.ExpFloat64() / s.spec.Rate * 1e9
		}
	}
	if s.spec.Duration > 0 && s.t >= float64(s.spec.Duration) {
		return Request{}, io.EOF
	}
	// 2^63 is exactly representable; anything at or beyond it wraps.
	if !(s.t < 9.223372036854775807e18) {
		return Request{}, fmt.Errorf("trace: synthetic workload: request %d would arrive at %.3g s, beyond the 292 years int64 nanoseconds hold: expected a higher rate or fewer requests", s.n, s.t/1e9)
	}
	at := int64(s.t)
	r := Request{ID: RequestID(s.n), Arrival: at}
	if s.joint {
		i := s.rng.IntN(len(s.spec.Prompt.Values))
		r.PromptTokens = s.spec.Prompt.Clamp(float64(s.spec.Prompt.Values[i]))
		r.OutputTokens = s.spec.Output.Clamp(float64(s.spec.Output.Values[i]))
	} else {
		r.PromptTokens = s.spec.Prompt.Draw(s.rng)
		r.OutputTokens = s.spec.Output.Draw(s.rng)
	}
	s.n++
	return r, nil
}

func (s *syntheticReader) Close() error { return nil }

// gamma draws from Gamma(shape k, scale 1) by Marsaglia and Tsang, "A Simple
// Method for Generating Gamma Variables" (ACM TOMS 26(3), 2000); for k < 1 it
// draws Gamma(k+1) and multiplies by U^(1/k).
func gamma(rng *rand.Rand, k float64) float64 {
	boost := 1.0
	if k < 1 {
		boost = math.Pow(rng.Float64(), 1/k)
		k++
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if u < 1-0.0331*x*x*x*x || math.Log(u) < 0.5*x*x+d*(1-v+math.Log(v)) {
			return d * v * boost
		}
	}
}
