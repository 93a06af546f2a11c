package plots

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"
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

// legendEntry is one item of a figure's legend: a name and the styles
// that draw its thumbnail.
type legendEntry struct {
	name   string
	thumbs []plot.Thumbnailer
}

// figure is a grid of plots drawn on one page, with an optional title over
// all of them and one legend for the whole figure in a strip of its own
// between the title and the plots, so that no legend ever covers data or
// leaves the page.
type figure struct {
	title  string
	width  vg.Length
	height vg.Length
	grid   [][]*plot.Plot
	series []series
	legend []legendEntry

	// Set by render, for tests: the legend strip and each panel's data
	// area, in page coordinates.
	legendRect vg.Rectangle
	dataRects  []vg.Rectangle
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
			p.X.Tick.Marker = plainTicks{}
			p.Y.Tick.Marker = plainTicks{}
			p.Add(gridLines())
			f.grid[r][c] = p
		}
	}
	return f
}

func (f *figure) add(s series) { f.series = append(f.series, s) }

// addLegend adds an entry to the figure's legend; an entry of the same
// name (the same series in another panel) is listed once.
func (f *figure) addLegend(name string, thumbs ...plot.Thumbnailer) {
	for _, e := range f.legend {
		if e.name == name {
			return
		}
	}
	f.legend = append(f.legend, legendEntry{name, thumbs})
}

// Format is an image format a figure renders to.
type Format string

// The formats figures render to: PNG for screens and reports, SVG and PDF
// (vector, fonts embedded in the PDF) for papers.
const (
	PNG Format = "png"
	SVG Format = "svg"
	PDF Format = "pdf"
)

// Formats lists every format in the order ParseFormats accepts them.
var Formats = []Format{PNG, SVG, PDF}

// Ext is the file name extension of the format, with its dot.
func (f Format) Ext() string { return "." + string(f) }

// ParseFormats parses a comma-separated list such as "png,svg,pdf",
// without duplicates.
func ParseFormats(s string) ([]Format, error) {
	var out []Format
	for _, part := range strings.Split(s, ",") {
		f := Format(strings.ToLower(strings.TrimSpace(part)))
		if !slices.Contains(Formats, f) {
			return nil, fmt.Errorf("plots: format %q: expected a comma-separated list of png, svg, pdf", part)
		}
		if slices.Contains(out, f) {
			return nil, fmt.Errorf("plots: format %q listed twice in %q", part, s)
		}
		out = append(out, f)
	}
	return out, nil
}

// FormatWriter makes a figure function render in Format instead of PNG:
// every function of this package that takes an io.Writer renders into W
// in the format of a FormatWriter passed as that writer, e.g.
//
//	plots.LatencyCDF(plots.FormatWriter{W: f, Format: plots.SVG}, run)
//
// so callers that hold figure functions as values (func(io.Writer, T)
// error) choose the format without a change of signature.
type FormatWriter struct {
	W      io.Writer
	Format Format
}

func (fw FormatWriter) Write(p []byte) (int, error) { return fw.W.Write(p) }

// pdfDates fixes the creation and modification dates every PDF records,
// so the same data give the same bytes.
var pdfDates = sync.OnceFunc(func() {
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	fpdf.SetDefaultCreationDate(epoch)
	fpdf.SetDefaultModificationDate(epoch)
	fpdf.SetDefaultCatalogSort(true)
})

// render draws the figure into w, as a PNG unless w is a FormatWriter.
func (f *figure) render(w io.Writer) error {
	format := PNG
	if fw, ok := w.(FormatWriter); ok {
		w, format = fw.W, fw.Format
	}
	var c vg.CanvasWriterTo
	switch format {
	case PNG:
		c = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(f.width, f.height), vgimg.UseDPI(DPI), vgimg.UseBackgroundColor(color.White))}
	case SVG:
		c = vgsvg.New(f.width, f.height)
	case PDF:
		pdfDates()
		c = vgpdf.New(f.width, f.height)
	default:
		return fmt.Errorf("plots: format %q: expected png, svg or pdf", format)
	}
	dc := draw.New(c)
	if format != PNG {
		// Vector pages start transparent; papers want white.
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
	}
	f.draw(dc)
	if _, err := c.WriteTo(w); err != nil {
		return fmt.Errorf("plots: write %s: %w", format, err)
	}
	return nil
}

func (f *figure) draw(dc draw.Canvas) {
	if f.title != "" {
		sty := plot.New().Title.TextStyle
		sty.Font.Size = 15
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		pad := vg.Length(8)
		dc.FillText(sty, vg.Point{X: f.width / 2, Y: f.height - pad}, f.title)
		dc.Max.Y -= sty.Height(f.title) + 2*pad
	}
	if len(f.legend) > 0 {
		h := f.drawLegend(dc)
		dc.Max.Y -= h
	}
	rows, cols := len(f.grid), len(f.grid[0])
	f.dataRects = f.dataRects[:0]
	if rows == 1 && cols == 1 {
		dc.Min.X += 4
		dc.Max.X -= 12
		dc.Min.Y += 4
		dc.Max.Y -= 4
		f.grid[0][0].Draw(dc)
		f.dataRects = append(f.dataRects, f.grid[0][0].DataCanvas(dc).Rectangle)
		return
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: 0.5 * vg.Inch, PadY: 0.3 * vg.Inch,
		PadTop: 4, PadBottom: 6, PadLeft: 6, PadRight: 16}
	canvases := plot.Align(f.grid, tiles, dc)
	for r := range f.grid {
		for c := range f.grid[r] {
			if f.grid[r][c] != nil {
				f.grid[r][c].Draw(canvases[r][c])
				f.dataRects = append(f.dataRects, f.grid[r][c].DataCanvas(canvases[r][c]).Rectangle)
			}
		}
	}
}

// legendLayout places the legend's entries in rows that fit the page
// width, centred, and returns each entry's left edge and row.
func (f *figure) legendLayout(width vg.Length) (xs []vg.Length, rowOf []int, rowW []vg.Length) {
	sty := legendStyle()
	thumb, gap, sep := legendThumb, vg.Points(5), vg.Points(16)
	x := vg.Length(0)
	row := 0
	rowW = []vg.Length{0}
	for i, e := range f.legend {
		w := thumb + gap + sty.Width(e.name)
		if i > 0 && x+sep+w > width {
			rowW[row] = x
			row++
			rowW = append(rowW, 0)
			x = 0
		}
		if x > 0 {
			x += sep
		}
		xs = append(xs, x)
		rowOf = append(rowOf, row)
		x += w
	}
	rowW[row] = x
	return xs, rowOf, rowW
}

const legendThumb = 0.4 * vg.Inch

func legendStyle() text.Style {
	sty := plot.New().Legend.TextStyle
	sty.Font.Size = 11
	sty.XAlign = draw.XLeft
	sty.YAlign = draw.YCenter
	return sty
}

// drawLegend draws the legend at the top of dc and returns its height.
func (f *figure) drawLegend(dc draw.Canvas) vg.Length {
	sty := legendStyle()
	margin := vg.Points(12)
	avail := dc.Max.X - dc.Min.X - 2*margin
	xs, rowOf, rowW := f.legendLayout(avail)
	lineH := sty.Height("Xg") * 1.5
	h := lineH*vg.Length(len(rowW)) + vg.Points(6)
	top := dc.Max.Y - vg.Points(2)
	f.legendRect = vg.Rectangle{Min: vg.Point{X: dc.Max.X, Y: top - h}, Max: vg.Point{X: dc.Min.X, Y: top}}
	for i, e := range f.legend {
		row := rowOf[i]
		x0 := dc.Min.X + margin + (avail-rowW[row])/2 + xs[i]
		yc := top - lineH*(vg.Length(row)+0.5)
		icon := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: x0, Y: yc - lineH*0.3}, Max: vg.Point{X: x0 + legendThumb, Y: yc + lineH*0.3}}}
		for _, t := range e.thumbs {
			t.Thumbnail(&icon)
		}
		dc.FillText(sty, vg.Point{X: x0 + legendThumb + vg.Points(5), Y: yc}, e.name)
		f.legendRect.Min.X = min(f.legendRect.Min.X, x0)
		f.legendRect.Max.X = max(f.legendRect.Max.X, x0+legendThumb+vg.Points(5)+sty.Width(e.name))
	}
	return h
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

// plainTicks are linear ticks at a round step (1, 2, 2.5 or 5 times a
// power of ten) chosen to give five to ten labelled ticks, labels in the
// shortest form (2500, not 2500.00), with an unlabelled minor tick between
// labelled ones. gonum's default aims at three or four labels, too sparse
// to read a value off a printed figure.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(hi-lo, 0) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	step := tickStep(lo, hi)
	var ticks []plot.Tick
	first := math.Ceil(lo/step-1e-9) * step
	if first-step/2 >= lo {
		ticks = append(ticks, plot.Tick{Value: first - step/2})
	}
	for i := 0; ; i++ {
		v := first + float64(i)*step
		if v > hi+step*1e-9 {
			break
		}
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0" or 1e-17
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 10, 64)})
		if m := v + step/2; m <= hi {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	return ticks
}

// tickStep is the coarsest round step (1, 2, 2.5 or 5 times a power of
// ten) that still puts at least five ticks in [lo, hi].
func tickStep(lo, hi float64) float64 {
	count := func(step float64) float64 { return math.Floor(hi/step+1e-9) - math.Ceil(lo/step-1e-9) + 1 }
	e := math.Floor(math.Log10(hi - lo))
	best := math.Pow(10, e-2)
	for ; e >= math.Floor(math.Log10(hi-lo))-3; e-- {
		for _, m := range []float64{5, 2.5, 2, 1} {
			step := m * math.Pow(10, e)
			if count(step) >= 5 {
				return step
			}
			best = step
		}
	}
	return best
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
	X, Y   []float64 // bar centres and heights
	Lo, Hi []float64 // optional whiskers: the range of repeated measurements
	Width  float64   // in x data units
	Color  colorRGBA
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
		if i < len(b.Lo) && i < len(b.Hi) && !(isLog && b.Lo[i] <= 0) {
			ws := draw.LineStyle{Color: dark, Width: vg.Points(1.2)}
			lo, hi := trY(max(b.Lo[i], p.Y.Min)), trY(min(b.Hi[i], p.Y.Max))
			xm, capW := trX(x), (x1-x0)/4
			c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: xm, Y: lo}, {X: xm, Y: hi}})...)
			c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: xm - capW, Y: lo}, {X: xm + capW, Y: lo}})...)
			c.StrokeLines(ws, c.ClipLinesY([]vg.Point{{X: xm - capW, Y: hi}, {X: xm + capW, Y: hi}})...)
		}
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = math.Inf(1), math.Inf(-1)
	ymin, ymax = math.Inf(1), math.Inf(-1)
	for i, x := range b.X {
		xmin, xmax = min(xmin, x-b.Width/2), max(xmax, x+b.Width/2)
		ymin, ymax = min(ymin, b.Y[i]), max(ymax, b.Y[i])
		if i < len(b.Hi) {
			ymax = max(ymax, b.Hi[i])
		}
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
		// Regular weight: gonum's PDF backend cannot set a bold face.
		l.TextStyle[i].Font.Size = size
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
