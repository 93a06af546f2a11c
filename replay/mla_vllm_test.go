package replay

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// TestDeepSeekVLLMMLAHighEqualsMedium: DeepSeek-R1 at TP8 on the shipped
// H200 vLLM profile, whose latent attention is fitted from vLLM's MLA
// module tables, gives identical outputs at both levels of detail (no
// variability, no contention), and its steps do use that fit: without it
// (the roofline's latent attention) the outputs differ.
func TestDeepSeekVLLMMLAHighEqualsMedium(t *testing.T) {
	prof, err := hwprofile.EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	if prof.GenMLA == nil || prof.CtxMLA == nil {
		t.Fatal("the H200 vLLM profile has no MLA sections")
	}
	noFit := *prof
	noFit.GenMLA, noFit.CtxMLA = nil, nil
	if err := noFit.Compile(); err != nil {
		t.Fatal(err)
	}
	var reqs []workload.Request
	for i := 0; i < 24; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20e6,
			PromptTokens: int32(200 + 37*i), OutputTokens: int32(20 + i)})
	}
	run := func(lodName string, cm *cost.Profile) (*Stats, []RequestResult) {
		c := &Config{
			Simulation: SimulationConfig{LoD: LoD(lodName), Seed: 1},
			Model:      lod.Model{Name: "DeepSeek-R1"},
			Hardware:   HardwareConfig{GPU: "H200"},
			Cluster:    ClusterConfig{Replicas: 1, TensorParallel: 8},
			Scheduler:  SchedulerConfig{Engine: EngineVLLM},
			Workload:   WorkloadConfig{Embedded: "test"},
		}
		c.ApplyDefaults()
		m, err := c.ResolveModel()
		if err != nil {
			t.Fatal(err)
		}
		c.Model = m
		return runReqs(t, c, cm, reqs)
	}
	sh, rh := run("high", prof)
	sm, rm := run("medium", prof)
	if d := diffOutputs(sh, sm, rh, rm); d != "" {
		t.Fatalf("high and medium differ: %s", d)
	}
	sn, rn := run("medium", &noFit)
	if diffOutputs(sm, sn, rm, rn) == "" {
		t.Error("the same outputs with and without the module fit: the fit is not used")
	}
}
