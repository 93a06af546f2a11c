package plots

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/lodsim/lodsim/analysis"
)

// EventReduction draws figure 1: the events each level of detail processed
// for each configuration of the sweep, as grouped bars on a log scale, with
// the reduction factor over each group.
func EventReduction(w io.Writer, s *analysis.Sweep) error {
	f, err := eventReductionFigure(s)
	if err != nil {
		return err
	}
	return f.render(w)
}

// SpeedUp draws figure 2: the simulation wall time of each level of detail
// for each configuration, as grouped bars (log scale when the times span
// decades), with the speed-up over each group. When every comparison was
// repeated and one level is compared with the reference, it draws
// SpeedUpSpread: medians with their range.
func SpeedUp(w io.Writer, s *analysis.Sweep) error {
	if walls := repeatedWalls(s); walls != nil {
		return SpeedUpSpread(w, walls)
	}
	f, err := speedUpFigure(s)
	if err != nil {
		return err
	}
	return f.render(w)
}

// repeatedWalls returns the wall times of every comparison of s when each
// has repetitions and all compare the same level; nil otherwise.
func repeatedWalls(s *analysis.Sweep) []analysis.WallTimes {
	if s == nil || len(s.Comparisons) == 0 {
		return nil
	}
	var walls []analysis.WallTimes
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		if c.Walls == nil || c.LoD != s.Comparisons[0].LoD {
			return nil
		}
		walls = append(walls, *c.Walls)
	}
	return walls
}

// SpeedUpSpread draws figure 2 from repeated runs: for each configuration
// the median wall time of each level of detail as a bar, the range over
// the repetitions as a whisker, and the median speed-up with its range
// over each group. Wall times swing with the machine's load, so a paper
// should show this rather than SpeedUp's single runs.
func SpeedUpSpread(w io.Writer, walls []analysis.WallTimes) error {
	f, err := speedUpSpreadFigure(walls)
	if err != nil {
		return err
	}
	return f.render(w)
}

func speedUpSpreadFigure(walls []analysis.WallTimes) (*figure, error) {
	const title = "Simulation wall time per level of detail"
	if len(walls) == 0 {
		return nil, fmt.Errorf("%w: %s: no configurations", ErrNoData, title)
	}
	n := len(walls)
	reps := 0
	for i := range walls {
		wt := &walls[i]
		if len(wt.RefNs) == 0 || len(wt.Ns) == 0 {
			return nil, fmt.Errorf("%w: %s: configuration %s has no repetitions", ErrNoData, title, wt.Label)
		}
		reps = max(reps, len(wt.RefNs), len(wt.Ns))
	}
	f := newFigure(fmt.Sprintf("%s (median of %d runs, whiskers: min to max)", title, reps), math.Max(7, 2+1.8*float64(n)), 5.5, 1, 1)
	p := f.grid[0][0]
	p.Y.Label.Text = "wall time (s)"
	p.X.Label.Text = "configuration"
	ref, oth := spreadBars(walls)
	names := make([]string, n)
	var all []float64
	for i := range walls {
		names[i] = walls[i].Label
		all = append(all, ref.Lo[i], ref.Hi[i], oth.Lo[i], oth.Hi[i])
	}
	p.Add(ref, oth)
	f.addLegend(walls[0].RefLoD, ref)
	f.addLegend(walls[0].LoD, oth)
	f.add(series{walls[0].RefLoD, ref.Color})
	f.add(series{walls[0].LoD, oth.Color})
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4
	lo, hi := math.Inf(1), 0.0
	for _, v := range all {
		if v > 0 {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	if hi <= 0 {
		return nil, fmt.Errorf("%w: %s: every time is 0", ErrNoData, title)
	}
	useLog := spansDecades(all...)
	if useLog {
		setLog(&p.Y, lo, hi*3)
		p.Y.Label.Text += " (log scale)"
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.18
	}
	var lx, ly []float64
	var lt []string
	for i := range walls {
		top := max(ref.Hi[i], oth.Hi[i])
		y := top + 0.03*hi
		if useLog {
			y = top * 1.25
		}
		su := walls[i].SpeedUp()
		lx, ly = append(lx, float64(i)), append(ly, y)
		if su.N == 0 {
			lt = append(lt, "n/a")
			continue
		}
		lt = append(lt, fmt.Sprintf("%s× faster (%s–%s)", trimFactor(su.Median), trimFactor(su.Min), trimFactor(su.Max)))
	}
	l, err := labels(lx, ly, lt, 10)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	return f, nil
}

// spreadBars makes the bars of SpeedUpSpread: the median wall time of
// each level, in seconds, with the range as whiskers.
func spreadBars(walls []analysis.WallTimes) (ref, oth *bars) {
	const barW = 0.36
	ref = &bars{Width: barW, Color: lodColor(0, walls[0].RefLoD)}
	oth = &bars{Width: barW, Color: lodColor(1, walls[0].LoD)}
	for i := range walls {
		wt := &walls[i]
		for _, b := range []struct {
			bars *bars
			s    analysis.Spread
			dx   float64
		}{{ref, wt.RefSeconds(), -barW / 2}, {oth, wt.Seconds(), barW / 2}} {
			b.bars.X = append(b.bars.X, float64(i)+b.dx)
			b.bars.Y = append(b.bars.Y, b.s.Median)
			b.bars.Lo = append(b.bars.Lo, b.s.Min)
			b.bars.Hi = append(b.bars.Hi, b.s.Max)
		}
	}
	return ref, oth
}

func eventReductionFigure(s *analysis.Sweep) (*figure, error) {
	return lodBars(s, "Events per level of detail", "events processed",
		func(c *analysis.Comparison) (float64, float64) { return float64(c.RefEvents), float64(c.Events) },
		func(c *analysis.Comparison) float64 { return c.Reduction }, "fewer events", true)
}

func speedUpFigure(s *analysis.Sweep) (*figure, error) {
	return lodBars(s, "Simulation wall time per level of detail", "wall time (s)",
		func(c *analysis.Comparison) (float64, float64) {
			return float64(c.RefWallNs) / 1e9, float64(c.WallNs) / 1e9
		},
		func(c *analysis.Comparison) float64 { return c.SpeedUp }, "faster", false)
}

// lodBars draws one group of bars per configuration, one bar per level
// of detail (the reference and every level compared with it, as in
// `lodsim compare --lods high,medium,adaptive`), labelled with the ratio of
// the reference to each other level: over the group when there is one
// other level, over each bar when there are several.
func lodBars(s *analysis.Sweep, title, ylabel string, value func(*analysis.Comparison) (float64, float64),
	ratio func(*analysis.Comparison) float64, ratioWord string, forceLog bool) (*figure, error) {
	if s == nil || len(s.Comparisons) == 0 {
		return nil, fmt.Errorf("%w: %s: empty sweep", ErrNoData, title)
	}
	groups, lods := lodGroups(s)
	n, k := len(groups), len(lods)
	if k > 2 {
		title += fmt.Sprintf(" (labels: × %s than %s)", ratioWord, lods[0])
	}
	f := newFigure(title, math.Max(6, 2+(0.75*float64(k))*float64(n)), 5.5, 1, 1)
	p := f.grid[0][0]
	p.Y.Label.Text = ylabel
	p.X.Label.Text = "configuration"

	barW := 0.72 / float64(k)
	bs := make([]*bars, k)
	for j, l := range lods {
		bs[j] = &bars{Width: barW, Color: lodColor(j, l)}
	}
	names := make([]string, n)
	var all []float64
	hi := 0.0
	var lx, ly, tops []float64
	var lcs []*analysis.Comparison
	for i, g := range groups {
		names[i] = g.label
		top := 0.0
		for j, c := range g.byLoD {
			if c == nil {
				continue
			}
			a, b := value(c)
			v := b
			if j == 0 {
				v = a
			}
			x := float64(i) + (float64(j)-float64(k-1)/2)*barW
			bs[j].X, bs[j].Y = append(bs[j].X, x), append(bs[j].Y, v)
			all = append(all, v)
			hi, top = max(hi, v), max(top, v)
			if j > 0 && k > 2 {
				lx, tops, lcs = append(lx, x), append(tops, v), append(lcs, c)
			}
		}
		if k == 2 {
			lx, tops, lcs = append(lx, float64(i)), append(tops, top), append(lcs, g.byLoD[1])
		}
	}
	if hi <= 0 {
		return nil, fmt.Errorf("%w: %s: every value is 0", ErrNoData, title)
	}
	for j, b := range bs {
		p.Add(b)
		f.addLegend(lods[j], b)
		f.add(series{lods[j], b.Color})
	}
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.6, float64(n)-0.4

	lo := math.Inf(1)
	for _, v := range all {
		if v > 0 {
			lo = min(lo, v)
		}
	}
	useLog := forceLog || spansDecades(all...)
	// Labels sit above the taller bar of each group; leave headroom for them.
	if useLog {
		setLog(&p.Y, lo, hi*3) // room for the ratio labels
		p.Y.Label.Text += " (log scale)"
	} else {
		p.Y.Min, p.Y.Max = 0, hi*1.12 // room for the ratio labels
	}
	var lt []string
	for i, c := range lcs {
		y := tops[i] + 0.03*hi
		if useLog {
			y = tops[i] * 1.25
		}
		ly = append(ly, y)
		r := 0.0
		if c != nil {
			r = ratio(c)
		}
		switch {
		case r <= 0:
			lt = append(lt, "n/a")
		case k > 2:
			lt = append(lt, trimFactor(r)+"×")
		default:
			lt = append(lt, fmt.Sprintf("%s× %s", trimFactor(r), ratioWord))
		}
	}
	size := vg.Length(11)
	if k > 2 {
		size = 8
	}
	l, err := labels(lx, ly, lt, size)
	if err != nil {
		return nil, err
	}
	p.Add(l)
	return f, nil
}

// lodGroup is one configuration's comparisons, by level of detail (index
// 0, the reference, holds the first comparison, whose Ref values it draws).
type lodGroup struct {
	label string
	byLoD []*analysis.Comparison
}

// lodGroups groups the sweep's comparisons by configuration, in order of
// appearance, and lists the levels of detail: the reference, then the
// others in order of appearance.
func lodGroups(s *analysis.Sweep) ([]lodGroup, []string) {
	lods := []string{s.Comparisons[0].RefLoD}
	at := map[string]int{lods[0]: 0}
	for i := range s.Comparisons {
		if l := s.Comparisons[i].LoD; !slices.Contains(lods, l) {
			at[l] = len(lods)
			lods = append(lods, l)
		}
	}
	var groups []lodGroup
	idx := map[string]int{}
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		gi, ok := idx[c.Label]
		if !ok {
			gi = len(groups)
			idx[c.Label] = gi
			groups = append(groups, lodGroup{label: c.Label, byLoD: make([]*analysis.Comparison, len(lods))})
		}
		g := &groups[gi]
		if g.byLoD[0] == nil {
			g.byLoD[0] = c
		}
		g.byLoD[at[c.LoD]] = c
	}
	return groups, lods
}

// trimFactor prints a ratio with three significant figures.
func trimFactor(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.2f", r)
}

// Accuracy draws figure 3 for one configuration: the TTFT and E2E CDFs of
// both levels of detail overlaid, and the relative error of the other level
// against the reference for the headline latency and throughput metrics.
func Accuracy(w io.Writer, c *analysis.Comparison) error {
	f, err := accuracyFigure(c)
	if err != nil {
		return err
	}
	return f.render(w)
}

// accuracyMetrics are the bars of the relative-error panel, top to bottom.
var accuracyMetrics = []struct{ title, metric string }{
	{"TTFT mean", "ttft_mean_ms"}, {"TTFT p50", "ttft_p50_ms"}, {"TTFT p99", "ttft_p99_ms"},
	{"TPOT mean", "tpot_mean_ms"}, {"TPOT p50", "tpot_p50_ms"}, {"TPOT p99", "tpot_p99_ms"},
	{"E2E mean", "e2e_mean_ms"}, {"E2E p50", "e2e_p50_ms"}, {"E2E p99", "e2e_p99_ms"},
	{"requests/s", "requests_per_s"}, {"output tokens/s", "output_tokens_per_s"},
}

func accuracyFigure(c *analysis.Comparison) (*figure, error) {
	if c == nil || (len(c.RefCDFs.TTFT.X) == 0 && len(c.CDFs.TTFT.X) == 0) {
		return nil, fmt.Errorf("%w: accuracy: no completed requests", ErrNoData)
	}
	title := fmt.Sprintf("Accuracy of %s vs %s LoD — %s", c.LoD, c.RefLoD, c.Label)
	f := newFigure(title, 16, 5.5, 1, 3)
	refColor, othColor := lodColor(0, c.RefLoD), lodColor(1, c.LoD)
	for i, panel := range []struct {
		name     string
		ref, oth analysis.CDF
	}{{"TTFT", c.RefCDFs.TTFT, c.CDFs.TTFT}, {"E2E latency", c.RefCDFs.E2E, c.CDFs.E2E}} {
		p := f.grid[0][i]
		p.Title.Text = panel.name + " CDF"
		if err := cdfPanel(f, p, panel.name, []namedCDF{
			{c.RefLoD, panel.ref, refColor, false},
			{c.LoD, panel.oth, othColor, true},
		}); err != nil {
			return nil, err
		}
	}
	f.add(series{c.RefLoD, refColor})
	f.add(series{c.LoD, othColor})

	p := f.grid[0][2]
	p.Title.Text = fmt.Sprintf("Relative error of %s vs %s", c.LoD, c.RefLoD)
	p.X.Label.Text = "relative error (%)"
	n := len(accuracyMetrics)
	vals := make(plotter.Values, n)
	names := make([]string, n)
	txt := make([]string, n)
	lim := 0.0
	for i, m := range accuracyMetrics {
		// Top to bottom in list order: the first metric gets the highest y.
		j := n - 1 - i
		names[j] = m.title
		e, ok := c.Metric(m.metric)
		txt[j] = "n/a"
		if ok && !math.IsNaN(e.RelErr) {
			vals[j] = 100 * e.RelErr
			lim = max(lim, math.Abs(vals[j]))
			txt[j] = fmt.Sprintf("%+.2f%%", vals[j])
		}
	}
	bc, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, err
	}
	bc.Horizontal = true
	bc.Color = othColor
	bc.LineStyle.Width = vg.Points(0.6)
	p.Add(bc)
	// Room on both sides for the value labels.
	if err := zeroAxis(p, n, names, lim, 1.6); err != nil {
		return nil, err
	}
	ys := make([]float64, n)
	for j := range ys {
		ys[j] = float64(j)
	}
	vl, err := labels(vals, ys, txt, 10)
	if err != nil {
		return nil, err
	}
	for j := range vl.TextStyle {
		// Text starts at the end of a positive bar and ends at the end of
		// a negative one; the space keeps it off the bar.
		vl.TextStyle[j].YAlign = draw.YCenter
		vl.TextStyle[j].XAlign = draw.XLeft
		vl.Labels[j] = " " + vl.Labels[j]
		if vals[j] < 0 {
			vl.TextStyle[j].XAlign = draw.XRight
			vl.Labels[j] = txt[j] + " "
		}
	}
	p.Add(vl)
	return f, nil
}

// namedCDF is one curve of a CDF panel.
type namedCDF struct {
	name   string
	cdf    analysis.CDF
	color  colorRGBA
	dashed bool
}

// cdfPanel draws CDFs (x in ms) into p, on a log x axis when they span
// decades, with the curves in f's legend. The y axis ends at 1.
func cdfPanel(f *figure, p *plot.Plot, quantity string, curves []namedCDF) error {
	var xs []float64
	for _, c := range curves {
		xs = append(xs, c.cdf.X...)
	}
	if len(xs) == 0 {
		return fmt.Errorf("%w: %s CDF: no values", ErrNoData, quantity)
	}
	p.Y.Label.Text = "fraction of requests"
	p.X.Label.Text = quantity + " (ms)"
	p.Y.Min, p.Y.Max = 0, 1
	p.Y.Tick.Marker = cdfTicks
	useLog := spansDecades(xs...)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		if !useLog || x > 0 {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	if useLog {
		setLog(&p.X, lo, hi)
		p.X.Label.Text += ", log scale"
	}
	for _, c := range curves {
		pts := stepXYs(c.cdf, useLog)
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("plots: %s CDF %s: %w", quantity, c.name, err)
		}
		l.LineStyle = lineStyle(c.color, c.dashed)
		p.Add(l)
		f.addLegend(c.name, l)
	}
	return nil
}

// cdfTicks label the fraction axis every 0.1, with 0, 0.5 and 1 among
// them.
var cdfTicks = func() plot.ConstantTicks {
	var t plot.ConstantTicks
	for i := 0; i <= 10; i++ {
		t = append(t, plot.Tick{Value: float64(i) / 10, Label: strconv.FormatFloat(float64(i)/10, 'g', -1, 64)})
	}
	return t
}()

// stepXYs turns a CDF into the points of its staircase, dropping
// non-positive x on a log axis.
func stepXYs(c analysis.CDF, logX bool) plotter.XYs {
	pts := make(plotter.XYs, 0, 2*len(c.X))
	prev := 0.0
	for i, x := range c.X {
		if logX && x <= 0 {
			prev = c.P[i]
			continue
		}
		pts = append(pts, plotter.XY{X: x, Y: prev}, plotter.XY{X: x, Y: c.P[i]})
		prev = c.P[i]
	}
	return pts
}

// zeroAxis draws the vertical zero line of a horizontal error chart with
// n nominal rows named names, and sets the x range to ±lim×pad (±1 % when
// every error is 0, so the zero line has context).
func zeroAxis(p *plot.Plot, n int, names []string, lim, pad float64) error {
	axis, err := plotter.NewLine(plotter.XYs{{X: 0, Y: -0.6}, {X: 0, Y: float64(n) - 0.4}})
	if err != nil {
		return err
	}
	axis.LineStyle = lineStyle(dark, false)
	axis.LineStyle.Width = vg.Points(1)
	p.Add(axis)
	p.NominalY(names...)
	if lim == 0 {
		lim = 1
	}
	p.X.Min, p.X.Max = -lim*pad, lim*pad
	return nil
}
