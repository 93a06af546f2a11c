package plots

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lodsim/lodsim/analysis"
)

// Calibration draws figure 6: predicted against measured values, one
// colour per group with its MAPE in the legend, and the y = x line a
// perfect model would sit on. Axes are log-log when the values span
// decades; points with a non-positive value cannot be placed there and are
// left out (they still count in the table). unit labels the axes, e.g.
// "us" for kernel times or "ms" for validation latencies.
func Calibration(w io.Writer, t *analysis.AccuracyTable, title, unit string) error {
	f, err := calibrationFigure(t, title, unit)
	if err != nil {
		return err
	}
	return f.render(w)
}

var glyphs = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.SquareGlyph{}, draw.TriangleGlyph{}}

func calibrationFigure(t *analysis.AccuracyTable, title, unit string) (*figure, error) {
	if t == nil || len(t.Pairs) == 0 {
		return nil, fmt.Errorf("%w: calibration: no pairs", ErrNoData)
	}
	if title == "" {
		title = "Predicted vs measured"
	}
	var all []float64
	for _, p := range t.Pairs {
		all = append(all, p.Measured, p.Predicted)
	}
	useLog := spansDecades(all...)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range all {
		if math.IsNaN(v) || math.IsInf(v, 0) || (useLog && v <= 0) {
			continue
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	if math.IsInf(lo, 1) {
		return nil, fmt.Errorf("%w: calibration: no finite values", ErrNoData)
	}
	f := newFigure(title, 8, 7.5, 1, 1)
	p := f.grid[0][0]
	p.X.Label.Text = fmt.Sprintf("measured (%s)", unit)
	p.Y.Label.Text = fmt.Sprintf("predicted (%s)", unit)
	if useLog {
		setLog(&p.X, lo, hi)
		setLog(&p.Y, lo, hi)
		p.X.Label.Text += ", log scale"
		p.Y.Label.Text += ", log scale"
	} else {
		pad := 0.05 * (hi - lo)
		if pad == 0 {
			pad = math.Max(math.Abs(hi)*0.05, 1)
		}
		p.X.Min, p.X.Max = lo-pad, hi+pad
		p.Y.Min, p.Y.Max = lo-pad, hi+pad
	}
	diag, err := plotter.NewLine(plotter.XYs{{X: p.X.Min, Y: p.X.Min}, {X: p.X.Max, Y: p.X.Max}})
	if err != nil {
		return nil, err
	}
	diag.LineStyle = draw.LineStyle{Color: dark, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	p.Add(diag)
	f.addLegend("y = x (perfect prediction)", diag)

	byGroup := map[string]plotter.XYs{}
	for _, pr := range t.Pairs {
		if math.IsNaN(pr.Measured) || math.IsNaN(pr.Predicted) || math.IsInf(pr.Measured, 0) || math.IsInf(pr.Predicted, 0) {
			continue
		}
		if useLog && (pr.Measured <= 0 || pr.Predicted <= 0) {
			continue
		}
		byGroup[pr.Group] = append(byGroup[pr.Group], plotter.XY{X: pr.Measured, Y: pr.Predicted})
	}
	for i, g := range t.Groups {
		pts := byGroup[g.Group]
		if len(pts) == 0 {
			continue
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("plots: calibration group %s: %w", g.Group, err)
		}
		c := palette[i%len(palette)]
		sc.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3.5), Shape: glyphs[(i/len(palette))%len(glyphs)]}
		p.Add(sc)
		name := fmt.Sprintf("%s (MAPE %.1f%%, n=%d)", g.Group, g.MAPE, g.Count)
		if g.Group == "" {
			name = fmt.Sprintf("MAPE %.1f%%, n=%d", g.MAPE, g.Count)
		}
		f.addLegend(name, sc)
		f.add(series{name, c})
	}
	if len(t.Groups) > 1 {
		p.Title.Text = fmt.Sprintf("overall MAPE %.1f%%, median APE %.1f%%, n=%d", t.Overall.MAPE, t.Overall.MedianAPE, t.Overall.Count)
	}
	return f, nil
}
