package analysis

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// close enough for values computed with a handful of float operations.
const eps = 1e-9

func near(a, b float64) bool { return math.Abs(a-b) <= eps*math.Max(1, math.Abs(b)) }

func checkDist(t *testing.T, name string, got, want Dist) {
	t.Helper()
	if got.Count != want.Count || !near(got.Mean, want.Mean) || !near(got.P50, want.P50) || !near(got.P90, want.P90) ||
		!near(got.P95, want.P95) || !near(got.P99, want.P99) || !near(got.Max, want.Max) {
		t.Errorf("%s = %+v, want %+v", name, got, want)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	v := []float64{1, 2, 3, 4}
	for _, c := range []struct{ q, want float64 }{{0, 1}, {0.25, 1}, {0.26, 2}, {0.5, 2}, {0.75, 3}, {0.9, 4}, {1, 4}} {
		if got := Percentile(v, c.q); got != c.want {
			t.Errorf("Percentile(%v, %g) = %g, want %g", v, c.q, got, c.want)
		}
	}
	// 1..100: the q-quantile is 100q exactly.
	var h []float64
	for i := 1; i <= 100; i++ {
		h = append(h, float64(i))
	}
	for _, q := range []float64{0.5, 0.9, 0.95, 0.99} {
		if got := Percentile(h, q); got != math.Round(100*q) {
			t.Errorf("Percentile(1..100, %g) = %g", q, got)
		}
	}
}

func TestSummarizeHandComputed(t *testing.T) {
	slo := SLO{TTFTNs: 30e6, TPOTNs: 10e6}
	s := Summarize(handResults(), handStats(), slo)

	if s.Requests != 5 || s.Completed != 3 || s.Unfinished != 1 || s.Rejected != 1 || s.Preemptions != 2 || s.PreemptedRequests != 1 {
		t.Errorf("counts = %d %d %d %d %d %d", s.Requests, s.Completed, s.Unfinished, s.Rejected, s.Preemptions, s.PreemptedRequests)
	}
	// TTFT {10, 20, 40}: nearest rank p50 = x[ceil(1.5)] = x[2]; p90.. = x[3].
	checkDist(t, "TTFT", s.TTFT, Dist{Count: 3, Mean: 70.0 / 3, P50: 20, P90: 40, P95: 40, P99: 40, Max: 40})
	checkDist(t, "E2E", s.E2E, Dist{Count: 3, Mean: 70, P50: 60, P90: 110, P95: 110, P99: 110, Max: 110})
	// The single-token request has no TPOT.
	checkDist(t, "TPOT", s.TPOT, Dist{Count: 2, Mean: 10, P50: 10, P90: 10, P95: 10, P99: 10, Max: 10})
	checkDist(t, "queueing", s.Queueing, Dist{Count: 3, Mean: 11.0 / 3, P50: 1, P90: 10, P95: 10, P99: 10, Max: 10})
	// ITL {1, 2, 2, 2} us: mean 1.75 us, p50 = x[2] = 2 us.
	checkDist(t, "ITL", s.ITL, Dist{Count: 4, Mean: 0.00175, P50: 0.002, P90: 0.002, P95: 0.002, P99: 0.002, Max: 0.002})

	// Span 0 .. 110 ms.
	if !near(s.SpanS, 0.11) {
		t.Errorf("span = %g s, want 0.11", s.SpanS)
	}
	wantTP := Throughput{RequestsPerS: 3 / 0.11, OutputTokensPerS: 17 / 0.11, TotalTokensPerS: 617 / 0.11}
	if !near(s.Throughput.RequestsPerS, wantTP.RequestsPerS) || !near(s.Throughput.OutputTokensPerS, wantTP.OutputTokensPerS) ||
		!near(s.Throughput.TotalTokensPerS, wantTP.TotalTokensPerS) {
		t.Errorf("throughput = %+v, want %+v", s.Throughput, wantTP)
	}
	// Requests 1 and 2 meet TTFT<=30ms and TPOT<=10ms; request 3 misses TTFT.
	g := s.Goodput
	if g.Met != 2 || !near(g.PerS, 2/0.11) || !near(g.Fraction, 0.4) || !near(g.TTFTFraction, 0.4) ||
		!near(g.TPOTFraction, 0.6) || !near(g.E2EFraction, 0.6) {
		t.Errorf("goodput = %+v", g)
	}
	// Batch sizes {1, 3, 2, 4}: mean 2.5, p50 = 2.
	if b := s.BatchSize; b.Samples != 4 || !near(b.Mean, 2.5) || b.P50 != 2 || b.P99 != 4 || b.Max != 4 {
		t.Errorf("batch size = %+v", b)
	}
	if k := s.KVUtil; !near(k.Mean, 0.275) || k.P50 != 0.2 || k.Max != 0.5 {
		t.Errorf("kv util = %+v", k)
	}
	if w := s.Waiting; !near(w.Mean, 2.5) || w.Max != 4 {
		t.Errorf("waiting = %+v", w)
	}
	if s.PeakKVUtil != 0.6 {
		t.Errorf("peak kv = %g, want the stats' 0.6", s.PeakKVUtil)
	}
}

func TestSLOBounds(t *testing.T) {
	rs := handResults()
	for _, c := range []struct {
		slo  SLO
		want []bool
	}{
		{SLO{}, []bool{true, true, true, false, false}},
		{SLO{E2ENs: 60e6}, []bool{false, true, true, false, false}},
		{SLO{TPOTNs: 9e6}, []bool{false, false, true, false, false}}, // single token: no TPOT to miss
		{SLO{TTFTNs: 10e6}, []bool{true, false, false, false, false}},
	} {
		for i := range rs {
			if got := c.slo.Met(&rs[i]); got != c.want[i] {
				t.Errorf("%v met request %d = %v, want %v", c.slo, rs[i].ID, got, c.want[i])
			}
		}
	}
	if got := (SLO{TTFTNs: 500e6, TPOTNs: 50e6}).String(); got != "TTFT<=500ms TPOT<=50ms" {
		t.Errorf("String = %q", got)
	}
}

func TestSummarizeNoCompleted(t *testing.T) {
	rs := handResults()[3:] // unfinished and rejected only
	for _, st := range []*replay.Stats{nil, {}} {
		s := Summarize(rs, st, SLO{TTFTNs: 1})
		if s.Completed != 0 || s.TTFT.Count != 0 || s.TTFT.Mean != 0 || s.SpanS != 0 || s.Throughput.RequestsPerS != 0 || s.Goodput.Met != 0 {
			t.Errorf("summary of no completions = %+v", s)
		}
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("marshal: %v", err) // json refuses NaN, so this also proves there is none
		}
		if !bytes.Contains(b, []byte(`"ttft_ms":{"count":0`)) {
			t.Errorf("json = %s", b)
		}
	}
	empty := Summarize(nil, nil, SLO{})
	if empty.Requests != 0 || empty.Goodput.Fraction != 0 {
		t.Errorf("empty summary = %+v", empty)
	}
}

func TestSummaryMetricsAndText(t *testing.T) {
	s := Summarize(handResults(), handStats(), SLO{TTFTNs: 30e6})
	seen := map[string]float64{}
	for _, m := range s.Metrics() {
		if _, dup := seen[m.Name]; dup {
			t.Errorf("metric %s listed twice", m.Name)
		}
		seen[m.Name] = m.Value
	}
	if seen["ttft_p50_ms"] != 20 || seen["e2e_max_ms"] != 110 || seen["completed"] != 3 || seen["kv_util_peak"] != 0.6 {
		t.Errorf("metrics = %v", seen)
	}
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"TTFT", "23.333", "110.000", "TTFT<=30ms", "batch size", "0.6000"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

// TestSummaryScopes: every time-series figure states its unit and whether
// it is per replica or a cluster figure, in the text and in the JSON.
func TestSummaryScopes(t *testing.T) {
	s := Summarize(handResults(), handStats(), SLO{})
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"batch size":   {ScopeReplica, "sequences per step"},
		"running":      {ScopeClusterTotal, "sequences"},
		"waiting":      {ScopeClusterTotal, "requests"},
		"KV util":      {ScopeClusterPooled, "fraction of KV blocks"},
		"peak KV util": {ScopeFullestReplica, "fraction of KV blocks"},
	}
	lines := strings.Split(buf.String(), "\n")
	for name, sc := range want {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), name+"  ") {
				found = true
				if !strings.Contains(l, sc[0]) || !strings.Contains(l, sc[1]) {
					t.Errorf("row %q lacks scope %q or unit %q: %q", name, sc[0], sc[1], l)
				}
			}
		}
		if !found {
			t.Errorf("no row %q in\n%s", name, buf.String())
		}
	}
	for _, head := range []string{"latency (ms, per completed request)", "cluster throughput"} {
		if !strings.Contains(buf.String(), head) {
			t.Errorf("text lacks %q", head)
		}
	}
	js, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"running":{"unit":"sequences","scope":"cluster total"`) {
		t.Errorf("JSON does not state the running series' unit and scope: %s", js)
	}
	// A summary without statistics still says what its rows would be.
	if e := Summarize(handResults(), nil, SLO{}); e.KVUtil.Scope != ScopeClusterPooled {
		t.Errorf("no stats: KV scope %q", e.KVUtil.Scope)
	}
}

func TestSummarizeLarge(t *testing.T) {
	rs := synthResults(20000, 7)
	s := Summarize(rs, nil, SLO{})
	if s.Completed != 20000 || s.TTFT.P50 > s.TTFT.P90 || s.TTFT.P90 > s.TTFT.P99 || s.TTFT.P99 > s.TTFT.Max {
		t.Errorf("summary = %+v", s.TTFT)
	}
	// Summarize must not reorder its input.
	for i := range rs {
		if rs[i].ID != int64ID(i) {
			t.Fatalf("results reordered at %d", i)
		}
	}
}

func int64ID(i int) trace.RequestID { return trace.RequestID(i) }

func BenchmarkSummarize(b *testing.B) {
	rs := synthResults(1_000_000, 1)
	st := handStats()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Summarize(rs, st, SLO{TTFTNs: 500e6, TPOTNs: 50e6})
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds(), "results/s")
}

func TestWallTimesSpread(t *testing.T) {
	// Five repetitions; the fourth ran on a busy machine.
	w := WallTimes{Label: "tp4", RefLoD: "high", LoD: "medium",
		RefNs: []int64{400e6, 420e6, 410e6, 900e6, 405e6},
		Ns:    []int64{10e6, 12e6, 10e6, 60e6, 9e6}}
	ref := w.RefSeconds()
	if ref.N != 5 || ref.Median != 0.41 || ref.Min != 0.4 || ref.Max != 0.9 {
		t.Errorf("ref spread %+v", ref)
	}
	// Ratios 40, 35, 41, 15, 45: median 40, range 15-45.
	su := w.SpeedUp()
	if su.N != 5 || su.Median != 40 || su.Min != 15 || su.Max != 45 {
		t.Errorf("speed-up spread %+v", su)
	}
	if (&WallTimes{RefNs: []int64{1}, Ns: []int64{0}}).SpeedUp().N != 0 {
		t.Error("a zero time counted as a speed-up")
	}
	if s := SpreadOf(nil); s != (Spread{}) {
		t.Errorf("empty spread %+v", s)
	}
}

// TestSummaryShowsAdaptiveParts: an adaptive run's summary says how much
// of it ran at high LoD, in the text and in the JSON; other runs' do not.
func TestSummaryShowsAdaptiveParts(t *testing.T) {
	st := handStats()
	st.Adaptive = &replay.AdaptiveReport{ErrorBudget: 0.01, Refined: true, Windows: 3, HighSteps: 12, MediumSteps: 588,
		HighEvents: 40, MediumEvents: 60, HighStageNs: 2.5e9,
		Classes: []replay.AdaptiveClass{{Part: "stage", Kind: "decode", Samples: 9, Ratio: 1.02, Converged: true}, {Part: "hop", Kind: "mixed", Samples: 2, Ratio: 1.3}}}
	s := Summarize(handResults(), st, SLO{})
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"adaptive LoD", "2.00%", "40.00%", "2.500", "1 of 2"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, buf.String())
		}
	}
	js, _ := json.Marshal(s)
	if !strings.Contains(string(js), `"high_steps":12`) {
		t.Errorf("JSON lacks the adaptive report: %s", js)
	}
	plain := Summarize(handResults(), handStats(), SLO{})
	js, _ = json.Marshal(plain)
	buf.Reset()
	plain.WriteText(&buf)
	if strings.Contains(string(js), "adaptive") || strings.Contains(buf.String(), "adaptive") {
		t.Error("a non-adaptive run's summary mentions adaptive")
	}
}

// TestSummaryDisaggregated: a disaggregated run's summary reports each
// pool, the KV transfers (volume, and the time of each completed
// request's transfer: 1 to 7 ms in disaggResults) and the pools' time
// series, in JSON and in the text report; an aggregated one has none.
func TestSummaryDisaggregated(t *testing.T) {
	st := handStats()
	st.Disaggregated = &replay.DisaggStats{
		Prefill: replay.PoolStats{Workers: 2, TP: 1, PP: 1, KVBlocks: 100, Steps: 10, PeakKVUtil: 0.5},
		Decode:  replay.PoolStats{Workers: 3, TP: 2, PP: 1, KVBlocks: 300, Steps: 90, PeakKVUtil: 0.9},
		KVLink:  "network", Transfers: 99, TransferBytes: 2.5e9, WaitedForRoom: 4, PeakPending: 2,
		Samples: []replay.PoolSample{{PrefillKVUtil: 0.2, DecodeKVUtil: 0.4, WaitingForRoom: 1}, {PrefillKVUtil: 0.4, DecodeKVUtil: 0.8, WaitingForRoom: 3}},
	}
	s := Summarize(disaggResults(100, 3), st, SLO{})
	d := s.Disaggregated
	if d == nil || d.Transfers != 99 || d.TransferGB != 2.5 || d.Decode.Workers != 3 || d.Transfer.Count != 99 ||
		d.Transfer.Max != 7 || d.Transfer.P50 < 1 || d.DecodeKVUtil.Max != 0.8 || d.WaitingForRoom.Mean != 2 {
		t.Fatalf("disaggregated summary %+v", d)
	}
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prefill", "decode", "KV transfers (network)", "waiting for decode room"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text report lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "EP") || strings.Contains(b.String(), "MoE TP") {
		t.Errorf("pools without expert parallelism show EP columns:\n%s", b.String())
	}
	if Summarize(synthResults(10, 1), handStats(), SLO{}).Disaggregated != nil {
		t.Error("an aggregated run's summary has a disaggregated section")
	}
}

// TestSummaryDisaggregatedEP: when a pool has expert parallelism the
// pool table gains EP, attention DP and MoE TP columns, with "-" for a
// pool without, and the JSON carries them only for that pool.
func TestSummaryDisaggregatedEP(t *testing.T) {
	st := handStats()
	st.Disaggregated = &replay.DisaggStats{
		Prefill: replay.PoolStats{Workers: 1, TP: 8, PP: 1, KVBlocks: 100, Steps: 10},
		Decode:  replay.PoolStats{Workers: 8, TP: 1, PP: 1, KVBlocks: 300, Steps: 90, EP: 8, AttentionDP: 8, MoETP: 1},
		KVLink:  "network",
	}
	s := Summarize(disaggResults(10, 3), st, SLO{})
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	var head, prefill, decode []string
	for _, line := range strings.Split(b.String(), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 0 && f[0] == "pool":
			head = f
		case len(f) > 0 && f[0] == "prefill" && prefill == nil:
			prefill = f
		case len(f) > 0 && f[0] == "decode" && decode == nil:
			decode = f
		}
	}
	want := "pool workers TP PP EP attn DP MoE TP KV blocks/worker steps peak KV util"
	if strings.Join(head, " ") != want {
		t.Errorf("pool header %q, want %q", strings.Join(head, " "), want)
	}
	if got := strings.Join(prefill, " "); got != "prefill 1 8 1 - - - 100 10 0.0000" {
		t.Errorf("prefill row %q", got)
	}
	if got := strings.Join(decode, " "); got != "decode 8 1 1 8 8 1 300 90 0.0000" {
		t.Errorf("decode row %q", got)
	}
	js, err := json.Marshal(s.Disaggregated)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(js), `"expert_parallel":8,"attention_data_parallel":8,"moe_tensor_parallel":1`); n != 1 || strings.Count(string(js), "expert_parallel") != 1 {
		t.Errorf("JSON %s: want the decode pool's layout once", js)
	}
}

// TestSummaryDisaggregatedPoolGPU: a pool on a GPU of its own adds a GPU
// column to the pool table ("hardware.gpu" for a pool on the cluster's),
// and the JSON carries the GPU only for that pool.
func TestSummaryDisaggregatedPoolGPU(t *testing.T) {
	st := handStats()
	st.Disaggregated = &replay.DisaggStats{
		Prefill: replay.PoolStats{Workers: 1, TP: 8, PP: 1, KVBlocks: 100, Steps: 10},
		Decode:  replay.PoolStats{GPU: "H100-SXM", Workers: 2, TP: 4, PP: 1, KVBlocks: 300, Steps: 90},
		KVLink:  "network",
	}
	s := Summarize(disaggResults(10, 3), st, SLO{})
	var b strings.Builder
	if err := s.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pool GPU workers TP PP KV blocks/worker", "prefill hardware.gpu 1 8 1 100 10", "decode H100-SXM 2 4 1 300 90"} {
		found := false
		for _, line := range strings.Split(b.String(), "\n") {
			found = found || strings.HasPrefix(strings.Join(strings.Fields(line), " "), want)
		}
		if !found {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	js, err := json.Marshal(s.Disaggregated)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(js), `"gpu":"H100-SXM"`) != 1 || strings.Count(string(js), `"gpu"`) != 1 {
		t.Errorf("JSON %s: want the decode pool's GPU once", js)
	}
}
