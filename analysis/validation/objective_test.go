package validation

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestObjectiveResiduals: by hand. Group A has one row, group B three,
// every prediction 10 % high in TTFT and TPOT except one of B's TTFTs, 10x
// high. Balanced, each group's squared residuals sum to the same; Cauchy
// at ln 2 leaves a 10 % error almost as it is and cuts the 10x one.
func TestObjectiveResiduals(t *testing.T) {
	row := func(model string) Row {
		return Row{Model: model, GPU: "h100_sxm", Backend: "vllm", TTFTms: 100, TPOTms: 10, TP: 1}
	}
	pred := func(r Row, ttft float64) Prediction {
		return Prediction{Row: r, Metrics: Metrics{TTFTms: ttft, TPOTms: 11}}
	}
	a, b := row("org/A"), row("org/B")
	preds := []Prediction{pred(a, 110), pred(b, 110), {Row: b, Skipped: "why"}, pred(b, 110), pred(b, 110)}
	l := math.Log(1.1)
	// Plain log ratios: every residual ln 1.1, skipped rows left out.
	plain := objective{logRatio: true}.residuals(preds)
	if len(plain) != 8 {
		t.Fatalf("%d residuals, expected 8 (4 simulated rows x 2)", len(plain))
	}
	for i, r := range plain {
		if math.Abs(r-l) > 1e-12 { // one log of a decimal: rounding only
			t.Errorf("residual %d = %g, expected ln 1.1 = %g", i, r, l)
		}
	}
	// Balanced: N = 4 rows, G = 2 groups; A's weight 4/(2*1) = 2, B's
	// 4/(2*3) = 2/3, so each group's sum of squares is 2 x 2 ln²1.1 = 4 ln²1.1.
	bal := objective{logRatio: true, balanced: true}.residuals(preds)
	sumA := bal[0]*bal[0] + bal[1]*bal[1]
	var sumB float64
	for _, r := range bal[2:] {
		sumB += r * r
	}
	if want := 4 * l * l; math.Abs(sumA-want) > 1e-12 || math.Abs(sumB-want) > 1e-12 {
		t.Errorf("balanced: group sums %g and %g, expected both %g", sumA, sumB, want)
	}
	// Cauchy at ln 2: c sqrt(ln(1 + (r/c)²)).
	rob := objective{logRatio: true, robustScale: EngineRobustScale}
	c := math.Ln2
	if got, want := rob.robust(l), c*math.Sqrt(math.Log1p(l*l/(c*c))); math.Abs(got-want) > 1e-12 || got < 0.97*l {
		t.Errorf("Cauchy of ln 1.1 = %g, expected %g, within 3 %% of %g", got, want, l)
	}
	big := math.Log(10)
	if got := rob.robust(big); got > 0.6*big || got <= 0 || rob.robust(-big) != -got {
		t.Errorf("Cauchy of ln 10 = %g, expected positive, odd and under 0.6 x %g", got, big)
	}
	preds[1].Metrics.TTFTms = 1000
	if r := rob.residuals(preds)[2]; math.Abs(r-rob.robust(big)) > 1e-12 {
		t.Errorf("10x row's residual %g, expected Cauchy(ln 10) = %g", r, rob.robust(big))
	}
}

// TestMeasuredBounds: each constant at most the smallest measured time it
// is part of (the per-sequence cost times the clients per attention-DP
// rank, or for a disaggregated row those decoding per decode rank), in the fit's units (1 ms, 0.1 ms, 100 ns, 10 ms).
func TestMeasuredBounds(t *testing.T) {
	rows := []Row{
		{TTFTms: 80, TPOTms: 6, ISL: 1024, Concurrency: 2},
		{TTFTms: 300, TPOTms: 20, ISL: 8192, Concurrency: 64, AttentionDP: 4}, // TTFT/ISL 36.6 us, below 80/1024 = 78 us; TPOT / 16 clients per rank 1.25 ms, below 6 / 2
		{TTFTms: 0, TPOTms: 0, ISL: 100, Concurrency: 512},                    // nothing measured: bounds nothing
		// Disaggregated: 512 clients over 4 decode workers x attention DP 8 are
		// 16 a decode rank, in the decode pool 300 x 9 ms of a 900 + 2700 ms
		// cycle (Little's law): 12 decoding, 9 / 12 = 0.75 ms the smallest
		// (16 a rank would bound 0.5625, every client 0.0176, one 9).
		{TTFTms: 900, TPOTms: 9, ISL: 100, OSL: 301, Concurrency: 512, Mode: "disagg", Disagg: DisaggLayout{DecodeWorkers: 4, DecodeTP: 1, DecodeAttentionDP: 8}},
		// vLLM tp_size 1 with moe_tp_size 4: data parallel 4 (impliedDP), 16
		// clients per rank, 1.25 ms as the row above; over 64 it would bound 0.3125.
		{TTFTms: 900, TPOTms: 20, ISL: 100, Concurrency: 64, TP: 1, MoETP: 4, MoEEP: 1, Backend: "vllm"},
		// 10 clients over 4 ranks are 2.5 a rank: 2.4 / 2.5 = 0.96 ms (truncated
		// to 2 a rank it would bound 1.2 ms); its TPOT is the smallest too.
		{TTFTms: 900, TPOTms: 2.4, ISL: 100, Concurrency: 10, AttentionDP: 4},
	}
	got := measuredBounds(rows, []OverheadParam{ParamStep, ParamPerSeq, ParamPerPrefillToken, ParamPerRequest, ParamMemoryReserve})
	want := []float64{2.4, 7.5, 300.0 / 8192 * 1e6 / 100, 8, 0}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9*want[i] {
			t.Errorf("bound %d = %g, expected %g", i, got[i], want[i])
		}
	}
	if b := measuredBounds(nil, EngineParams); b[0] != 0 || b[3] != 0 {
		t.Errorf("no rows: bounds %v, expected none (0)", b)
	}
}

// TestEngineObjective: the engine fit uses every part of the objective
// (BENCHMARKS.md, "Engine constants").
func TestEngineObjective(t *testing.T) {
	rows := []Row{{TTFTms: 50, TPOTms: 5, ISL: 1000}}
	ob := engineObjective(rows)
	ub := measuredBounds(rows, EngineParams)
	if !ob.logRatio || !ob.balanced || ob.robustScale != math.Ln2 || len(ob.upper) != len(ub) {
		t.Fatalf("engine objective %+v", ob)
	}
	for i := range ub {
		if ob.upper[i] != ub[i] || ub[i] <= 0 {
			t.Errorf("bound %d = %g, expected the measured %g", i, ob.upper[i], ub[i])
		}
	}
}

// TestFitKeepsUpperBound: the measurements come from a 3 ms step; with the
// step bounded at 1.5 ms the fit ends on the bound, not past it.
func TestFitKeepsUpperBound(t *testing.T) {
	pick := devShortRows(t)
	pick = pick[:min(len(pick), 3)]
	opt := Options{RequestsPerClient: 4, Profiles: map[string]*cost.Profile{"h100_sxm": mustProfile(t, "h100_sxm")}}
	measureWith(t, pick, opt, cost.Overheads{StepNs: 3e6})
	ob := objective{logRatio: true, upper: []float64{1.5}}
	got, _, err := fitRows(pick, cost.Overheads{}, opt, []OverheadParam{ParamStep}, 3, nil, ob, FitReport{})
	if err != nil {
		t.Fatal(err)
	}
	// 1 ns: the bound times the unit, in floating point.
	if math.Abs(got.StepNs-1.5e6) > 1 {
		t.Errorf("fitted step %.0f ns, expected the 1.5 ms bound (truth 3 ms)", got.StepNs)
	}
}

// TestDiffStep holds fitRows' finite-difference trial points within the
// bounds: forward in the interior, backward at the upper bound, and never
// below 0 when the bound is narrower than the step.
func TestDiffStep(t *testing.T) {
	ob := objective{upper: []float64{0.2, 0, 2}}
	for _, c := range []struct {
		i       int
		x, h, w float64
	}{
		{2, 1, 0.25, 0.25},   // interior: forward
		{2, 2, 0.25, -0.25},  // at the bound: backward
		{0, 0.2, 0.25, -0.2}, // bound under the step: back to 0, not below
		{0, 0, 0.25, 0.2},    // at 0 under a narrow bound: up to it
		{1, 5, 0.5, 0.5},     // unbounded: forward
	} {
		h := ob.diffStep(c.i, c.x, c.h)
		if math.Abs(h-c.w) > 1e-12 {
			t.Errorf("diffStep(%d, %g, %g) = %g, want %g", c.i, c.x, c.h, h, c.w)
		}
		if y := c.x + h; h == 0 || y < 0 || (ob.upper[c.i] > 0 && y > ob.upper[c.i]+1e-12) {
			t.Errorf("diffStep(%d, %g, %g) = %g: trial point %g outside [0, %g]", c.i, c.x, c.h, h, y, ob.upper[c.i])
		}
	}
}
