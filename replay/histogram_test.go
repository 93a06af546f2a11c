package replay

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistogramQuantiles compares quantiles with exact nearest-rank ones on
// log-uniform durations from 100 ns to 10 s.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]int64, 100000)
	var sum float64
	for i := range vals {
		v := int64(math.Exp(math.Log(100) + rng.Float64()*math.Log(1e8)))
		vals[i] = v
		sum += float64(v)
		h.Add(v, 1)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.99, 0.999, 1} {
		exact := float64(vals[int(math.Ceil(q*float64(len(vals))))-1])
		got := h.Quantile(q)
		// The lower edge of a bucket narrower than 1/256 of its value.
		if got > exact || got < exact*(1-1.0/256) {
			t.Errorf("q=%v: %v, exact %v", q, got, exact)
		}
	}
	if h.Mean() != sum/float64(len(vals)) || h.Max != vals[len(vals)-1] || h.Total != uint64(len(vals)) {
		t.Errorf("mean %v max %d total %d", h.Mean(), h.Max, h.Total)
	}
	// Merging two halves gives the same histogram.
	var a, b Histogram
	for i, v := range vals {
		if i%2 == 0 {
			a.Add(v, 1)
		} else {
			b.Add(v, 1)
		}
	}
	a.Merge(&b)
	if a.Total != h.Total || a.Max != h.Max || math.Abs(a.Sum-h.Sum) > 1e-6*h.Sum || !slices.Equal(a.Counts, h.Counts) {
		t.Error("merged halves differ from the whole")
	}
	if !math.IsNaN((&Histogram{}).Quantile(0.5)) {
		t.Error("empty histogram quantile should be NaN")
	}
}
