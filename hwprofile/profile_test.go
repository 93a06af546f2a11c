package hwprofile

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

func mustEmbedded(t testing.TB, key string) *cost.Profile {
	t.Helper()
	p, err := EmbeddedProfile(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The targets for the held-out error on the H100 tables; the
// rebuild test guarantees these figures are what calibration measures.
func TestShippedFitTargets(t *testing.T) {
	targets := map[string]float64{"gemm": 5, "context_attention": 8, "generation_attention": 8, "all_reduce": 8}
	p := mustEmbedded(t, "h100_sxm")
	for _, f := range p.Fit {
		if lim, ok := targets[f.Op]; ok {
			if f.MAPE >= lim {
				t.Errorf("h100_sxm %s: held-out MAPE %.2f%%, expected under %.0f%%", f.Op, f.MAPE, lim)
			}
			if f.Count < 50 {
				t.Errorf("h100_sxm %s: only %d held-out points", f.Op, f.Count)
			}
			delete(targets, f.Op)
		}
	}
	for op := range targets {
		t.Errorf("h100_sxm profile has no fit row for %s", op)
	}
}

// knownFitMisses are the shipped fits above issue 10's targets, with the
// held-out MAPE they have (%). Most are GEMMs: the measurement scatter of
// single shapes (4096 x 4096 at m = 512 measured at 65 us beside m = 513
// at 30 us) that no fill of a hole from its neighbours predicts; the median
// fill (cost.Grid.FillMedian) made every one of them better, none enough.
// The SGLang tables scatter at every kernel size, 2-3x the other engines'
// tables; their floor (the error left with every other shape known
// exactly) is 6-7.3 % on H200 and B200 (MEASUREMENTS.md, "GEMM tables with
// scatter"). That scatter is one-sided (timing spikes, above the trend),
// and despiking the sections whose own check prefers it (smoothGEMM,
// cost.Grid.Despike) brought them 0.4-0.8 points below the symmetric
// smoothing's figures (H200 SGLang BF16 6.58 -> 6.16, B200 SGLang FP8
// 7.18 -> 6.39, B200 vLLM FP8 8.57 -> 8.02; H100 SGLang FP8 block-scaled
// 7.67 -> 7.68, its inner check's choice costing 0.01). The others are the L40S's decode
// attention (every engine), sglang context attention, NCCL all-gather and
// trtllm context MLA (139 points), the A100 trtllm 1.0.0 decode attention
// and the H100 sglang custom all-reduce. The test holds them at these
// figures so that they cannot get worse unnoticed.
var knownFitMisses = map[string]float64{
	"a100_sxm/vllm/gemm":                   5.32,
	"h200_sxm/sglang/gemm":                 6.16,
	"h200_sxm/sglang/gemm_fp8":             7.01,
	"h200_sxm/sglang/gemm_fp8_block":       9.05,
	"b200_sxm/vllm/gemm_fp8":               8.02,
	"b200_sxm/sglang/gemm":                 7.02,
	"b200_sxm/sglang/gemm_fp8":             6.39,
	"b200_sxm/sglang/gemm_fp8_block":       7.24,
	"a100_sxm/trtllm/gemm":                 5.04,
	"h100_sxm/sglang/gemm_fp8":             5.44,
	"h100_sxm/sglang/gemm_fp8_block":       7.68,
	"gb200/sglang/gemm":                    6.18,
	"gb200/sglang/gemm_fp8":                5.22,
	"gb200/sglang/gemm_fp8_block":          5.80,
	"l40s/vllm/gemm":                       6.44,
	"l40s/sglang/gemm":                     8.62,
	"l40s/sglang/gemm_fp8":                 7.99,
	"l40s/trtllm/gemm":                     8.33,
	"l40s/trtllm/gemm_fp8":                 5.68,
	"l40s/trtllm/gemm_fp8_block":           5.51,
	"a100_sxm/trtllm/generation_attention": 8.66,
	"h100_sxm/sglang/custom_all_reduce":    12.26,
	"l40s/vllm/generation_attention":       12.75,
	"l40s/vllm/all_gather":                 8.79,
	"l40s/sglang/context_attention":        10.66,
	"l40s/sglang/generation_attention":     16.18,
	"l40s/sglang/all_gather":               8.79,
	"l40s/trtllm/generation_attention":     14.88,
	"l40s/trtllm/all_gather":               8.79,
	"l40s/trtllm/context_mla":              10.79,
}

// TestShippedEngineFitTargets checks every shipped profile's held-out
// fit against issue 10's targets (fitTarget) and prints the table
// (go test ./hwprofile -run TestShippedEngineFitTargets -v).
func TestShippedEngineFitTargets(t *testing.T) {
	seen := map[string]bool{}
	for _, sp := range shippedProfiles {
		p, err := EmbeddedProfileFor(sp.key, sp.engine)
		if err != nil {
			t.Fatal(err)
		}
		ops := map[string]bool{}
		for _, f := range p.Fit {
			ops[f.Op] = true
		}
		for _, f := range p.Fit {
			lim, ok := fitTarget(f.Op)
			if !ok {
				continue
			}
			id := sp.key + "/" + sp.engine + "/" + f.Op
			if ops[f.Op+"_module"] {
				// An MLA section derived from module rows: its held-out
				// error is that of module time less the projections (a
				// small difference where the projections dominate); the
				// target applies to the module rows it reproduces.
				t.Logf("%-36s n=%5d MAPE %5.2f%% (derived; target on %s_module) p90 %6.2f%% worst %7.2f%%", id, f.Count, f.MAPE, f.Op, f.P90APE, f.WorstAPE)
				continue
			}
			seen[id] = true
			t.Logf("%-36s n=%5d MAPE %5.2f%% (target %.0f%%) p90 %6.2f%% worst %7.2f%%", id, f.Count, f.MAPE, lim, f.P90APE, f.WorstAPE)
			if miss, known := knownFitMisses[id]; known {
				// The figures above are the stored ones to 2 decimals.
				if f.MAPE > miss+0.005 {
					t.Errorf("%s: held-out MAPE %.2f%%, worse than the known %.2f%%", id, f.MAPE, miss)
				}
				continue
			}
			if f.MAPE >= lim {
				t.Errorf("%s: held-out MAPE %.2f%%, expected under %.0f%%", id, f.MAPE, lim)
			}
		}
	}
	for id := range knownFitMisses {
		if !seen[id] {
			t.Errorf("known miss %s has no fit row", id)
		}
	}
}

func TestDefaultCostModel(t *testing.T) {
	for _, key := range []string{"a100_sxm", "h100_sxm", "h200_sxm", "l40s"} {
		g, _ := cost.LookupGPU(key)
		cm := DefaultCostModel(g)
		p, ok := cm.(*cost.Profile)
		if !ok {
			t.Fatalf("%s: DefaultCostModel is %T, expected the shipped *Profile", key, cm)
		}
		if p.GPU() != g {
			t.Errorf("%s: profile GPU %+v, expected the catalog entry %+v", key, p.GPU(), g)
		}
		if !strings.Contains(cm.Name(), key) {
			t.Errorf("%s: Name() = %q", key, cm.Name())
		}
	}
	g, _ := cost.LookupGPU("h100_pcie")
	if _, ok := DefaultCostModel(g).(*cost.Roofline); !ok {
		t.Errorf("h100_pcie has no shipped profile, expected the roofline")
	}
	if _, err := EmbeddedProfile("h100_pcie"); err == nil || !strings.Contains(err.Error(), "h100_sxm") {
		t.Errorf("EmbeddedProfile(h100_pcie) = %v, expected an error listing the shipped keys", err)
	}
	// Engines: the default is vLLM; another engine's profile is its own
	// calibration, named after it.
	b200, _ := cost.LookupGPU("b200_sxm")
	def, err := EngineCostModel(b200, "")
	if err != nil || def.Name() != "profile:embedded:b200_sxm" {
		t.Fatalf("B200 default: %v, %v", def, err)
	}
	sg, err := EngineCostModel(b200, "sglang")
	if err != nil || sg.Name() != "profile:embedded:b200_sxm/sglang" || sg.(*cost.Profile).Engine != "sglang" {
		t.Fatalf("B200 sglang: %v, %v", sg, err)
	}
	if sg.GEMM(4096, 4096, 4096) == def.GEMM(4096, 4096, 4096) {
		t.Error("the sglang and vllm B200 profiles give the same GEMM time: not calibrated per engine")
	}
	if got := EmbeddedEngines("b200_sxm"); strings.Join(got, ",") != "sglang,trtllm,vllm" {
		t.Errorf("B200 engines %v", got)
	}
	if _, err := EngineCostModel(b200, "tgi"); err == nil || !strings.Contains(err.Error(), "sglang, trtllm, vllm") {
		t.Errorf("unknown engine: %v, expected an error listing the shipped engines", err)
	}
}

// A calibrated profile must agree with the measurements it was built from
// at measured points (they are stored, rounded to 5 digits).
func TestProfileReproducesMeasuredPoints(t *testing.T) {
	p := mustEmbedded(t, "h100_sxm")
	// Rows of data/aiconfigurator/h100_sxm (bf16): m=32768 n=65536 k=12288
	// 60.324 ms; generation batch 32, KV length 2 (isl 1 + step 1), 64 heads,
	// 1 KV head, head_dim 64, bf16 cache: 0.011269 ms.
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"gemm", p.GEMM(32768, 65536, 12288), 60.32404242621528e6},
		{"generation", p.GenerationAttention(32, 2, cost.AttnShape{Heads: 64, KVHeads: 1, HeadDim: 64}), 0.01126933346192042e6},
	}
	for _, c := range checks {
		// 5 significant digits are stored: 1e-4 relative covers rounding.
		if math.Abs(c.got-c.want)/c.want > 1e-4 {
			t.Errorf("%s: got %.6g ns, measured %.6g ns", c.name, c.got, c.want)
		}
	}
}

// TestCostsPositiveFinite draws random shapes over wide ranges, inside and
// far outside the measured grids, and checks every cost is positive and
// finite.
func TestCostsPositiveFinite(t *testing.T) {
	seed := uint64(20260821)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	logInt := func(lo, hi float64) int {
		return int(math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo))))
	}
	for _, key := range EmbeddedKeys() {
		p := mustEmbedded(t, key)
		bad := func(what string, v float64, args ...any) {
			if !(v > 0) || math.IsInf(v, 0) {
				t.Fatalf("%s %s%v = %v, expected a positive finite time (seed %d)", key, what, args, v, seed)
			}
		}
		for i := 0; i < 20000; i++ {
			m, n, k := logInt(1, 1e7), logInt(1, 1e6), logInt(1, 1e6)
			bad("GEMM", p.GEMM(m, n, k), m, n, k)
			kv := logInt(1, 128)
			s := cost.AttnShape{Heads: kv * logInt(1, 16), KVHeads: kv, HeadDim: logInt(16, 1024)}
			b, q, pre := logInt(1, 4096), logInt(1, 1e6), logInt(1, 2e6)-1
			bad("ContextAttention", p.ContextAttention(b, q, pre, s), b, q, pre, s)
			bad("GenerationAttention", p.GenerationAttention(b, q, s), b, q, s)
			bytes := math.Exp(rng.Float64() * math.Log(1e11))
			bad("Elementwise", p.Elementwise(bytes), bytes)
			nn := logInt(1, 1024)
			l := p.RingLink(nn)
			bad("RingLink.LatencyNs", l.LatencyNs, nn)
			bad("RingLink.BytesPerNs", l.BytesPerNs, nn)
			if nn >= 2 {
				bad("AllReduce", p.AllReduce(bytes, nn), bytes, nn)
				bad("AllGather", p.AllGather(bytes, nn), bytes, nn)
				bad("ReduceScatter", p.ReduceScatter(bytes, nn), bytes, nn)
			}
			bad("Send", p.Send(bytes), bytes)
		}
		// Degenerate shapes still cost something.
		bad("GEMM", p.GEMM(0, -1, 0))
		bad("ContextAttention", p.ContextAttention(0, 0, -5, cost.AttnShape{}))
		bad("GenerationAttention", p.GenerationAttention(0, 0, cost.AttnShape{}))
	}
}

// Costs grow with the work: more tokens, more context or a longer prefix
// never make an operation much cheaper.
func TestCostsMonotoneInWork(t *testing.T) {
	p := mustEmbedded(t, "h100_sxm")
	s := cost.AttnShape{Heads: 16, KVHeads: 2, HeadDim: 128} // Llama-3-70B at TP 4
	// The measurements themselves are not monotone: on H100, m=1 by 8192 x
	// 8192 takes 51.6 us and m=2 45.8 us (kernel selection), 12% apart. 20%
	// slack tolerates that while catching a broken axis.
	const slack = 0.8
	prev := 0.0
	for _, pre := range []int{0, 128, 1024, 4096, 16384, 65536} {
		v := p.ContextAttention(4, 512, pre, s)
		if v < slack*prev {
			t.Errorf("ContextAttention prefix %d: %.0f ns < %.0f ns at a shorter prefix", pre, v, prev)
		}
		prev = v
	}
	prev = 0
	for _, ctx := range []int{128, 1024, 8192, 65536, 1 << 20} {
		v := p.GenerationAttention(64, ctx, s)
		if v < slack*prev {
			t.Errorf("GenerationAttention ctx %d: %.0f ns < %.0f ns at a shorter context", ctx, v, prev)
		}
		prev = v
	}
	prev = 0
	for _, m := range []int{1, 16, 256, 4096, 65536, 1 << 20} {
		v := p.GEMM(m, 8192, 8192)
		if v < slack*prev {
			t.Errorf("GEMM m=%d: %.0f ns < %.0f ns at a smaller m", m, v, prev)
		}
		prev = v
	}
	// Beyond the measured grid (m <= 32768) time keeps scaling with work.
	if r := p.GEMM(1<<20, 8192, 8192) / p.GEMM(1<<19, 8192, 8192); r < 1.8 || r > 2.2 {
		t.Errorf("doubling m outside the grid scales GEMM time by %.2f, expected about 2", r)
	}
}

func TestProfileRoundTrip(t *testing.T) {
	p := mustEmbedded(t, "a100_sxm")
	p.Overhead = cost.Overheads{StepNs: 1500, PerSeqNs: 20, PerPrefillTokenNs: 0.5, PerRequestNs: 40000}
	var a bytes.Buffer
	if err := p.Write(&a); err != nil {
		t.Fatal(err)
	}
	q, err := cost.LoadProfile(bytes.NewReader(a.Bytes()), "roundtrip.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if q.Overheads() != p.Overhead {
		t.Errorf("overheads after round trip %+v, expected %+v", q.Overheads(), p.Overhead)
	}
	var b bytes.Buffer
	if err := q.Write(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("write-load-write is not byte-identical")
	}
	s := cost.AttnShape{Heads: 8, KVHeads: 1, HeadDim: 128}
	for _, c := range [][2]float64{
		{p.GEMM(77, 5000, 3000), q.GEMM(77, 5000, 3000)},
		{p.ContextAttention(3, 700, 300, s), q.ContextAttention(3, 700, 300, s)},
		{p.GenerationAttention(50, 3000, s), q.GenerationAttention(50, 3000, s)},
		{p.AllReduce(1e6, 4), q.AllReduce(1e6, 4)},
	} {
		if c[0] != c[1] {
			t.Errorf("prediction changed across the round trip: %v vs %v", c[0], c[1])
		}
	}
	// The shipped copy is not changed by editing ours.
	if mustEmbedded(t, "a100_sxm").Overheads() != (cost.Overheads{}) {
		t.Error("EmbeddedProfile returned a shared, mutable profile")
	}
}

func TestLoadProfileErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := mustEmbedded(t, "a100_sxm").Write(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	cases := []struct {
		name, old, new, want string
	}{
		{"version", "version: 1\n", "version: 7\n", "version: found 7, expected 1"},
		{"unknown field", "version: 1\n", "version: 1\ncolour: blue\n", "colour"},
		{"negative link", "link_bw_bytes_per_s: 3e+11", "link_bw_bytes_per_s: -3", "link_bw_bytes_per_s"},
		{"unsorted axis", "m: [1, 2, 4,", "m: [1, 4, 2,", "gemm.m[2]: found 2 after 4"},
		{"bad base", "launch_ns:", "launch_ns: -1\n    x_launch_ns:", "x_launch_ns"},
	}
	for _, c := range cases {
		if !strings.Contains(good, c.old) {
			t.Fatalf("%s: fixture lacks %q", c.name, c.old)
		}
		bad := strings.Replace(good, c.old, c.new, 1)
		_, err := cost.LoadProfile(strings.NewReader(bad), "bad.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("%s: error %v, expected one naming bad.yaml and %q", c.name, err, c.want)
		}
	}
}

func TestProfileCallsDoNotAllocate(t *testing.T) {
	p := mustEmbedded(t, "h100_sxm")
	s := cost.AttnShape{Heads: 16, KVHeads: 2, HeadDim: 128}
	odd := cost.AttnShape{Heads: 36, KVHeads: 3, HeadDim: 96} // not measured: nearest-shape search
	sink := 0.0
	n := testing.AllocsPerRun(100, func() {
		sink += p.GEMM(300, 8192, 1024) + p.ContextAttention(2, 1000, 500, s) + p.GenerationAttention(64, 3000, s) +
			p.GenerationAttention(64, 3000, odd) + p.AllReduce(1<<20, 4) + p.RingLink(8).LatencyNs + p.Elementwise(1e6)
	})
	if n != 0 {
		t.Errorf("cost calls allocate %.0f times per round, expected 0", n)
	}
	_ = sink
}

func BenchmarkProfile(b *testing.B) {
	p := mustEmbedded(b, "h100_sxm")
	s := cost.AttnShape{Heads: 16, KVHeads: 2, HeadDim: 128}
	b.Run("op=gemm", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.GEMM(1+i%4096, 8192, 1024)
		}
	})
	b.Run("op=context_attention", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.ContextAttention(1+i%8, 1+i%8192, i%4096, s)
		}
	})
	b.Run("op=generation_attention", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.GenerationAttention(1+i%256, 1+i%65536, s)
		}
	})
	b.Run("op=all_reduce", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			p.AllReduce(float64(1+i%(64<<20)), 8)
		}
	})
}

func BenchmarkLoadEmbedded(b *testing.B) {
	gz, _ := embeddedFS.ReadFile("profiles/h100_sxm.vllm.yaml.gz")
	data, err := gunzip(gz)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := cost.LoadProfile(bytes.NewReader(data), "h100"); err != nil {
			b.Fatal(err)
		}
	}
}

// The engine profiles reproduce measured points of their compact tables
// (data/aiconfigurator/compact): quantised GEMM, MLA, MoE and all-to-all.
func TestEngineProfilesReproduceMeasuredPoints(t *testing.T) {
	sg, err := EmbeddedProfileFor("b200_sxm", "sglang")
	if err != nil {
		t.Fatal(err)
	}
	vl := mustEmbedded(t, "b200_sxm")
	checks := []struct {
		name      string
		got, want float64
	}{
		{"vllm nvfp4 gemm 4096^3", vl.QuantGEMM(4096, 4096, 4096, cost.NVFP4), 47669},
		{"sglang generation MLA, 1 head, fp8 cache, batch 1, KV 2", sg.GenerationMLA(1, 2, cost.MLAShape{Heads: 1, KVCache: cost.FP8}), 10461},
		{"vllm fp8_block MoE, 1 token, DeepSeek-V3 shape", vl.MoE(cost.MoEShape{Tokens: 1, Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 1, Quant: cost.FP8Block}), 81984},
		{"vllm all-to-all of 512 bytes on 8 GPUs", vl.AllToAll(512, 8), 10690},
	}
	for _, c := range checks {
		// The tables keep 5 significant digits.
		if math.Abs(c.got-c.want) > 1e-4*c.want {
			t.Errorf("%s: %.1f ns, measured %.0f ns", c.name, c.got, c.want)
		}
	}
	// SGLang's NVFP4 section is smoothed (smoothGEMM): its 4096^3 cell,
	// measured at 63,941 ns where 4097 x 4096 x 4096 takes 44,831 ns and
	// vLLM's table times the same FlashInfer CuTe DSL kernel at 47,669 ns,
	// holds its neighbours' estimate. 10 % of vLLM's figure allows for the
	// engines' other overheads; the measured cell is 34 % above it.
	if got := sg.QuantGEMM(4096, 4096, 4096, cost.NVFP4); math.Abs(got-47669) > 0.1*47669 {
		t.Errorf("sglang nvfp4 gemm 4096^3: %.0f ns, expected the smoothed cell within 10%% of vLLM's 47669 ns", got)
	}
	// A precision the profile did not measure (NVFP4 on the H100) scales
	// the calibrated BF16 GEMM by the roofline's ratio.
	h := mustEmbedded(t, "h100_sxm")
	roof := cost.NewRoofline(h.GPU())
	want := h.GEMM(64, 8192, 8192) * roof.QuantGEMM(64, 8192, 8192, cost.NVFP4) / roof.GEMM(64, 8192, 8192)
	if got := h.QuantGEMM(64, 8192, 8192, cost.NVFP4); got != want {
		t.Errorf("H100 NVFP4 GEMM %v, expected the scaled BF16 grid's %v", got, want)
	}
	if got := h.QuantGEMM(64, 8192, 8192, cost.BF16); got != h.GEMM(64, 8192, 8192) {
		t.Errorf("QuantGEMM at BF16 %v differs from GEMM %v", got, h.GEMM(64, 8192, 8192))
	}
	// The small-batch MoE step reads a few experts: much faster than a
	// large one on the same layer.
	s := cost.MoEShape{Tokens: 1, Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 8, Quant: cost.FP8Block}
	small := vl.MoE(s)
	s.Tokens = 4096
	if big := vl.MoE(s); !(small > 0 && big > 4*small) {
		t.Errorf("MoE 1 token %v ns, 4096 tokens %v ns", small, big)
	}
}

func TestDescribeEngineProfile(t *testing.T) {
	p, err := EmbeddedProfileFor("b200_sxm", "trtllm")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Describe(&b); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"engine     trtllm", "gemm nvfp4", "context_mla ", "generation_mla ", "moe w4a8_mxfp4", "all_to_all"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("description lacks %q:\n%s", w, b.String())
		}
	}
}

// TestShippedProfileEngine: ShippedProfile takes a GPU in either spelling
// and an engine in any of its spellings, and names what is missing: an
// unknown engine (listing the known ones), an engine a GPU has no profile
// for (listing the GPU's engines, or the GPUs with one for the engine).
func TestShippedProfileEngine(t *testing.T) {
	p, err := ShippedProfile("H100-SXM", "SGLang")
	if err != nil || p.Name() != "profile:embedded:h100_sxm/sglang" || p.Engine != "sglang" {
		t.Fatalf("H100-SXM sglang: %v", err)
	}
	if d, err := ShippedProfile("h100_sxm", ""); err != nil || d.Name() != "profile:embedded:h100_sxm" || d.Engine != DefaultEngine {
		t.Errorf("default engine: %v", err)
	}
	h100, err := cost.LookupGPU("h100_sxm")
	if err != nil {
		t.Fatal(err)
	}
	idx := map[string][]string{"h100_sxm": {"vllm"}, "a100_sxm": {"sglang", "vllm"}, "l40s": {"sglang"}}
	if e, err := shippedEngine(idx, h100, "vLLM"); e != "vllm" || err != nil {
		t.Errorf("vLLM: %q, %v", e, err)
	}
	for engine, want := range map[string]string{
		"foo":    `unknown engine "foo": expected one of sglang, trtllm, vllm`,
		"sglang": "no shipped sglang profile for H100-SXM (h100_sxm): shipped engines for it: vllm",
	} {
		if _, err := shippedEngine(idx, h100, engine); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, expected an error containing %q", engine, err, want)
		}
	}
	delete(idx, "h100_sxm")
	if _, err := shippedEngine(idx, h100, "sglang"); err == nil || !strings.Contains(err.Error(), "no shipped sglang profile for H100-SXM (h100_sxm): GPUs with one: a100_sxm, l40s") {
		t.Errorf("GPU without profiles: %v", err)
	}
}
