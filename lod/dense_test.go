package lod

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// legacyModels are the built-in architectures as lodsim had them before
// the catalog was read from config.json: the catalog must give exactly
// these, with the context length of each config.json (Llama-3.1-8B, Llama-3.1-70B and Qwen3-32B now come from their
// shipped configs).
var legacyModels = []Model{
	{Name: "Llama-3-8B", ContextLen: 8192, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3.1-8B", ContextLen: 131072, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3-70B", ContextLen: 8192, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3.1-70B", ContextLen: 131072, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-2-7B", ContextLen: 4096, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 32, HeadDim: 128, Intermediate: 11008, Vocab: 32000, DTypeBytes: 2},
	{Name: "Llama-2-70B", ContextLen: 4096, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 32000, DTypeBytes: 2},
	{Name: "Qwen3-32B", ContextLen: 40960, Layers: 64, Hidden: 5120, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 25600, Vocab: 151936, DTypeBytes: 2},
	{Name: "Mistral-7B", ContextLen: 32768, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 32000, DTypeBytes: 2},
}

func TestLegacyModelsUnchanged(t *testing.T) {
	for _, want := range legacyModels {
		got, err := LookupModel(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", want.Name, got, want)
		}
		// The old formulas: Params with BF16 everywhere, KV as K and V of
		// the rank's heads in DTypeBytes.
		h, hd := int64(want.Hidden), int64(want.HeadDim)
		layer := h*int64(want.Heads+2*want.KVHeads)*hd + int64(want.Heads)*hd*h + 3*h*int64(want.Intermediate) + 2*h
		params := 2*int64(want.Vocab)*h + int64(want.Layers)*layer + h
		if got.Params() != params || got.WeightBytes() != 2*params {
			t.Errorf("%s: %d params, %d bytes; want %d, %d", want.Name, got.Params(), got.WeightBytes(), params, 2*params)
		}
		for _, tp := range []int{1, 2, 4, 8, 16} {
			for _, pp := range []int{1, 2, 3} {
				kv := int64(2 * ((want.Layers + pp - 1) / pp) * want.KVHeadsPerRank(tp) * want.HeadDim * 2)
				if got.KVBytesPerToken(tp, pp) != kv || got.KVWindowBytesPerSeq(tp, pp) != 0 {
					t.Errorf("%s TP%d PP%d: KV bytes per token %d, want %d", want.Name, tp, pp, got.KVBytesPerToken(tp, pp), kv)
				}
			}
		}
	}
}

// legacyPlan is the dense planner as it was before MoE, MLA, windows and
// precision, without its memos: every dense BF16 model must plan to
// exactly these costs.
func legacyPlan(m Model, cm cost.CostModel, tp int, layers []int, b *Batch, out []StageCost) {
	t := b.Tokens()
	h, hd := m.Hidden, m.HeadDim
	el := float64(m.DTypeBytes)
	act := float64(t) * float64(h) * el
	shape := cost.AttnShape{Heads: m.Heads / tp, KVHeads: m.KVHeadsPerRank(tp), HeadDim: hd}
	qn := (shape.Heads + 2*shape.KVHeads) * hd
	qkv := ns(cm.Elementwise(2*act) + cm.GEMM(t, qn, h) + cm.Elementwise(2*float64(t)*float64(qn)*el))
	o := ns(cm.GEMM(t, h, shape.Heads*hd))
	inter := m.Intermediate / tp
	mlp := cm.Elementwise(2*act) + cm.GEMM(t, 2*inter, h) + cm.Elementwise(3*float64(t)*float64(inter)*el) + cm.GEMM(t, h, inter)
	var link cost.Link
	if tp > 1 {
		link = cm.AllReduceLink(tp, act)
	}
	var attn float64
	for _, c := range b.Chunks {
		attn += cm.ContextAttention(1, int(c.Q), int(c.Prefix), shape)
	}
	if b.Decodes > 0 {
		ctx := int((b.DecodeCtx + int64(b.Decodes)/2) / int64(b.Decodes))
		attn += cm.GenerationAttention(b.Decodes, ctx, shape)
	}
	var ar float64
	if tp > 1 {
		ar = act
	}
	var head int64
	if b.Sampled > 0 {
		v := m.Vocab / tp
		head = ns(cm.GEMM(b.Sampled, v, h) + cm.Elementwise(float64(b.Sampled)*float64(v)*4))
	}
	ov := cm.Overheads()
	over := ns(ov.StepNs + ov.PerSeqNs*float64(b.Seqs()) + ov.PerPrefillTokenNs*float64(b.PrefillTokens()))
	if ov.StepNs == 0 && ov.PerSeqNs == 0 && ov.PerPrefillTokenNs == 0 {
		over = 0
	}
	for s := range out {
		c := &out[s]
		*c = StageCost{Op: [NumOps]int64{qkv, ns(attn), o, ns(mlp)}, Layers: layers[s], ARBytes: ar, ARLink: link}
		if s == 0 {
			c.Overhead = over
		}
		if s == len(out)-1 {
			c.Head = head
		} else {
			c.PPBytes = act
		}
	}
}

// TestDensePlansUnchanged is a differential test of the planner against
// the dense formulas it grew from, on the roofline and on every shipped
// calibrated profile: the timing fields must match exactly.
func TestDensePlansUnchanged(t *testing.T) {
	var cms []cost.CostModel
	for _, name := range []string{"A100-80GB-SXM", "H100-SXM", "H200-SXM", "L40S"} {
		g, err := cost.LookupGPU(name)
		if err != nil {
			t.Fatal(err)
		}
		cms = append(cms, cost.NewRoofline(g), hwprofile.DefaultCostModel(g))
	}
	batches := []Batch{
		{Decodes: 1, DecodeCtx: 512, Sampled: 1},
		{Decodes: 37, DecodeCtx: 37 * 1900, Sampled: 37},
		{Chunks: []Chunk{{Q: 2048}}, Sampled: 1},
		{Chunks: []Chunk{{Q: 300, Prefix: 4096}, {Q: 17}}, Decodes: 60, DecodeCtx: 60 * 700, Sampled: 61},
		{Chunks: []Chunk{{Q: 8192, Prefix: 100}}},
	}
	for _, m := range legacyModels {
		for _, cm := range cms {
			for _, l := range [][2]int{{1, 1}, {2, 1}, {4, 2}, {8, 1}} {
				p, err := NewPlanner(m, cm, l[0], l[1])
				if err != nil {
					t.Fatal(err)
				}
				got, want := make([]StageCost, l[1]), make([]StageCost, l[1])
				for i := range batches {
					for range 2 { // the second pass hits the memos
						p.Plan(&batches[i], got)
						legacyPlan(m, cm, l[0], StageLayers(m.Layers, l[1]), &batches[i], want)
						for s := range got {
							g := got[s]
							g.WeightBytes = 0 // new field
							if g != want[s] {
								t.Fatalf("%s on %s TP%d PP%d batch %d stage %d:\n got %+v\nwant %+v", m.Name, cm.Name(), l[0], l[1], i, s, g, want[s])
							}
						}
					}
				}
			}
		}
	}
}
