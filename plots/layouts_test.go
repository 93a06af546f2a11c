package plots

import (
	"errors"
	"testing"

	"gonum.org/v1/plot"

	"github.com/lodsim/lodsim/analysis"
)

// layoutComparison is two layouts over three loads: the aggregated one
// keeps its goodput, the disaggregated one's TTFT explodes at 12x (so the
// TTFT panel spans decades).
func layoutComparison() *analysis.LayoutComparison {
	pt := func(x, rps, good, ttft, tpot float64) analysis.LayoutPoint {
		return analysis.LayoutPoint{RateScale: x, RequestsPerS: rps, GoodputPerS: good, SLOFraction: good / rps,
			TTFTP50Ms: ttft / 2, TTFTP99Ms: ttft, TPOTP50Ms: tpot / 2, TPOTP99Ms: tpot, PeakKV: 0.5}
	}
	return &analysis.LayoutComparison{Title: "agg vs disagg", SLOTTFTMs: 500, SLOTPOTMs: 50, Layouts: []analysis.Layout{
		{Label: "4 aggregated", Points: []analysis.LayoutPoint{pt(4, 22, 22, 140, 11), pt(8, 44, 44, 194, 18), pt(12, 65, 64, 507, 49)}},
		{Label: "2P + 2D", Points: []analysis.LayoutPoint{pt(4, 22, 22, 150, 9), pt(8, 44, 41.7, 795, 11), pt(12, 65, 31.6, 18818, 18)}},
	}}
}

// TestLayoutGoodput: the figure draws every layout in its three panels
// (goodput, TTFT p99, TPOT p99); the goodput panel's range holds each
// layout's dashed throughput (65 req/s, above every goodput), the TTFT
// panel has a log axis (its values span decades), the TPOT panel a linear
// one from 0 that holds the SLO's 50 ms bound (above every TPOT drawn);
// an empty comparison draws nothing and a malformed one is refused.
func TestLayoutGoodput(t *testing.T) {
	c := layoutComparison()
	f, err := layoutGoodputFigure(c)
	checkFigure(t, "layout_goodput", f, err, 2)
	panels := f.grid[0]
	if len(panels) != 3 {
		t.Fatalf("%d panels, expected 3", len(panels))
	}
	if _, ok := panels[1].Y.Scale.(plot.LogScale); !ok {
		t.Errorf("TTFT panel: y scale %T, expected log (140 ms to 18.8 s)", panels[1].Y.Scale)
	}
	if _, ok := panels[2].Y.Scale.(plot.LogScale); ok || panels[2].Y.Min != 0 || panels[2].Y.Max < 50 {
		t.Errorf("TPOT panel: y %T over [%v, %v], expected linear from 0 holding the 50 ms bound", panels[2].Y.Scale, panels[2].Y.Min, panels[2].Y.Max)
	}
	if panels[0].Y.Max < 65 {
		t.Errorf("goodput panel tops at %v, below the 65 req/s completed", panels[0].Y.Max)
	}
	if _, err := layoutGoodputFigure(&analysis.LayoutComparison{}); !errors.Is(err, ErrNoData) {
		t.Errorf("no layouts: %v, expected ErrNoData", err)
	}
	bad := layoutComparison()
	bad.Layouts[1].Points[2].RateScale = 4
	if _, err := layoutGoodputFigure(bad); err == nil {
		t.Error("a layout whose rate scales fall: no error")
	}
}
