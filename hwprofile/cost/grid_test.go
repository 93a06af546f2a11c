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
