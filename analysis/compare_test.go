package analysis

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

// handPair returns the reference run (handResults, 100 events, 10 s) and an
// "other" run that differs by hand: request 1 gets its first token 5 ms
// later and completes 10 ms later, request 3 is missing, request 6 (TTFT
// 30 ms) is new; 20 events in 2 s.
func handPair() (*Run, *Run) {
	refRes := handResults()
	oth := slices.Clone(refRes)
	oth[0].FirstToken += replay.Time(5 * ms)
	oth[0].Completion += replay.Time(10 * ms)
	oth = slices.Delete(oth, 2, 3)
	oth = append(oth, replay.RequestResult{ID: 6, Arrival: replay.Time(40 * ms), FirstScheduled: replay.Time(40 * ms), FirstToken: replay.Time(70 * ms),
		Completion: replay.Time(100 * ms), OutputTokens: 4, Status: replay.Completed})
	ost := handStats()
	ost.LoD = "medium"
	ost.Events = []replay.EventCount{{Kind: "arrival", Count: 5}, {Kind: "iteration", Count: 15}}
	ost.TotalEvents = 20
	ref := &Run{Label: "tp2", LoD: "high", WallNs: 10e9, PeakRSSBytes: 300 << 20, Stats: handStats(), Results: refRes}
	other := &Run{Label: "tp2", LoD: "medium", WallNs: 2e9, PeakRSSBytes: 100 << 20, Stats: ost, Results: oth}
	ref.Summary = Summarize(ref.Results, ref.Stats, SLO{})
	other.Summary = Summarize(other.Results, other.Stats, SLO{})
	return ref, other
}

func TestPairResultsHandComputed(t *testing.T) {
	ref, other := handPair()
	p := PairResults(ref.Results, other.Results)
	if p.Matched != 4 || p.BothCompleted != 2 || p.OnlyRef != 1 || p.OnlyOther != 1 {
		t.Errorf("matching = %+v", p)
	}
	// Differences over requests 1 and 2: TTFT {+5, 0}, E2E {+10, 0},
	// TPOT {(120-15)/10 - 10 = +0.5, 0} ms. |diff| sorted {0, x}: p50 = 0.
	want := map[string]PairedDiff{
		"TTFT": {Count: 2, Mean: 2.5, MeanAbs: 2.5, P50Abs: 0, P99Abs: 5, MaxAbs: 5},
		"E2E":  {Count: 2, Mean: 5, MeanAbs: 5, P50Abs: 0, P99Abs: 10, MaxAbs: 10},
		"TPOT": {Count: 2, Mean: 0.25, MeanAbs: 0.25, P50Abs: 0, P99Abs: 0.5, MaxAbs: 0.5},
	}
	for name, got := range map[string]PairedDiff{"TTFT": p.TTFT, "E2E": p.E2E, "TPOT": p.TPOT} {
		w := want[name]
		if got.Count != w.Count || !near(got.Mean, w.Mean) || !near(got.MeanAbs, w.MeanAbs) || !near(got.P50Abs, w.P50Abs) ||
			!near(got.P99Abs, w.P99Abs) || !near(got.MaxAbs, w.MaxAbs) {
			t.Errorf("%s = %+v, want %+v", name, got, w)
		}
	}
	// A faster other run gives a negative signed mean but the same |diff|.
	q := PairResults(other.Results, ref.Results)
	if !near(q.TTFT.Mean, -2.5) || !near(q.TTFT.MeanAbs, 2.5) || q.OnlyRef != 1 || q.OnlyOther != 1 {
		t.Errorf("reversed = %+v", q.TTFT)
	}
}

func TestPairResultsOrderIndependent(t *testing.T) {
	a := synthResults(500, 3)
	b := slices.Clone(a)
	for i := range b {
		b[i].Completion += replay.Time(int64(i%7) * ms)
	}
	slices.Reverse(b) // completion order differs between runs; ids still match
	p := PairResults(a, b)
	if p.Matched != 500 || p.OnlyRef != 0 || p.OnlyOther != 0 || p.TTFT.MaxAbs != 0 || p.E2E.MaxAbs != 6 {
		t.Errorf("paired = %+v", p)
	}
}

func TestCompareHandComputed(t *testing.T) {
	ref, other := handPair()
	c := Compare(ref, other)
	if c.Label != "tp2" || c.RefLoD != "high" || c.LoD != "medium" {
		t.Errorf("identity = %q %q %q", c.Label, c.RefLoD, c.LoD)
	}
	if c.RefEvents != 100 || c.Events != 20 || c.Reduction != 5 || c.SpeedUp != 5 {
		t.Errorf("events %d/%d reduction %g speed-up %g", c.RefEvents, c.Events, c.Reduction, c.SpeedUp)
	}
	wantKinds := []EventDiff{{"arrival", 5, 5}, {"iteration", 0, 15}, {"step", 95, 0}}
	if !slices.Equal(c.EventsByKind, wantKinds) {
		t.Errorf("events by kind = %+v", c.EventsByKind)
	}
	if c.RefCompleted != 3 || c.Completed != 3 || c.RefPeakRSSBytes != 300<<20 {
		t.Errorf("completed %d/%d", c.RefCompleted, c.Completed)
	}
	// TTFT mean: ref {10,20,40} = 70/3, other {15,20,30} = 65/3.
	m, ok := c.Metric("ttft_mean_ms")
	if !ok || !near(m.Ref, 70.0/3) || !near(m.Other, 65.0/3) || !near(m.RelErr, -5.0/70) {
		t.Errorf("ttft_mean_ms = %+v", m)
	}
	if len(c.Metrics) != len(ref.Summary.Metrics()) {
		t.Errorf("%d metrics, want every summary metric (%d)", len(c.Metrics), len(ref.Summary.Metrics()))
	}
	if len(c.RefCDFs.TTFT.X) != 3 || len(c.CDFs.E2E.X) != 3 {
		t.Errorf("cdfs = %+v / %+v", c.RefCDFs.TTFT, c.CDFs.E2E)
	}
	// No stats: no events, ratios 0 rather than Inf.
	ref.Stats, other.Stats, other.WallNs = nil, nil, 0
	c = Compare(ref, other)
	if c.Reduction != 0 || c.SpeedUp != 0 || len(c.EventsByKind) != 0 {
		t.Errorf("without stats: %g %g %v", c.Reduction, c.SpeedUp, c.EventsByKind)
	}
}

func TestDuration(t *testing.T) {
	for ns, want := range map[int64]string{850e3: "850us", 12_345_678: "12.3ms", 4_561e6: "4.56s", 0: "0us"} {
		if got := Duration(ns); got != want {
			t.Errorf("Duration(%d) = %q, want %q", ns, got, want)
		}
	}
}

func TestRelErr(t *testing.T) {
	if RelErr(10, 11) != 0.1 && !near(RelErr(10, 11), 0.1) {
		t.Error("RelErr(10, 11)")
	}
	if !near(RelErr(-10, -11), -0.1) || RelErr(0, 0) != 0 || !math.IsNaN(RelErr(0, 1)) {
		t.Errorf("RelErr edge cases: %g %g %g", RelErr(-10, -11), RelErr(0, 0), RelErr(0, 1))
	}
}

func TestMetricErrorJSON(t *testing.T) {
	in := []MetricError{{"a", 1, 2, 1}, {"b", 0, 3, math.NaN()}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"a","ref":1,"other":2,"rel_err":1},{"name":"b","ref":0,"other":3,"rel_err":null}]`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out []MetricError
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out[0] != in[0] || !math.IsNaN(out[1].RelErr) || out[1].Other != 3 {
		t.Errorf("round trip = %+v", out)
	}
}

func testSweep() *Sweep {
	ref, other := handPair()
	c1 := Compare(ref, other)
	ref.Label, other.Label = "tp4", "tp4"
	other.WallNs = 1e9
	c2 := Compare(ref, other)
	return &Sweep{Comparisons: []Comparison{c1, c2}}
}

func TestSweepText(t *testing.T) {
	s := testSweep()
	var a, b bytes.Buffer
	if err := s.WriteText(&a); err != nil {
		t.Fatal(err)
	}
	s.WriteText(&b)
	if a.String() != b.String() {
		t.Error("text output is not deterministic")
	}
	out := a.String()
	for _, want := range []string{"tp2", "tp4", "high/medium", "5.0x", "10.0x", "10.00s", "1.00s", "300MiB", "-7.14%", "TTFT p99", "2.500"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestSweepCSV(t *testing.T) {
	s := testSweep()
	var buf bytes.Buffer
	if err := s.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want header + 2", len(rows))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		if _, dup := col[h]; dup {
			t.Errorf("duplicate column %s", h)
		}
		col[h] = i
	}
	for name, want := range map[string][2]string{
		"label":                  {"tp2", "tp4"},
		"speed_up":               {"5", "10"},
		"event_reduction":        {"5", "5"},
		"events_iteration":       {"15", "15"},
		"ref_events_step":        {"95", "95"},
		"paired_only_ref":        {"1", "1"},
		"paired_ttft_max_abs_ms": {"5", "5"},
		"ref_completed":          {"3", "3"},
		"rel_err_ttft_max_ms":    {"-0.25", "-0.25"}, // 40 -> 30 ms
		"rel_err_unfinished":     {"0", "0"},
		"ref_itl_p50_ms":         {"0.002", "0.002"},
	} {
		i, ok := col[name]
		if !ok {
			t.Errorf("no column %s", name)
			continue
		}
		if rows[1][i] != want[0] || rows[2][i] != want[1] {
			t.Errorf("%s = %s, %s; want %v", name, rows[1][i], rows[2][i], want)
		}
	}
}

func TestSweepJSONRoundTrip(t *testing.T) {
	s := testSweep()
	s.Comparisons[0].Metrics[0].RelErr = math.NaN()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Sweep
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	b2, _ := json.Marshal(&back)
	if !bytes.Equal(b, b2) {
		t.Error("sweep JSON does not round-trip")
	}
	if back.Comparisons[1].Paired.TTFT.MaxAbs != 5 || len(back.Comparisons[0].CDFs.TTFT.X) != 3 {
		t.Errorf("round trip lost data: %+v", back.Comparisons[1].Paired)
	}
}

func BenchmarkCompare(b *testing.B) {
	rs := synthResults(1_000_000, 1)
	os := slices.Clone(rs)
	for i := range os {
		os[i].Completion += replay.Time(i % 5)
	}
	ref := &Run{Label: "tp1", LoD: "high", Results: rs, Summary: Summarize(rs, nil, SLO{})}
	other := &Run{Label: "tp1", LoD: "medium", Results: os, Summary: Summarize(os, nil, SLO{})}
	b.ReportAllocs()
	for b.Loop() {
		Compare(ref, other)
	}
}

// TestSweepTextNamesLoDs: with `--lods high,medium,adaptive` one
// configuration has two comparisons, and every table row, the per-request
// one included, says which levels it compares.
func TestSweepTextNamesLoDs(t *testing.T) {
	ref, other := handPair()
	c1 := Compare(ref, other)
	other.LoD = "adaptive"
	c2 := Compare(ref, other)
	var b bytes.Buffer
	if err := (&Sweep{Comparisons: []Comparison{c1, c2}}).WriteText(&b); err != nil {
		t.Fatal(err)
	}
	_, paired, ok := strings.Cut(b.String(), "per-request")
	if !ok {
		t.Fatalf("no per-request table:\n%s", b.String())
	}
	for _, want := range []string{"tp2 medium vs high", "tp2 adaptive vs high"} {
		if !strings.Contains(paired, want) {
			t.Errorf("per-request table lacks %q:\n%s", want, paired)
		}
	}
}
