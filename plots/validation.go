package plots

import (
	"fmt"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lodsim/lodsim/analysis"
)

// Validation draws the validation figure: predicted against measured mean
// TTFT (left) and TPOT (right) of end-to-end benchmark rows, log-log, with
// the y = x line and one colour per group (model, GPU and tensor-parallel
// degree, so the colours tell TP apart), each group's MAPE in the legend.
// Both tables come from the same rows, in milliseconds.
func Validation(w io.Writer, ttft, tpot *analysis.AccuracyTable, title string) error {
	f, err := validationFigure(ttft, tpot, title)
	if err != nil {
		return err
	}
	return f.render(w)
}

func validationFigure(ttft, tpot *analysis.AccuracyTable, title string) (*figure, error) {
	if ttft == nil || tpot == nil || len(ttft.Pairs) == 0 || len(tpot.Pairs) == 0 {
		return nil, fmt.Errorf("%w: validation: no rows", ErrNoData)
	}
	if title == "" {
		title = "Predicted vs measured serving latency"
	}
	f := newFigure(title, 14, 7, 1, 2)
	// One colour per group across both panels: groups are sorted by name
	// in both tables, and a group missing from one keeps its colour.
	colour := map[string]int{}
	for _, t := range []*analysis.AccuracyTable{ttft, tpot} {
		for _, g := range t.Groups {
			if _, ok := colour[g.Group]; !ok {
				colour[g.Group] = len(colour)
			}
		}
	}
	// One legend for both panels: each group with its MAPE in each.
	names := map[string]string{}
	for _, g := range ttft.Groups {
		names[g.Group] = fmt.Sprintf("%s (TTFT MAPE %.1f%%", g.Group, g.MAPE)
	}
	for _, g := range tpot.Groups {
		if n, ok := names[g.Group]; ok {
			names[g.Group] = fmt.Sprintf("%s, TPOT %.1f%%", n, g.MAPE)
		} else {
			names[g.Group] = fmt.Sprintf("%s (TPOT MAPE %.1f%%", g.Group, g.MAPE)
		}
	}
	for g := range names {
		names[g] += ")"
	}
	for i, panel := range []struct {
		t    *analysis.AccuracyTable
		name string
	}{{ttft, "TTFT"}, {tpot, "TPOT"}} {
		if err := validationPanel(f, f.grid[0][i], panel.t, panel.name, colour, names); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func validationPanel(f *figure, p *plot.Plot, t *analysis.AccuracyTable, name string, colour map[string]int, names map[string]string) error {
	lo, hi := math.Inf(1), math.Inf(-1)
	byGroup := map[string]plotter.XYs{}
	for _, pr := range t.Pairs {
		ok := pr.Measured > 0 && pr.Predicted > 0 && !math.IsInf(pr.Measured, 0) && !math.IsInf(pr.Predicted, 0)
		if !ok {
			continue // cannot sit on a log axis; it still counts in the table
		}
		lo, hi = min(lo, pr.Measured, pr.Predicted), max(hi, pr.Measured, pr.Predicted)
		byGroup[pr.Group] = append(byGroup[pr.Group], plotter.XY{X: pr.Measured, Y: pr.Predicted})
	}
	if math.IsInf(lo, 1) {
		return fmt.Errorf("%w: validation %s: no positive values", ErrNoData, name)
	}
	if hi <= lo*1.01 {
		lo, hi = lo/1.5, hi*1.5
	}
	setLog(&p.X, lo, hi)
	setLog(&p.Y, lo, hi)
	p.Title.Text = fmt.Sprintf("%s: MAPE %.1f%%, median APE %.1f%%, n=%d", name, t.Overall.MAPE, t.Overall.MedianAPE, t.Overall.Count)
	p.X.Label.Text = fmt.Sprintf("measured mean %s (ms, log scale)", name)
	p.Y.Label.Text = fmt.Sprintf("predicted mean %s (ms, log scale)", name)
	diag, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: p.X.Min}, {X: p.X.Max, Y: p.X.Max}})
	if err != nil {
		return err
	}
	diag.LineStyle = draw.LineStyle{Color: dark, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	p.Add(diag)
	f.addLegend("y = x", diag)
	for _, g := range t.Groups {
		pts := byGroup[g.Group]
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("plots: validation group %s: %w", g.Group, err)
		}
		i := colour[g.Group]
		c := palette[i%len(palette)]
		sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(4), Shape: glyphs[(i/len(palette))%len(glyphs)]}
		p.Add(sc)
		if !slices.ContainsFunc(f.series, func(s series) bool { return s.Name == g.Group }) {
			f.addLegend(names[g.Group], sc)
			f.add(series{g.Group, c})
		}
	}
	return nil
}
