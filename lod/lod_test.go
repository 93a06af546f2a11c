package lod

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

func TestModelCatalog(t *testing.T) {
	// Parameter counts published for each model, to 1%.
	for name, want := range map[string]float64{
		"Llama-3-8B": 8.03e9, "meta-llama/Meta-Llama-3-8B": 8.03e9, "Llama-3.1-70B": 70.6e9,
		"Llama-2-7b-hf": 6.74e9, "Llama-2-70B": 69.0e9, "Qwen/Qwen3-32B": 32.8e9, "Mistral-7B-v0.1": 7.24e9,
	} {
		m, err := LookupModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(m.Params()); math.Abs(got-want)/want > 0.01 {
			t.Errorf("%s: %.3g parameters, want %.3g", name, got, want)
		}
	}
	if _, err := LookupModel("GPT-5"); err == nil {
		t.Error("unknown model accepted")
	}
	m, _ := LookupModel("Llama-3-8B")
	// 32 layers x 8 KV heads x 128 x (K and V) x 2 bytes = 128 KiB.
	if got := m.KVBytesPerToken(1, 1); got != 131072 {
		t.Errorf("KV bytes per token %d, want 131072", got)
	}
	// TP16 exceeds the 8 KV heads: vLLM replicates, one head per rank.
	if got := m.KVBytesPerToken(16, 2); got != 16*1*128*2*2 {
		t.Errorf("TP16 PP2 KV bytes per token %d", got)
	}
}

func TestStageLayers(t *testing.T) {
	got := StageLayers(32, 3)
	if got[0] != 11 || got[1] != 11 || got[2] != 10 {
		t.Errorf("32 layers over 3 stages: %v", got)
	}
}

func TestRingFormula(t *testing.T) {
	l := cost.Link{LatencyNs: 5000, BytesPerNs: 100}
	// 2(n-1) x alpha + 2(n-1)/n x S/B with n=4, S=1 MB: 6 x 5000 + 1.5 x 10000.
	if got := RingAllReduceNs(l, 1e6, 4); got != 45000 {
		t.Errorf("ring all-reduce %d ns, want 45000", got)
	}
	if RingAllReduceNs(l, 1e6, 1) != 0 {
		t.Error("an all-reduce over one rank should cost nothing")
	}
}

func TestDecodePaysForWeights(t *testing.T) {
	m, _ := LookupModel("Llama-3-8B")
	g, _ := cost.LookupGPU("H100-SXM")
	p, err := NewPlanner(m, cost.NewRoofline(g), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{Decodes: 1, DecodeCtx: 512, Sampled: 1}
	out := make([]StageCost, 1)
	p.Plan(&b, out)
	// Reading 16 GB of weights at 80% of 3.35 TB/s takes about 6 ms.
	if c := out[0].Compute(); c < 4e6 || c > 9e6 {
		t.Errorf("batch-1 decode step %d ns, want milliseconds (~6 ms)", c)
	}
	// A 2048-token prefill is compute-bound: 2 x 8e9 x 2048 FLOPs at 70%
	// of 989 TFLOP/s is about 47 ms.
	b = Batch{Chunks: []Chunk{{Q: 2048}}, Sampled: 1}
	p.Plan(&b, out)
	if c := out[0].Compute(); c < 35e6 || c > 70e6 {
		t.Errorf("2048-token prefill %d ns, want about 47 ms", c)
	}
}

func TestPlanSplitsStages(t *testing.T) {
	m, _ := LookupModel("Llama-3-8B")
	g, _ := cost.LookupGPU("A100-80GB-SXM")
	p, err := NewPlanner(m, cost.NewRoofline(g), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	b := Batch{Decodes: 8, DecodeCtx: 8 * 600, Sampled: 8}
	out := make([]StageCost, 2)
	p.Plan(&b, out)
	if out[0].Layers != 16 || out[1].Layers != 16 {
		t.Errorf("layers %d/%d", out[0].Layers, out[1].Layers)
	}
	if out[0].Head != 0 || out[1].Head == 0 || out[0].PPBytes != 8*4096*2 || out[1].PPBytes != 0 {
		t.Errorf("head or PP bytes misplaced: %+v %+v", out[0], out[1])
	}
	if out[0].ARBytes != 8*4096*2 {
		t.Errorf("all-reduce bytes %v", out[0].ARBytes)
	}
	if _, err := NewPlanner(m, cost.NewRoofline(g), 3, 1); err == nil {
		t.Error("TP3 of 32 heads accepted")
	}
}
