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

// despikeTau is how far above its neighbours' median estimate, in log
// units, a measured GEMM cell must lie to be taken as a timing spike
// (cost.Grid.Despike): 0.1, about 10.5 %. It sits above the per-cell
// scatter of the quiet tables (cost.Grid.PointScatter 0.02-0.05 on the
// TensorRT-LLM and vLLM H200 and B200 tables, so 2 to 5 of their standard
// deviations) and below the spikes of SGLang's tables, whose held-out
// points lie 15 % or more above the fit in 11-16 % of the cases against
// 1.5-7 % below (MEASUREMENTS.md, "GEMM tables with scatter").
const despikeTau = 0.1

// gemmSmoothMethod is what smoothGEMM did to a grid's measured cells.
type gemmSmoothMethod int

const (
	gemmKept     gemmSmoothMethod = iota // left as measured
	gemmDenoised                         // cost.Grid.Denoise
	gemmDespiked                         // cost.Grid.Despike at despikeTau
)

// gemmSmoothing is smoothGEMM's decision for one GEMM grid: the mean
// absolute percentage error of the inner check's Checked points predicted
// from the grid as measured (Plain), smoothed symmetrically (Smoothed,
// cost.Grid.Denoise) and despiked (Despiked, cost.Grid.Despike), and the
// method kept.
type gemmSmoothing struct {
	Method                    gemmSmoothMethod
	Checked                   int
	Plain, Smoothed, Despiked float64
	// Scatter is the grid's per-cell scatter (cost.Grid.PointScatter, in
	// log units) before smoothing.
	Scatter float64
}

// Applied says whether the measured cells were changed.
func (s gemmSmoothing) Applied() bool { return s.Method != gemmKept }

// apply changes g's measured cells by method m.
func (m gemmSmoothMethod) apply(g *cost.Grid, known []bool) {
	switch m {
	case gemmDenoised:
		g.Denoise(known)
	case gemmDespiked:
		g.Despike(known, despikeTau)
	}
}

// smoothGEMM decides from a GEMM section's own points whether its measured
// cells are smoothed before the holes are filled, and how, and smooths g
// accordingly. Some tables carry a scatter that neighbouring shapes do not
// share (SGLang's: 9-12 % of the points differ by over 10 % from the
// estimates along all three axes, against 0.1-2 % of TensorRT-LLM's and
// vLLM's; PointScatter 0.09-0.12 against 0.02-0.05), and it is one-sided:
// SGLang's cells lie far above the shape's trend, and above the same shape
// timed in vLLM's and TensorRT-LLM's BF16 tables, several times as often
// as below it. There, pulling such cells to their neighbours predicts an
// unmeasured shape better, while on a quiet table it only blurs real
// kernel steps. Two smoothings are tried: the symmetric median of a cell
// and its neighbours' estimates (cost.Grid.Denoise) and the one-sided
// removal of cells more than despikeTau above them (cost.Grid.Despike).
// Which holds is measured, not assumed: a seeded tenth of the known cells
// is held out, the rest filled as measured and after each smoothing, and
// the method predicting the held-out cells with the lowest mean absolute
// percentage error is kept (as measured on a tie). The check sees only the
// points g is built from, so the calibration's own held-out split stays
// unseen.
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
	mape := func(m gemmSmoothMethod) (float64, error) {
		h := *g
		h.R = append([]float64(nil), g.R...)
		m.apply(&h, train)
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
	best := math.Inf(1)
	for _, c := range []struct {
		m   gemmSmoothMethod
		dst *float64
	}{{gemmKept, &s.Plain}, {gemmDenoised, &s.Smoothed}, {gemmDespiked, &s.Despiked}} {
		v, err := mape(c.m)
		if err != nil {
			return s, err
		}
		*c.dst = v
		if v < best {
			best, s.Method = v, c.m
		}
	}
	s.Checked = nt
	s.Method.apply(g, known)
	return s, nil
}

// note describes the decision for the profile's notes.
func (s gemmSmoothing) note(q cost.Precision) string {
	verb := "not smoothed"
	switch s.Method {
	case gemmDenoised:
		verb = "smoothed (cost.Grid.Denoise)"
	case gemmDespiked:
		verb = fmt.Sprintf("despiked (cost.Grid.Despike, above %.2f)", despikeTau)
	}
	return fmt.Sprintf("gemm %s: measured cells %s: inner check of %d points, MAPE %.2f %% unsmoothed, %.2f %% smoothed, %.2f %% despiked; per-cell scatter %.3f",
		q, verb, s.Checked, round(s.Plain, 3), round(s.Smoothed, 3), round(s.Despiked, 3), round(s.Scatter, 3))
}
