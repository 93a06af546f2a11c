package trace

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
)

// LengthDist describes how a synthetic token count is drawn. Every kind is
// rounded to an integer and clamped to [max(Min, 1), Max] (Max 0 = 2^29, half
// of MaxRequestTokens).
//
//	fixed:     Mean
//	normal:    N(Mean, Std²)
//	lognormal: exp(N(μ, σ²)) with σ² = ln(1 + Std²/Mean²), μ = ln(Mean) − σ²/2,
//	           so that the length itself has mean Mean and standard deviation Std
//	empirical: Values[i], i uniform on [0, len(Values)) (see LoadLengths,
//	           EmbeddedLengths); a config names an embedded distribution with
//	           Source "sharegpt:prompt", "arxiv:output" and so on instead.
//	           When prompt and output are drawn from the two columns of one
//	           source, one row is drawn for both, keeping their pairing.
type LengthDist struct {
	Kind   string  `yaml:"kind"` // fixed | normal | lognormal | empirical
	Mean   float64 `yaml:"mean"`
	Std    float64 `yaml:"std"`
	Min    int32   `yaml:"min"`
	Max    int32   `yaml:"max"`
	Values []int32 `yaml:"-"`      // empirical: the lengths to draw from
	Source string  `yaml:"source"` // empirical: NAME:prompt or NAME:output of an embedded distribution, when Values is empty
}

// resolve loads an empirical distribution's Source into Values.
func (l LengthDist) resolve() (LengthDist, error) {
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
	if spec.Prompt, err = spec.Prompt.resolve(); err != nil {
		return nil, fmt.Errorf("trace: synthetic workload: prompt: %w", err)
	}
	if spec.Output, err = spec.Output.resolve(); err != nil {
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
		if err := d.l.validate(); err != nil {
			errs = append(errs, d.name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("trace: synthetic workload: %s", strings.Join(errs, "; "))
	}
	return nil
}

func (l LengthDist) validate() error {
	switch l.Kind {
	case "fixed", "":
		if !(l.Mean >= 1 && l.Mean <= maxLength) {
			return fmt.Errorf("mean %v: expected 1 to %d tokens", l.Mean, maxLength)
		}
	case "normal", "lognormal":
		if !(l.Mean >= 1 && l.Mean <= maxLength) || !(l.Std >= 0 && l.Std <= maxLength) {
			return fmt.Errorf("mean %v std %v: expected mean 1 to %d tokens and std 0 to %d", l.Mean, l.Std, maxLength, maxLength)
		}
	case "empirical":
		if len(l.Values) == 0 {
			return fmt.Errorf("empirical: expected a source such as sharegpt:prompt")
		}
	default:
		return fmt.Errorf("kind %q: expected fixed, normal, lognormal or empirical", l.Kind)
	}
	if l.Max > 0 && l.Min > l.Max {
		return fmt.Errorf("min %d max %d: expected min <= max", l.Min, l.Max)
	}
	if l.Min < 0 || l.Max < 0 || l.Min > maxLength || l.Max > maxLength {
		return fmt.Errorf("min %d max %d: expected 0 to %d tokens (0 = no bound)", l.Min, l.Max, maxLength)
	}
	return nil
}

func (l LengthDist) draw(rng *rand.Rand) int32 {
	v := l.Mean
	switch l.Kind {
	case "normal":
		v = l.Mean + l.Std*rng.NormFloat64()
	case "lognormal":
		s2 := math.Log1p(l.Std * l.Std / (l.Mean * l.Mean))
		v = math.Exp(math.Log(l.Mean) - s2/2 + math.Sqrt(s2)*rng.NormFloat64())
	case "empirical":
		v = float64(l.Values[rng.IntN(len(l.Values))])
	}
	return l.clamp(v)
}

// maxLength bounds one synthetic prompt or output length, so that
// prompt + output stays within MaxRequestTokens.
const maxLength = MaxRequestTokens / 2

// clamp rounds v and clamps it to [max(Min, 1), Max], and Max to maxLength.
func (l LengthDist) clamp(v float64) int32 {
	var n int32
	switch {
	case v >= maxLength:
		n = maxLength
	case v > 0:
		n = int32(math.Round(v))
	}
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
		r.PromptTokens = s.spec.Prompt.clamp(float64(s.spec.Prompt.Values[i]))
		r.OutputTokens = s.spec.Output.clamp(float64(s.spec.Output.Values[i]))
	} else {
		r.PromptTokens = s.spec.Prompt.draw(s.rng)
		r.OutputTokens = s.spec.Output.draw(s.rng)
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
