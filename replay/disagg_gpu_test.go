package replay

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// llama8B is a Llama-3-8B-like model: memory-bound decode, so a decode
// step's time follows the GPU's memory bandwidth.
var llama8B = lod.Model{Name: "llama8b", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2}

// mixedGPU is a 1P+1D cluster of llama8B with the cluster (and prefill
// pool) on H200 and the decode pool on decodeGPU, the KV over the
// network.
func mixedGPU(lodName, decodeGPU string) *Config {
	c := &Config{
		Simulation: SimulationConfig{LoD: LoD(lodName), Seed: 1},
		Model:      llama8B,
		Hardware:   HardwareConfig{GPU: "H200-SXM"},
		Cluster: ClusterConfig{GPUMemoryUtilization: 0.5, ActivationReserveGB: 1,
			Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1, GPU: decodeGPU}}},
		Scheduler: SchedulerConfig{BlockSize: 16},
		Workload:  WorkloadConfig{Embedded: "test"},
	}
	c.ApplyDefaults()
	return c
}

func rooflineOf(t *testing.T, name string) cost.CostModel {
	t.Helper()
	g, err := cost.LookupGPU(name)
	if err != nil {
		t.Fatal(err)
	}
	return cost.NewRoofline(g)
}

func runMixed(t *testing.T, c *Config, decode cost.CostModel, reqs []workload.Request) (*Stats, []RequestResult) {
	t.Helper()
	var col Collect
	st, err := Run(Input{Config: c, Model: c.Model, Cost: rooflineOf(t, "H200-SXM"), DecodeCost: decode,
		Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, col.Results
}

// TestDisaggPoolGPUDecodeSpeed: the decode pool on H100 (3.35 TB/s)
// decodes slower than on H200 (4.8 TB/s): memory-bound decode steps of an
// 8B model take about 4.8/3.35 = 1.43 times as long, at both levels of
// detail; the prefill (on H200 in both runs) is the same. The pool
// summary names the decode pool's own GPU, and the KV goes over the
// network (different GPUs share no NVLink domain).
func TestDisaggPoolGPUDecodeSpeed(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 512, OutputTokens: 64}, {ID: 2, Arrival: 1e6, PromptTokens: 300, OutputTokens: 64}}
	for _, l := range []string{"high", "medium"} {
		var tpot [2]float64
		var first [2]Time
		for i, g := range []string{"H200-SXM", "H100-SXM"} {
			c := mixedGPU(l, g)
			st, rs := runMixed(t, c, rooflineOf(t, g), reqs)
			r := rs[0]
			if r.Status != Completed {
				t.Fatalf("%s %s: %v", l, g, r.Status)
			}
			tpot[i] = float64(r.Completion-r.FirstToken) / float64(r.OutputTokens-1)
			first[i] = r.TransferStart
			d := st.Disaggregated
			wantGPU := map[string]string{"H200-SXM": "", "H100-SXM": "H100-SXM"}[g]
			if d.Prefill.GPU != "" || d.Decode.GPU != wantGPU {
				t.Errorf("%s %s: pool GPUs %q/%q, expected \"\"/%q", l, g, d.Prefill.GPU, d.Decode.GPU, wantGPU)
			}
			if d.KVLink != string(KVLinkNetwork) && g != "H200-SXM" {
				t.Errorf("%s %s: KV link %s, expected network between different GPUs", l, g, d.KVLink)
			}
		}
		if first[0] != first[1] {
			t.Errorf("%s: prefill ends at %d on H200 decode, %d on H100 decode; expected the same (prefill on H200 in both)", l, first[0], first[1])
		}
		t.Logf("%s: TPOT %.0f ns decode on H200, %.0f on H100 (x%.3f)", l, tpot[0], tpot[1], tpot[1]/tpot[0])
		if ratio := tpot[1] / tpot[0]; ratio < 1.3 || ratio > 1.5 {
			t.Errorf("%s: TPOT %.0f ns on H100 decode vs %.0f on H200: ratio %.3f, expected about 4.8/3.35 = 1.43", l, tpot[1], tpot[0], ratio)
		}
	}
}

// TestDisaggPoolGPUKVCapacity: each pool's KV cache is sized from its own
// GPU's memory. At TP1, gpu_memory_utilization 0.5 and a 1 GiB
// activation reserve, a worker holds (memory/2 - weights - 1 GiB) /
// (16 tokens x 128 KiB) blocks: llama8B's KV is 32 layers x 8 heads x 128
// dims x K,V x 2 bytes = 131072 bytes a token, its weights
// 16060522496 bytes. On H200 (141 GiB) that is (75698651136 - 16060522496
// - 1073741824) / 2097152 = 27925 blocks; on B200 (180 GiB) (96636764160 -
// 16060522496 - 1073741824) / 2097152 = 37909.
func TestDisaggPoolGPUKVCapacity(t *testing.T) {
	if w, kv := llama8B.WeightBytes(), llama8B.KVBytesPerToken(1, 1); w != 16060522496 || kv != 131072 {
		t.Fatalf("llama8B: %d bytes of weights, %d of KV a token; the comment's figures are stale", w, kv)
	}
	c := mixedGPU("medium", "B200-SXM")
	st, _ := runMixed(t, c, rooflineOf(t, "B200-SXM"), []workload.Request{{ID: 1, PromptTokens: 16, OutputTokens: 2}})
	if st.Disaggregated.Prefill.KVBlocks != 27925 || st.Disaggregated.Decode.KVBlocks != 37909 {
		t.Errorf("KV blocks per worker: prefill (H200) %d, decode (B200) %d; expected 27925 and 37909", st.Disaggregated.Prefill.KVBlocks, st.Disaggregated.Decode.KVBlocks)
	}
}

// TestDisaggPoolGPUErrors: an unknown pool GPU and NVLink between pools
// on different GPUs are config errors naming the field; a pool GPU without
// a cost model describing it (the run's is H200's) fails the run, naming
// the pool.
func TestDisaggPoolGPUErrors(t *testing.T) {
	c := mixedGPU("medium", "H300")
	c.Cluster.Disaggregated.Prefill.GPU = "B200-SXM"
	c.Cluster.Disaggregated.Transfer.Link = KVLinkNVLink
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), `cluster.disaggregated.decode.gpu: cost: unknown GPU "H300"`) {
		t.Errorf("unknown decode GPU: %v", err)
	}
	c = mixedGPU("medium", "H100-SXM")
	c.Cluster.Disaggregated.Transfer.Link = KVLinkNVLink
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.transfer.link: nvlink, but the prefill pool runs on H200-SXM and the decode pool on H100-SXM") {
		t.Errorf("nvlink between H200 and H100 pools: %v", err)
	}
	c.Cluster.Disaggregated.Transfer.Link = ""
	_, err = Run(Input{Config: c, Model: c.Model, Cost: rooflineOf(t, "H200-SXM"), Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode: gpu: H100-SXM, but the pool's cost model") {
		t.Errorf("decode pool on H100 with H200's cost model: %v", err)
	}
}

// TestDisaggPoolGPUDeterministic: a mixed-GPU run repeats exactly.
func TestDisaggPoolGPUDeterministic(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 200, OutputTokens: 20}, {ID: 2, Arrival: 5e5, PromptTokens: 90, OutputTokens: 30},
		{ID: 3, Arrival: 6e5, PromptTokens: 400, OutputTokens: 10}}
	for _, l := range []string{"high", "medium"} {
		st1, rs1 := runMixed(t, mixedGPU(l, "B200-SXM"), rooflineOf(t, "B200-SXM"), reqs)
		st2, rs2 := runMixed(t, mixedGPU(l, "B200-SXM"), rooflineOf(t, "B200-SXM"), reqs)
		if d := diffOutputs(st1, st2, rs1, rs2); d != "" || !reflect.DeepEqual(st1.Disaggregated, st2.Disaggregated) {
			t.Errorf("%s: two runs differ: %s", l, d)
		}
	}
}

// TestDisaggPoolGPUEngineDefaults: a pool's engine defaults are read for
// its own GPU: SGLang's memory fraction on H100 (80 GiB) is 0.8359375, on
// H200 0.9069..., and vLLM's limits on L40S are 256 sequences and 2048
// tokens against 1024 and 8192 on H200. The resolved limits are written
// into each pool's config.
func TestDisaggPoolGPUEngineDefaults(t *testing.T) {
	build := func(e Engine, decodeGPU string) *Config {
		c := &Config{Simulation: SimulationConfig{LoD: "medium", Seed: 1}, Model: llama8B, Hardware: HardwareConfig{GPU: "H200-SXM"},
			Cluster:   ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1, GPU: decodeGPU}}},
			Scheduler: SchedulerConfig{Engine: e}, Workload: WorkloadConfig{Embedded: "test"}}
		c.ApplyDefaults()
		return c
	}
	d := build(EngineSGLang, "H100-SXM").Cluster.Disaggregated
	if d.Decode.GPUMemoryUtilization != 0.8359375 || !(d.Prefill.GPUMemoryUtilization > 0.906 && d.Prefill.GPUMemoryUtilization < 0.907) {
		t.Errorf("sglang memory fraction: prefill (H200) %v, decode (H100) %v; expected 0.9069..., 0.8359375", d.Prefill.GPUMemoryUtilization, d.Decode.GPUMemoryUtilization)
	}
	d = build(EngineVLLM, "L40S").Cluster.Disaggregated
	if d.Prefill.MaxNumSeqs != 1024 || d.Prefill.MaxNumBatchedTokens != 8192 || d.Decode.MaxNumSeqs != 256 || d.Decode.MaxNumBatchedTokens != 2048 {
		t.Errorf("vllm limits: prefill (H200) %d/%d, decode (L40S) %d/%d; expected 1024/8192, 256/2048",
			d.Prefill.MaxNumSeqs, d.Prefill.MaxNumBatchedTokens, d.Decode.MaxNumSeqs, d.Decode.MaxNumBatchedTokens)
	}
}
