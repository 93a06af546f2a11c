package plots

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lodsim/lodsim/analysis/sweep"
)

// frontierLabels is how many frontier points get their configuration
// written beside them; more would overlap.
const frontierLabels = 8

var grey = color.RGBA{0xA0, 0xA0, 0xA0, 0xFF}

// Frontier draws one panel per frontier (throughput per GPU against a
// latency): points missing the SLO in grey, points meeting it in green,
// the Pareto frontier as a vermilion line with its configurations named.
func Frontier(w io.Writer, fs []sweep.FrontierPlot) error {
	f, err := frontierFigure(fs)
	if err != nil {
		return err
	}
	return f.render(w)
}

func frontierFigure(fs []sweep.FrontierPlot) (*figure, error) {
	if len(fs) == 0 {
		return nil, fmt.Errorf("%w: frontier: no panels", ErrNoData)
	}
	f := newFigure("Throughput per GPU against tail latency (Pareto frontier)", 7*float64(len(fs)), 6.5, 1, len(fs))
	for i, fp := range fs {
		if len(fp.Frontier) == 0 {
			return nil, fmt.Errorf("%w: frontier %s: no point ran", ErrNoData, fp.Latency)
		}
		p := f.grid[0][i]
		p.Title.Text = "output tok/s per GPU vs " + fp.Latency
		p.X.Label.Text = fp.Latency + " (ms)"
		p.Y.Label.Text = "output tokens/s per GPU"
		var xs []float64
		for _, set := range [][]sweep.XY{fp.Meets, fp.Misses} {
			for _, q := range set {
				xs = append(xs, q.X)
			}
		}
		logX := spansDecades(xs...)
		if logX {
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, x := range xs {
				if x > 0 {
					lo, hi = min(lo, x), max(hi, x)
				}
			}
			setLog(&p.X, lo, hi)
		}
		for _, s := range []struct {
			name string
			pts  []sweep.XY
			c    color.RGBA
		}{{"misses SLO", fp.Misses, grey}, {"meets SLO", fp.Meets, green}} {
			xy := drawable(s.pts, logX)
			if len(xy) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("plots: frontier: %w", err)
			}
			sc.GlyphStyle = draw.GlyphStyle{Color: s.c, Radius: vg.Points(3.5), Shape: draw.CircleGlyph{}}
			p.Add(sc)
			f.addLegend(s.name, sc)
			if i == 0 {
				f.add(series{s.name, s.c})
			}
		}
		xy := drawable(fp.Frontier, logX)
		var labelOf []string // the labels of the points drawable kept
		for _, q := range fp.Frontier {
			if keep(q, logX) {
				labelOf = append(labelOf, q.Label)
			}
		}
		if len(xy) == 0 {
			return nil, fmt.Errorf("%w: frontier %s: no point has a latency to draw", ErrNoData, fp.Latency)
		}
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return nil, fmt.Errorf("plots: frontier: %w", err)
		}
		line.LineStyle = lineStyle(vermilion, false)
		pts.GlyphStyle = draw.GlyphStyle{Color: vermilion, Radius: vg.Points(4.5), Shape: draw.RingGlyph{}}
		p.Add(line, pts)
		f.addLegend("Pareto frontier", line, pts)
		if i == 0 {
			f.add(series{"Pareto frontier", vermilion})
		}
		// Name frontier points from the highest throughput down, skipping
		// any closer than 5% of the axis to the last one named, so names
		// do not overprint where the frontier bunches up.
		var texts []string
		var lx, ly []float64
		lo, hi := xy[0].Y, xy[len(xy)-1].Y
		for k := len(xy) - 1; k >= 0 && len(texts) < frontierLabels; k-- {
			if len(ly) > 0 && ly[len(ly)-1]-xy[k].Y < 0.05*(hi-lo) {
				continue
			}
			texts = append(texts, labelOf[k])
			lx, ly = append(lx, xy[k].X), append(ly, xy[k].Y)
		}
		lb, err := labels(lx, ly, texts, vg.Points(7))
		if err != nil {
			return nil, err
		}
		p.Add(lb)
	}
	return f, nil
}

// drawable drops points a log axis cannot show.
func drawable(pts []sweep.XY, logX bool) plotter.XYs {
	out := make(plotter.XYs, 0, len(pts))
	for _, q := range pts {
		if keep(q, logX) {
			out = append(out, plotter.XY{X: q.X, Y: q.Y})
		}
	}
	return out
}

func keep(q sweep.XY, logX bool) bool {
	return !math.IsNaN(q.X) && !math.IsNaN(q.Y) && !(logX && q.X <= 0)
}

// SweepMetrics draws each metric against the main swept key, one panel
// per metric and one line per group (a value of the second swept key),
// each point the best over the remaining keys.
func SweepMetrics(w io.Writer, kps []sweep.KeyPlot) error {
	f, err := sweepMetricsFigure(kps)
	if err != nil {
		return err
	}
	return f.render(w)
}

func sweepMetricsFigure(kps []sweep.KeyPlot) (*figure, error) {
	if len(kps) == 0 {
		return nil, fmt.Errorf("%w: sweep metrics: no metrics", ErrNoData)
	}
	cols := min(3, len(kps))
	rows := (len(kps) + cols - 1) / cols
	title := "Metrics against " + kps[0].Key
	if kps[0].Group != "" {
		title += " by " + kps[0].Group
	}
	f := newFigure(title+" (best over the other keys)", 5.5*float64(cols), 4.5*float64(rows), rows, cols)
	drawn := 0
	for i, kp := range kps {
		p := f.grid[i/cols][i%cols]
		p.Title.Text = kp.Metric.Name
		p.X.Label.Text = kp.Key
		p.Y.Label.Text = kp.Metric.Unit
		p.X.Tick.Marker = categoryTicks(kp.Ticks)
		p.X.Min, p.X.Max = -0.3, float64(len(kp.Ticks))-0.7
		for g, grp := range kp.Groups {
			var xy plotter.XYs
			for x, y := range grp.Y {
				if !math.IsNaN(y) && !math.IsInf(y, 0) {
					xy = append(xy, plotter.XY{X: float64(x), Y: y})
				}
			}
			if len(xy) == 0 {
				continue
			}
			line, pts, err := plotter.NewLinePoints(xy)
			if err != nil {
				return nil, fmt.Errorf("plots: sweep metrics: %w", err)
			}
			c := palette[g%len(palette)]
			line.LineStyle = lineStyle(c, g >= len(palette))
			pts.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
			p.Add(line, pts)
			f.addLegend(grp.Name, line, pts)
			if i == 0 {
				f.add(series{grp.Name, c})
			}
			drawn++
		}
	}
	// Unused tiles of the grid stay empty.
	for i := len(kps); i < rows*cols; i++ {
		f.grid[i/cols][i%cols] = nil
	}
	if drawn == 0 {
		return nil, fmt.Errorf("%w: sweep metrics: no point ran", ErrNoData)
	}
	return f, nil
}

// categoryTicks labels x = 0, 1, ... with the key's values.
type categoryTicks []string

func (c categoryTicks) Ticks(lo, hi float64) []plot.Tick {
	out := make([]plot.Tick, len(c))
	for i, s := range c {
		out[i] = plot.Tick{Value: float64(i), Label: s}
	}
	return out
}
