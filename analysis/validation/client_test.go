package validation

import (
	"slices"
	"testing"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/replay"
)

// TestSourceClient: InferenceMAX's rows (wip= or workflow_run_id= in
// silicon_data_source) of a TensorRT-LLM or vLLM aggregated deployment
// are simulated with its benchmark_serving client, TensorRT-LLM's other
// aggregated rows (aiconfigurator's aiperf harness) with aiperf's
// profiling phase, InferenceMAX's disaggregated rows (srt-slurm's sa-bench,
// its benchmark_serving run) with benchmark_serving; other engines and
// other disaggregated rows keep the default.
func TestSourceClient(t *testing.T) {
	imax := "source_file=2026-04-06.csv; model=Llama-3.1-70B; silicon_concurrency=4; wip=False"
	for _, c := range []struct {
		backend, mode, source string
		want                  Client
	}{
		{"trtllm", "", imax, ClientBenchServing},
		{"TRTLLM", "", imax, ClientBenchServing},
		{"trtllm", "", "source_file=/x/aic-auto-gap-analysis/q.csv; gtl_job_id=1", ClientAIPerfRun},
		{"trtllm", "", "db-dump/2026-04-27; config_id=606; swip=1", ClientAIPerfRun},
		{"sglang", "", "source_file=/x/aic-auto-gap-analysis/q.csv", ClientAIPerf},
		{"vllm", "", imax, ClientBenchServing},
		{"vllm", "", "db-dump/2026-04-27; config_id=606; workflow_run_id=305; vllm/vllm-openai:v0.16.0", ClientBenchServing},
		{"vllm", "", "source_file=/x/aic-auto-gap-analysis/h200_sxm/vllm/0.12.0/q.csv; silicon_concurrency=16", ClientAIPerf},
		{"sglang", "", imax, ClientAIPerf},
		{"trtllm", "disagg", imax, ClientBenchServing},
		{"sglang", "disagg", imax, ClientBenchServing},
		{"sglang", "disagg", "source_file=/x/aic-auto-gap-analysis/q.csv; silicon_concurrency=16", ClientAIPerf},
	} {
		r := Row{Backend: c.backend, Mode: c.mode, InferenceMAX: fromInferenceMAX(c.source)}
		if got := sourceClient(&r); got != c.want {
			t.Errorf("%s %q %q: client %q, want %q", c.backend, c.mode, c.source, got, c.want)
		}
	}
}

// TestBenchServingRowConfig: a benchmark_serving row runs 10 requests per
// client, all clients at once, lengths uniform over [0.8 x, 1 x] the
// row's; the default client keeps fixed lengths.
func TestBenchServingRowConfig(t *testing.T) {
	row := Row{ID: "r", Model: "meta-llama/Llama-3.1-70B", GPU: "h200_sxm", Backend: "trtllm",
		ISL: 1000, OSL: 200, Concurrency: 4, TP: 8, PP: 1, TTFTms: 1, TPOTms: 1, Precision: "fp8",
		GEMMQuant: "fp8", Client: ClientBenchServing}
	x, err := RowConfig(row, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cl := x.Config().Workload.ClosedLoop
	if cl.Requests != 40 || cl.Ramp != 0 {
		t.Errorf("requests %d ramp %v, want 40 and 0", cl.Requests, cl.Ramp)
	}
	p, o := cl.Prompt, cl.Output
	if p.Kind != "empirical" || len(p.Values) != 201 || p.Values[0] != 800 || p.Values[200] != 1000 {
		t.Errorf("prompt lengths %s %d values, want 800..1000", p.Kind, len(p.Values))
	}
	if o.Kind != "empirical" || o.Values[0] != 160 || o.Values[len(o.Values)-1] != 200 {
		t.Errorf("output lengths %s, want 160..200", o.Kind)
	}
	row.Client = ClientAIPerf
	if x, err = RowConfig(row, Options{}); err != nil {
		t.Fatal(err)
	}
	if k := x.Config().Workload.ClosedLoop.Prompt.Kind; k != "fixed" {
		t.Errorf("default client: prompt lengths %s, want fixed", k)
	}
}

// TestBatchWaitRecipe: InferenceMAX's Llama-3.1-70B TensorRT-LLM recipe
// waits for prompts at 1024/1024 below TP8 only.
func TestBatchWaitRecipe(t *testing.T) {
	for _, c := range []struct {
		isl, osl, tp int
		backend      replay.Engine
		want         bool
	}{
		{1024, 1024, 4, replay.EngineTRTLLM, true},
		{1024, 1024, 8, replay.EngineTRTLLM, false},
		{1024, 8192, 4, replay.EngineTRTLLM, false},
		{1024, 1024, 4, replay.EngineVLLM, false},
		{1024, 1024, 4, "", false}, // TensorRT-LLM, not InferenceMAX's: a file of one's own
	} {
		sc := replay.SchedulerConfig{Engine: c.backend, MaxNumBatchedTokens: 8192}
		client := ClientBenchServing
		if c.backend == "" {
			sc.Engine, client = replay.EngineTRTLLM, ClientAIPerf
		}
		applyRecipes(Row{Model: "meta-llama/Llama-3.1-70B", ISL: c.isl, OSL: c.osl, TP: c.tp, Client: client}, &sc)
		got := sc.BatchWaitTimeoutIters == 20 && sc.BatchWaitMaxTokensRatio == 0.9 && sc.MaxNumBatchedTokens == 16384
		if got != c.want {
			t.Errorf("%dx%d TP%d %s: batch waiting %v (%+v), want %v", c.isl, c.osl, c.tp, c.backend, got, sc, c.want)
		}
	}
}

// TestAIConfiguratorTRTLLMRecipe: a TensorRT-LLM row measured with
// aiconfigurator's aiperf harness (ClientAIPerfRun) runs the generated configuration
// (max_batch_size bs, max_num_tokens bs + ISL + 1500 rounded up to 32,
// CUDA graphs 1..bs, overlap on); InferenceMAX rows, rows of no known
// source, disaggregated rows and other engines keep theirs.
func TestAIConfiguratorTRTLLMRecipe(t *testing.T) {
	for _, c := range []struct {
		name         string
		row          Row
		backend      replay.Engine
		budget, seqs int
	}{
		// 8 + 1024 + 1500 = 2532 -> 2560: two 1024-token prompts a step.
		{"Qwen3-32B c8", Row{Client: ClientAIPerfRun, Model: "Qwen/Qwen3-32B", ISL: 1024, TP: 1, Concurrency: 8}, replay.EngineTRTLLM, 2560, 8},
		// 64 + 4096 + 1500 = 5660 -> 5664: one 4096-token prompt a step.
		{"Qwen3-32B c64", Row{Client: ClientAIPerfRun, Model: "Qwen/Qwen3-32B", ISL: 4096, TP: 2, Concurrency: 64}, replay.EngineTRTLLM, 5664, 64},
		// batch_size is per attention-DP rank: 64 / 4 + 1024 + 1500 = 2540 -> 2560.
		{"attention DP", Row{Client: ClientAIPerfRun, Model: "Qwen/Qwen3-32B", ISL: 1024, TP: 1, Concurrency: 64, AttentionDP: 4}, replay.EngineTRTLLM, 2560, 16},
		{"InferenceMAX", Row{Model: "Qwen/Qwen3-32B", ISL: 1024, TP: 1, Concurrency: 8, Client: ClientBenchServing}, replay.EngineTRTLLM, 8192, 0},
		{"disagg", Row{Client: ClientAIPerfRun, Model: "Qwen/Qwen3-32B", ISL: 1024, Concurrency: 8, Mode: "disagg"}, replay.EngineTRTLLM, 8192, 0},
		{"no source", Row{Model: "Qwen/Qwen3-32B", ISL: 1024, TP: 1, Concurrency: 8}, replay.EngineTRTLLM, 8192, 0},
		{"SGLang", Row{Client: ClientAIPerfRun, Model: "Qwen/Qwen3-32B", ISL: 1024, TP: 1, Concurrency: 8}, replay.EngineSGLang, 8192, 0},
	} {
		sc := replay.SchedulerConfig{Engine: c.backend, MaxNumBatchedTokens: 8192}
		applyRecipes(c.row, &sc)
		if sc.MaxNumBatchedTokens != c.budget || sc.MaxNumSeqs != c.seqs {
			t.Errorf("%s: max_num_batched_tokens %d, max_num_seqs %d; want %d, %d", c.name, sc.MaxNumBatchedTokens, sc.MaxNumSeqs, c.budget, c.seqs)
		}
		on := c.seqs > 0
		if g := sc.CUDAGraphSizes; on && (len(g) != c.seqs || g[0] != 1 || g[len(g)-1] != c.seqs) || !on && g != nil {
			t.Errorf("%s: cuda_graph_sizes %v, want 1..%d", c.name, g, c.seqs)
		}
		if on != (sc.OverlapScheduler != nil && *sc.OverlapScheduler) {
			t.Errorf("%s: overlap scheduler %v, want %v", c.name, sc.OverlapScheduler, on)
		}
	}
}

// TestAttentionDPRecipe: InferenceMAX's DeepSeek-R1 H200 TensorRT-LLM
// recipe sets max_num_tokens (C + ISL + 64 + 63) / 64 x 64 wherever the
// experts span every GPU, and attention-DP balancing (timeout 60) where
// attention DP is on; other layouts, GPUs and engines keep theirs.
func TestAttentionDPRecipe(t *testing.T) {
	for _, c := range []struct {
		name    string
		row     Row
		backend replay.Engine
		budget  int
		balance bool
	}{
		// 8 x 128 clients of 8192 tokens: (1024 + 8192 + 127) / 64 x 64 = 9280.
		{"DEP8", Row{Client: ClientBenchServing, Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 8192, TP: 1, AttentionDP: 8, MoEEP: 8, Concurrency: 1024}, replay.EngineTRTLLM, 9280, true},
		// (4 + 1024 + 127) / 64 x 64 = 1152.
		{"TP8 EP8", Row{Client: ClientBenchServing, Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 1024, TP: 8, MoEEP: 8, Concurrency: 4}, replay.EngineTRTLLM, 1152, false},
		{"TP8 EP1", Row{Client: ClientBenchServing, Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 1024, TP: 8, MoETP: 8, MoEEP: 1, Concurrency: 4}, replay.EngineTRTLLM, 8192, false},
		{"B200", Row{Client: ClientBenchServing, Model: "deepseek-ai/DeepSeek-R1", GPU: "b200_sxm", ISL: 8192, TP: 1, AttentionDP: 8, MoEEP: 8, Concurrency: 64}, replay.EngineTRTLLM, 8192, false},
		{"SGLang", Row{Client: ClientBenchServing, Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 8192, TP: 1, AttentionDP: 8, MoEEP: 8, Concurrency: 64}, replay.EngineSGLang, 8192, false},
		// Not InferenceMAX's: a file of one's own keeps the defaults, and an
		// aiconfigurator row its generated budget (8 + 8192 + 1500 -> 9728).
		{"own file", Row{Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 8192, TP: 1, AttentionDP: 8, MoEEP: 8, Concurrency: 64}, replay.EngineTRTLLM, 8192, false},
		{"aiperf run", Row{Client: ClientAIPerfRun, Model: "deepseek-ai/DeepSeek-R1", GPU: "h200_sxm", ISL: 8192, TP: 1, AttentionDP: 8, MoEEP: 8, Concurrency: 64}, replay.EngineTRTLLM, 9728, false},
	} {
		sc := replay.SchedulerConfig{Engine: c.backend, MaxNumBatchedTokens: 8192}
		applyRecipes(c.row, &sc)
		bal := sc.AttentionDPBalance && sc.AttentionDPTimeoutIters == 60 && sc.AttentionDPBatchingWaitIters == 0
		if sc.MaxNumBatchedTokens != c.budget || bal != c.balance {
			t.Errorf("%s: max_num_batched_tokens %d, balancing %v (%+v); want %d, %v", c.name, sc.MaxNumBatchedTokens, bal, sc, c.budget, c.balance)
		}
	}
}

// TestAsyncSchedulingRecipe: InferenceMAX's Llama-3.1-70B vLLM scripts
// for H200 and B200 set async-scheduling: true, whatever the version's
// default; other models, GPUs without such a script, other clients and
// other engines keep theirs.
func TestAsyncSchedulingRecipe(t *testing.T) {
	llama := "meta-llama/Llama-3.1-70B"
	for _, c := range []struct {
		name, model, gpu string
		backend          replay.Engine
		client           Client
		want             bool
	}{
		{"llama vllm h200", llama, "h200_sxm", replay.EngineVLLM, ClientBenchServing, true},
		{"llama vllm b200", llama, "B200_SXM", replay.EngineVLLM, ClientBenchServing, true},
		{"llama vllm h100", llama, "h100_sxm", replay.EngineVLLM, ClientBenchServing, false},
		{"llama vllm aiperf", llama, "h200_sxm", replay.EngineVLLM, ClientAIPerf, false},
		{"minimax vllm", "MiniMaxAI/MiniMax-M2.5", "h200_sxm", replay.EngineVLLM, ClientBenchServing, false},
		{"llama sglang", llama, "h200_sxm", replay.EngineSGLang, ClientBenchServing, false},
	} {
		off := false
		sc := replay.SchedulerConfig{Engine: c.backend, MaxNumBatchedTokens: 8192, OverlapScheduler: &off}
		applyRecipes(Row{Model: c.model, GPU: c.gpu, ISL: 1024, OSL: 8192, TP: 8, Client: c.client}, &sc)
		if got := *sc.OverlapScheduler; got != c.want {
			t.Errorf("%s: overlap %v, want %v", c.name, got, c.want)
		}
	}
}

// TestLaunchRecipe: InferenceMAX's TensorRT-LLM MoE launch scripts set
// the KV cache, the memory fraction, the batch size cap, padded CUDA
// graphs and (gpt-oss) the token budget on their rows; other models,
// clients and engines keep theirs; an attention-DP row's cap is per rank
// (C / DP).
func TestLaunchRecipe(t *testing.T) {
	ds, oss := "deepseek-ai/DeepSeek-R1", "openai/gpt-oss-120b"
	for _, c := range []struct {
		name      string
		row       Row
		mem       float64
		seqs, top int
		budget    int
		kv        lod.Precision
	}{
		{"DeepSeek-R1 TP8", Row{Model: ds, GPU: "h200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 8, Concurrency: 16}, 0.75, 16, 128, 8192, lod.FP8},
		{"DeepSeek-R1 DEP8", Row{Model: ds, GPU: "h200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 1, AttentionDP: 8, Concurrency: 256}, 0.75, 32, 128, 8192, lod.FP8},
		// The script's bash $(( CONC / TP )) floors and keeps at least 1:
		// 12 clients over 8 ranks are 1 a rank, 4 over 8 too.
		{"DeepSeek-R1 DEP8 c12", Row{Model: ds, GPU: "h200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 1, AttentionDP: 8, Concurrency: 12}, 0.75, 1, 128, 8192, lod.FP8},
		{"DeepSeek-R1 DEP8 c4", Row{Model: ds, GPU: "h200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 1, AttentionDP: 8, Concurrency: 4}, 0.75, 1, 128, 8192, lod.FP8},
		{"gpt-oss c64", Row{Model: oss, GPU: "h200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 2, Concurrency: 64}, 0.85, 64, 64, 20000, lod.Unquantized},
		{"gpt-oss c4", Row{Model: oss, GPU: "h200_sxm", Backend: "TRTLLM", Client: ClientBenchServing, TP: 8, Concurrency: 4}, 0.85, 4, 4, 20000, lod.Unquantized},
		{"gpt-oss aiperf", Row{Model: oss, GPU: "h200_sxm", Backend: "trtllm", Client: ClientAIPerf, TP: 8, Concurrency: 4}, 0.9, 0, 0, 8192, lod.FP8},
		{"gpt-oss B200", Row{Model: oss, GPU: "b200_sxm", Backend: "trtllm", Client: ClientBenchServing, TP: 8, Concurrency: 4}, 0.9, 0, 0, 8192, lod.FP8},
		{"gpt-oss vLLM", Row{Model: oss, GPU: "h200_sxm", Backend: "vllm", Client: ClientBenchServing, TP: 8, Concurrency: 4}, 0.9, 0, 0, 8192, lod.FP8},
	} {
		m := lod.Model{Name: c.row.Model, KVCache: lod.FP8}
		cfg := &replay.Config{Model: m, Cluster: replay.ClusterConfig{GPUMemoryUtilization: 0.9},
			Scheduler: replay.SchedulerConfig{Engine: replay.EngineTRTLLM, MaxNumBatchedTokens: 8192}}
		applyLaunchRecipe(c.row, cfg, &m)
		sc := &cfg.Scheduler
		if cfg.Cluster.GPUMemoryUtilization != c.mem || sc.MaxNumSeqs != c.seqs || sc.MaxNumBatchedTokens != c.budget ||
			m.KVCache != c.kv || cfg.Model.KVCache != c.kv {
			t.Errorf("%s: memory %v, max_num_seqs %d, budget %d, KV %q/%q; want %v, %d, %d, %q",
				c.name, cfg.Cluster.GPUMemoryUtilization, sc.MaxNumSeqs, sc.MaxNumBatchedTokens, m.KVCache, cfg.Model.KVCache, c.mem, c.seqs, c.budget, c.kv)
		}
		if g := sc.CUDAGraphSizes; c.top == 0 && g != nil || c.top > 0 && (len(g) == 0 || g[len(g)-1] != c.top) {
			t.Errorf("%s: cuda_graph_sizes %v, want padded sizes up to %d", c.name, g, c.top)
		}
	}
}

// TestTRTLLMPaddedGraphs: TensorRT-LLM's padded CUDA-graph sizes, as
// CudaGraphConfig generates them for enable_padding.
func TestTRTLLMPaddedGraphs(t *testing.T) {
	for _, c := range []struct {
		top  int
		want []int
	}{
		{3, []int{1, 2, 3}},
		{4, []int{1, 2, 4}},
		{20, []int{1, 2, 4, 8, 16, 20}},
		{128, []int{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128}},
		{1024, []int{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 256, 512, 1024}},
		{300, []int{1, 2, 4, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120, 128, 256, 300}},
	} {
		if got := trtllmPaddedGraphs(c.top); !slices.Equal(got, c.want) {
			t.Errorf("top %d: %v, want %v", c.top, got, c.want)
		}
	}
}
