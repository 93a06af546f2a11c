package replay

import (
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestEngineDefaultsPerVersion checks the engine table against the
// engines' source, row by row, and how versions map to rows.
func TestEngineDefaultsPerVersion(t *testing.T) {
	h100, _ := cost.LookupGPU("H100-SXM")
	a100, _ := cost.LookupGPU("A100-80GB-SXM")
	cases := []struct {
		engine  Engine
		version string
		g       cost.GPU
		tp      int
		want    EngineDefaults
	}{
		// vLLM: >= 70 GiB and not A100 gets the large OpenAI-server budget.
		// From 0.14.0 async scheduling is on by default.
		// Before 0.17.0 data-parallel ranks pad eager steps too.
		{EngineVLLM, "0.16.0", h100, 1, EngineDefaults{Engine: EngineVLLM, Version: "0.14.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 1024,
			BlockSize: 16, MemoryFraction: 0.9, ChunkedPrefill: true, Batching: BatchingMixed, OverlapScheduler: true, CUDAGraphMaxBatch: 512,
			DPPadEager: true}},
		{EngineVLLM, "0.17.1", h100, 1, EngineDefaults{Engine: EngineVLLM, Version: "0.17.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 1024,
			BlockSize: 16, MemoryFraction: 0.9, ChunkedPrefill: true, Batching: BatchingMixed, OverlapScheduler: true, CUDAGraphMaxBatch: 512}},
		{EngineVLLM, "0.12.0", h100, 1, EngineDefaults{Engine: EngineVLLM, Version: "0.11.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 1024,
			BlockSize: 16, MemoryFraction: 0.9, ChunkedPrefill: true, Batching: BatchingMixed, CUDAGraphMaxBatch: 512, DPPadEager: true}},
		{EngineVLLM, "0.12.0", a100, 1, EngineDefaults{Engine: EngineVLLM, Version: "0.11.0", MaxNumBatchedTokens: 2048, MaxNumSeqs: 256,
			BlockSize: 16, MemoryFraction: 0.9, ChunkedPrefill: true, Batching: BatchingMixed, CUDAGraphMaxBatch: 512, DPPadEager: true}},
		// SGLang on 80 GiB: chunk 8192, cuda_graph_max_bs 256 below TP4;
		// reserved 512 + 1.5 x 8192 + 2 x 256 + 1/8 x 1024 = 13440 MiB of 81920.
		{EngineSGLang, "0.5.1.post1", h100, 1, EngineDefaults{Engine: EngineSGLang, Version: "0.5.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 4096,
			BlockSize: 1, MemoryFraction: (81920 - 13440) / 81920.0, ActivationReserveGB: 1, ChunkedPrefill: true,
			Batching: BatchingPrefillFirst, AdmissionReserve: 0.7, CUDAGraphMaxBatch: 256}},
		// TP8: cuda_graph_max_bs 512; reserved 512 + 12288 + 1024 + 1024.
		{EngineSGLang, "0.5.8.post1", h100, 8, EngineDefaults{Engine: EngineSGLang, Version: "0.5.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 4096,
			BlockSize: 1, MemoryFraction: (81920 - 14848) / 81920.0, ActivationReserveGB: 1, ChunkedPrefill: true,
			Batching: BatchingPrefillFirst, AdmissionReserve: 0.7, CUDAGraphMaxBatch: 512}},
		// A release candidate uses its release's row.
		{EngineTRTLLM, "1.0.0rc3", h100, 1, EngineDefaults{Engine: EngineTRTLLM, Version: "1.0.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 2048,
			BlockSize: 32, MemoryFraction: 0.9, Batching: BatchingMixed, CapacityPolicy: GuaranteedNoEvict, OverlapScheduler: true}},
		// A newer version without a row falls back to the nearest older one;
		// no version means the newest row.
		{EngineTRTLLM, "1.2.0rc6.post1", h100, 1, EngineDefaults{Engine: EngineTRTLLM, Version: "1.0.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 2048,
			BlockSize: 32, MemoryFraction: 0.9, Batching: BatchingMixed, CapacityPolicy: GuaranteedNoEvict, OverlapScheduler: true}},
		{EngineVLLM, "", h100, 1, EngineDefaults{Engine: EngineVLLM, Version: "0.17.0", MaxNumBatchedTokens: 8192, MaxNumSeqs: 1024,
			BlockSize: 16, MemoryFraction: 0.9, ChunkedPrefill: true, Batching: BatchingMixed, OverlapScheduler: true, CUDAGraphMaxBatch: 512}},
	}
	for _, c := range cases {
		got, err := LookupEngineDefaults(c.engine, c.version, c.g, c.tp, 1)
		if err != nil {
			t.Fatalf("%s %s: %v", c.engine, c.version, err)
		}
		if got != c.want {
			t.Errorf("%s %s on %s tp%d:\ngot  %+v\nwant %+v", c.engine, c.version, c.g.Name, c.tp, got, c.want)
		}
		if src, err := EngineSource(c.engine, c.version); err != nil || src == "" {
			t.Errorf("%s %s: no source (%v)", c.engine, c.version, err)
		}
	}
}

func TestEngineUnknownIsAnError(t *testing.T) {
	h100, _ := cost.LookupGPU("H100-SXM")
	for _, c := range []struct {
		engine      Engine
		version     string
		wantInError []string
	}{
		{"tgi", "", []string{`"tgi"`, "vllm, sglang, trtllm"}},
		{EngineSGLang, "0.4.9", []string{"older than every known version", "0.5.0"}},
		{EngineTRTLLM, "gpt-oss-dev", []string{"not a version number", "1.0.0"}},
	} {
		_, err := LookupEngineDefaults(c.engine, c.version, h100, 1, 1)
		if err == nil {
			t.Fatalf("%s %q: no error", c.engine, c.version)
		}
		for _, w := range c.wantInError {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %q: error %q does not say %q", c.engine, c.version, err, w)
			}
		}
	}
}

func TestEngineGraphSizes(t *testing.T) {
	c := engineConfig(t, "scheduler:\n  engine: vllm\n  engine_version: 0.16.0\n")
	got, err := c.graphSizes()
	if err != nil {
		t.Fatal(err)
	}
	// [1, 2, 4] + 8..248 step 8 + 256..512 step 16: 3 + 31 + 17 sizes.
	if len(got) != 51 || got[0] != 1 || got[3] != 8 || got[33] != 248 || got[34] != 256 || got[50] != 512 {
		t.Errorf("vLLM capture sizes %v", got)
	}
	// max_num_seqs 64 caps them at 2 x 64 = 128.
	c = engineConfig(t, "scheduler:\n  engine: vllm\n  max_num_seqs: 64\n")
	if got, _ = c.graphSizes(); got[len(got)-1] != 128 {
		t.Errorf("vLLM capture sizes at max_num_seqs 64 end at %d, want 128", got[len(got)-1])
	}
	c = engineConfig(t, "scheduler:\n  engine: sglang\n")
	if got, _ = c.graphSizes(); len(got) != 36 || got[4] != 12 || got[35] != 256 {
		t.Errorf("SGLang capture sizes %v", got)
	}
	for _, y := range []string{"scheduler:\n  engine: trtllm\n", "scheduler:\n  engine: vllm\n  enforce_eager: true\n", "scheduler: {}\n"} {
		if got, _ = engineConfig(t, y).graphSizes(); got != nil {
			t.Errorf("%q: capture sizes %v, want none", y, got)
		}
	}
	c = engineConfig(t, "scheduler:\n  cuda_graph_sizes: [8, 2, 4, 4]\n")
	if got, _ = c.graphSizes(); len(got) != 3 || got[0] != 2 || got[2] != 8 {
		t.Errorf("explicit capture sizes %v, want [2 4 8]", got)
	}
}

// engineConfig parses a config on one H100 with the given scheduler part.
func engineConfig(t *testing.T, sched string) *Config {
	t.Helper()
	c, err := ParseConfig([]byte("model:\n  name: llama-3.1-8b\nhardware:\n  gpu: H100-SXM\nworkload:\n  embedded: test\n" + sched))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEngineSetsUnsetFields: an engine fills what the user left unset,
// and explicit values win.
func TestEngineSetsUnsetFields(t *testing.T) {
	c := engineConfig(t, "scheduler:\n  engine: sglang\n  max_num_seqs: 64\n")
	s := c.Scheduler
	if s.Batching != BatchingPrefillFirst || s.AdmissionReserve != 0.7 || s.BlockSize != 1 || s.MaxNumBatchedTokens != 8192 || s.MaxNumSeqs != 64 {
		t.Errorf("sglang: %+v", s)
	}
	if want := (81920 - 13440) / 81920.0; c.Cluster.GPUMemoryUtilization != want || c.Cluster.ActivationReserveGB != 1 {
		t.Errorf("sglang memory fraction %v reserve %v, want %v and 1", c.Cluster.GPUMemoryUtilization, c.Cluster.ActivationReserveGB, want)
	}
	c = engineConfig(t, "scheduler:\n  engine: sglang\n  batching: mixed\n  chunked_prefill: false\ncluster:\n  gpu_memory_utilization: 0.8\n")
	if c.Scheduler.Batching != BatchingMixed || *c.Scheduler.ChunkedPrefill || c.Cluster.GPUMemoryUtilization != 0.8 {
		t.Errorf("explicit values lost: %+v %+v", c.Scheduler, c.Cluster)
	}
	c = engineConfig(t, "scheduler:\n  engine: trtllm\n")
	if s := c.Scheduler; s.CapacityPolicy != GuaranteedNoEvict || !*s.OverlapScheduler || *s.ChunkedPrefill || s.MaxNumSeqs != 2048 {
		t.Errorf("trtllm: %+v", s)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	// Without an engine nothing changes: lodsim's historical defaults.
	c = engineConfig(t, "")
	if s := c.Scheduler; s.MaxNumSeqs != 256 || s.MaxNumBatchedTokens != 2048 || s.BlockSize != 16 || s.Batching != BatchingMixed || c.Cluster.GPUMemoryUtilization != 0.9 {
		t.Errorf("no engine: %+v", s)
	}
}

// TestVLLMAsyncSchedulingDefault: vLLM's async scheduling (the overlap of
// a step's CPU work with the GPU work before it) is on by default from
// 0.14.0, off before, off with pipeline parallelism, and an explicit
// setting wins.
func TestVLLMAsyncSchedulingDefault(t *testing.T) {
	for y, want := range map[string]bool{
		"scheduler:\n  engine: vllm\n  engine_version: 0.16.0\n":                                   true,
		"scheduler:\n  engine: vllm\n":                                                             true,
		"scheduler:\n  engine: vllm\n  engine_version: 0.13.0\n":                                   false,
		"scheduler:\n  engine: vllm\n  engine_version: 0.16.0\ncluster:\n  pipeline_parallel: 2\n": false,
		"scheduler:\n  engine: vllm\n  engine_version: 0.16.0\n  overlap_scheduler: false\n":       false,
		"scheduler:\n  engine: vllm\n  engine_version: 0.12.0\n  overlap_scheduler: true\n":        true,
	} {
		c := engineConfig(t, y)
		if o := c.Scheduler.OverlapScheduler; o == nil || *o != want {
			t.Errorf("%q: overlap %v, want %v", y, o, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
}

func TestEngineValidation(t *testing.T) {
	for y, want := range map[string]string{
		"scheduler:\n  engine: tgi\n":                                                                 `scheduler.engine: "tgi", expected one of vllm, sglang, trtllm`,
		"scheduler:\n  engine: vllm\n  engine_version: 0.2.0\n":                                       "older than every known version",
		"scheduler:\n  engine_version: 0.16.0\n":                                                      "without scheduler.engine",
		"scheduler:\n  engine: vllm\n  capacity_policy: max_utilization\n":                            "expected scheduler.engine: trtllm",
		"scheduler:\n  engine: trtllm\n  capacity_policy: fifo\n":                                     `"fifo", expected one of guaranteed_no_evict, max_utilization`,
		"scheduler:\n  overlap_scheduler: true\n":                                                     "overlap_scheduler: an engine's overlap of scheduling with the GPU, expected scheduler.engine",
		"scheduler:\n  engine: sglang\n  overlap_scheduler: true\ncluster:\n  pipeline_parallel: 2\n": "SGLang's overlap schedule is not compatible with pipeline parallelism",
		"scheduler:\n  engine: trtllm\n  batching: prefill_first\n":                                   "expected mixed with engine trtllm",
		"scheduler:\n  cuda_graph_sizes: [4, 0]\n":                                                    "cuda_graph_sizes[1]: 0",
		"scheduler:\n  engine: vllm\n  batch_wait_timeout_iters: 20\n":                                "batch_wait_*: TensorRT-LLM's batch waiting",
		"scheduler:\n  engine: trtllm\n  batch_wait_max_tokens_ratio: 1.5\n":                          "batch_wait_max_tokens_ratio: 1.5, expected 0 to 1",
		"scheduler:\n  engine: trtllm\n  batch_wait_timeout_iters: -1\n":                              "batch_wait_timeout_iters: -1",
		"scheduler:\n  engine: sglang\n  attention_dp_balance: true\n":                                "attention_dp_*: TensorRT-LLM's attention-DP balancing",
		"scheduler:\n  engine: trtllm\n  attention_dp_timeout_iters: -2\n":                            "attention_dp_timeout_iters: -2, expected 0 to",
		"scheduler:\n  engine: trtllm\n  attention_dp_batching_wait_iters: -3\n":                      "attention_dp_batching_wait_iters: -3, expected 0 to",
		"scheduler:\n  engine: vllm\nhardware:\n  gpu: TPU-v5\n":                                      "depend on the GPU",
		"scheduler:\n  engine: vllm\n  overlap_scheduler: true\ncluster:\n  pipeline_parallel: 2\n":   "overlap_scheduler: true with cluster.pipeline_parallel 2, expected false or unset",
	} {
		c, err := ParseConfig([]byte("model:\n  name: llama-3.1-8b\nhardware:\n  gpu: H100-SXM\nworkload:\n  embedded: test\n" + y))
		if err != nil {
			// a repeated key (hardware) is a YAML error; rebuild without the default
			c, err = ParseConfig([]byte("model:\n  name: llama-3.1-8b\nworkload:\n  embedded: test\n" + y))
		}
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		err = c.Validate()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to say %q", y, err, want)
		}
	}
}

// TestTRTLLMMemoryFraction: TensorRT-LLM's free_gpu_memory_fraction takes
// its share of what the weights and activations leave, vLLM's
// gpu_memory_utilization its share of the whole GPU before them.
func TestTRTLLMMemoryFraction(t *testing.T) {
	g, _ := cost.LookupGPU("H100-SXM")
	for _, e := range []Engine{EngineVLLM, EngineTRTLLM} {
		c := engineConfig(t, "scheduler:\n  engine: "+string(e)+"\n  block_size: 16\ncluster:\n  activation_reserve_gb: 2\n")
		m, err := c.ResolveModel()
		if err != nil {
			t.Fatal(err)
		}
		got, err := KVBlocks(c, m, g, 0)
		if err != nil {
			t.Fatal(err)
		}
		w, reserve := m.WeightBytes(), int64(2<<30)
		avail := int64(float64(g.MemoryBytes)*0.9) - w - reserve
		if e == EngineTRTLLM {
			avail = int64(float64(g.MemoryBytes-w-reserve) * 0.9)
		}
		if want := avail / (m.KVBytesPerToken(1, 1) * 16); got != want {
			t.Errorf("%s: %d KV blocks, want %d", e, got, want)
		}
	}
}

// TestStaticFP8Scales: TensorRT-LLM from 1.1 on (and with no version, its
// newest) runs FP8 GEMMs with static activation scales, 1.0 and earlier
// and the other engines do not, and WithEngineCosts hands the decision to
// the profile it returns.
func TestStaticFP8Scales(t *testing.T) {
	for _, c := range []struct {
		e    Engine
		v    string
		want bool
	}{
		{EngineTRTLLM, "", true}, {EngineTRTLLM, "1.1.0", true}, {EngineTRTLLM, "1.2.0rc2", true},
		{EngineTRTLLM, "1.0.0rc3", false}, {EngineTRTLLM, "0.21.0", false},
		{EngineVLLM, "", false}, {EngineSGLang, "0.5.0", false},
	} {
		if got := StaticFP8Scales(c.e, c.v); got != c.want {
			t.Errorf("%s %q: static FP8 scales %v, expected %v", c.e, c.v, got, c.want)
		}
	}
	g, err := cost.LookupGPU("H200-SXM")
	if err != nil {
		t.Fatal(err)
	}
	p := &cost.Profile{Device: cost.NewProfileGPU(g)}
	for _, v := range []string{"", "1.0.0rc3"} {
		c := &Config{Scheduler: SchedulerConfig{Engine: EngineTRTLLM, EngineVersion: v}}
		if got := WithEngineCosts(p, c).StaticFP8Activations; got != StaticFP8Scales(EngineTRTLLM, v) {
			t.Errorf("trtllm %q: WithEngineCosts set static FP8 scales %v", v, got)
		}
	}
}

// TestVLLMAsyncSchedulingWithPP: vLLM refuses --async-scheduling with
// pipeline parallelism, so an explicit overlap_scheduler: true with PP > 1
// is an error naming the pool's field; unset, the default is off there.
func TestVLLMAsyncSchedulingWithPP(t *testing.T) {
	on := true
	c := tinyConfig("medium", 1)
	c.Scheduler.Engine, c.Scheduler.OverlapScheduler = EngineVLLM, &on
	c.Cluster.Replicas = 0
	c.Cluster.Disaggregated = &DisaggConfig{Prefill: PoolConfig{Workers: 1, TensorParallel: 1}, Decode: PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 2}}
	c.ApplyDefaults()
	want := "scheduler.overlap_scheduler: true with cluster.disaggregated.decode.pipeline_parallel 2"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to say %q", err, want)
	}
	// Unset, the cluster-level default (on: the cluster's own PP is 1)
	// does not count as set for a pool of PP2, whose default is off.
	c = tinyConfig("medium", 1)
	c.Scheduler.Engine = EngineVLLM
	c.Cluster.Replicas = 0
	c.Cluster.Disaggregated = &DisaggConfig{Prefill: PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 2}, Decode: PoolConfig{Workers: 1, TensorParallel: 1}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("prefill PP2, overlap unset: %v", err)
	}
	if o := c.ForPool(PoolPrefill).Scheduler.OverlapScheduler; o == nil || *o {
		t.Errorf("prefill PP2, overlap unset: the pool's overlap %v, want false", o)
	}
}

// TestTRTLLMOverlapWithPP: TensorRT-LLM's PyExecutor runs its pipeline
// loop (_executor_loop_pp) with pipeline parallelism, never the overlap
// loop, whatever disable_overlap_scheduler says: the overlap scheduler is
// on by default without PP, off with PP > 1 (a disaggregated pool's own
// PP counting), and an explicit true with PP > 1 is an error naming the
// field.
func TestTRTLLMOverlapWithPP(t *testing.T) {
	for y, want := range map[string]bool{
		"scheduler:\n  engine: trtllm\n":                                   true,
		"scheduler:\n  engine: trtllm\ncluster:\n  pipeline_parallel: 2\n": false,
	} {
		c := engineConfig(t, y)
		if o := c.Scheduler.OverlapScheduler; o == nil || *o != want {
			t.Errorf("%q: overlap %v, want %v", y, o, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
	c := engineConfig(t, "scheduler:\n  engine: trtllm\n  overlap_scheduler: true\ncluster:\n  pipeline_parallel: 2\n")
	want := "scheduler.overlap_scheduler: true with cluster.pipeline_parallel 2, expected false or unset: TensorRT-LLM's overlap scheduler"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("explicit overlap with PP2: error %v, want it to say %q", err, want)
	}
	c = tinyConfig("medium", 1)
	c.Scheduler.Engine = EngineTRTLLM
	c.Cluster.Replicas = 0
	c.Cluster.Disaggregated = &DisaggConfig{Prefill: PoolConfig{Workers: 1, TensorParallel: 1}, Decode: PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 2}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("decode PP2, overlap unset: %v", err)
	}
	for k, want := range map[PoolKind]bool{PoolPrefill: true, PoolDecode: false} {
		if o := c.ForPool(k).Scheduler.OverlapScheduler; o == nil || *o != want {
			t.Errorf("decode PP2, overlap unset: the %s pool's overlap %v, want %v", k, o, want)
		}
	}
}

// TestSGLangOverlapSetting: lodsim leaves SGLang's overlap schedule off
// by default at every version it knows (its SGLang engine costs are the
// time the overlap leaves exposed: sglangDefaults), while a config may
// turn it on: then the step overhead hides behind the GPU as for the
// other engines (TestOverlapSchedulerHidesStepOverhead), except with
// pipeline parallelism, which SGLang runs without it
// (TestEngineValidation).
func TestSGLangOverlapSetting(t *testing.T) {
	h200, _ := cost.LookupGPU("H200")
	for _, v := range []string{"0.5.0", "0.5.1.post1", "0.5.8.post1", ""} {
		d, err := LookupEngineDefaults(EngineSGLang, v, h200, 8, 1)
		if err != nil || d.OverlapScheduler {
			t.Errorf("sglang %q: overlap %v (%v), want off", v, d.OverlapScheduler, err)
		}
	}
	for y, want := range map[string]bool{
		"scheduler:\n  engine: sglang\n  engine_version: 0.5.8.post1\n":                            false,
		"scheduler:\n  engine: sglang\n  engine_version: 0.5.8.post1\n  overlap_scheduler: true\n": true,
	} {
		c, err := ParseConfig([]byte("model:\n  name: llama-3.1-8b\nhardware:\n  gpu: H100-SXM\nworkload:\n  embedded: test\n" + y))
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		if o := c.Scheduler.OverlapScheduler; o == nil || *o != want {
			t.Errorf("%q: overlap_scheduler %v, want %v", y, o, want)
		}
	}
}
