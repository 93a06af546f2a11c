package plots

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/lodsim/lodsim/analysis"
)

// LatencyCDF draws figure 4: the TTFT, TPOT and E2E distributions of one
// run's completed requests, with each one's p50 and p99 in the legend.
func LatencyCDF(w io.Writer, run *analysis.Run) error {
	f, err := latencyCDFFigure(run)
	if err != nil {
		return err
	}
	return f.render(w)
}

func runTitle(run *analysis.Run) string {
	switch {
	case run.Label != "" && run.LoD != "":
		return fmt.Sprintf("%s, %s LoD", run.Label, run.LoD)
	case run.LoD != "":
		return run.LoD + " LoD"
	}
	return run.Label
}

func latencyCDFFigure(run *analysis.Run) (*figure, error) {
	if run == nil {
		return nil, fmt.Errorf("%w: latency CDF: no run", ErrNoData)
	}
	lat := analysis.Latencies(run.Results)
	if len(lat.TTFT.X) == 0 {
		return nil, fmt.Errorf("%w: latency CDF of %s: no completed requests", ErrNoData, run.Name())
	}
	f := newFigure("Latency distributions — "+runTitle(run), 9, 6, 1, 1)
	p := f.grid[0][0]
	s := &run.Summary
	name := func(metric string, d analysis.Dist) string {
		return fmt.Sprintf("%s (p50 %s ms, p99 %s ms)", metric, short(d.P50), short(d.P99))
	}
	curves := []namedCDF{
		{name("TTFT", s.TTFT), lat.TTFT, green, false},
		{name("TPOT", s.TPOT), lat.TPOT, purple, false},
		{name("E2E", s.E2E), lat.E2E, orange, false},
	}
	if err := cdfPanel(f, p, "latency", curves); err != nil {
		return nil, err
	}
	for _, c := range curves {
		if len(c.cdf.X) > 0 {
			f.add(series{c.name, c.color})
		}
	}
	return f, nil
}

// short prints a latency with three significant figures.
func short(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// TimeSeries draws figure 5: output throughput, queue length, running
// sequences and batch size, and KV-cache utilisation over simulated time,
// as four panels sharing the time axis.
func TimeSeries(w io.Writer, run *analysis.Run) error {
	f, err := timeSeriesFigure(run)
	if err != nil {
		return err
	}
	return f.render(w)
}

func timeSeriesFigure(run *analysis.Run) (*figure, error) {
	if run == nil {
		return nil, fmt.Errorf("%w: time series: no run", ErrNoData)
	}
	ts := analysis.Series(run.Stats)
	if ts.Len() == 0 {
		return nil, fmt.Errorf("%w: time series of %s: no samples", ErrNoData, run.Name())
	}
	f := newFigure("Cluster state over simulated time — "+runTitle(run), 10, 10, 4, 1)
	kvPct := make([]float64, ts.Len())
	for i, v := range ts.KVUtil {
		kvPct[i] = 100 * v
	}
	panels := []struct {
		ylabel string
		lines  []struct {
			name   string
			y      []float64
			color  colorRGBA
			dashed bool
		}
		yMax float64
	}{
		{ylabel: "output (tokens/s)", lines: []struct {
			name   string
			y      []float64
			color  colorRGBA
			dashed bool
		}{{"output tokens/s (cluster)", ts.OutputTokensPerS, green, false}}},
		{ylabel: "waiting (requests)", lines: []struct {
			name   string
			y      []float64
			color  colorRGBA
			dashed bool
		}{{"waiting requests (cluster total)", ts.Waiting, vermilion, false}}},
		{ylabel: "sequences", lines: []struct {
			name   string
			y      []float64
			color  colorRGBA
			dashed bool
		}{{"running sequences (cluster total)", ts.Running, blue, false}, {"batch size (mean per replica step)", ts.BatchSize, skyBlue, true}}},
		{ylabel: "KV cache used (%)", yMax: 100, lines: []struct {
			name   string
			y      []float64
			color  colorRGBA
			dashed bool
		}{{"KV cache used (cluster, pooled)", kvPct, purple, false}}},
	}
	for r, pn := range panels {
		p := f.grid[r][0]
		p.Y.Label.Text = pn.ylabel
		p.X.Min, p.X.Max = 0, ts.TimeS[ts.Len()-1]
		if r == len(panels)-1 {
			p.X.Label.Text = "simulated time (s)"
		}
		top := 0.0
		for _, ln := range pn.lines {
			l, err := plotter.NewLine(xys(ts.TimeS, ln.y))
			if err != nil {
				return nil, fmt.Errorf("plots: time series %s: %w", ln.name, err)
			}
			l.LineStyle = lineStyle(ln.color, ln.dashed)
			l.LineStyle.Width = 1.6
			p.Add(l)
			f.addLegend(ln.name, l)
			f.add(series{ln.name, ln.color})
			for _, v := range ln.y {
				top = max(top, v)
			}
		}
		p.Y.Min = 0
		p.Y.Max = max(top*1.05, 1)
		if pn.yMax > 0 {
			p.Y.Max = pn.yMax // a fixed scale: KV utilisation up to 100%
		}
	}
	return f, nil
}

var _ plot.Plotter = (*bars)(nil)
