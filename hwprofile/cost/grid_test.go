package cost

import (
	"math"
	"math/rand/v2"
	"testing"
)

// A function linear in the log coordinates is reproduced exactly by Fill
// (interior holes) and by At (between grid points).
func TestGridLinear(t *testing.T) {
	xs, ys := []int64{1, 2, 4, 8, 16, 32}, []int64{10, 100, 1000, 10000}
	g := NewGrid(xs, ys)
	f := func(lx, ly float64) float64 { return 0.3 + 0.7*lx - 0.2*ly }
	known := make([]bool, len(g.R))
	for i := range xs {
		for j := range ys {
			c := i*g.Strides[0] + j
			if i > 0 && i < len(xs)-1 && (i+j)%2 == 0 {
				continue // an interior hole
			}
			g.R[c], known[c] = f(g.axes[0][i], g.axes[1][j]), true
		}
	}
	if err := g.Fill(known); err != nil {
		t.Fatal(err)
	}
	for i := range xs {
		for j := range ys {
			if d := math.Abs(g.R[i*g.Strides[0]+j] - f(g.axes[0][i], g.axes[1][j])); d > 1e-12 {
				t.Errorf("cell (%d,%d) Filled %.3g off", i, j, d)
			}
		}
	}
	lx, ly := math.Log(5.5), math.Log(333)
	if d := math.Abs(g.At([MaxDims]float64{lx, ly}) - f(lx, ly)); d > 1e-12 {
		t.Errorf("interpolation %.3g off a linear function", d)
	}
	// Outside the grid the edge value holds.
	if got, want := g.At([MaxDims]float64{math.Log(1e6), math.Log(1e9)}), f(g.axes[0][5], g.axes[1][3]); math.Abs(got-want) > 1e-12 {
		t.Errorf("beyond the corner: %v, expected the corner's %v", got, want)
	}
	if err := NewGrid(xs).Fill(make([]bool, len(xs))); err == nil {
		t.Error("Filling a grid with no known cell succeeded")
	}
}

// FillMedian estimates a hole from the median of its axes' estimates: on a
// 3 x 3 x 3 grid of zeros whose centre is a hole, one scattered neighbour
// (along the first axis) moves Fill's estimate by a third of the two-cell
// interpolation, and FillMedian's not at all; a second scattered axis
// makes the median follow it (two of three estimates agree).
func TestGridFillMedian(t *testing.T) {
	ax := []int64{1, 2, 4}
	build := func(scattered ...int) (*Grid, []bool, int) {
		g := NewGrid(ax, ax, ax)
		known := make([]bool, len(g.R))
		for c := range known {
			known[c] = true
		}
		centre := g.Strides[0] + g.Strides[1] + g.Strides[2]
		known[centre] = false
		for _, d := range scattered {
			g.R[centre-g.Strides[d]] = 0.6 // both sides' mean is 0.3
		}
		return g, known, centre
	}
	g, known, c := build(0)
	if err := g.Fill(known); err != nil {
		t.Fatal(err)
	}
	// The mean of the axes' estimates 0.3, 0 and 0 (exact in binary to
	// well under 1e-12).
	if got := g.R[c]; math.Abs(got-0.1) > 1e-12 {
		t.Errorf("Fill: centre %v, expected the mean 0.1", got)
	}
	g, known, c = build(0)
	if err := g.FillMedian(known); err != nil {
		t.Fatal(err)
	}
	if got := g.R[c]; got != 0 {
		t.Errorf("FillMedian: centre %v, expected the median 0", got)
	}
	g, known, c = build(0, 2)
	if err := g.FillMedian(known); err != nil {
		t.Fatal(err)
	}
	if got := g.R[c]; math.Abs(got-0.3) > 1e-12 {
		t.Errorf("FillMedian with two scattered axes: centre %v, expected 0.3", got)
	}
	if err := NewGrid(ax).FillMedian(make([]bool, len(ax))); err == nil {
		t.Error("FillMedian on a grid with no known cell succeeded")
	}
}

// noisyGrid is a 3-axis grid holding f (linear in the log coordinates, so
// that every axis interpolation is exact) plus, where noise > 0, a seeded
// normal scatter of that standard deviation per cell; step adds 0.5 to
// every cell of the first axis's index 3 (a kernel switch all of that
// row's shapes share).
func noisyGrid(noise float64, step bool) (*Grid, []bool, []float64) {
	ax := []int64{1, 2, 4, 8, 16, 32, 64, 128}
	g := NewGrid(ax, ax, ax)
	rng := rand.New(rand.NewPCG(7, 11))
	truth := make([]float64, len(g.R))
	known := make([]bool, len(g.R))
	for c := range g.R {
		i, j, k := c/g.Strides[0], c%g.Strides[0]/g.Strides[1], c%g.Strides[1]
		truth[c] = 0.1*g.axes[0][i] - 0.05*g.axes[1][j] + 0.02*g.axes[2][k]
		if step && i == 3 {
			truth[c] += 0.5
		}
		g.R[c], known[c] = truth[c]+noise*rng.NormFloat64(), true
	}
	return g, known, truth
}

// PointScatter recovers the standard deviation of a per-cell scatter, and
// sees none in a step that a whole row shares.
func TestGridPointScatter(t *testing.T) {
	g, known, _ := noisyGrid(0.1, true)
	// 512 cells, 216 with two-sided neighbours on all three axes: the
	// estimate's sampling error is a few percent of sigma; 15 % allows it.
	if got := g.PointScatter(known); math.Abs(got-0.1) > 0.015 {
		t.Errorf("scatter 0.1 per cell: PointScatter %.4f", got)
	}
	g, known, _ = noisyGrid(0, true)
	if got := g.PointScatter(known); got > 1e-9 {
		t.Errorf("a step along one axis and no scatter: PointScatter %.3g, expected 0", got)
	}
}

// Denoise pulls a cell measured off its neighbours back to them, keeps a
// step that the cells along the other axes share, and brings a scattered
// grid closer to the truth.
func TestGridDenoise(t *testing.T) {
	g, known, truth := noisyGrid(0, true)
	odd := 6*g.Strides[0] + 5*g.Strides[1] + 2
	g.R[odd] += 0.4
	g.Denoise(known)
	for c := range g.R {
		if d := math.Abs(g.R[c] - truth[c]); d > 1e-12 {
			t.Fatalf("cell %d: %.3g off the truth after Denoise (odd cell %d, step at the first axis's index 3)", c, d, odd)
		}
	}
	g, known, truth = noisyGrid(0.1, false)
	rms := func() float64 {
		s := 0.0
		for c := range g.R {
			s += (g.R[c] - truth[c]) * (g.R[c] - truth[c])
		}
		return math.Sqrt(s / float64(len(g.R)))
	}
	before := rms()
	g.Denoise(known)
	// A median of the cell and two or three unbiased estimates of it has a
	// smaller spread than the cell alone: expect at least a fifth less.
	if after := rms(); after > 0.8*before {
		t.Errorf("Denoise moved the RMS error from %.4f to %.4f, expected under %.4f", before, after, 0.8*before)
	}
}

// Despike brings a cell far above its neighbours' estimates back to them
// and keeps everything else as measured: on a surface linear in the log
// coordinates with a step along the first axis (a kernel switch every
// cell of a row shares), a spike of +0.4 returns exactly to the surface,
// while a dip of -0.4, a bump of +0.05 (under tau) and the cells next to
// the step keep their values. Denoise, symmetric, would take the dip out
// too.
func TestGridDespike(t *testing.T) {
	ax := []int64{1, 2, 4, 8, 16, 32}
	g := NewGrid(ax, ax, ax)
	known := make([]bool, len(g.R))
	cell := func(i, j, k int) int { return i*g.Strides[0] + j*g.Strides[1] + k }
	surface := make([]float64, len(g.R))
	for i := range ax {
		for j := range ax {
			for k := range ax {
				c := cell(i, j, k)
				surface[c] = 0.1 + 0.2*g.axes[0][i] - 0.15*g.axes[1][j] + 0.05*g.axes[2][k]
				if i >= 3 {
					surface[c] += 0.3
				}
				g.R[c], known[c] = surface[c], true
			}
		}
	}
	spike, dip, bump := cell(1, 2, 2), cell(4, 2, 3), cell(2, 4, 1)
	g.R[spike] += 0.4
	g.R[dip] -= 0.4
	g.R[bump] += 0.05
	measured := append([]float64(nil), g.R...)

	d := *g
	d.R = append([]float64(nil), g.R...)
	d.Despike(known, 0.1)
	for c := range d.R {
		want := measured[c]
		if c == spike {
			want = surface[c]
		}
		if math.Abs(d.R[c]-want) > 1e-12 {
			t.Errorf("cell %d: despiked to %.4f, expected %.4f (measured %.4f)", c, d.R[c], want, measured[c])
		}
	}
	d.R = append([]float64(nil), g.R...)
	d.Denoise(known)
	if math.Abs(d.R[dip]-surface[dip]) > 1e-12 {
		t.Errorf("Denoise kept the dip at %.4f; the contrast with Despike expects it at the surface's %.4f", d.R[dip], surface[dip])
	}
}
