package validation

import (
	"slices"
	"strings"

	"github.com/lodsim/lodsim/trace"
)

// Client is the benchmark client a row was measured with, so that its
// simulated clients send what the real ones did.
type Client string

const (
	// ClientAIPerf (the default) is aiconfigurator's aiperf run: exact
	// lengths, 2 warm-up rounds, steady-state window (see BENCHMARKS.md,
	// "The benchmark client").
	ClientAIPerf Client = ""
	// ClientBenchServing is InferenceMAX's run of vLLM's
	// benchmark_serving.py (its benchmarks/*_slurm.sh, and srt-slurm's
	// sa-bench for its disaggregated rows, sourceClient): --dataset-name
	// random with --random-range-ratio 0.8 (each prompt and output length
	// drawn uniformly from [0.8 x ISL, ISL] and [0.8 x OSL, OSL]),
	// --num-prompts 10 x C, --max-concurrency C, --request-rate inf (every
	// client sends at once), no warm-up: the means are over every request.
	ClientBenchServing Client = "benchmark_serving"
	// ClientAIPerfRun is aiconfigurator's aiperf run simulated as it runs:
	// its profiling phase, C clients sending at once, AIPerfRounds rounds,
	// every request in the means (TestAIPerfPhasesMatchWindow). Rows of
	// aiperfRunEngines get it: under aiconfigurator's TensorRT-LLM budget
	// (aiconfiguratorTRTLLMAgg) the phase's opening burst is prefilled one
	// or two prompts a step, so the default window, which cuts it, does
	// not stand for the phase there.
	ClientAIPerfRun Client = "aiperf"
)

// BenchServingRounds and BenchServingRangeRatio are InferenceMAX's
// --num-prompts (per client) and --random-range-ratio.
const (
	BenchServingRounds     = 10
	BenchServingRangeRatio = 0.8
)

// benchServingEngines are the engines whose rows are simulated with
// ClientBenchServing where they were measured with it: TensorRT-LLM's
// and vLLM's aggregated InferenceMAX rows. The dev set's SGLang
// InferenceMAX rows are all disaggregated (which take it whatever their
// engine, sourceClient), so SGLang is not listed: its constants were
// fitted on aiperf rows only.
var benchServingEngines = []string{"trtllm", "vllm"}

// inferenceMAXKeys are the silicon_data_source keys that mark a row of
// InferenceMAX: its dashboard's wip= flag ("source_file=2026-04-06.csv;
// model=...; wip=False") and its database dump's workflow_run_id= (the
// GitHub Actions run, "db-dump/2026-04-27; config_id=606; ...;
// workflow_run_id=305; vllm/vllm-openai:v0.16.0"); the dev set's
// MiniMax-M2.5 rows of both carry the same measurements.
var inferenceMAXKeys = []string{"wip", "workflow_run_id"}

// aiperfRunEngines are the engines whose rows measured with
// aiconfigurator's aiperf harness (any source other than InferenceMAX's)
// are simulated with ClientAIPerfRun and aiconfigurator's generated
// configuration. vLLM's and SGLang's keep the default window: their
// shipped constants were fitted with it, and aiconfigurator's budget is
// not applied to them (BENCHMARKS.md, "aiconfigurator's TensorRT-LLM
// configuration").
var aiperfRunEngines = []string{"trtllm"}

// fromInferenceMAX reports whether a silicon_data_source names one of
// inferenceMAXKeys.
func fromInferenceMAX(source string) bool {
	for _, kv := range strings.Split(source, ";") {
		if k, _, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && slices.Contains(inferenceMAXKeys, k) {
			return true
		}
	}
	return false
}

// sourceClient tells the client of row r (engine, mode and InferenceMAX
// read before) from its silicon_data_source. InferenceMAX's
// disaggregated rows are InferenceX's multi-node srt-slurm runs, whose
// sa-bench benchmark (src/srtctl/benchmarks/sa_bench.py and
// scripts/sa-bench/bench.sh in NVIDIA/srt-slurm) is benchmark_serving.py
// with the same settings: --random-range-ratio 0.8, --num-prompts 10 x C,
// --request-rate inf, --max-concurrency C, after a separate warm-up run
// of 2 x C prompts that ends before it starts (a fresh start of every
// client, as ClientBenchServing simulates). Other disaggregated rows keep
// the default.
func sourceClient(r *Row) Client {
	engine := strings.ToLower(r.Backend)
	if r.Disaggregated() {
		if r.InferenceMAX {
			return ClientBenchServing
		}
		return ClientAIPerf
	}
	if r.InferenceMAX && slices.Contains(benchServingEngines, engine) {
		return ClientBenchServing
	}
	if slices.Contains(aiperfRunEngines, engine) {
		return ClientAIPerfRun
	}
	return ClientAIPerf
}

// requests is how many requests the client's run of clients sends.
func (c Client) requests(clients int, opt Options) int64 {
	switch c {
	case ClientBenchServing:
		return int64(clients) * BenchServingRounds
	case ClientAIPerfRun:
		return int64(clients) * AIPerfRounds
	}
	return opt.requests(clients)
}

// lengths is the length distribution of a row's n-token prompts or
// outputs.
func (c Client) lengths(n int) trace.LengthDist {
	lo := int32(float64(n) * BenchServingRangeRatio)
	if c != ClientBenchServing || lo < 1 || lo >= int32(n) {
		return trace.LengthDist{Kind: "fixed", Mean: float64(n)}
	}
	v := make([]int32, 0, int32(n)-lo+1)
	for x := lo; x <= int32(n); x++ {
		v = append(v, x)
	}
	return trace.LengthDist{Kind: "empirical", Values: v}
}

// measuresAll reports whether the client's means are over every request
// (no warm-up, no steady-state window).
func (c Client) measuresAll() bool { return c == ClientBenchServing || c == ClientAIPerfRun }

// AIPerfRounds is aiconfigurator's aiperf run: --request-count 20 x C
// profiled after --warmup-request-count 2 x C, which aiperf drains (it
// waits for every warm-up response) before its profiling phase sends C
// requests at once. Simulated, that phase is a fresh start of every
// client measured whole; the default window stands for it
// (TestAIPerfPhasesMatchWindow, BENCHMARKS.md "aiperf as it runs").
const AIPerfRounds = 20
