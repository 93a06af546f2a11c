package cost

import (
	"math"
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
