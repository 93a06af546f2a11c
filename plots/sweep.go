package plots

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/lodsim/lodsim/analysis"
)

// SweepAccuracy draws figure 3 for a whole sweep: the relative error (%) of
// each headline metric of the other level of detail against the reference,
// one bar colour per configuration, so that the accuracy lost can be read
// across TP degrees at a glance. Metrics a comparison cannot define (no
// completed request) are left out. When every error is 0 (the levels agree
// exactly, as they do without variability or contention) there is nothing
// to show and it returns ErrNoData.
func SweepAccuracy(w io.Writer, s *analysis.Sweep) error {
	f, err := sweepAccuracyFigure(s)
	if err != nil {
		return err
	}
	return f.render(w)
}

func sweepAccuracyFigure(s *analysis.Sweep) (*figure, error) {
	if s == nil || len(s.Comparisons) == 0 {
		return nil, fmt.Errorf("%w: accuracy across the sweep: empty sweep", ErrNoData)
	}
	titles, metrics := analysis.Headline()
	n := len(s.Comparisons)
	first := &s.Comparisons[0]
	f := newFigure(fmt.Sprintf("Relative error of %s vs %s LoD, by configuration", first.LoD, first.RefLoD), 10, 5.5, 1, 1)
	p := f.grid[0][0]
	p.Y.Label.Text = "relative error (%)"
	p.X.Label.Text = "metric"
	width := 0.8 / float64(n)
	lim := 0.0
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		b := &bars{Width: width, Color: palette[i%len(palette)]}
		for j, m := range metrics {
			e, ok := c.Metric(m)
			if !ok || math.IsNaN(e.RelErr) || math.IsInf(e.RelErr, 0) {
				continue
			}
			b.X = append(b.X, float64(j)-0.4+width*(float64(i)+0.5))
			b.Y = append(b.Y, 100*e.RelErr)
			lim = math.Max(lim, math.Abs(100*e.RelErr))
		}
		p.Add(b)
		name := c.Label
		f.addLegend(name, b)
		f.add(series{name, b.Color})
	}
	if lim == 0 {
		// Every level agrees exactly (no variability, no contention):
		// a figure of empty bars would say nothing.
		return nil, fmt.Errorf("%w: accuracy across the sweep: every relative error is 0", ErrNoData)
	}
	zero, err := plotter.NewLine(plotter.XYs{{X: -0.6, Y: 0}, {X: float64(len(metrics)) - 0.4, Y: 0}})
	if err != nil {
		return nil, err
	}
	zero.LineStyle = lineStyle(dark, false)
	zero.LineStyle.Width = vg.Points(1)
	p.Add(zero)
	p.NominalX(titles...)
	p.X.Min, p.X.Max = -0.6, float64(len(metrics))-0.4
	p.Y.Min, p.Y.Max = -lim*1.1, lim*1.1
	return f, nil
}
