package validation

import (
	"strings"
	"testing"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/replay"
)

// The whole development set, agg and disagg rows, in the upstream layout.
const wholeDevSet = "testdata/silicon_dev.csv"

// TestWholeFileReads: disaggregated rows leave batch_size and tp_size
// blank; they are read (and later skipped with a reason) instead of
// failing the file.
func TestWholeFileReads(t *testing.T) {
	rows, layout, err := ReadBenchmarkFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	if layout != LayoutSilicon || len(rows) != 882 {
		t.Fatalf("%d rows in layout %q, expected the file's 882 in %q", len(rows), layout, LayoutSilicon)
	}
	disagg := 0
	for _, r := range rows {
		if r.Disaggregated() {
			disagg++
		}
	}
	if disagg != 64 {
		t.Errorf("%d disaggregated rows, expected the file's 64", disagg)
	}
	// A blank batch_size stays an error on an aggregated row.
	bad := siliconHeader + "\nx,agg,m,h100_sxm,vllm,,1,1,,1,1,1"
	if _, _, err := ReadBenchmarks(strings.NewReader(bad), "bad.csv"); err == nil || !strings.Contains(err.Error(), "batch_size") {
		t.Errorf("agg row without batch_size: %v, expected an error naming batch_size", err)
	}
}

const siliconHeader = "id,mode,model_path,system,backend,backend_version,isl,osl,batch_size,tp_size,silicon_ttft_ms,silicon_tpot_ms"

// TestRowConfigMapsTheRow: a row's engine, version and quantization reach
// the simulation; a disaggregated row, an unknown backend and an unknown
// model are skipped with a reason, never a failure.
func TestRowConfigMapsTheRow(t *testing.T) {
	row := Row{ID: "r", Model: "meta-llama/Llama-3.1-70B", GPU: "h200_sxm", Backend: "trtllm", Version: "1.0.0rc3",
		ISL: 8192, OSL: 128, Concurrency: 16, TP: 4, PP: 1, TTFTms: 1, TPOTms: 1, GEMMQuant: "fp8"}
	x, err := RowConfig(row, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := x.Config()
	if c.Scheduler.Engine != replay.EngineTRTLLM || c.Scheduler.EngineVersion != "1.0.0rc3" {
		t.Errorf("engine %q version %q, expected trtllm 1.0.0rc3", c.Scheduler.Engine, c.Scheduler.EngineVersion)
	}
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	if m.Weights != lod.FP8 {
		t.Errorf("weights %q, expected the row's gemm_quant_mode fp8", m.Weights)
	}
	// TRT-LLM runs prompts whole: the budget holds one prompt and a decode
	// per other client.
	if got := c.Scheduler.MaxNumBatchedTokens; got < row.ISL+row.Concurrency {
		t.Errorf("token budget %d cannot hold a %d-token prompt beside %d decodes", got, row.ISL, row.Concurrency)
	}
	// A development build takes the newest defaults.
	dev := row
	dev.Version = "gpt-oss-dev"
	if x, err := RowConfig(dev, Options{}); err != nil || x.Config().Scheduler.EngineVersion != "" {
		t.Errorf("development build: %v", err)
	}
	for name, r := range map[string]Row{
		"disagg":  func() Row { r := row; r.Mode = "disagg"; return r }(),
		"backend": func() Row { r := row; r.Backend = "tgi"; return r }(),
		"model":   func() Row { r := row; r.Model = "nobody/NoModel-1B"; return r }(),
	} {
		p, err := Predict(r, Options{})
		if err != nil || p.Simulated() {
			t.Errorf("%s: predicted %v (err %v), expected a skip with a reason", name, p.Simulated(), err)
		}
	}
}

// TestAttentionDPClients: with attention data parallelism the silicon
// layout's batch_size is per rank; the row runs batch_size x
// attention_dp_size clients (the rows' silicon_concurrency), and the
// canonical layout, which holds the total, round-trips it.
func TestAttentionDPClients(t *testing.T) {
	in := "id,mode,model_path,system,backend,isl,osl,batch_size,tp_size,attention_dp_size,silicon_ttft_ms,silicon_tpot_ms\n" +
		"dp,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1024,1024,32,1,8,3000,37\n" +
		"tp,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1024,1024,32,8,1,670,19\n"
	rows, _, err := ReadBenchmarks(strings.NewReader(in), "dp.csv")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Concurrency != 256 || rows[1].Concurrency != 32 {
		t.Errorf("clients %d and %d, expected 32 x 8 = 256 with attention DP 8 and 32 without", rows[0].Concurrency, rows[1].Concurrency)
	}
	var b strings.Builder
	if err := WriteBenchmarks(&b, rows); err != nil {
		t.Fatal(err)
	}
	back, _, err := ReadBenchmarks(strings.NewReader(b.String()), "canonical.csv")
	if err != nil {
		t.Fatal(err)
	}
	if back[0].Concurrency != 256 {
		t.Errorf("canonical round trip: %d clients, expected 256", back[0].Concurrency)
	}
	x, err := RowConfig(rows[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cl := x.Config().Workload.ClosedLoop; cl.Clients != 256 {
		t.Errorf("%d simulated clients, expected 256", cl.Clients)
	}
}

// TestTRTLLMKVCache: TensorRT-LLM runs an FP8 KV cache with quantized
// weights, whether the engine quantized them (Llama-3.1-70B, gemm_quant_mode
// fp8) or the checkpoint is quantized (DeepSeek-R1's block-scaled FP8);
// vLLM does when it quantized the weights at load time (FP8 or NVFP4) and
// keeps a quantized checkpoint's own cache; SGLang keeps the model's.
func TestTRTLLMKVCache(t *testing.T) {
	for _, c := range []struct {
		model, backend, gemm string
		want                 lod.Precision
	}{
		{"meta-llama/Llama-3.1-70B", "trtllm", "fp8", lod.FP8},
		{"deepseek-ai/DeepSeek-R1", "trtllm", "fp8", lod.FP8},
		{"meta-llama/Llama-3.1-70B", "trtllm", "", lod.Unquantized},
		{"deepseek-ai/DeepSeek-R1", "vllm", "fp8", lod.Unquantized},
		{"Qwen/Qwen3-235B-A22B-FP8", "vllm", "fp8", lod.Unquantized},
		{"meta-llama/Llama-3.1-70B", "vllm", "fp8", lod.FP8},
		{"meta-llama/Llama-3.1-70B", "vllm", "nvfp4", lod.FP8},
		{"meta-llama/Llama-3.1-70B", "vllm", "bf16", lod.Unquantized},
		{"meta-llama/Llama-3.1-70B", "sglang", "fp8", lod.Unquantized},
	} {
		r, err := resolveRow(Row{Model: c.model, GPU: "h200_sxm", Backend: c.backend, GEMMQuant: c.gemm}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if r.model.KVCache != c.want {
			t.Errorf("%s on %s (gemm %q): KV cache %q, expected %q", c.model, c.backend, c.gemm, r.model.KVCache, c.want)
		}
	}
}

// TestImpliedAttentionDP: a vLLM row whose experts span a multiple of
// its tp_size GPUs, attention_dp_size blank, ran --data-parallel-size
// (Qwen3-235B tp_size 2, moe_tp_size 4: two data-parallel ranks of TP2):
// it is simulated as two attention-DP replicas sharing the experts, the
// clients spread over both by the engines' queues (vLLM's DP load
// balancer). Another engine's row with the same columns
// (its attention DP is stated when it ran one) is skipped with the
// reason. A dense model's moe_* columns do not matter, and a consistent
// MoE row runs as plain TP.
func TestImpliedAttentionDP(t *testing.T) {
	row := Row{ID: "q", Model: "Qwen/Qwen3-235B-A22B-FP8", GPU: "h200_sxm", Backend: "vllm", Version: "0.12.0",
		ISL: 1000, OSL: 100, Concurrency: 8, TP: 2, PP: 1, TTFTms: 1, TPOTms: 1, MoETP: 4, MoEEP: 1}
	x, err := RowConfig(row, Options{})
	if err != nil {
		t.Fatalf("vLLM tp 2, moe_tp 4: %v, expected data parallel 2", err)
	}
	c := x.Config()
	if k := c.Cluster; k.Replicas != 2 || k.AttentionDataParallel != 2 || k.TensorParallel != 2 || k.ExpertParallel > 1 || c.Workload.ClosedLoop.Clients != 8 {
		t.Errorf("vLLM tp 2, moe_tp 4: %d replicas, attention DP %d, TP %d, EP %d, %d clients; expected 2 x TP2 sharing the experts, 8 clients",
			k.Replicas, k.AttentionDataParallel, k.TensorParallel, k.ExpertParallel, c.Workload.ClosedLoop.Clients)
	}
	if c.Router.Policy != replay.LeastOutstanding {
		t.Errorf("vLLM data parallel: router %q, expected vLLM's queue-balancing %q", c.Router.Policy, replay.LeastOutstanding)
	}
	if p, err := Predict(row, Options{}); err != nil || !p.Simulated() {
		t.Errorf("vLLM tp 2, moe_tp 4: simulated %v (%v), skipped %q", p.Simulated(), err, p.Skipped)
	}
	row.Backend, row.Version = "trtllm", ""
	p, err := Predict(row, Options{})
	if err != nil || p.Simulated() || !strings.Contains(p.Skipped, "moe_tp_size 4 x moe_ep_size 1 = 4 GPUs but tp_size 2") {
		t.Errorf("trtllm tp 2, moe_tp 4: simulated %v (%v), skipped %q, expected a skip naming the layouts", p.Simulated(), err, p.Skipped)
	}
	row.Backend, row.Version, row.MoETP = "vllm", "0.12.0", 2
	if x, err := RowConfig(row, Options{}); err != nil || x.Config().Cluster.Replicas != 1 {
		t.Errorf("tp 2, moe_tp 2: %v, expected it simulated as one TP2 replica", err)
	}
	dense := Row{ID: "d", Model: "Qwen/Qwen3-32B", GPU: "h100_sxm", Backend: "sglang",
		ISL: 1000, OSL: 100, Concurrency: 8, TP: 2, PP: 1, TTFTms: 1, TPOTms: 1, MoETP: 1, MoEEP: 1}
	if _, err := RowConfig(dense, Options{}); err != nil {
		t.Errorf("dense model with moe_tp 1 at tp 2: %v, expected it simulated", err)
	}
}
