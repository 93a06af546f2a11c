package replay

import "math"

// stragglers is the medium level of detail's expectation of how long TP
// ranks with per-rank variability wait for their slowest member.
//
// At the high level of detail each operation on each rank takes its cost
// times an independent lognormal factor of mean 1 and coefficient of
// variation v (highExecutor.vary), and every all-reduce is a barrier: no
// rank leaves it before the last one entered. Between two barriers a rank
// runs a segment of operations (QKV, attention and output projection; or
// the MLP; or the LM head at the end), so a segment takes the maximum of N
// independent sums of lognormals. Its expectation is
//
//	E[max] = M x g(N, s),  g(N, s) = ∫ exp(s z - s²/2) N φ(z) Φ(z)^(N-1) dz
//
// where the segment's sum (mean M = Σ d_i, variance v² Σ d_i²) is taken as
// one lognormal of the same mean and variance (Fenton and Wilkinson, IRE
// Trans. Commun. Syst. 1960): s² = ln(1 + v² Σ d_i² / M²). g is integrated
// numerically (Simpson's rule) on a grid of s, filled on first use and
// interpolated linearly: a deterministic function of (N, s) whatever the
// order of the calls.
//
// The barrier form slightly overstates the wait: in a ring all-reduce the
// early ranks send their first chunks before the last one arrives, hiding
// up to N-1 of its 2(N-1) hops behind the straggler. The adaptive level of
// detail measures that residual (exec_adaptive.go).
type stragglers struct {
	n     int
	v     float64   // coefficient of variation of one operation
	table []float64 // g(n, i x sGrid); 0 = not computed yet
}

// sGrid is the spacing of the table of g over s; s reaches about 2.15 at
// the largest variability Validate accepts (10).
const sGrid = 1.0 / 256

func newStragglers(n int, v float64) *stragglers {
	return &stragglers{n: n, v: v, table: make([]float64, int(2.5/sGrid)+2)}
}

// segment is the expected maximum over the ranks of a segment of
// operations whose mean costs are ds, in ns.
func (g *stragglers) segment(ds ...int64) float64 {
	var m, q float64
	for _, d := range ds {
		f := float64(d)
		m += f
		q += f * f
	}
	if m <= 0 {
		return 0
	}
	cv2 := g.v * g.v * q / (m * m)
	return m * g.factor(math.Sqrt(math.Log1p(cv2)))
}

// factor is g(n, s), interpolated in the table.
func (g *stragglers) factor(s float64) float64 {
	x := s / sGrid
	i := int(x)
	if i+1 >= len(g.table) {
		return expectedMaxLognormal(g.n, s)
	}
	a, b := g.at(i), g.at(i+1)
	return a + (b-a)*(x-float64(i))
}

func (g *stragglers) at(i int) float64 {
	if g.table[i] == 0 {
		g.table[i] = expectedMaxLognormal(g.n, float64(i)*sGrid)
	}
	return g.table[i]
}

// expectedMaxLognormal is g(n, s): the expected maximum of n independent
// lognormal variables of mean 1 and log-standard deviation s.
func expectedMaxLognormal(n int, s float64) float64 {
	if n <= 1 || s == 0 {
		return 1
	}
	// Simpson's rule over z in [-10, 10]: the integrand is below 1e-20
	// outside for every s the table covers.
	const lo, hi, steps = -10.0, 10.0, 4000
	h := (hi - lo) / steps
	f := func(z float64) float64 {
		phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
		cdf := 0.5 * math.Erfc(-z/math.Sqrt2)
		return math.Exp(s*z-s*s/2) * float64(n) * phi * math.Pow(cdf, float64(n-1))
	}
	sum := f(lo) + f(hi)
	for i := 1; i < steps; i++ {
		w := 2.0
		if i%2 == 1 {
			w = 4
		}
		sum += w * f(lo+float64(i)*h)
	}
	return sum * h / 3
}
