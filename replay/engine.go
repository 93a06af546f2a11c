package replay

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// EngineDefaults are the settings an engine version picks when its user
// sets none, for one GPU and tensor-parallel degree. Each field names the
// engine argument it stands for; engineRows says where each was read.
type EngineDefaults struct {
	Engine Engine
	// Version is the row of the table whose rules apply: the first
	// version they hold for (a later version without its own row uses
	// the nearest older one).
	Version string
	// MaxNumBatchedTokens: vLLM max_num_batched_tokens, SGLang
	// chunked_prefill_size, TensorRT-LLM max_num_tokens.
	MaxNumBatchedTokens int
	// MaxNumSeqs: vLLM max_num_seqs, SGLang max_running_requests,
	// TensorRT-LLM max_batch_size.
	MaxNumSeqs int
	// BlockSize: vLLM block_size, SGLang page_size, TensorRT-LLM
	// tokens_per_block.
	BlockSize int
	// MemoryFraction: vLLM gpu_memory_utilization and SGLang
	// mem_fraction_static (of the GPU's memory), TensorRT-LLM
	// free_gpu_memory_fraction (of what weights and activations leave).
	MemoryFraction float64
	// ActivationReserveGB is what lodsim takes out before the KV cache
	// (cluster.activation_reserve_gb); 0 lets replay estimate it.
	ActivationReserveGB float64
	ChunkedPrefill      bool
	Batching            Batching
	// AdmissionReserve: SGLang's init_new_token_ratio (0.7) x
	// schedule_conservativeness (1.0); 0 for the others.
	AdmissionReserve float64
	// CapacityPolicy: TensorRT-LLM only.
	CapacityPolicy CapacityPolicy
	// OverlapScheduler: TensorRT-LLM's overlap scheduler, vLLM's async
	// scheduling, SGLang's overlap schedule (the same overlap of a step's
	// CPU work with the GPU work of the step before; stepcost.go). Off for
	// SGLang although SGLang runs it by default: see sglangDefaults.
	OverlapScheduler bool
	// CUDAGraphMaxBatch is the largest decode batch the engine captures
	// and pads to (0: it does not pad decode batches).
	CUDAGraphMaxBatch int
	// DPPadEager: vLLM's data-parallel ranks of an MoE model pad every
	// step to the largest rank's token count while CUDA graphs are on,
	// eager steps (prefills above the largest graph) included, not only
	// the steps that replay a graph (dpsync.go).
	DPPadEager bool
}

// engineHost is what engine defaults depend on.
type engineHost struct {
	memMiB float64
	name   string // lower case
	tp, pp int
}

// engineRow is the rules of one engine from one version on.
type engineRow struct {
	engine Engine
	since  string
	source string
	rules  func(h engineHost) EngineDefaults
	// graphs lists the decode batch sizes captured as CUDA graphs for the
	// final max_num_seqs and token budget, or nil when none are padded to.
	graphs func(d EngineDefaults, maxSeqs, maxTokens int) []int
}

// engineRows is the table of engine defaults, oldest first per engine.
var engineRows = []engineRow{
	{
		engine: EngineVLLM, since: "0.11.0",
		source: "vllm/engine/arg_utils.py EngineArgs.get_batch_defaults (OpenAI server: GPUs of at least 70 GiB " +
			"other than A100 get max_num_batched_tokens 8192 and max_num_seqs 1024, others 2048 and 256); " +
			"CacheConfig gpu_memory_utilization 0.9, block_size 16; V1 always chunks prefills; " +
			"vllm/config/compilation.py cudagraph_capture_sizes [1, 2, 4] + 8..248 step 8 + 256..max step 16, " +
			"max_cudagraph_capture_size min(2 x max_num_seqs, 512), no size above max_num_batched_tokens; " +
			"cudagraph_mode FULL_AND_PIECEWISE replays decode-only batches padded to the next size; " +
			"vllm/v1/worker/gpu_model_runner.py pads every data-parallel step, eager ones included, to the largest " +
			"rank's tokens while cudagraph_mode is not NONE (coordinate_batch_across_dp with allow_dp_padding, #26375)",
		rules:  vllmDefaults,
		graphs: vllmGraphs,
	},
	{
		engine: EngineVLLM, since: "0.14.0",
		source: "as 0.11.0, and async scheduling on by default (vLLM v0.14.0 release notes, #27614: \"overlaps engine " +
			"core scheduling with GPU execution\"; vllm/config/vllm.py turns async_scheduling None on unless an " +
			"incompatible option: pipeline parallel, CPU backend, non-MTP/EAGLE speculative decoding)",
		rules:  vllmAsyncDefaults,
		graphs: vllmGraphs,
	},
	{
		engine: EngineVLLM, since: "0.17.0",
		source: "as 0.14.0, and data-parallel ranks pad to the largest rank's tokens only in the steps that replay a " +
			"CUDA graph (#34102, \"[DP] Only use DP padding when cudagraphs are actually used\", commit 1d532f9 of " +
			"2026-02-27, while main was 0.17's development: #35441 \"Deprecate code in 0.17 as scheduled\" the same " +
			"week); before it vllm/v1/worker/gpu_model_runner.py padded every step whenever cudagraph_mode is not " +
			"NONE (allow_dp_padding = compilation_config.cudagraph_mode != CUDAGraphMode.NONE, #26375)",
		rules:  vllmGraphOnlyDPPadDefaults,
		graphs: vllmGraphs,
	},
	{
		engine: EngineSGLang, since: "0.5.0",
		source: "python/sglang/srt/server_args.py ServerArgs._handle_gpu_memory_settings: chunked_prefill_size " +
			"2048 below 35 GiB, 4096 below 60 GiB, 8192 below 160 GiB, 16384 above; cuda_graph_max_bs 8 below 20 GiB, " +
			"24 (tp < 4) or 80 below 35 GiB, 32 or 160 below 60 GiB, 256 or 512 below 160 GiB, 512 above; " +
			"mem_fraction_static (mem - reserved) / mem, reserved = 512 + 1.5 x max(chunk, 2048) + 2 x cuda_graph_max_bs " +
			"+ tp x pp / 8 x 1024 MiB, at least 10 GiB above 60 GiB; _generate_cuda_graph_batch_sizes " +
			"[1, 2, 4, 8, 12] + 16..256 step 8 + 272..496 step 16 + 512..max step 32; page_size 1; " +
			"schedule_conservativeness 1.0 x SGLANG_INIT_NEW_TOKEN_RATIO 0.7; max_running_requests follows the KV " +
			"pool (lodsim: 4096, the KV cache binds first); disable_overlap_schedule False (Scheduler.event_loop_overlap), " +
			"forced True by _handle_pipeline_parallelism with pp_size > 1; lodsim leaves scheduler.overlap_scheduler off " +
			"(sglangDefaults says why)",
		rules:  sglangDefaults,
		graphs: sglangGraphs,
	},
	{
		engine: EngineTRTLLM, since: "1.0.0",
		source: "tensorrt_llm/llmapi/llm_args.py TorchLlmArgs: max_batch_size 2048, max_num_tokens 8192, " +
			"enable_chunked_prefill False, disable_overlap_scheduler False; KvCacheConfig free_gpu_memory_fraction 0.9, " +
			"tokens_per_block 32; SchedulerConfig capacity_scheduler_policy GUARANTEED_NO_EVICT; CudaGraphConfig " +
			"max_batch_size 128, enable_padding False (graphs replay only at exact sizes: no padding); " +
			"tensorrt_llm/_torch/pyexecutor/py_executor.py PyExecutor.__init__: with pp_size > 1 the event loop is " +
			"_executor_loop_pp whatever disable_overlap_scheduler says (_executor_loop_overlap only at pp_size 1), " +
			"so no overlap scheduler with pipeline parallelism",
		rules:  trtllmDefaults,
		graphs: func(EngineDefaults, int, int) []int { return nil },
	},
}

func vllmDefaults(h engineHost) EngineDefaults {
	d := EngineDefaults{MaxNumBatchedTokens: 2048, MaxNumSeqs: 256, BlockSize: 16, MemoryFraction: 0.9,
		ChunkedPrefill: true, Batching: BatchingMixed}
	if h.memMiB >= 70*1024 && !strings.Contains(h.name, "a100") {
		d.MaxNumBatchedTokens, d.MaxNumSeqs = 8192, 1024
	}
	d.CUDAGraphMaxBatch = min(2*d.MaxNumSeqs, 512)
	d.DPPadEager = true
	return d
}

// vllmAsyncDefaults are vLLM's defaults from 0.14.0 on: async scheduling
// by default, except with pipeline parallelism.
func vllmAsyncDefaults(h engineHost) EngineDefaults {
	d := vllmDefaults(h)
	d.OverlapScheduler = h.pp <= 1
	return d
}

// vllmGraphOnlyDPPadDefaults are vLLM's defaults from 0.17.0 on: as
// 0.14.0's, with data-parallel padding only in graph-replaying steps.
func vllmGraphOnlyDPPadDefaults(h engineHost) EngineDefaults {
	d := vllmAsyncDefaults(h)
	d.DPPadEager = false
	return d
}

func vllmGraphs(_ EngineDefaults, maxSeqs, maxTokens int) []int {
	top := min(2*maxSeqs, 512, maxTokens)
	var s []int
	for _, b := range []int{1, 2, 4} {
		s = append(s, b)
	}
	for b := 8; b < 256; b += 8 {
		s = append(s, b)
	}
	for b := 256; b <= 512; b += 16 {
		s = append(s, b)
	}
	return capSizes(s, top)
}

func sglangDefaults(h engineHost) EngineDefaults {
	d := EngineDefaults{MaxNumSeqs: 4096, BlockSize: 1, ActivationReserveGB: 1, ChunkedPrefill: true,
		Batching: BatchingPrefillFirst, AdmissionReserve: 0.7}
	big := h.tp >= 4
	switch m := h.memMiB; {
	case m < 20*1024:
		d.MaxNumBatchedTokens, d.CUDAGraphMaxBatch = 2048, 8
	case m < 35*1024:
		d.MaxNumBatchedTokens, d.CUDAGraphMaxBatch = 2048, pick(big, 80, 24)
	case m < 60*1024:
		d.MaxNumBatchedTokens, d.CUDAGraphMaxBatch = 4096, pick(big, 160, 32)
	case m < 160*1024:
		d.MaxNumBatchedTokens, d.CUDAGraphMaxBatch = 8192, pick(big, 512, 256)
	default:
		d.MaxNumBatchedTokens, d.CUDAGraphMaxBatch = 16384, 512
	}
	reserved := 512 + 1.5*float64(max(d.MaxNumBatchedTokens, 2048)) + 2*float64(d.CUDAGraphMaxBatch) +
		float64(h.tp*h.pp)/8*1024
	if h.memMiB > 60*1024 {
		reserved = max(reserved, 10*1024)
	}
	d.MemoryFraction = (h.memMiB - reserved) / h.memMiB
	// SGLang overlaps by default (disable_overlap_schedule False), but the
	// SGLang engine costs (engine_costs.json) are fitted on rows measured
	// with the overlap on, so what they recover per step is the time the
	// overlap left on the critical path; hiding it again behind the GPU
	// removes it (Qwen3-32B H100 TPOT MAPE 5.4 -> 10.4 % even refitted: a
	// hidden cost cannot add to a step). scheduler.overlap_scheduler: true
	// turns lodsim's overlap model on for SGLang.
	return d
}

func pick(c bool, a, b int) int {
	if c {
		return a
	}
	return b
}

func sglangGraphs(d EngineDefaults, maxSeqs, _ int) []int {
	s := []int{1, 2, 4, 8, 12}
	for b := 16; b <= 256; b += 8 {
		s = append(s, b)
	}
	for b := 272; b < 512; b += 16 {
		s = append(s, b)
	}
	for b := 512; b <= d.CUDAGraphMaxBatch; b += 32 {
		s = append(s, b)
	}
	return capSizes(s, min(d.CUDAGraphMaxBatch, maxSeqs))
}

// trtllmDefaults are TensorRT-LLM's PyTorch-backend defaults: the
// overlap scheduler is on (disable_overlap_scheduler False) except with
// pipeline parallelism, where PyExecutor runs its pipeline loop
// (_executor_loop_pp) instead of the overlap loop.
func trtllmDefaults(h engineHost) EngineDefaults {
	return EngineDefaults{MaxNumBatchedTokens: 8192, MaxNumSeqs: 2048, BlockSize: 32, MemoryFraction: 0.9,
		Batching: BatchingMixed, CapacityPolicy: GuaranteedNoEvict, OverlapScheduler: h.pp <= 1}
}

// capSizes keeps the sizes up to top.
func capSizes(s []int, top int) []int {
	out := s[:0]
	for _, b := range s {
		if b <= top {
			out = append(out, b)
		}
	}
	return out
}

// parseVersion reads the leading major.minor.patch numbers of v; a
// pre-release or post tag after them ("1.0.0rc3", "0.5.1.post1") is
// ignored, so a release candidate uses its release's row.
func parseVersion(v string) ([3]int, bool) {
	var out [3]int
	parts := strings.SplitN(strings.TrimPrefix(strings.TrimSpace(v), "v"), ".", 4)
	for i := 0; i < len(parts) && i < 3; i++ {
		j := 0
		for j < len(parts[i]) && parts[i][j] >= '0' && parts[i][j] <= '9' {
			j++
		}
		if j == 0 {
			return out, i > 0
		}
		n, err := strconv.Atoi(parts[i][:j])
		if err != nil {
			return out, false
		}
		out[i] = n
		if j < len(parts[i]) {
			break
		}
	}
	return out, true
}

func versionLess(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

// engineRowFor finds the rules of engine e at version (empty: the newest
// known): the row of the nearest version at or below it.
func engineRowFor(e Engine, version string) (engineRow, error) {
	var rows []engineRow
	var known []string
	for _, r := range engineRows {
		if r.engine == e {
			rows = append(rows, r)
			known = append(known, r.since)
		}
	}
	if len(rows) == 0 {
		return engineRow{}, errors.New(checkEnum("scheduler.engine", e, Engines))
	}
	if strings.TrimSpace(version) == "" {
		return rows[len(rows)-1], nil
	}
	v, ok := parseVersion(version)
	if !ok {
		return engineRow{}, fmt.Errorf("scheduler.engine_version: %q is not a version number, expected e.g. %s (known %s rules: from %s on)",
			version, known[len(known)-1], e, strings.Join(known, ", "))
	}
	for i := len(rows) - 1; i >= 0; i-- {
		since, _ := parseVersion(rows[i].since)
		if !versionLess(v, since) {
			return rows[i], nil
		}
	}
	return engineRow{}, fmt.Errorf("scheduler.engine_version: %s %q is older than every known version, expected %s or later (known %s rules: from %s on)",
		e, version, known[0], e, strings.Join(known, ", "))
}

// LookupEngineDefaults returns the defaults of engine e at version (empty:
// the newest known) on tp x pp GPUs of g. An unknown engine or a version
// older than every row is an error listing the known ones; a version
// without its own row uses the nearest older row (EngineDefaults.Version
// says which).
func LookupEngineDefaults(e Engine, version string, g cost.GPU, tp, pp int) (EngineDefaults, error) {
	row, err := engineRowFor(e, version)
	if err != nil {
		return EngineDefaults{}, err
	}
	d := row.rules(engineHost{memMiB: float64(g.MemoryBytes) / (1 << 20), name: strings.ToLower(g.Name), tp: max(tp, 1), pp: max(pp, 1)})
	d.Engine, d.Version = e, row.since
	return d, nil
}

// EngineSource says where the defaults of engine e at version were read.
func EngineSource(e Engine, version string) (string, error) {
	row, err := engineRowFor(e, version)
	return row.source, err
}

// applyEngineDefaults fills the unset scheduler and memory fields of c
// with its engine's defaults. Without scheduler.engine it does nothing
// (lodsim's historical vLLM-like defaults follow in ApplyDefaults); an
// engine, version or GPU it cannot resolve is left to Validate to report.
func (c *Config) applyEngineDefaults() {
	sc := &c.Scheduler
	if sc.Engine == "" {
		return
	}
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		return
	}
	d, err := LookupEngineDefaults(sc.Engine, sc.EngineVersion, g, c.Cluster.TensorParallel, c.Cluster.PipelineParallel)
	if err != nil {
		return
	}
	setInt(&sc.MaxNumSeqs, d.MaxNumSeqs)
	setInt(&sc.MaxNumBatchedTokens, d.MaxNumBatchedTokens)
	setInt(&sc.BlockSize, d.BlockSize)
	if sc.Batching == "" {
		sc.Batching = d.Batching
	}
	if sc.AdmissionReserve == 0 {
		sc.AdmissionReserve = d.AdmissionReserve
	}
	if sc.ChunkedPrefill == nil {
		v := d.ChunkedPrefill
		sc.ChunkedPrefill = &v
	}
	if sc.CapacityPolicy == "" {
		sc.CapacityPolicy = d.CapacityPolicy
	}
	if sc.OverlapScheduler == nil {
		v := d.OverlapScheduler
		sc.OverlapScheduler = &v
	}
	k := &c.Cluster
	if k.GPUMemoryUtilization == 0 {
		k.GPUMemoryUtilization = d.MemoryFraction
	}
	if k.ActivationReserveGB == 0 {
		k.ActivationReserveGB = d.ActivationReserveGB
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

// graphSizes is the sorted list of decode batch sizes c's engine captures
// as CUDA graphs and pads to: scheduler.cuda_graph_sizes when set, none
// with enforce_eager or without an engine, else the engine's defaults for
// the final max_num_seqs and token budget.
func (c *Config) graphSizes() ([]int32, error) {
	sc := &c.Scheduler
	var sizes []int
	switch {
	case sc.EnforceEager:
		return nil, nil
	case len(sc.CUDAGraphSizes) > 0:
		sizes = append(sizes, sc.CUDAGraphSizes...)
	case sc.Engine == "":
		return nil, nil
	default:
		g, err := cost.LookupGPU(c.Hardware.GPU)
		if err != nil {
			return nil, err
		}
		d, err := LookupEngineDefaults(sc.Engine, sc.EngineVersion, g, c.Cluster.TensorParallel, c.Cluster.PipelineParallel)
		if err != nil {
			return nil, err
		}
		row, _ := engineRowFor(sc.Engine, sc.EngineVersion)
		sizes = row.graphs(d, sc.MaxNumSeqs, sc.MaxNumBatchedTokens)
	}
	if len(sizes) == 0 {
		return nil, nil
	}
	out := make([]int32, 0, len(sizes))
	for _, b := range sizes {
		out = append(out, int32(b))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// dpPadEager reports whether c's engine version pads its data-parallel
// ranks to the largest rank's tokens in eager steps too
// (EngineDefaults.DPPadEager). vLLM does so only with CUDA graphs on
// (allow_dp_padding follows cudagraph_mode, which enforce_eager sets to
// NONE); newStepCost checks that.
func (c *Config) dpPadEager() (bool, error) {
	sc := &c.Scheduler
	if sc.Engine == "" {
		return false, nil
	}
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		return false, err
	}
	d, err := LookupEngineDefaults(sc.Engine, sc.EngineVersion, g, c.Cluster.TensorParallel, c.Cluster.PipelineParallel)
	if err != nil {
		return false, err
	}
	return d.DPPadEager, nil
}

// validateEngine checks the engine settings: a known engine and version,
// a GPU its defaults can be read for, and engine-specific settings only
// with their engine.
func (c *Config) validateEngine(p *problems) {
	s := c.Scheduler
	if s.Engine != "" {
		if _, err := engineRowFor(s.Engine, s.EngineVersion); err != nil {
			p.add("%v", err)
		}
		if _, err := cost.LookupGPU(c.Hardware.GPU); err != nil && c.Hardware.GPU != "" {
			p.add("scheduler.engine: %s's defaults depend on the GPU: %v", s.Engine, err)
		}
	} else if s.EngineVersion != "" {
		p.add("scheduler.engine_version: %q without scheduler.engine, expected an engine (%s)", s.EngineVersion, joinEnum(Engines))
	}
	for i, b := range s.CUDAGraphSizes {
		if b < 1 {
			p.add("scheduler.cuda_graph_sizes[%d]: %d, expected a batch size >= 1", i, b)
		}
	}
	if s.CapacityPolicy != "" {
		p.enum(checkEnum("scheduler.capacity_policy", s.CapacityPolicy, CapacityPolicies))
		if s.Engine != EngineTRTLLM {
			p.add("scheduler.capacity_policy: %s is TensorRT-LLM's, expected scheduler.engine: trtllm", s.CapacityPolicy)
		}
	}
	if s.OverlapScheduler != nil && s.Engine == "" {
		p.add("scheduler.overlap_scheduler: an engine's overlap of scheduling with the GPU, expected scheduler.engine (%s)", joinEnum(Engines))
	}
	checkAsyncPP(p, c)
	checkBatchWait(p, &s)
	if s.Engine == EngineTRTLLM && s.Batching != BatchingMixed {
		p.add("scheduler.batching: %s, expected mixed with engine trtllm (in-flight batching)", s.Batching)
	}
}

// checkAsyncPP refuses vLLM's async scheduling, SGLang's overlap
// schedule and TensorRT-LLM's overlap scheduler with pipeline
// parallelism, which vLLM refuses too (vllm/config/vllm.py: "Async
// scheduling is not yet compatible with pipeline_parallel_size > 1"),
// SGLang turns off (server_args.py _handle_pipeline_parallelism:
// "Pipeline parallelism is incompatible with overlap schedule") and
// TensorRT-LLM never runs (py_executor.py: pp_size > 1 picks
// _executor_loop_pp, not _executor_loop_overlap, whatever
// disable_overlap_scheduler says), naming the stages' field; unset, each
// engine's default is off there. A disaggregated cluster's pools take the scheduler block as
// written (saveDisaggBase), not the defaults filled in for the cluster.
func checkAsyncPP(p *problems, c *Config) {
	o := c.Scheduler.OverlapScheduler
	fields, pps := []string{"cluster.pipeline_parallel"}, []int{c.Cluster.PipelineParallel}
	if d := c.Cluster.Disaggregated; d != nil {
		if d.saved {
			o = d.base.OverlapScheduler
		}
		fields = []string{"cluster.disaggregated.prefill.pipeline_parallel", "cluster.disaggregated.decode.pipeline_parallel"}
		pps = []int{d.Prefill.PipelineParallel, d.Decode.PipelineParallel}
	}
	what := map[Engine]string{EngineVLLM: "vLLM's async scheduling", EngineSGLang: "SGLang's overlap schedule",
		EngineTRTLLM: "TensorRT-LLM's overlap scheduler"}[c.Scheduler.Engine]
	if what == "" || o == nil || !*o {
		return
	}
	for i, pp := range pps {
		if pp > 1 {
			p.add("scheduler.overlap_scheduler: true with %s %d, expected false or unset: %s is not compatible with pipeline parallelism", fields[i], pp, what)
		}
	}
}

func joinEnum[T ~string](v []T) string {
	names := make([]string, len(v))
	for i, x := range v {
		names[i] = string(x)
	}
	return strings.Join(names, ", ")
}

// EngineCosts are an engine's CPU-side costs, the same for every model,
// GPU and parallelism the engine serves (cost.Overheads gives the
// formula):
//
//	step time      += StepNs + PerSeqNs x sequences + PerPrefillTokenNs x prefill tokens
//	request's TTFT += PerRequestNs (HTTP, tokenisation, detokenisation)
//
// charged once per step on the first pipeline stage whatever the TP: the
// scheduler, sampling bookkeeping and launch work run on one CPU thread
// and do not shrink with more GPUs (TestStepOverheadIndependentOfTP).
// They are fitted jointly on every development-set group of the engine
// (validation.FitEngineCosts, `lodsim calibrate-overheads --engines`)
// and shipped in engine_costs.json.
type EngineCosts struct {
	Engine            Engine  `json:"engine"`
	StepNs            float64 `json:"step_ns"`
	PerSeqNs          float64 `json:"per_seq_ns"`
	PerPrefillTokenNs float64 `json:"per_prefill_token_ns"`
	PerRequestNs      float64 `json:"per_request_ns"`
	// ClientRamp is how far apart the engine's benchmark clients were
	// found to start: their first requests spread over ClientRamp x one
	// unloaded request's end-to-end time (validation.Options.Ramp); 0 is
	// every client at once. It is fitted (0 or 1) with the costs: a
	// property of how the engine's rows were measured, not of the engine.
	ClientRamp float64 `json:"client_ramp"`
	// Groups and Rows say what the constants were fitted to.
	Groups []string `json:"groups"`
	Rows   int      `json:"rows"`
}

// Overheads are the costs as the cost model's overheads; memory reserve
// stays the profile's (reserve).
func (c EngineCosts) Overheads(reserveGB float64) cost.Overheads {
	return cost.Overheads{StepNs: c.StepNs, PerSeqNs: c.PerSeqNs, PerPrefillTokenNs: c.PerPrefillTokenNs,
		PerRequestNs: c.PerRequestNs, MemoryReserveGB: reserveGB}
}

// EngineCostFile is the shipped engine_costs.json: how it was made and
// each engine's constants, sorted by engine.
type EngineCostFile struct {
	// Command is the command that writes the file; DevSet the SHA-256 of
	// the benchmark file it was fitted to.
	Command string        `json:"command"`
	DevSet  string        `json:"dev_set_sha256"`
	Engines []EngineCosts `json:"engines"`
}

//go:embed engine_costs.json
var engineCostsJSON []byte

// shippedEngineCosts parses engine_costs.json once: every validation row
// and every run with scheduler.engine looks it up.
var shippedEngineCosts = sync.OnceValue(func() EngineCostFile {
	var f EngineCostFile
	if err := json.Unmarshal(engineCostsJSON, &f); err != nil {
		panic("replay: shipped engine_costs.json does not parse: " + err.Error())
	}
	return f
})

// ShippedEngineCosts is the shipped engine_costs.json, parsed (a copy the
// caller may change).
func ShippedEngineCosts() EngineCostFile {
	f := shippedEngineCosts()
	f.Engines = slices.Clone(f.Engines)
	return f
}

// LookupEngineCosts returns engine e's shipped constants, false when none
// were fitted for it.
func LookupEngineCosts(e Engine) (EngineCosts, bool) {
	for _, c := range shippedEngineCosts().Engines {
		if c.Engine == e {
			return c, true
		}
	}
	return EngineCosts{}, false
}

// WithEngineCosts returns p with its step, sequence, prefill-token and
// request overheads replaced by the shipped constants of c's engine, when
// c names one that has them; otherwise p itself. A shipped profile
// carries no overheads (its kernels are the GPU's), so this is how a run
// with scheduler.engine gets its engine's CPU costs out of the box.
func WithEngineCosts(p *cost.Profile, c *Config) *cost.Profile {
	if c == nil || c.Scheduler.Engine == "" {
		return p
	}
	ec, ok := LookupEngineCosts(c.Scheduler.Engine)
	if !ok {
		return p
	}
	cp := *p
	cp.Overhead = ec.Overheads(p.Overhead.MemoryReserveGB)
	cp.StaticFP8Activations = StaticFP8Scales(c.Scheduler.Engine, c.Scheduler.EngineVersion)
	return &cp
}

// StaticFP8Scales reports whether deployments of engine e at version
// (empty: the newest) run FP8 GEMMs with static activation scales, so
// that a TensorRT-LLM kernel table's FP8 GEMMs cost its dynamic
// quantization less (cost.Profile.StaticFP8ActivationNs). TensorRT-LLM
// serves FP8 from pre-quantized (ModelOpt) checkpoints whose activation
// scales are static. The development set backs it from release 1.1 on
// (rows of no version, the newest: Llama-3.1-70B FP8 on H200 and B200,
// whose TPOT came out 3-4 ms per token too slow at every TP with the
// table's full cost, MAPE 25 and 31 %; 5.4 and 6.6 % without it) and
// contradicts it on 1.0 (Qwen3-32B FP8 on H100 at 1.0.0rc3: TPOT MAPE 19
// % with it against 9 % without, predicted too fast), so 1.0 and earlier
// keep the table's cost.
func StaticFP8Scales(e Engine, version string) bool {
	if e != EngineTRTLLM {
		return false
	}
	if strings.TrimSpace(version) == "" {
		return true
	}
	v, ok := parseVersion(version)
	return ok && !versionLess(v, [3]int{1, 1, 0})
}

// Encode writes f as engine_costs.json is shipped: indented JSON, engines
// sorted, one trailing newline.
func (f EngineCostFile) Encode() ([]byte, error) {
	slices.SortFunc(f.Engines, func(a, b EngineCosts) int { return strings.Compare(string(a.Engine), string(b.Engine)) })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// checkBatchWait validates TensorRT-LLM's batch waiting and attention-DP
// balancing settings, and SGLang's decode pre-allocation reserve.
func checkBatchWait(p *problems, s *SchedulerConfig) {
	if r := s.DecodeReservedTokens; r != nil && (*r < 0 || *r > 1<<20) {
		p.add("scheduler.decode_reserved_tokens: %d, expected 0 to %d", *r, 1<<20)
	}
	if s.DecodeReservedTokens != nil && s.Engine != EngineSGLang {
		p.add("scheduler.decode_reserved_tokens: SGLang's num_reserved_decode_tokens, expected scheduler.engine: sglang")
	}
	if s.BatchWaitTimeoutIters < 0 || s.BatchWaitTimeoutIters > 1<<20 {
		p.add("scheduler.batch_wait_timeout_iters: %d, expected 0 to %d", s.BatchWaitTimeoutIters, 1<<20)
	}
	if !(s.BatchWaitMaxTokensRatio >= 0 && s.BatchWaitMaxTokensRatio <= 1) {
		p.add("scheduler.batch_wait_max_tokens_ratio: %g, expected 0 to 1", s.BatchWaitMaxTokensRatio)
	}
	if (s.BatchWaitTimeoutIters != 0 || s.BatchWaitMaxTokensRatio != 0) && s.Engine != EngineTRTLLM {
		p.add("scheduler.batch_wait_*: TensorRT-LLM's batch waiting, expected scheduler.engine: trtllm")
	}
	for _, x := range []struct {
		name string
		v    int
	}{{"attention_dp_timeout_iters", s.AttentionDPTimeoutIters}, {"attention_dp_batching_wait_iters", s.AttentionDPBatchingWaitIters}} {
		if x.v < 0 || x.v > 1<<20 {
			p.add("scheduler.%s: %d, expected 0 to %d", x.name, x.v, 1<<20)
		}
	}
	if (s.AttentionDPBalance || s.AttentionDPTimeoutIters != 0 || s.AttentionDPBatchingWaitIters != 0) && s.Engine != EngineTRTLLM {
		p.add("scheduler.attention_dp_*: TensorRT-LLM's attention-DP balancing, expected scheduler.engine: trtllm")
	}
}
