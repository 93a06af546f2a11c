package cost

import (
	"errors"
	"math"
	"sort"
)

// MaxDims is the most axes a Grid has.
const MaxDims = 3

// Grid is a dense grid over up to three axes, each sampled at positive
// values and indexed by their logarithms. A cell holds the log of the ratio
// of measured time to a smooth base model, so that
//
//	t(x) = base(x) * exp(r(x))
//
// where r is multilinear in (log x1, log x2, log x3) between grid points and
// constant beyond the outermost ones. Inside the grid this interpolates the
// measurements in log-log space; outside it the base model's shape carries
// the time and r keeps the efficiency seen at the nearest edge, which is the
// "roofline-shaped extrapolation" of the issue.
type Grid struct {
	dims int
	axes [MaxDims][]float64 // log of the axis values, strictly ascending
	// Strides are the row-major strides of the axes (the last is 1).
	Strides [MaxDims]int
	// R holds the cells, row-major, last axis fastest.
	R []float64
}

// NewGrid is a grid over the given axes (positive, strictly ascending
// values), with every cell 0.
// NewGrid is a grid over the given axes (positive, strictly ascending
// values) with every cell 0.
func NewGrid(axes ...[]int64) *Grid {
	g := &Grid{dims: len(axes)}
	n := 1
	for d := len(axes) - 1; d >= 0; d-- {
		la := make([]float64, len(axes[d]))
		for i, v := range axes[d] {
			la[i] = math.Log(float64(v))
		}
		g.axes[d] = la
		g.Strides[d] = n
		n *= len(axes[d])
	}
	g.R = make([]float64, n)
	return g
}

// bracket finds the cell of x on axis a: the lower index and the weight of
// the upper neighbour. Outside the axis the weight is clamped to 0 or 1.
func bracket(a []float64, x float64) (int, float64) {
	n := len(a)
	if n == 1 || x <= a[0] {
		return 0, 0
	}
	if x >= a[n-1] {
		return n - 2, 1
	}
	lo, hi := 0, n-1 // a[lo] <= x < a[hi]
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if a[mid] <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, (x - a[lo]) / (a[hi] - a[lo])
}

// At interpolates R at log coordinates x (the logs of the axis values).
func (g *Grid) At(x [MaxDims]float64) float64 {
	var idx [MaxDims]int
	var w [MaxDims]float64
	base := 0
	for d := 0; d < g.dims; d++ {
		idx[d], w[d] = bracket(g.axes[d], x[d])
		base += idx[d] * g.Strides[d]
	}
	sum := 0.0
	for c := 0; c < 1<<g.dims; c++ {
		wt, off := 1.0, base
		for d := 0; d < g.dims; d++ {
			if c&(1<<d) != 0 {
				if w[d] == 0 {
					wt = 0
					break
				}
				wt *= w[d]
				off += g.Strides[d]
			} else {
				wt *= 1 - w[d]
			}
		}
		if wt != 0 {
			sum += wt * g.R[off]
		}
	}
	return sum
}

var errEmptyGrid = errors.New("no measured cell")

// Fill completes R where known is false. Each pass estimates every unknown
// cell from the cells known before the pass: along each axis, linear
// interpolation in log coordinate between the nearest known cells on both
// sides; where no axis has both, the nearest known cell along any axis
// (constant extrapolation of the efficiency). The estimates of the axes are
// averaged. Passes repeat until every cell is known.
func (g *Grid) Fill(known []bool) error { return g.fill(known, mean) }

// FillMedian is Fill with the axes' estimates of a cell combined by their
// median instead of their mean: with three axes, one axis whose neighbours
// are off (a measured point scattered by a different kernel choice, as the
// GEMM tables have between m = 512 and m = 513) is outvoted by the other
// two instead of pulling the estimate by a third of its error. With one or
// two estimates it is Fill.
func (g *Grid) FillMedian(known []bool) error { return g.fill(known, Median) }

func mean(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Median is the median of v (the mean of the middle two for an even
// count), reordering v.
func Median(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (g *Grid) fill(known []bool, combine func([]float64) float64) error {
	any := false
	for _, k := range known {
		any = any || k
	}
	if !any {
		return errEmptyGrid
	}
	now := append([]bool(nil), known...)
	next := append([]bool(nil), known...)
	var two [MaxDims]float64
	for {
		missing := 0
		for c := range now {
			if now[c] {
				continue
			}
			nTwo, one, ok := g.estimate(c, now, &two)
			switch {
			case nTwo > 0:
				g.R[c] = combine(two[:nTwo])
				next[c] = true
			case ok:
				g.R[c] = one
				next[c] = true
			default:
				missing++
			}
		}
		progress := false
		for c := range now {
			progress = progress || now[c] != next[c]
		}
		copy(now, next)
		if missing == 0 {
			return nil
		}
		if !progress {
			return errEmptyGrid
		}
	}
}

// estimate gathers the estimates of cell c from the cells now known: into
// two, the interpolation along each axis with known cells on both sides
// (their count is nTwo); one is the nearest known cell along any axis with
// known cells on one side only (ok when there is one).
func (g *Grid) estimate(c int, now []bool, two *[MaxDims]float64) (nTwo int, one float64, ok bool) {
	var coord [MaxDims]int
	rem := c
	for d := 0; d < g.dims; d++ {
		coord[d] = rem / g.Strides[d]
		rem %= g.Strides[d]
	}
	oneBest := math.Inf(1)
	for d := 0; d < g.dims; d++ {
		ax := g.axes[d]
		lo, hi := -1, -1
		for i := coord[d] - 1; i >= 0; i-- {
			if now[c+(i-coord[d])*g.Strides[d]] {
				lo = i
				break
			}
		}
		for i := coord[d] + 1; i < len(ax); i++ {
			if now[c+(i-coord[d])*g.Strides[d]] {
				hi = i
				break
			}
		}
		x := ax[coord[d]]
		switch {
		case lo >= 0 && hi >= 0:
			rl := g.R[c+(lo-coord[d])*g.Strides[d]]
			rh := g.R[c+(hi-coord[d])*g.Strides[d]]
			f := (x - ax[lo]) / (ax[hi] - ax[lo])
			two[nTwo] = rl + f*(rh-rl)
			nTwo++
		case lo >= 0:
			if dist := x - ax[lo]; dist < oneBest {
				oneBest, one = dist, g.R[c+(lo-coord[d])*g.Strides[d]]
			}
		case hi >= 0:
			if dist := ax[hi] - x; dist < oneBest {
				oneBest, one = dist, g.R[c+(hi-coord[d])*g.Strides[d]]
			}
		}
	}
	return nTwo, one, !math.IsInf(oneBest, 1)
}

// axisLOO gives the leave-one-out estimates of cell c along each axis: the
// interpolation, linear in the log coordinate, between the nearest cells
// known on both sides of c (ok[d] false where axis d has none on one side).
func (g *Grid) axisLOO(c int, known []bool) (est [MaxDims]float64, ok [MaxDims]bool) {
	var coord [MaxDims]int
	rem := c
	for d := 0; d < g.dims; d++ {
		coord[d] = rem / g.Strides[d]
		rem %= g.Strides[d]
	}
	for d := 0; d < g.dims; d++ {
		ax := g.axes[d]
		lo, hi := -1, -1
		for i := coord[d] - 1; i >= 0 && lo < 0; i-- {
			if known[c+(i-coord[d])*g.Strides[d]] {
				lo = i
			}
		}
		for i := coord[d] + 1; i < len(ax) && hi < 0; i++ {
			if known[c+(i-coord[d])*g.Strides[d]] {
				hi = i
			}
		}
		if lo < 0 || hi < 0 {
			continue
		}
		rl, rh := g.R[c+(lo-coord[d])*g.Strides[d]], g.R[c+(hi-coord[d])*g.Strides[d]]
		est[d] = rl + (ax[coord[d]]-ax[lo])/(ax[hi]-ax[lo])*(rh-rl)
		ok[d] = true
	}
	return est, ok
}

// PointScatter estimates the scatter of the known cells that no neighbour
// shares: the standard deviation sigma of a per-cell deviation e in
//
//	R[c] = s(c) + e(c)
//
// where s is what the neighbours along the axes see. Each known cell with
// known cells on both sides along two axes a and b has leave-one-out
// residuals d_a = R[c] - est_a and d_b = R[c] - est_b (axisLOO); est_a and
// est_b are built from different cells, so their errors are independent of
// each other and of e(c), and the mean of d_a x d_b estimates sigma^2 while
// a step along one axis (a kernel switch that every cell of a row shares)
// enters one of the two only. sigma^2 is the mean of that estimate over
// the axis pairs (0 where it is negative or no cell has two such axes).
// This is the covariance-of-independent-predictors estimate of a
// measurement's own noise (the instrumental-variable idea of Grubbs,
// "On estimating precision of measuring instruments", JASA 1948).
func (g *Grid) PointScatter(known []bool) float64 {
	var sum [MaxDims * (MaxDims - 1) / 2]float64
	var n [len(sum)]int
	for c := range g.R {
		if !known[c] {
			continue
		}
		est, ok := g.axisLOO(c, known)
		p := 0
		for a := 0; a < g.dims; a++ {
			for b := a + 1; b < g.dims; b++ {
				if ok[a] && ok[b] {
					sum[p] += (g.R[c] - est[a]) * (g.R[c] - est[b])
					n[p]++
				}
				p++
			}
		}
	}
	s2, pairs := 0.0, 0
	for p := range sum {
		if n[p] > 0 {
			s2 += sum[p] / float64(n[p])
			pairs++
		}
	}
	if pairs == 0 || s2 <= 0 {
		return 0
	}
	return math.Sqrt(s2 / float64(pairs))
}

// Denoise replaces each known cell that has known cells on both sides
// along at least two axes by the median of its value and those axes'
// leave-one-out estimates (axisLOO), all computed from the values before
// the call. A cell measured off by a scatter its neighbours do not share
// is pulled to them; a step along one axis, which the other axes' cells
// share, keeps its cell (two estimates of three follow it). The cells'
// known flags are unchanged.
func (g *Grid) Denoise(known []bool) {
	out := append([]float64(nil), g.R...)
	var v [MaxDims + 1]float64
	for c := range g.R {
		if !known[c] {
			continue
		}
		n := g.looEstimates(c, known, v[:])
		if n < 2 {
			continue
		}
		v[n] = g.R[c]
		out[c] = Median(v[:n+1])
	}
	copy(g.R, out)
}

// looEstimates writes into v the leave-one-out estimates of cell c along
// the axes that have known cells on both sides (axisLOO) and returns how
// many there are (Denoise, Despike).
func (g *Grid) looEstimates(c int, known []bool, v []float64) int {
	est, ok := g.axisLOO(c, known)
	n := 0
	for d := 0; d < g.dims; d++ {
		if ok[d] {
			v[n] = est[d]
			n++
		}
	}
	return n
}

// Despike replaces each known cell that has known cells on both sides
// along at least two axes, and lies more than tau (log units) above the
// median of those axes' leave-one-out estimates (axisLOO), by that median;
// every other cell keeps its value. Estimates are computed from the values
// before the call and the cells' known flags are unchanged. It is Denoise
// made one-sided for scatter that only slows a kernel: interference during
// a timing (clocks held down, other work on the GPU) adds time, never
// removes it, so a cell far above the trend its neighbours share is taken
// as such a spike and brought back to the trend, while a cell below it,
// or one that moves with a step its row shares (two estimates of three
// follow the step), is kept as measured.
func (g *Grid) Despike(known []bool, tau float64) {
	out := append([]float64(nil), g.R...)
	var v [MaxDims]float64
	for c := range g.R {
		if !known[c] {
			continue
		}
		n := g.looEstimates(c, known, v[:])
		if n < 2 {
			continue
		}
		if m := Median(v[:n]); g.R[c]-m > tau {
			out[c] = m
		}
	}
	copy(g.R, out)
}
