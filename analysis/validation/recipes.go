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

// mtpRecipe is InferenceMAX's TensorRT-LLM launch script for DeepSeek-R1
// FP8 on H200 with multi-token prediction (benchmarks/
// dsr1_fp8_h200_trt_mtp_slurm.sh, configuration dsr1-fp8-h200-trt-mtp of
// .github/configs/nvidia-master.yaml, InferenceMAX/InferenceMAX 525079a),
// whose image the dev set's rows of that version name (BENCHMARKS.md,
// "DeepSeek-R1 TensorRT-LLM rows are MTP runs"): speculative_config
// {decoding_type: MTP, num_nextn_predict_layers: 3}, 1 where attention DP
// is on, and max_num_tokens ((MTP + 1) x max_batch_size + ISL + 127) / 64
// x 64, max_batch_size the concurrency per attention-DP rank.
//
// The rows do not record the acceptance. acceptance is a published one,
// per draft position: aiconfigurator's project-wide default
// nextn_accept_rates [0.85, 0.3, 0, 0, 0] (ai-dynamo/aiconfigurator, sdk
// apply_nextn and ModelConfig.nextn_accept_rates, read as a chain by its
// calc_expectation: 0.85 + 0.85 x 0.3 accepted drafts at nextn >= 2), the
// NVIDIA tool whose kernel tables lodsim is calibrated on. Its first rate
// is the low end of the DeepSeek-V3 Technical Report's (arXiv 2412.19437,
// section 5.4.3: "the acceptance rate of the second token prediction
// ranges between 85% and 90% across various generation topics").
// TensorRT-LLM's MTP Eagle path drafts every position with the one MTP
// module (tech blog 2, "DeepSeek R1 MTP Implementation and Optimization").
type mtpRecipe struct {
	model, gpu, version string // lower-case substring of Row.Model; Row.GPU; Row.Version
	nextn, nextnDP      int
	acceptance          []float64 // by draft position, at least max(nextn, nextnDP)
}

var mtpRecipes = []mtpRecipe{
	{model: "deepseek-r1", gpu: "h200_sxm", version: "1.1.0rc2.post2", nextn: 3, nextnDP: 1, acceptance: nextnAcceptRates},
}

// nextnAcceptRates is aiconfigurator's default nextn_accept_rates, the
// published per-position acceptance both the TensorRT-LLM MTP recipe and
// the SGLang disaggregated MTP entries (disaggRecipe.mtpSteps) run at.
var nextnAcceptRates = []float64{0.85, 0.3, 0, 0, 0}

// applyMTPRecipe sets row's MTP recipe, if any, on sc.
func applyMTPRecipe(row Row, sc *replay.SchedulerConfig) {
	dp := max(row.AttentionDP, 1)
	for _, r := range mtpRecipes {
		if !strings.Contains(strings.ToLower(row.Model), r.model) || !strings.EqualFold(row.GPU, r.gpu) || row.Version != r.version {
			continue
		}
		k := r.nextn
		if dp > 1 {
			k = r.nextnDP
		}
		sc.Speculative = &replay.SpeculativeConfig{Method: "mtp", DraftTokens: k, AcceptanceRates: slices.Clone(r.acceptance[:k])}
		bs := max(row.Concurrency/dp, 1)
		sc.MaxNumBatchedTokens = ((k+1)*bs + row.ISL + 127) / 64 * 64
	}
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
//     {enable_padding: true, max_batch_size: 128}, and (ff7e462, the MTP
//     script) --max_batch_size the concurrency, per attention-DP rank
//     where attention DP is on (2e46dba leaves TensorRT-LLM's 2048, which
//     no row's concurrency reaches);
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
// size cap (per attention-DP rank, where replay hands each new request
// to a rank with room as TensorRT-LLM does: replay/adpassign.go), the
// CUDA graphs and the token budget.
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
	sc.MaxNumSeqs = seqs
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

// vllmLaunchRecipe is what an InferenceMAX vLLM launch script sets in
// its config.yaml beside its workload where it departs from the engine's
// defaults and replay models it: async-scheduling: true in
// benchmarks/70b_fp8_h200_slurm.sh and benchmarks/70b_fp4_b200_docker.sh
// (SemiAnalysisAI/InferenceX, beside max-num-batched-tokens 8192 and
// kv-cache-dtype fp8). It is a fact of the deployment, not of the model
// or of a vLLM version: the rows carry no backend_version and no launch
// flags, so, as with the TensorRT-LLM scripts (launchRecipe), the script a
// row ran is known by its model and GPU alone, and this, not a version's
// default, says the engine overlapped its scheduling.
type vllmLaunchRecipe struct {
	model, gpu      string // lower-case substring of Row.Model; Row.GPU
	asyncScheduling bool
}

var vllmLaunchRecipes = []vllmLaunchRecipe{
	{model: "llama-3.1-70b", gpu: "h200_sxm", asyncScheduling: true}, // 70b_fp8_h200_slurm.sh
	{model: "llama-3.1-70b", gpu: "b200_sxm", asyncScheduling: true}, // 70b_fp4_b200_docker.sh
}

// rowVLLMLaunchRecipe is the vllmLaunchRecipe of an InferenceMAX vLLM
// row.
func rowVLLMLaunchRecipe(row Row, sc *replay.SchedulerConfig) (vllmLaunchRecipe, bool) {
	if sc.Engine != replay.EngineVLLM || row.Client != ClientBenchServing {
		return vllmLaunchRecipe{}, false
	}
	for _, r := range vllmLaunchRecipes {
		if strings.Contains(strings.ToLower(row.Model), r.model) && strings.EqualFold(row.GPU, r.gpu) {
			return r, true
		}
	}
	return vllmLaunchRecipe{}, false
}

// applyRecipes sets the row's recipe's engine settings on sc.
func applyRecipes(row Row, sc *replay.SchedulerConfig) {
	if r, ok := rowVLLMLaunchRecipe(row, sc); ok && r.asyncScheduling {
		on := true
		sc.OverlapScheduler = &on
	}
	if sc.Engine != replay.EngineTRTLLM {
		return
	}
	if row.Client == ClientAIPerfRun && !row.Disaggregated() {
		aiconfiguratorTRTLLMAgg(row, sc)
	}
	if row.Client != ClientBenchServing {
		// The recipes below are InferenceMAX's launch scripts: a row of
		// another source (aiconfigurator's, a file of one's own) did not
		// run them.
		return
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
	applyMTPRecipe(row, sc)
	for _, r := range batchWaitRecipes {
		if strings.Contains(strings.ToLower(row.Model), r.model) && row.ISL == r.isl && row.OSL == r.osl && row.TP < r.belowTP {
			sc.BatchWaitMaxTokensRatio = r.ratio
			sc.BatchWaitTimeoutIters = r.iters
			sc.MaxNumBatchedTokens = max(sc.MaxNumBatchedTokens, r.budgetFloor)
		}
	}
}

// disaggRecipe is one search-space entry (STP, or MTP where noted) of
// InferenceX's benchmark configuration for a disaggregated deployment
// (.github/configs/nvidia-master.yaml, dsr1-fp8-h200-dynamo-sglang, in
// SemiAnalysisAI/InferenceX at 0004cf5: image lmsysorg/sglang:v0.5.8.post1-cu130,
// the image the dev set's rows name) with the limits of its srt-slurm
// recipe (CONFIG_FILE, recipes/h200/...: sglang_config.prefill and
// .decode). The silicon dump of its rows keeps each pool's tp and ep but
// leaves prefill_num_workers and decode_num_workers blank and drops
// dp-attn, so a row reads as 1P+1D: the entries ran 1 or 2 prefill workers
// and 1 to 9 decode workers, and the "dep" recipes run attention
// data-parallel over the worker's GPUs (--enable-dp-attention, dp-size =
// tp-size = ep-size = 8). With one decode worker 16 clients decode 16 to a
// step where the deployment decoded about 2 on each of its 9 workers, and
// lodsim's TPOT came out twice the measured one at low concurrency
// (BENCHMARKS.md, "Disaggregated recipes").
type disaggRecipe struct {
	name                          string // the entry's CONFIG_FILE
	model, gpu, backend           string // lower-case substring of Row.Model; Row.GPU; Row.Backend
	isl, osl, tp                  int
	prefillEP, decodeEP           int
	concs                         []int // the entry's conc-list
	prefillWorkers, decodeWorkers int
	prefillDPAttn, decodeDPAttn   bool
	prefill, decode               recipePool
	// mtpSteps is the decode pool's speculative-num-steps in an MTP
	// entry (0: an STP entry). Its recipes run SGLang's EAGLE, which for
	// DeepSeek drafts with the checkpoint's MTP (NextN) module, with
	// speculative-eagle-topk 1 and speculative-num-draft-tokens 3: with
	// topk 1 SGLang sets num-draft-tokens to num-steps + 1, the verified
	// token counted ("speculative_num_draft_tokens is adjusted to
	// speculative_num_steps + 1 when speculative_eagle_topk == 1",
	// python/sglang/srt/server_args.py), so a decode step verifies
	// mtpSteps drafts: replay's draft_tokens. Only the decode pool
	// speculates; its prefill pool runs without the flags.
	mtpSteps int
}

// speculative is the decode pool's speculative decoding in r (nil for an
// STP entry): replay's mtp with r.mtpSteps drafts at the published
// acceptance the TensorRT-LLM MTP recipe runs at (nextnAcceptRates).
func (r *disaggRecipe) speculative() *replay.SpeculativeConfig {
	if r.mtpSteps == 0 {
		return nil
	}
	return &replay.SpeculativeConfig{Method: "mtp", DraftTokens: r.mtpSteps, AcceptanceRates: slices.Clone(nextnAcceptRates[:r.mtpSteps])}
}

// recipePool is one pool's limits in its recipe: max-running-requests,
// mem-fraction-static and, for a prefill pool, its token budget. SGLang
// stops adding prompts to a prefill batch once either max-prefill-tokens
// or chunked-prefill-size is spent (PrefillAdder's rem_input_tokens and
// rem_chunk_tokens, python/sglang/srt/managers/schedule_policy.py), and
// with dp-attn each attention rank's scheduler gets chunked-prefill-size /
// dp-size (ServerArgs), so the budget of a rank (a lodsim replica) is the
// smaller of max-prefill-tokens and chunked-prefill-size / dp. The
// recipes' budgets hold many prompts (163840 tokens: 160 of 1024), and
// their sa-bench clients send at once (request rate inf), so the opening
// wave is prefilled in a few large batches; the clients' random lengths
// (benchmark_serving's range ratio 0.8) then spread them apart
// (BENCHMARKS.md, "Disaggregated recipes").
type recipePool struct {
	maxRunning       int
	memFraction      float64
	maxPrefillTokens int // 0: the engine's default budget (a decode pool)
	chunkedPrefill   int
}

// disaggRecipes lists the entries in the configuration's order: where a
// concurrency is in more than one entry's conc-list (8192/1024 at 4 to 128
// clients) the row takes the first, as nothing in it tells them apart.
var disaggRecipes = func() []disaggRecipe {
	r := func(name string, isl, pEP, dEP int, concs []int, pw, dw int, pDP, dDP bool, p, d recipePool) disaggRecipe {
		return disaggRecipe{name: name, model: "deepseek-r1", gpu: "h200_sxm", backend: "sglang", isl: isl, osl: 1024, tp: 8,
			prefillEP: pEP, decodeEP: dEP, concs: concs, prefillWorkers: pw, decodeWorkers: dw, prefillDPAttn: pDP, decodeDPAttn: dDP,
			prefill: p, decode: d}
	}
	pool := func(maxRunning int, mem float64) recipePool {
		return recipePool{maxRunning: maxRunning, memFraction: mem}
	}
	prefill := func(maxRunning int, mem float64, maxPrefill, chunked int) recipePool {
		return recipePool{maxRunning: maxRunning, memFraction: mem, maxPrefillTokens: maxPrefill, chunkedPrefill: chunked}
	}
	mtp := func(e disaggRecipe, steps int) disaggRecipe {
		e.mtpSteps = steps
		return e
	}
	return []disaggRecipe{
		r("recipes/h200/1k1k/low-latency-1p9d.yaml", 1024, 1, 1, []int{1, 4, 8, 16, 32, 64, 128, 256}, 1, 9, false, false,
			prefill(256, 0.82, 163840, 163840), pool(256, 0.82)),
		r("recipes/h200/1k1k/bs256-1p6d-tp.yaml", 1024, 1, 1, []int{512, 1024, 2048}, 1, 6, false, false,
			prefill(512, 0.7, 163840, 163840), pool(512, 0.82)),
		r("recipes/h200/1k1k/bs256-1p6d-dep.yaml", 1024, 8, 8, []int{128, 256, 512, 1024, 2048}, 1, 6, true, true,
			prefill(512, 0.75, 65536, 262144), pool(512, 0.82)),
		r("recipes/h200/8k1k/bs4-1p7d.yaml", 8192, 1, 1, []int{1, 4, 8}, 1, 7, false, false,
			prefill(16, 0.82, 32768, 32768), pool(8, 0.82)),
		r("recipes/h200/8k1k/bs8-1p6d.yaml", 8192, 1, 1, []int{4, 8, 16}, 1, 6, false, false,
			prefill(16, 0.82, 32768, 32768), pool(16, 0.82)),
		r("recipes/h200/8k1k/bs16-1p3d.yaml", 8192, 1, 1, []int{8, 16, 32}, 1, 3, false, false,
			prefill(16, 0.82, 32768, 32768), pool(32, 0.82)),
		r("recipes/h200/8k1k/bs64-2p3d.yaml", 8192, 1, 1, []int{32, 64, 128}, 2, 3, false, false,
			prefill(16, 0.82, 32768, 32768), pool(128, 0.82)),
		r("recipes/h200/8k1k/bs128-1p1d-dep.yaml", 8192, 1, 8, []int{64, 128, 256}, 1, 1, false, true,
			prefill(16, 0.75, 163840, 163840), pool(256, 0.88)),
		// The MTP entries (spec-decoding "mtp", EAGLE with 2 steps and 3
		// draft tokens in each recipe's decode pool), after the STP ones:
		// a row takes one only at a concurrency no STP entry of its
		// layout lists. Of the six, only these two list one (8192/1024 at
		// 2 clients; at 512); their decode pools speculate with 2 MTP
		// drafts (disaggRecipe.mtpSteps; csahithi/srt-slurm a2198b8).
		mtp(r("recipes/h200/8k1k/bs8-1p6d-mtp.yaml", 8192, 1, 1, []int{2, 4, 8, 16, 32}, 1, 6, false, false,
			prefill(16, 0.82, 32768, 32768), pool(16, 0.82)), 2),
		mtp(r("recipes/h200/8k1k/bs128-1p1d-dep-mtp.yaml", 8192, 1, 8, []int{32, 64, 128, 256, 512}, 1, 1, false, true,
			prefill(16, 0.75, 163840, 163840), pool(192, 0.85)), 2),
	}
}()

// disaggRecipeFor is the first entry of disaggRecipes that row ran as:
// the row is InferenceMAX's (Row.InferenceMAX), leaves both worker counts blank and has no attention DP, and the
// entry matches its model, GPU, backend, sequence lengths, per-pool TP,
// EP (dumpEPMatches) and concurrency. Nil if none does.
func disaggRecipeFor(row Row) *disaggRecipe {
	d := row.Disagg
	if !row.InferenceMAX || d.PrefillWorkers != 0 || d.DecodeWorkers != 0 || max(d.PrefillAttentionDP, 1) != 1 || max(d.DecodeAttentionDP, 1) != 1 {
		return nil
	}
	for i := range disaggRecipes {
		r := &disaggRecipes[i]
		if strings.Contains(strings.ToLower(row.Model), r.model) && strings.EqualFold(row.GPU, r.gpu) &&
			strings.EqualFold(row.Backend, r.backend) && row.ISL == r.isl && row.OSL == r.osl &&
			d.PrefillTP == r.tp && d.DecodeTP == r.tp && r.dumpEPMatches(d) && slices.Contains(r.concs, row.Concurrency) {
			return r
		}
	}
	return nil
}

// dumpEPMatches reports whether pools recorded with d's expert parallelism
// can have run as r. The silicon dump writes the prefill pool's ep in both
// pools: the 8192/1024 rows at 256 and 512 clients record decode EP 1,
// while every entry listing those concurrencies at 8192/1024
// (bs128-1p1d-dep and its MTP twin) runs an EP8 attention-DP decode behind
// an EP1 prefill, and every entry whose pools agree on EP (all the
// 1024/1024 ones) reads as recorded. So the prefill EP must match, and
// the decode EP only where it differs from the prefill's (then the dump
// recorded it apart).
func (r *disaggRecipe) dumpEPMatches(d DisaggLayout) bool {
	pEP, dEP := max(d.PrefillMoEEP, 1), max(d.DecodeMoEEP, 1)
	return pEP == r.prefillEP && (dEP == pEP || dEP == r.decodeEP)
}

// disaggLayout is row's pools as its recipe ran them (disaggRecipeFor):
// the entry's worker counts and, for a dp-attn pool, attention data
// parallelism over its TP GPUs (attention TP 1, the experts over all of
// them). A row without a recipe keeps its own layout.
func disaggLayout(row Row) DisaggLayout {
	d, r := row.Disagg, disaggRecipeFor(row)
	if r == nil {
		return d
	}
	d.PrefillWorkers, d.DecodeWorkers = r.prefillWorkers, r.decodeWorkers
	d.PrefillMoEEP, d.DecodeMoEEP = r.prefillEP, r.decodeEP
	if r.prefillDPAttn {
		d.PrefillAttentionDP, d.PrefillTP, d.PrefillMoETP = d.PrefillTP, 1, 1
	}
	if r.decodeDPAttn {
		d.DecodeAttentionDP, d.DecodeTP, d.DecodeMoETP = d.DecodeTP, 1, 1
	}
	return d
}

// apply sets the recipe's limits on a pool whose attention DP is dp (1
// without): with DP attention each of the dp attention ranks (a lodsim
// replica) schedules max_running_requests / dp of them, and a prefill
// pool's rank prefills up to its budget a step (recipePool).
func (p recipePool) apply(pc *replay.PoolConfig, dp int) {
	dp = max(dp, 1)
	pc.MaxNumSeqs = max(p.maxRunning/dp, 1)
	pc.GPUMemoryUtilization = p.memFraction
	if p.maxPrefillTokens > 0 {
		pc.MaxNumBatchedTokens = min(p.maxPrefillTokens, p.chunkedPrefill/dp)
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
