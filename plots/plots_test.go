package plots

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

var outDir = flag.String("plots.out", "", "also write every rendered figure into this directory, to look at")

const ms = int64(1e6)

// synthRun makes a run of n requests whose latencies scale with slow, and
// a stats time series, from a fixed seed.
func synthRun(label, lod string, n int, slow float64, events uint64, wallNs int64, seed uint64) *analysis.Run {
	rng := rand.New(rand.NewPCG(seed, 2))
	rs := make([]replay.RequestResult, n)
	for i := range rs {
		arr := int64(i) * 20 * ms
		q := int64(float64(rng.Int64N(30*ms)) * slow)
		ttft := q + int64(float64(5*ms+rng.Int64N(400*ms))*slow)
		out := int32(2 + rng.IntN(300))
		tpot := int64(float64(10*ms+rng.Int64N(30*ms)) * slow)
		rs[i] = replay.RequestResult{ID: trace.RequestID(i), Arrival: replay.Time(arr), FirstScheduled: replay.Time(arr + q), FirstToken: replay.Time(arr + ttft),
			Completion: replay.Time(arr + ttft + int64(out-1)*tpot), PromptTokens: 500, OutputTokens: out, Status: replay.Completed}
	}
	st := &replay.Stats{LoD: lod, TotalEvents: events, Events: []replay.EventCount{{Kind: "arrival", Count: uint64(n)}, {Kind: "step", Count: events - uint64(n)}}}
	for i := range 200 {
		x := float64(i) / 200
		st.Samples = append(st.Samples, replay.Sample{T: replay.Time(int64(i+1) * 100 * ms), Running: int32(20 + 10*x), Waiting: int32(30 * x * x),
			BatchSize: 18 + 8*x, KVUtil: 0.2 + 0.7*x, OutputTokens: int64(300 + rng.IntN(100)), Completed: int64(rng.IntN(3))})
	}
	r := &analysis.Run{Label: label, LoD: lod, WallNs: wallNs, Stats: st, Results: rs}
	r.Summary = analysis.Summarize(rs, st, analysis.SLO{})
	return r
}

func testSweep() *analysis.Sweep {
	var s analysis.Sweep
	for i, tp := range []string{"tp1", "tp2", "tp4"} {
		f := float64(i + 1)
		hi := synthRun(tp, "high", 2000, 1/f, uint64(5e6/f), int64(20e9/f), uint64(i))
		med := synthRun(tp, "medium", 2000, 1.05/f, uint64(4e4/f), int64(0.4e9/f), uint64(i)+10)
		s.Comparisons = append(s.Comparisons, analysis.Compare(hi, med))
	}
	return &s
}

func calibTable() *analysis.AccuracyTable {
	rng := rand.New(rand.NewPCG(9, 9))
	var pairs []analysis.Pair
	for _, g := range []struct {
		name  string
		scale float64
		err   float64
	}{{"gemm", 1000, 0.05}, {"attention", 50, 0.15}, {"allreduce", 5, 0.3}} {
		for range 30 {
			m := g.scale * (1 + 20*rng.Float64())
			pairs = append(pairs, analysis.Pair{Label: g.name, Group: g.name, Measured: m, Predicted: m * (1 + g.err*(2*rng.Float64()-1))})
		}
	}
	t := analysis.Accuracy(pairs)
	return &t
}

// checkFigure renders f, then checks the image has the size the figure
// asked for, is far from blank, and shows every series' colour.
func checkFigure(t *testing.T, name string, f *figure, err error, wantSeries int) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var buf bytes.Buffer
	if err := f.render(&buf); err != nil {
		t.Fatalf("%s: render: %v", name, err)
	}
	if *outDir != "" {
		os.WriteFile(filepath.Join(*outDir, name+".png"), buf.Bytes(), 0o644)
	}
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", name, err)
	}
	wantW, wantH := int(float64(f.width/vg.Inch)*DPI+0.5), int(float64(f.height/vg.Inch)*DPI+0.5)
	if b := img.Bounds(); b.Dx() != wantW || b.Dy() != wantH {
		t.Errorf("%s: %dx%d pixels, want %dx%d", name, b.Dx(), b.Dy(), wantW, wantH)
	}
	counts := colorCounts(img)
	white := counts[color.RGBA{0xFF, 0xFF, 0xFF, 0xFF}]
	total := img.Bounds().Dx() * img.Bounds().Dy()
	// Axes, text and data cover over 2% of even the sparsest figure (a
	// handful of scatter points); a blank canvas covers none, and the series
	// check below proves the data are there.
	if nonWhite := total - white; nonWhite < total*2/100 {
		t.Errorf("%s: only %d of %d pixels are not white", name, nonWhite, total)
	}
	checkLegend(t, name, f)
	if len(f.series) != wantSeries {
		t.Errorf("%s: %d series %v, want %d", name, len(f.series), f.series, wantSeries)
	}
	for _, s := range f.series {
		if s.Name == "" {
			t.Errorf("%s: a series has no legend name", name)
		}
		// A drawn line or bar leaves many pixels of exactly its colour;
		// antialiased edges blend, so require a modest number.
		if n := counts[s.Color]; n < 30 {
			t.Errorf("%s: series %q (colour %v) has %d pixels, want it drawn", name, s.Name, s.Color, n)
		}
	}
	return buf.Bytes()
}

func colorCounts(img image.Image) map[color.RGBA]int {
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	return counts
}

func TestEventReduction(t *testing.T) {
	f, err := eventReductionFigure(testSweep())
	b := checkFigure(t, "fig1_event_reduction", f, err, 2)
	var again bytes.Buffer
	if err := EventReduction(&again, testSweep()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again.Bytes()) {
		t.Error("same sweep drew different bytes")
	}
}

// TestLoDBarsThreeLevels: with `--lods high,medium,adaptive` every
// configuration is one group of three bars, and each level is a series.
func TestLoDBarsThreeLevels(t *testing.T) {
	var s analysis.Sweep
	for i, tp := range []string{"tp1", "tp2", "tp4"} {
		f := float64(i + 1)
		hi := synthRun(tp, "high", 2000, 1/f, uint64(5e6/f), int64(20e9/f), uint64(i))
		med := synthRun(tp, "medium", 2000, 1.05/f, uint64(4e4/f), int64(0.4e9/f), uint64(i)+10)
		ad := synthRun(tp, "adaptive", 2000, 1.01/f, uint64(2e5/f), int64(1e9/f), uint64(i)+20)
		s.Comparisons = append(s.Comparisons, analysis.Compare(hi, med), analysis.Compare(hi, ad))
	}
	f, err := eventReductionFigure(&s)
	checkFigure(t, "fig1_event_reduction_3lods", f, err, 3)
	f, err = speedUpFigure(&s)
	checkFigure(t, "fig2_speedup_3lods", f, err, 3)
	groups, lods := lodGroups(&s)
	if len(groups) != 3 || len(lods) != 3 || lods[2] != "adaptive" || groups[1].byLoD[2].LoD != "adaptive" {
		t.Errorf("groups %d, levels %v", len(groups), lods)
	}
}

func TestSpeedUp(t *testing.T) {
	f, err := speedUpFigure(testSweep())
	checkFigure(t, "fig2_speedup", f, err, 2)
	// Times within a decade use a linear axis; it must still draw.
	s := testSweep()
	for i := range s.Comparisons {
		s.Comparisons[i].WallNs = s.Comparisons[i].RefWallNs / 2
		s.Comparisons[i].SpeedUp = 2
	}
	f, err = speedUpFigure(s)
	checkFigure(t, "fig2_speedup_linear", f, err, 2)
}

func TestAccuracy(t *testing.T) {
	s := testSweep()
	f, err := accuracyFigure(&s.Comparisons[1])
	checkFigure(t, "fig3_accuracy_tp2", f, err, 2)
	var buf bytes.Buffer
	if err := Accuracy(&buf, &s.Comparisons[0]); err != nil {
		t.Fatal(err)
	}
}

func TestLatencyCDF(t *testing.T) {
	f, err := latencyCDFFigure(synthRun("tp4", "medium", 3000, 1, 1e6, 1e9, 4))
	checkFigure(t, "fig4_latency_cdf", f, err, 3)
}

func TestTimeSeries(t *testing.T) {
	f, err := timeSeriesFigure(synthRun("tp4", "medium", 100, 1, 1e6, 1e9, 4))
	checkFigure(t, "fig5_timeseries", f, err, 5)
}

func TestCalibration(t *testing.T) {
	f, err := calibrationFigure(calibTable(), "GEMM, attention and all-reduce on H100", "us")
	checkFigure(t, "fig6_calibration", f, err, 3)
	// Values within a decade: linear axes.
	lin := analysis.Accuracy([]analysis.Pair{
		{Label: "a", Group: "x", Measured: 10, Predicted: 11},
		{Label: "b", Group: "x", Measured: 20, Predicted: 19},
		{Label: "c", Group: "y", Measured: 15, Predicted: 15.5},
	})
	f, err = calibrationFigure(&lin, "", "ms")
	checkFigure(t, "fig6_calibration_linear", f, err, 2)
}

func TestNoData(t *testing.T) {
	var buf bytes.Buffer
	empty := &analysis.Run{Label: "x", LoD: "high"}
	for name, err := range map[string]error{
		"reduction":   EventReduction(&buf, &analysis.Sweep{}),
		"speed-up":    SpeedUp(&buf, nil),
		"accuracy":    Accuracy(&buf, &analysis.Comparison{}),
		"latency":     LatencyCDF(&buf, empty),
		"time series": TimeSeries(&buf, empty),
		"calibration": Calibration(&buf, &analysis.AccuracyTable{}, "", "us"),
	} {
		if !errors.Is(err, ErrNoData) {
			t.Errorf("%s of nothing: %v, want ErrNoData", name, err)
		}
	}
	if buf.Len() != 0 {
		t.Error("wrote bytes for an empty figure")
	}
}

func TestLogTicks(t *testing.T) {
	ticks := logTicks{}.Ticks(10, 1e6)
	var labels []string
	for _, tk := range ticks {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	want := []string{"10", "100", "1k", "10k", "100k", "1M"}
	if len(labels) != len(want) {
		t.Fatalf("labels = %v, want %v", labels, want)
	}
	for i := range want {
		if labels[i] != want[i] {
			t.Errorf("labels = %v, want %v", labels, want)
		}
	}
	if got := siLabel(0.01); got != "0.01" {
		t.Errorf("siLabel(0.01) = %q", got)
	}
}

// TestDegenerateData draws runs at the edges: a single request, only
// single-token outputs (no TPOT), and a comparison where one side completed
// nothing. Each must give an image or ErrNoData, never a panic.
func TestDegenerateData(t *testing.T) {
	one := synthRun("tp1", "high", 1, 1, 10, 1e6, 1)
	one.Results[0].OutputTokens = 1
	one.Results[0].Completion = one.Results[0].FirstToken
	one.Summary = analysis.Summarize(one.Results, one.Stats, analysis.SLO{})
	var buf bytes.Buffer
	if err := LatencyCDF(&buf, one); err != nil {
		t.Errorf("one request: %v", err)
	}
	if f, err := latencyCDFFigure(one); err == nil && len(f.series) != 2 {
		t.Errorf("single-token run drew %d series, want TTFT and E2E only", len(f.series))
	}
	none := synthRun("tp1", "medium", 5, 1, 10, 1e6, 2)
	for i := range none.Results {
		none.Results[i].Status = replay.Rejected
		none.Results[i].Reason = replay.TooLongForKV
	}
	none.Summary = analysis.Summarize(none.Results, none.Stats, analysis.SLO{})
	c := analysis.Compare(one, none)
	buf.Reset()
	if err := Accuracy(&buf, &c); err != nil {
		t.Errorf("one side empty: %v", err)
	}
	c = analysis.Compare(none, none)
	if err := Accuracy(&buf, &c); !errors.Is(err, ErrNoData) {
		t.Errorf("both sides empty: %v, want ErrNoData", err)
	}
	if err := LatencyCDF(&buf, none); !errors.Is(err, ErrNoData) {
		t.Errorf("no completions: %v, want ErrNoData", err)
	}
}

func TestSweepAccuracy(t *testing.T) {
	s := testSweep()
	f, err := sweepAccuracyFigure(s)
	checkFigure(t, "fig3_accuracy_sweep", f, err, len(s.Comparisons))
	if _, err := sweepAccuracyFigure(&analysis.Sweep{}); !errors.Is(err, ErrNoData) {
		t.Errorf("empty sweep: %v", err)
	}
}

// checkLegend: the legend lies on the page (not clipped) and overlaps no
// panel's data area, and lists every series.
func checkLegend(t *testing.T, name string, f *figure) {
	t.Helper()
	if len(f.legend) == 0 {
		t.Errorf("%s: no legend", name)
		return
	}
	l := f.legendRect
	if l.Min.X < 0 || l.Max.X > f.width || l.Min.Y < 0 || l.Max.Y > f.height || l.Min.X >= l.Max.X {
		t.Errorf("%s: legend %+v is not within the %vx%v page", name, l, f.width, f.height)
	}
	if len(f.dataRects) == 0 {
		t.Errorf("%s: no data area recorded", name)
	}
	for i, d := range f.dataRects {
		if l.Min.X < d.Max.X && d.Min.X < l.Max.X && l.Min.Y < d.Max.Y && d.Min.Y < l.Max.Y {
			t.Errorf("%s: legend %+v overlaps panel %d's data area %+v", name, l, i, d)
		}
	}
	for _, s := range f.series {
		found := false
		for _, e := range f.legend {
			found = found || strings.HasPrefix(e.name, s.Name)
		}
		if !found {
			t.Errorf("%s: series %q is not in the legend", name, s.Name)
		}
	}
}

// TestFormats renders every figure as SVG and PDF: the SVG must be
// well-formed XML of the figure's size with each series' colour in it,
// the PDF a complete document with the fonts embedded, and both
// byte-identical when rendered twice.
func TestFormats(t *testing.T) {
	sw := testSweep()
	a, b := validationTables()
	figs := map[string]func() (*figure, error){
		"reduction":   func() (*figure, error) { return eventReductionFigure(sw) },
		"speed-up":    func() (*figure, error) { return speedUpSpreadFigure(testWalls()) },
		"accuracy":    func() (*figure, error) { return accuracyFigure(&sw.Comparisons[0]) },
		"sweep":       func() (*figure, error) { return sweepAccuracyFigure(sw) },
		"latency":     func() (*figure, error) { return latencyCDFFigure(synthRun("tp1", "high", 500, 1, 1e6, 1e9, 3)) },
		"time series": func() (*figure, error) { return timeSeriesFigure(synthRun("tp1", "high", 50, 1, 1e6, 1e9, 3)) },
		"calibration": func() (*figure, error) { return calibrationFigure(calibTable(), "", "us") },
		"validation":  func() (*figure, error) { return validationFigure(a, b, "") },
	}
	for name, mk := range figs {
		for _, format := range []Format{SVG, PDF} {
			var out [2]bytes.Buffer
			for i := range out {
				f, err := mk()
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if err := f.render(FormatWriter{&out[i], format}); err != nil {
					t.Fatalf("%s %s: %v", name, format, err)
				}
			}
			if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
				t.Errorf("%s %s: two renders differ", name, format)
			}
			f, _ := mk()
			data := out[0].Bytes()
			if *outDir != "" {
				os.WriteFile(filepath.Join(*outDir, strings.ReplaceAll(name, " ", "_")+format.Ext()), data, 0o644)
			}
			switch format {
			case SVG:
				var root struct {
					XMLName xml.Name
					Width   string `xml:"width,attr"`
				}
				if err := xml.Unmarshal(data, &root); err != nil || root.XMLName.Local != "svg" {
					t.Errorf("%s: not an SVG document: %v", name, err)
				}
				w, err := strconv.ParseFloat(strings.TrimSuffix(root.Width, "pt"), 64)
				if want := f.width.Points(); err != nil || math.Abs(w-want) > 0.01 {
					t.Errorf("%s: SVG width %q, want %gpt", name, root.Width, want)
				}
				for _, s := range f.series {
					hex := fmt.Sprintf("#%02X%02X%02X", s.Color.R, s.Color.G, s.Color.B)
					if !bytes.Contains(data, []byte(hex)) {
						t.Errorf("%s: SVG lacks series %q colour %s", name, s.Name, hex)
					}
				}
			case PDF:
				if !bytes.HasPrefix(data, []byte("%PDF-")) || !bytes.Contains(data[len(data)-16:], []byte("%%EOF")) {
					t.Errorf("%s: not a complete PDF", name)
				}
				if !bytes.Contains(data, []byte("/FontFile")) {
					t.Errorf("%s: PDF does not embed its fonts", name)
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := LatencyCDF(FormatWriter{&buf, "jpeg"}, synthRun("tp1", "high", 50, 1, 1e6, 1e9, 3)); err == nil {
		t.Error("an unknown format: no error")
	}
	// Through the public functions, a FormatWriter picks the format.
	buf.Reset()
	if err := Calibration(FormatWriter{&buf, SVG}, calibTable(), "", "us"); err != nil || !bytes.Contains(buf.Bytes(), []byte("<svg")) {
		t.Errorf("Calibration to an SVG FormatWriter: %v, %.40q", err, buf.Bytes())
	}
}

func TestParseFormats(t *testing.T) {
	got, err := ParseFormats("png, SVG,pdf")
	if err != nil || !slices.Equal(got, []Format{PNG, SVG, PDF}) {
		t.Errorf("ParseFormats = %v, %v", got, err)
	}
	for _, bad := range []string{"", "png,gif", "svg,svg"} {
		if _, err := ParseFormats(bad); err == nil {
			t.Errorf("ParseFormats(%q): no error", bad)
		}
	}
}

// TestCDFAxes: a CDF's fraction axis ends at exactly 1, with a label there.
func TestCDFAxes(t *testing.T) {
	f, err := latencyCDFFigure(synthRun("tp4", "medium", 300, 1, 1e6, 1e9, 4))
	if err != nil {
		t.Fatal(err)
	}
	sw := testSweep()
	acc, err := accuracyFigure(&sw.Comparisons[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*plot.Plot{f.grid[0][0], acc.grid[0][0], acc.grid[0][1]} {
		if p.Y.Min != 0 || p.Y.Max != 1 {
			t.Errorf("CDF y axis %g..%g, want 0..1", p.Y.Min, p.Y.Max)
		}
		ticks := p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max)
		if last := ticks[len(ticks)-1]; last.Value != 1 || last.Label != "1" {
			t.Errorf("CDF top tick %+v, want 1 labelled", last)
		}
	}
}

// TestLinearTicks: every linear axis gets five to thirteen labelled ticks
// at round values, including the accuracy figure's error axis, which had
// three.
func TestLinearTicks(t *testing.T) {
	for _, r := range [][2]float64{{-10.6, 10.6}, {-1.6, 1.6}, {0, 1}, {0, 4000}, {-0.016, 0.016}, {0, 97}, {3, 3.0001}} {
		var labelled []float64
		for _, tk := range (plainTicks{}).Ticks(r[0], r[1]) {
			if tk.Label != "" {
				labelled = append(labelled, tk.Value)
				if strings.Contains(tk.Label, "e-") || len(tk.Label) > 8 {
					t.Errorf("range %v: label %q is not short", r, tk.Label)
				}
			}
		}
		if len(labelled) < 5 || len(labelled) > 13 {
			t.Errorf("range %v: %d labelled ticks %v, want 5-13", r, len(labelled), labelled)
		}
	}
	sw := testSweep()
	f, err := accuracyFigure(&sw.Comparisons[0])
	if err != nil {
		t.Fatal(err)
	}
	p := f.grid[0][2]
	n := 0
	for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if tk.Label != "" {
			n++
		}
	}
	if n < 5 {
		t.Errorf("error axis: %d labelled ticks, want at least 5", n)
	}
}

// testWalls: five repetitions of three configurations, one of them
// disturbed, as a loaded machine gives.
func testWalls() []analysis.WallTimes {
	var out []analysis.WallTimes
	for i, tp := range []string{"tp1", "tp2", "tp4"} {
		f := int64(i + 1)
		w := analysis.WallTimes{Label: tp, RefLoD: "high", LoD: "medium"}
		for r := range int64(5) {
			w.RefNs = append(w.RefNs, f*(400e6+r*10e6))
			w.Ns = append(w.Ns, 2e6+r*1e5)
		}
		w.Ns[3] *= 6 // a busy moment
		out = append(out, w)
	}
	return out
}

func TestSpeedUpSpread(t *testing.T) {
	walls := testWalls()
	f, err := speedUpSpreadFigure(walls)
	checkFigure(t, "fig2_speedup_spread", f, err, 2)
	// The bars are the medians and the whiskers the ranges.
	_, got := spreadBars(walls)
	med := walls[0].Seconds()
	if got.Y[0] != med.Median || got.Lo[0] != med.Min || got.Hi[0] != med.Max {
		t.Errorf("medium tp1 bar %g [%g, %g], want %+v", got.Y[0], got.Lo[0], got.Hi[0], med)
	}
	if !strings.Contains(f.title, "median of 5 runs") {
		t.Errorf("title %q does not say what the bars are", f.title)
	}
	// Whiskers are drawn: a bar with them differs from one without.
	draw := func(b *bars) []byte {
		g := newFigure("", 3, 3, 1, 1)
		g.grid[0][0].Add(b)
		g.addLegend("x", b)
		var buf bytes.Buffer
		if err := g.render(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	with := draw(&bars{X: []float64{0}, Y: []float64{2}, Lo: []float64{1}, Hi: []float64{3}, Width: 0.5, Color: blue})
	without := draw(&bars{X: []float64{0}, Y: []float64{2}, Width: 0.5, Color: blue})
	if bytes.Equal(with, without) {
		t.Error("whiskers left no mark")
	}
	if _, err := speedUpSpreadFigure([]analysis.WallTimes{{Label: "x"}}); !errors.Is(err, ErrNoData) {
		t.Errorf("no repetitions: %v", err)
	}
}

// TestSweepAccuracyExact: levels that agree exactly leave nothing to show.
func TestSweepAccuracyExact(t *testing.T) {
	var s analysis.Sweep
	for i, tp := range []string{"tp1", "tp2"} {
		hi := synthRun(tp, "high", 200, 1, 1e6, 1e9, uint64(i))
		med := synthRun(tp, "medium", 200, 1, 1e4, 1e7, uint64(i))
		s.Comparisons = append(s.Comparisons, analysis.Compare(hi, med))
	}
	if _, err := sweepAccuracyFigure(&s); !errors.Is(err, ErrNoData) {
		t.Errorf("exact agreement: %v, want ErrNoData", err)
	}
	s.Comparisons[1] = testSweep().Comparisons[1]
	if _, err := sweepAccuracyFigure(&s); err != nil {
		t.Errorf("one configuration with errors: %v", err)
	}
}

// TestSpeedUpUsesRepetitions: figure 2 shows medians with their range
// when every comparison was repeated, and single runs otherwise.
func TestSpeedUpUsesRepetitions(t *testing.T) {
	s := &analysis.Sweep{}
	for _, w := range testWalls() {
		s.Comparisons = append(s.Comparisons, analysis.Comparison{Label: w.Label, RefLoD: w.RefLoD, LoD: w.LoD,
			RefWallNs: w.RefNs[0], WallNs: w.Ns[0], SpeedUp: float64(w.RefNs[0]) / float64(w.Ns[0])})
	}
	if repeatedWalls(s) != nil {
		t.Error("single runs drawn as repetitions")
	}
	var single, spread bytes.Buffer
	if err := SpeedUp(&single, s); err != nil {
		t.Fatal(err)
	}
	for i, w := range testWalls() {
		s.Comparisons[i].Walls = &w
	}
	if got := repeatedWalls(s); len(got) != len(s.Comparisons) {
		t.Fatalf("repeated walls %d, want %d", len(got), len(s.Comparisons))
	}
	if err := SpeedUp(&spread, s); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := SpeedUpSpread(&want, testWalls()); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(single.Bytes(), spread.Bytes()) || !bytes.Equal(spread.Bytes(), want.Bytes()) {
		t.Error("figure 2 of a repeated comparison is not the spread figure")
	}
	s.Comparisons[1].LoD = "other" // two levels compared: single runs
	if repeatedWalls(s) != nil {
		t.Error("walls of two levels drawn as one")
	}
}

// TestAccuracyOverlay: figure 3 of one configuration at medium and
// adaptive against high draws the reference and both levels as series,
// and refuses comparisons of different configurations.
func TestAccuracyOverlay(t *testing.T) {
	hi := synthRun("tp4", "high", 2000, 1, uint64(5e6), int64(20e9), 1)
	med := synthRun("tp4", "medium", 2000, 1.05, uint64(4e4), int64(0.4e9), 11)
	ad := synthRun("tp4", "adaptive", 2000, 1.01, uint64(2e5), int64(1e9), 21)
	cm, ca := analysis.Compare(hi, med), analysis.Compare(hi, ad)
	f, err := accuracyOverlayFigure([]*analysis.Comparison{&cm, &ca})
	b := checkFigure(t, "fig3_accuracy_overlay", f, err, 3)
	// The error bars of both levels are in the right-hand panel (the CDF
	// panels draw every colour too): count each level's colour there.
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	for _, s := range f.series[1:] {
		n := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X + r.Dx()*3/4; x < r.Max.X; x++ {
				if color.RGBAModel.Convert(img.At(x, y)) == s.Color {
					n++
				}
			}
		}
		// A bar of a few percent error is hundreds of pixels; the legend
		// swatch (top of the figure, all panels) well under 200.
		if n < 200 {
			t.Errorf("%s: %d pixels of its colour in the error panel, want its bars drawn", s.Name, n)
		}
	}
	other := analysis.Compare(synthRun("tp2", "high", 2000, 1, uint64(5e6), int64(20e9), 2), ad)
	if _, err := accuracyOverlayFigure([]*analysis.Comparison{&cm, &other}); err == nil || !strings.Contains(err.Error(), "one configuration") {
		t.Errorf("error %v, expected one refusing two configurations", err)
	}
}
