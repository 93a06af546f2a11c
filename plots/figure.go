package plots

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	stdfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution figures are rendered at; sizes below are in inches
// of a page, so a 9 x 5.5 inch figure is 900 x 550 pixels.
const DPI = 100

// ErrNoData is returned when a figure has nothing to draw.
var ErrNoData = errors.New("plots: no data to draw")

// Okabe-Ito colours (Okabe and Ito, "Color Universal Design", 2008).
var (
	blue      = color.RGBA{0x00, 0x72, 0xB2, 0xFF}
	orange    = color.RGBA{0xE6, 0x9F, 0x00, 0xFF}
	green     = color.RGBA{0x00, 0x9E, 0x73, 0xFF}
	vermilion = color.RGBA{0xD5, 0x5E, 0x00, 0xFF}
	skyBlue   = color.RGBA{0x56, 0xB4, 0xE9, 0xFF}
	purple    = color.RGBA{0xCC, 0x79, 0xA7, 0xFF}
	yellow    = color.RGBA{0xF0, 0xE4, 0x42, 0xFF}
	dark      = color.RGBA{0x20, 0x20, 0x20, 0xFF}
)

// palette is the order series take colours in when nothing else decides.
var palette = []color.RGBA{blue, vermilion, green, orange, purple, skyBlue, yellow}

// lodColor gives each level of detail the same colour in every figure.
func lodColor(i int, lod string) color.RGBA {
	switch lod {
	case "high":
		return blue
	case "medium":
		return vermilion
	}
	return palette[(i+2)%len(palette)]
}

// series records what a figure drew under which name and colour, so tests
// can check every series is present without parsing the legend.
type series struct {
	Name  string
	Color color.RGBA
}

// figure is a grid of plots drawn on one image, with an optional title over
// all of them.
type figure struct {
	title  string
	width  vg.Length
	height vg.Length
	grid   [][]*plot.Plot
	series []series
}

func newFigure(title string, wIn, hIn float64, rows, cols int) *figure {
	f := &figure{title: title, width: vg.Length(wIn) * vg.Inch, height: vg.Length(hIn) * vg.Inch}
	f.grid = make([][]*plot.Plot, rows)
	for r := range f.grid {
		f.grid[r] = make([]*plot.Plot, cols)
		for c := range f.grid[r] {
			p := plot.New()
			p.Title.TextStyle.Font.Size = 13
			p.Title.Padding = 6
			p.X.Label.TextStyle.Font.Size = 12
			p.Y.Label.TextStyle.Font.Size = 12
			p.X.Tick.Label.Font.Size = 10
			p.Y.Tick.Label.Font.Size = 10
			p.Legend.TextStyle.Font.Size = 11
			p.Legend.Top = true
			p.Legend.ThumbnailWidth = 0.4 * vg.Inch
			p.X.Tick.Marker = plainTicks{}
			p.Y.Tick.Marker = plainTicks{}
			p.Add(gridLines())
			f.grid[r][c] = p
		}
	}
	return f
}

func (f *figure) add(s series) { f.series = append(f.series, s) }

// render draws the figure into w as a PNG.
func (f *figure) render(w io.Writer) error {
	c := vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))
	dc := draw.New(c)
	if f.title != "" {
		sty := plot.New().Title.TextStyle
		sty.Font.Size = 15
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		pad := vg.Length(8)
		dc.FillText(sty, vg.Point{X: f.width / 2, Y: f.height - pad}, f.title)
		dc.Max.Y -= sty.Height(f.title) + 2*pad
	}
	rows, cols := len(f.grid), len(f.grid[0])
	if rows == 1 && cols == 1 {
		dc.Min.X += 4
		dc.Max.X -= 12
		dc.Min.Y += 4
		dc.Max.Y -= 4
		f.grid[0][0].Draw(dc)
	} else {
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: 0.5 * vg.Inch, PadY: 0.3 * vg.Inch,
			PadTop: 4, PadBottom: 6, PadLeft: 6, PadRight: 16}
		canvases := plot.Align(f.grid, tiles, dc)
		for r := range f.grid {
			for c := range f.grid[r] {
				if f.grid[r][c] != nil {
					f.grid[r][c].Draw(canvases[r][c])
				}
			}
		}
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("plots: write png: %w", err)
	}
	return nil
}

func gridLines() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = color.Gray{0xE0}
	g.Horizontal.Color = color.Gray{0xE0}
	return g
}

// spansDecades reports whether the positive values of vs span more than a
// factor of 20, the point where a linear axis squeezes the small ones flat.
func spansDecades(vs ...float64) bool {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range vs {
		if v > 0 && !math.IsInf(v, 0) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	return hi > 0 && hi/lo > 20
}

// setLog makes a a log axis over [lo, hi] widened to whole decades.
func setLog(a *plot.Axis, lo, hi float64) {
	a.Scale = plot.LogScale{}
	a.Tick.Marker = logTicks{}
	a.Min = math.Pow(10, math.Floor(math.Log10(lo)))
	a.Max = math.Pow(10, math.Ceil(math.Log10(hi)))
	if a.Max/a.Min < 10 {
		a.Max = a.Min * 10
	}
}

// logTicks labels each power of ten with SI suffixes (1k, 10M) and puts
// unlabelled minor ticks at 2..9 times it.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for i := 1; i < 10; i++ {
			v := base * float64(i)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if i == 1 {
				t.Label = siLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// plainTicks are gonum's default linear ticks with the labels in the
// shortest form (2500, not 2500.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 10, 64) // 10 digits hide float noise
		}
	}
	return ticks
}

// siLabel formats a power of ten compactly: 0.001, 1, 100, 1k, 10M, 1G.
func siLabel(v float64) string {
	for _, u := range []struct {
		div float64
		suf string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'f', -1, 64) + u.suf
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// lineStyle is a series line: solid for the first level of detail, dashed
// for the others, so a curve identical to the reference stays visible.
func lineStyle(c color.Color, dashed bool) draw.LineStyle {
	ls := draw.LineStyle{Color: c, Width: vg.Points(2.2)}
	if dashed {
		ls.Dashes = []vg.Length{vg.Points(7), vg.Points(4)}
	}
	return ls
}

// bars is a set of vertical bars in data coordinates that, unlike
// plotter.BarChart, also works on a log-scale value axis: each bar rises
// from the bottom of the axis rather than from zero. Non-positive values
// are not drawn on a log axis.
type bars struct {
	X, Y  []float64 // bar centres and heights
	Width float64   // in x data units
	Color colorRGBA
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	_, isLog := p.Y.Scale.(plot.LogScale)
	base := 0.0
	if isLog || p.Y.Min > 0 {
		base = p.Y.Min
	}
	for i, x := range b.X {
		y := b.Y[i]
		if isLog && y <= 0 || math.IsNaN(y) {
			continue
		}
		y0, y1 := trY(base), trY(min(max(y, p.Y.Min), p.Y.Max))
		x0, x1 := trX(x-b.Width/2), trX(x+b.Width/2)
		rect := c.ClipPolygonY([]vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
		c.FillPolygon(b.Color, rect)
		c.StrokeLines(draw.LineStyle{Color: color.Gray{0x30}, Width: vg.Points(0.6)}, append(rect, rect[0]))
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i, x := range b.X {
		xmin, xmax = min(xmin, x-b.Width/2), max(xmax, x+b.Width/2)
		ymin, ymax = min(ymin, b.Y[i]), max(ymax, b.Y[i])
	}
	return xmin, xmax, min(ymin, 0), ymax
}

func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Min.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Min.X, Y: c.Max.Y}}
	c.FillPolygon(b.Color, c.ClipPolygonY(pts))
}

// labels draws text centred above points in data coordinates.
func labels(xs, ys []float64, texts []string, size vg.Length) (*plotter.Labels, error) {
	xy := plotter.XYLabels{XYs: make(plotter.XYs, len(xs)), Labels: texts}
	for i := range xs {
		xy.XYs[i] = plotter.XY{X: xs[i], Y: ys[i]}
	}
	l, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XCenter
		l.TextStyle[i].Font.Size = size
		l.TextStyle[i].Font.Weight = stdfont.WeightBold
	}
	return l, nil
}

// xys pairs two equal-length slices as plot points.
func xys(x, y []float64) plotter.XYs {
	out := make(plotter.XYs, len(x))
	for i := range x {
		out[i] = plotter.XY{X: x[i], Y: y[i]}
	}
	return out
}

// colorRGBA is the colour type of every series, so tests can look for its
// exact pixels.
type colorRGBA = color.RGBA
