package plots

import (
	"fmt"
	"io"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/lodsim/lodsim/analysis"
)

// AccuracyOverlay draws figure 3 for one configuration compared at several
// levels of detail against one reference (`lodsim compare --lods
// high,medium,adaptive`): the TTFT and E2E CDFs of every level overlaid,
// and each level's relative error against the reference for the headline
// metrics as grouped bars, one series per level.
func AccuracyOverlay(w io.Writer, cs []*analysis.Comparison) error {
	f, err := accuracyOverlayFigure(cs)
	if err != nil {
		return err
	}
	return f.render(w)
}

func accuracyOverlayFigure(cs []*analysis.Comparison) (*figure, error) {
	if len(cs) == 0 || cs[0] == nil || len(cs[0].RefCDFs.TTFT.X) == 0 {
		return nil, fmt.Errorf("%w: accuracy overlay: no completed requests", ErrNoData)
	}
	ref := cs[0]
	for _, c := range cs[1:] {
		if c.Label != ref.Label || c.RefLoD != ref.RefLoD {
			return nil, fmt.Errorf("plots: accuracy overlay: comparison %s vs %s of %q beside %s of %q, expected one configuration against one reference",
				c.LoD, c.RefLoD, c.Label, ref.RefLoD, ref.Label)
		}
	}
	f := newFigure(fmt.Sprintf("Accuracy vs %s LoD — %s", ref.RefLoD, ref.Label), 16, 5.5, 1, 3)
	colors := []colorRGBA{lodColor(0, ref.RefLoD)}
	for i, c := range cs {
		colors = append(colors, lodColor(i+1, c.LoD))
	}
	for i, panel := range []string{"TTFT", "E2E latency"} {
		pick := func(l analysis.LatencyCDFs) analysis.CDF {
			if i == 0 {
				return l.TTFT
			}
			return l.E2E
		}
		curves := []namedCDF{{ref.RefLoD, pick(ref.RefCDFs), colors[0], false}}
		for j, c := range cs {
			curves = append(curves, namedCDF{c.LoD, pick(c.CDFs), colors[j+1], true})
		}
		p := f.grid[0][i]
		p.Title.Text = panel + " CDF"
		if err := cdfPanel(f, p, panel, curves); err != nil {
			return nil, err
		}
	}
	f.add(series{ref.RefLoD, colors[0]})
	p := f.grid[0][2]
	p.Title.Text = "Relative error vs " + ref.RefLoD
	p.X.Label.Text = "relative error (%)"
	n := len(accuracyMetrics)
	names := make([]string, n)
	lim := 0.0
	width := vg.Points(28 / float64(len(cs)))
	for j, c := range cs {
		vals := make(plotter.Values, n)
		for i, m := range accuracyMetrics {
			k := n - 1 - i // the first metric at the top
			names[k] = m.title
			if e, ok := c.Metric(m.metric); ok && !math.IsNaN(e.RelErr) {
				vals[k] = 100 * e.RelErr
				lim = max(lim, math.Abs(vals[k]))
			}
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bc.Horizontal = true
		bc.Color = colors[j+1]
		bc.LineStyle.Width = vg.Points(0.4)
		bc.Offset = width * vg.Length(float64(j)-float64(len(cs)-1)/2)
		p.Add(bc)
		f.add(series{c.LoD, colors[j+1]})
	}
	if err := zeroAxis(p, n, names, lim, 1.15); err != nil {
		return nil, err
	}
	return f, nil
}
