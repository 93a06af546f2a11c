package validation

import (
	"slices"
	"strings"

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
