package plots

import (
	"errors"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/plot"

	"github.com/lodsim/lodsim/analysis"
)

func validationTables() (*analysis.AccuracyTable, *analysis.AccuracyTable) {
	rng := rand.New(rand.NewPCG(6, 6))
	var ttft, tpot []analysis.Pair
	for _, tp := range []int{1, 2, 4, 8} {
		g := "Qwen3-32B h100_sxm tp" + string(rune('0'+tp))
		for range 10 {
			m := 4000 / float64(tp) * (0.3 + 3*rng.Float64())
			ttft = append(ttft, analysis.Pair{Label: g, Group: g, Measured: m, Predicted: m * (0.8 + 0.4*rng.Float64())})
			d := 30 / float64(tp) * (0.5 + rng.Float64())
			tpot = append(tpot, analysis.Pair{Label: g, Group: g, Measured: d, Predicted: d * (0.9 + 0.2*rng.Float64())})
		}
	}
	a, b := analysis.Accuracy(ttft), analysis.Accuracy(tpot)
	return &a, &b
}

func TestValidation(t *testing.T) {
	a, b := validationTables()
	f, err := validationFigure(a, b, "")
	checkFigure(t, "validation", f, err, 4)
	for i, p := range f.grid[0] {
		if _, ok := p.X.Scale.(plot.LogScale); !ok {
			t.Errorf("panel %d: x scale %T, expected log", i, p.X.Scale)
		}
		if _, ok := p.Y.Scale.(plot.LogScale); !ok {
			t.Errorf("panel %d: y scale %T, expected log", i, p.Y.Scale)
		}
	}
	if _, err := validationFigure(&analysis.AccuracyTable{}, b, ""); !errors.Is(err, ErrNoData) {
		t.Errorf("empty table: %v, expected ErrNoData", err)
	}
}
