package validation

import (
	"slices"
	"strings"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/replay"
)

// batchWaitRecipe is a deployment setting the dev set's rows do not
// record but their benchmark recipe does: InferenceMAX's TensorRT-LLM
// launch script for Llama-3.1-70B (benchmarks/70b_fp8_h200_trt_slurm.sh)
// turns on batch waiting (batch_wait_max_tokens_ratio 0.9,
// batch_wait_timeout_iters 20, with max_num_tokens 16384) for 1024/1024
// tokens below TP8, "to improve the performance" of that shape. The
// measured rows bear it out on H200 and B200 alike: at 4 clients the
// 1024/1024 TTFT below TP8 is 2-4x that of 1024/8192 at the same TP
// (about 20 decode steps more), and at TP8 it is not.
type batchWaitRecipe struct {
	model              string // lower-case substring of Row.Model
	isl, osl, belowTP  int
	ratio              float64
	iters, budgetFloor int
}

var batchWaitRecipes = []batchWaitRecipe{
	{model: "llama-3.1-70b", isl: 1024, osl: 1024, belowTP: 8, ratio: 0.9, iters: 20, budgetFloor: 16384},
}

// attentionDPRecipe is InferenceMAX's TensorRT-LLM launch script for
// DeepSeek-R1 FP8 on H200 (benchmarks/dsr1_fp8_h200_trt_slurm.sh, in
// InferenceMAX/InferenceMAX at ff7e462 and SemiAnalysisAI/InferenceX at
// 2e46dba alike): experts spread over every GPU (--ep_size = --tp_size,
// the rows' moe_ep_size = tp_size x attention_dp_size), max_num_tokens
// (CONC + ISL + 64 + 63) / 64 x 64, and, where it turns attention data
// parallelism on, attention_dp_config {enable_balance: true,
// timeout_iters: 60, batching_wait_iters: 0}: a rank's prompts wait until
// every rank has one, or 60 steps (replay's scheduler.attention_dp_*).
type attentionDPRecipe struct {
	model, gpu                 string // lower-case substring of Row.Model; Row.GPU
	timeoutIters, batchingWait int
}

var attentionDPRecipes = []attentionDPRecipe{
	{model: "deepseek-r1", gpu: "h200_sxm", timeoutIters: 60, batchingWait: 0},
}

// launchRecipe is what an InferenceMAX TensorRT-LLM launch script for an
// MoE model passes the engine beside its workload, where it departs from
// TensorRT-LLM's defaults (free_gpu_memory_fraction 0.9, max_batch_size
// 2048, no CUDA-graph padding in lodsim's defaults):
//
//   - benchmarks/dsr1_fp8_h200_trt_slurm.sh and its MTP twin
//     dsr1_fp8_h200_trt_mtp_slurm.sh (InferenceMAX/InferenceMAX ff7e462,
//     SemiAnalysisAI/InferenceX 2e46dba and 40be3a4): kv_cache_config
//     {dtype: fp8, free_gpu_memory_fraction: 0.75}, cuda_graph_config
//     {enable_padding: true, max_batch_size: 128}, --max_batch_size the
//     concurrency (per attention-DP rank where attention DP is on);
//   - benchmarks/gptoss_fp4_h200_trt_slurm.sh (SemiAnalysisAI/InferenceX
//     2e46dba): kv_cache_config {dtype: auto, free_gpu_memory_fraction:
//     0.85} (the checkpoint's 16-bit KV cache, not the FP8 one
//     engineKVCache assumes of a quantized TensorRT-LLM deployment),
//     --max_num_tokens 20000, --max_batch_size and cuda_graph_config
//     {enable_padding: true, max_batch_size} the concurrency.
//
// graphMax 0 is the concurrency; maxNumTokens 0 keeps the budget (the
// DeepSeek-R1 scripts' formula is attentionDPRecipe's).
type launchRecipe struct {
	model, gpu   string // lower-case substring of Row.Model; Row.GPU
	memFraction  float64
	kv16         bool
	graphMax     int
	maxNumTokens int
}

var launchRecipes = []launchRecipe{
	{model: "deepseek-r1", gpu: "h200_sxm", memFraction: 0.75, graphMax: 128},
	{model: "gpt-oss-120b", gpu: "h200_sxm", memFraction: 0.85, kv16: true, maxNumTokens: 20000},
}

// rowLaunchRecipe is the launchRecipe of an InferenceMAX TensorRT-LLM row.
func rowLaunchRecipe(row Row) (launchRecipe, bool) {
	if !strings.EqualFold(row.Backend, string(replay.EngineTRTLLM)) || row.Client != ClientBenchServing {
		return launchRecipe{}, false
	}
	for _, r := range launchRecipes {
		if strings.Contains(strings.ToLower(row.Model), r.model) && strings.EqualFold(row.GPU, r.gpu) {
			return r, true
		}
	}
	return launchRecipe{}, false
}

// applyLaunchRecipe sets row's launch recipe on cfg, model m (the model
// cfg runs) included: the KV cache format, the memory fraction, the batch
// size cap, the CUDA graphs and the token budget. The cap is left off
// under attention DP: TensorRT-LLM hands a new request to a rank with
// room, while replay's clients keep to the replica they were routed to,
// where a per-rank cap of C / DP starves them (DeepSeek-R1 8192/1024 at
// 256 clients: 54.9 s predicted against 12.2 s measured).
func applyLaunchRecipe(row Row, cfg *replay.Config, m *lod.Model) {
	r, ok := rowLaunchRecipe(row)
	if !ok {
		return
	}
	if r.kv16 {
		m.KVCache = lod.Unquantized
		cfg.Model = *m
	}
	cfg.Cluster.GPUMemoryUtilization = r.memFraction
	sc := &cfg.Scheduler
	seqs := max(row.Concurrency/max(row.AttentionDP, 1), 1)
	if max(row.AttentionDP, 1) == 1 {
		sc.MaxNumSeqs = seqs
	}
	graphMax := r.graphMax
	if graphMax == 0 {
		graphMax = seqs
	}
	sc.CUDAGraphSizes = trtllmPaddedGraphs(graphMax)
	if r.maxNumTokens > 0 {
		sc.MaxNumBatchedTokens = r.maxNumTokens
	}
}

// trtllmPaddedGraphs is TensorRT-LLM's CUDA-graph batch sizes for
// cuda_graph_config {enable_padding: true, max_batch_size: top}
// (CudaGraphConfig._generate_cuda_graph_batch_sizes, tensorrt_llm/llmapi/
// llm_args.py): 1, 2, 4 and the multiples of 8 to 128, the powers of two
// from 256 below top, all up to top, and top itself.
func trtllmPaddedGraphs(top int) []int {
	s := []int{1, 2, 4}
	for b := 8; b <= 128; b += 8 {
		s = append(s, b)
	}
	for b := 256; b < top; b *= 2 {
		s = append(s, b)
	}
	s = slices.DeleteFunc(s, func(b int) bool { return b > top })
	if len(s) == 0 || s[len(s)-1] != top {
		s = append(s, top)
	}
	return s
}

// asyncSchedulingModels are the models whose InferenceMAX vLLM launch
// scripts set async-scheduling: true in their config.yaml
// (benchmarks/70b_fp8_h200_slurm.sh and benchmarks/70b_fp4_b200_docker.sh
// in SemiAnalysisAI/InferenceX, beside max-num-batched-tokens 8192 and
// kv-cache-dtype fp8). Their rows carry no backend_version, so this, not
// the version's default, says the engine overlapped its scheduling.
var asyncSchedulingModels = []string{"llama-3.1-70b"}

// applyRecipes sets the row's recipe's engine settings on sc.
func applyRecipes(row Row, sc *replay.SchedulerConfig) {
	if sc.Engine == replay.EngineVLLM && row.Client == ClientBenchServing &&
		slices.ContainsFunc(asyncSchedulingModels, func(m string) bool { return strings.Contains(strings.ToLower(row.Model), m) }) {
		on := true
		sc.OverlapScheduler = &on
	}
	if sc.Engine != replay.EngineTRTLLM {
		return
	}
	if row.Client == ClientAIPerfRun && !row.Disaggregated() {
		aiconfiguratorTRTLLMAgg(row, sc)
	}
	dp := max(row.AttentionDP, 1)
	for _, r := range attentionDPRecipes {
		if !strings.Contains(strings.ToLower(row.Model), r.model) || !strings.EqualFold(row.GPU, r.gpu) || row.MoEEP != row.TP*dp {
			continue
		}
		sc.MaxNumBatchedTokens = (row.Concurrency + row.ISL + 64 + 63) / 64 * 64
		if dp > 1 {
			sc.AttentionDPBalance = true
			sc.AttentionDPTimeoutIters = r.timeoutIters
			sc.AttentionDPBatchingWaitIters = r.batchingWait
		}
	}
	for _, r := range batchWaitRecipes {
		if strings.Contains(strings.ToLower(row.Model), r.model) && row.ISL == r.isl && row.OSL == r.osl && row.TP < r.belowTP {
			sc.BatchWaitMaxTokensRatio = r.ratio
			sc.BatchWaitTimeoutIters = r.iters
			sc.MaxNumBatchedTokens = max(sc.MaxNumBatchedTokens, r.budgetFloor)
		}
	}
}

// aiconfiguratorTRTLLMAgg sets the engine settings aiconfigurator's
// generator writes for an aggregated TensorRT-LLM worker of batch size bs
// (the row's batch_size, per attention-DP rank): max_batch_size bs,
// max_num_tokens bs + ISL + 1500 ("+1500 is for holding the largest
// isl"; "we're assuming no chunked prefill"), CUDA graphs at every batch
// size 1..bs and the overlap scheduler on (its TensorRT-LLM backend's
// generate_backend_config, and rule_plugin/benchmark/trtllm.rule in
// ai-dynamo/aiconfigurator; the newer rule_plugin/trtllm.rule rounds the
// budget up to tokens_per_block 32, which is kept here since TensorRT-LLM
// requires it). The dev set's TensorRT-LLM rows measured with
// aiconfigurator's aiperf harness ran these generated configurations:
// with TensorRT-LLM's own max_num_tokens 8192 a step prefills a whole
// wave of eight 1024-token prompts, while this budget holds two, or one of
// 2048 and more (BENCHMARKS.md, "aiconfigurator's TensorRT-LLM
// configuration").
func aiconfiguratorTRTLLMAgg(row Row, sc *replay.SchedulerConfig) {
	const tokensPerBlock = 32
	bs := row.Concurrency / max(row.AttentionDP, 1)
	if bs < 1 {
		return
	}
	sc.MaxNumSeqs = bs
	sc.MaxNumBatchedTokens = (bs + row.ISL + 1500 + tokensPerBlock - 1) / tokensPerBlock * tokensPerBlock
	sc.CUDAGraphSizes = make([]int, bs)
	for i := range sc.CUDAGraphSizes {
		sc.CUDAGraphSizes[i] = i + 1
	}
	on := true
	sc.OverlapScheduler = &on
}
