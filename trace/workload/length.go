package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
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

func (l LengthDist) Validate() error {
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

func (l LengthDist) Draw(rng *rand.Rand) int32 {
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
	return l.Clamp(v)
}

// Clamp rounds v and clamps it to [max(Min, 1), Max], and Max to maxLength.
func (l LengthDist) Clamp(v float64) int32 {
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
