package plots

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

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
