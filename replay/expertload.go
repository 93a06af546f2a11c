package replay

import (
	"math"
	"math/rand/v2"
)

// expertLoad draws how an MoE layer's routed tokens fall on the
// expert-parallel ranks at the high level of detail. Routing is uniform
// on average, but a layer's tokens favour some experts over others, so
// the rank holding a hot expert gets more tokens to receive, compute and
// send back than the rest, and every rank waits for it (a straggler).
//
// Each rank's load is a lognormal weight with mean 1 and coefficient of
// variation cluster.expert_skew, drawn per layer and step from its own
// seeded stream, so that the same seed gives the same loads whatever else
// the run draws. A skew of 0 gives every rank weight 1: the mean load, as
// the medium level of detail costs it.
type expertLoad struct {
	sigma float64 // of the log of the weights; 0: uniform
	rng   *rand.Rand
}

// newExpertLoad returns the load draws for a coefficient of variation cv.
func newExpertLoad(cv float64, seed uint64) expertLoad {
	l := expertLoad{rng: rand.New(rand.NewPCG(seed, 0x657870657274))} // "expert"
	if cv > 0 {
		l.sigma = math.Sqrt(math.Log1p(cv * cv))
	}
	return l
}

// draw fills w with one weight per expert-parallel rank and returns their
// sum; rank j takes the share w[j] / sum of the layer's routed tokens.
func (l *expertLoad) draw(w []float64) (sum float64) {
	for j := range w {
		w[j] = 1
		if l.sigma > 0 {
			w[j] = math.Exp(l.sigma*l.rng.NormFloat64() - l.sigma*l.sigma/2)
		}
		sum += w[j]
	}
	return sum
}
