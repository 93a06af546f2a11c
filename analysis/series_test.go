package analysis

import (
	"slices"
	"testing"
)

func TestNewCDF(t *testing.T) {
	small := NewCDF([]float64{1, 2, 2, 5}, 10)
	if !slices.Equal(small.X, []float64{1, 2, 2, 5}) || !slices.Equal(small.P, []float64{0.25, 0.5, 0.75, 1}) {
		t.Errorf("small CDF = %+v", small)
	}
	var v []float64
	for i := 1; i <= 10000; i++ {
		v = append(v, float64(i))
	}
	c := NewCDF(v, 101)
	if len(c.X) > 101 || len(c.X) < 90 {
		t.Errorf("thinned to %d points, want about 101", len(c.X))
	}
	if c.X[0] != 1 || c.X[len(c.X)-1] != 10000 || c.P[len(c.P)-1] != 1 {
		t.Errorf("ends = %g..%g p_last %g", c.X[0], c.X[len(c.X)-1], c.P[len(c.P)-1])
	}
	// On 1..n the CDF is exact: P = X/n at every kept point.
	for i := range c.X {
		if c.P[i] != c.X[i]/10000 {
			t.Fatalf("point %d = (%g, %g), not on the CDF", i, c.X[i], c.P[i])
		}
		if i > 0 && (c.X[i] < c.X[i-1] || c.P[i] <= c.P[i-1]) {
			t.Fatalf("not monotone at %d", i)
		}
	}
	if e := NewCDF(nil, 10); len(e.X) != 0 {
		t.Error("empty CDF has points")
	}
}

func TestLatencies(t *testing.T) {
	l := Latencies(handResults())
	if !slices.Equal(l.TTFT.X, []float64{10, 20, 40}) || !slices.Equal(l.E2E.X, []float64{40, 60, 110}) || !slices.Equal(l.TPOT.X, []float64{10, 10}) {
		t.Errorf("latencies = %+v", l)
	}
}

func TestSeries(t *testing.T) {
	ts := Series(handStats())
	// Samples at 1, 2, 3, 4 s with 100, 200, 300, 400 tokens since the
	// previous one: 100..400 tokens/s.
	if ts.Len() != 4 || !slices.Equal(ts.TimeS, []float64{1, 2, 3, 4}) ||
		!slices.Equal(ts.OutputTokensPerS, []float64{100, 200, 300, 400}) ||
		!slices.Equal(ts.RequestsPerS, []float64{0, 1, 2, 3}) ||
		!slices.Equal(ts.Waiting, []float64{4, 3, 2, 1}) ||
		!slices.Equal(ts.BatchSize, []float64{1, 3, 2, 4}) ||
		!slices.Equal(ts.KVUtil, []float64{0.1, 0.5, 0.3, 0.2}) {
		t.Errorf("series = %+v", ts)
	}
	if Series(nil).Len() != 0 {
		t.Error("nil stats give samples")
	}
}
