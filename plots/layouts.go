package plots

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lodsim/lodsim/analysis"
)

// layoutPanels are the panels of the layout comparison figure: the metric
// each draws against the rate scale, and whether its axis is logarithmic
// when the values span decades (TTFT explodes once a pool saturates).
var layoutPanels = []struct {
	title, unit string
	value       func(p analysis.LayoutPoint) float64
	logIfWide   bool
	bound       func(c *analysis.LayoutComparison) float64 // the SLO's, drawn dotted; 0: none
}{
	{"Goodput (SLO met)", "requests/s", func(p analysis.LayoutPoint) float64 { return p.GoodputPerS }, false, nil},
	{"TTFT p99", "ms", func(p analysis.LayoutPoint) float64 { return p.TTFTP99Ms }, true,
		func(c *analysis.LayoutComparison) float64 { return c.SLOTTFTMs }},
	{"TPOT p99", "ms", func(p analysis.LayoutPoint) float64 { return p.TPOTP99Ms }, false,
		func(c *analysis.LayoutComparison) float64 { return c.SLOTPOTMs }},
}

// LayoutGoodput draws cluster layouts side by side against the load (the
// workload's rate scale): goodput under the SLO, TTFT p99 and TPOT p99,
// one line per layout in every panel, each layout's completed requests per
// second dashed beside its goodput.
func LayoutGoodput(w io.Writer, c *analysis.LayoutComparison) error {
	f, err := layoutGoodputFigure(c)
	if err != nil {
		return err
	}
	return f.render(w)
}

func layoutGoodputFigure(c *analysis.LayoutComparison) (*figure, error) {
	if c == nil || len(c.Layouts) == 0 {
		return nil, fmt.Errorf("%w: layout goodput: no layouts", ErrNoData)
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("plots: layout goodput: %w", err)
	}
	f := newFigure(c.Title, 15, 5, 1, len(layoutPanels))
	for i, panel := range layoutPanels {
		p := f.grid[0][i]
		p.Title.Text = panel.title
		p.X.Label.Text = "rate scale (x the trace's arrival rate)"
		p.Y.Label.Text = panel.unit
		var all []float64
		for g, l := range c.Layouts {
			xy := make(plotter.XYs, len(l.Points))
			for j, pt := range l.Points {
				xy[j] = plotter.XY{X: pt.RateScale, Y: panel.value(pt)}
				all = append(all, xy[j].Y)
			}
			col := palette[g%len(palette)]
			line, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, fmt.Errorf("plots: layout goodput: %s: %w", l.Label, err)
			}
			line.LineStyle = lineStyle(col, false)
			pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(line, pts)
			if i == 0 {
				f.addLegend(l.Label, line, pts)
				f.add(series{l.Label, col})
				if err := addThroughput(p, l, col); err != nil {
					return nil, err
				}
			}
		}
		if panel.bound != nil && panel.bound(c) > 0 {
			b := panel.bound(c)
			xs := c.RateScales()
			line, err := plotter.NewLine(plotter.XYs{{X: xs[0], Y: b}, {X: xs[len(xs)-1], Y: b}})
			if err != nil {
				return nil, fmt.Errorf("plots: layout goodput: SLO: %w", err)
			}
			line.LineStyle = draw.LineStyle{Color: dark, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(2), vg.Points(3)}}
			p.Add(line)
			all = append(all, b)
		}
		layoutY(p, all, panel.logIfWide)
	}
	return f, nil
}

// layoutY sets a panel's y axis for its values vs: logarithmic when
// logIfWide and they span decades, else linear from 0.
func layoutY(p *plot.Plot, vs []float64, logIfWide bool) {
	if !logIfWide || !spansDecades(vs...) {
		p.Y.Min = 0
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	setLog(&p.Y, lo, hi)
}

// addThroughput draws layout l's completed requests per second, dashed:
// the gap to its goodput is the traffic served outside the SLO.
func addThroughput(p *plot.Plot, l analysis.Layout, col colorRGBA) error {
	xy := make(plotter.XYs, len(l.Points))
	for j, pt := range l.Points {
		xy[j] = plotter.XY{X: pt.RateScale, Y: pt.RequestsPerS}
	}
	line, err := plotter.NewLine(xy)
	if err != nil {
		return fmt.Errorf("plots: layout goodput: %s: %w", l.Label, err)
	}
	line.LineStyle = lineStyle(col, true)
	p.Add(line)
	return nil
}
