package hwprofile

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// innerHoldOut is the share of a GEMM section's own points its smoothing
// check holds out (smoothGEMM).
const innerHoldOut = 0.1

// gemmSmoothing is smoothGEMM's decision for one GEMM grid: the mean
// absolute percentage error of the inner check's Checked points predicted
// from the unsmoothed (Plain) and the smoothed (Smoothed) grid, and
// whether the section is smoothed.
type gemmSmoothing struct {
	Applied         bool
	Checked         int
	Plain, Smoothed float64
	// Scatter is the grid's per-cell scatter (cost.Grid.PointScatter, in
	// log units) before smoothing.
	Scatter float64
}

// smoothGEMM decides from a GEMM section's own points whether its measured
// cells are smoothed (cost.Grid.Denoise) before the holes are filled, and
// smooths g when they are. Some tables carry a scatter that neighbouring
// shapes do not share (SGLang's: 9-12 % of the points differ by over 10 %
// from the estimates along all three axes, against 0.1-2 % of TensorRT-LLM's
// and vLLM's; PointScatter 0.09-0.12 against 0.02-0.05); there, pulling a
// cell to its neighbours predicts an unmeasured shape better, while on a
// quiet table it only blurs real kernel steps. Which holds is measured, not
// assumed: a seeded tenth of the known cells is held out, the rest filled
// with and without smoothing, and smoothing is kept when it predicts the
// held-out cells with the lower mean absolute percentage error. The check
// sees only the points g is built from, so the calibration's own held-out
// split stays unseen.
func smoothGEMM(g *cost.Grid, known []bool) (gemmSmoothing, error) {
	s := gemmSmoothing{Scatter: g.PointScatter(known)}
	var cells []int
	for c, k := range known {
		if k {
			cells = append(cells, c)
		}
	}
	nt := int(math.Round(innerHoldOut * float64(len(cells))))
	if nt < 1 || len(cells)-nt < 2 {
		return s, nil
	}
	perm := rand.New(rand.NewPCG(1, uint64(len(cells)))).Perm(len(cells))
	inner := make([]bool, len(known))
	train := append([]bool(nil), known...)
	for _, i := range perm[:nt] {
		inner[cells[i]], train[cells[i]] = true, false
	}
	mape := func(smooth bool) (float64, error) {
		h := *g
		h.R = append([]float64(nil), g.R...)
		if smooth {
			h.Denoise(train)
		}
		if err := h.FillMedian(append([]bool(nil), train...)); err != nil {
			return 0, err
		}
		sum := 0.0
		for c, in := range inner {
			if in {
				sum += math.Abs(math.Expm1(h.R[c] - g.R[c]))
			}
		}
		return 100 * sum / float64(nt), nil
	}
	var err error
	if s.Plain, err = mape(false); err != nil {
		return s, err
	}
	if s.Smoothed, err = mape(true); err != nil {
		return s, err
	}
	s.Checked = nt
	if s.Smoothed < s.Plain {
		s.Applied = true
		g.Denoise(known)
	}
	return s, nil
}

// note describes the decision for the profile's notes.
func (s gemmSmoothing) note(q cost.Precision) string {
	verb := "not smoothed"
	if s.Applied {
		verb = "smoothed (cost.Grid.Denoise)"
	}
	return fmt.Sprintf("gemm %s: measured cells %s: inner check of %d points, MAPE %.2f %% unsmoothed, %.2f %% smoothed; per-cell scatter %.3f",
		q, verb, s.Checked, round(s.Plain, 3), round(s.Smoothed, 3), round(s.Scatter, 3))
}
