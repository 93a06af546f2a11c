package lod

import (
	"math"
	"testing"
)

// TestQKNormAllHeadsFromConfig: MiniMax-M2's config.json normalizes q and k
// over all heads (use_qk_norm, qk_norm_type per_layer), in its FP8 and
// NVFP4 checkpoints; Qwen3's per-head q/k norms do not set it.
func TestQKNormAllHeadsFromConfig(t *testing.T) {
	for name, want := range map[string]bool{
		"MiniMaxAI/MiniMax-M2.5": true, "nvidia/MiniMax-M2.5-NVFP4": true,
		"Qwen/Qwen3-235B-A22B-FP8": false, "Qwen/Qwen3-32B": false, "meta-llama/Llama-3.1-70B": false,
	} {
		if got := lookup(t, name).QKNormAllHeads; got != want {
			t.Errorf("%s: QKNormAllHeads %v, want %v", name, got, want)
		}
	}
}

// TestQKNormAllHeadsAllReduce: with TP, a q/k norm over all heads costs the
// qkv op one more read of the rank's q and k and one all-reduce of the
// tokens' two FP32 sums of squares, timed as the layer's all-reduces; on
// one GPU it costs nothing more.
func TestQKNormAllHeadsAllReduce(t *testing.T) {
	cm := h200(t)
	m := lookup(t, "MiniMaxAI/MiniMax-M2.5")
	plain := m
	plain.QKNormAllHeads = false
	qkv := func(m Model, tp, tokens int) int64 {
		t.Helper()
		p, err := NewPlanner(m, cm, tp, 1)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]StageCost, 1)
		p.Plan(&Batch{Decodes: tokens, DecodeCtx: int64(tokens) * 1000, Sampled: tokens}, out)
		return out[0].Op[OpQKV]
	}
	if a, b := qkv(m, 1, 4), qkv(plain, 1, 4); a != b {
		t.Errorf("TP1: qkv %d ns with the norm over all heads, %d without; want equal (no all-reduce)", a, b)
	}
	for _, tp := range []int{4, 8} {
		for _, tokens := range []int{4, 64} {
			s := float64(tokens) * 2 * 4
			qk := float64((m.Heads/tp + m.KVHeadsPerRank(tp)) * m.HeadDim)
			extra := cm.Elementwise(float64(tokens)*qk*2) + float64(RingAllReduceNs(cm.AllReduceLink(tp, s), s, tp))
			got := qkv(m, tp, tokens) - qkv(plain, tp, tokens)
			if math.Abs(float64(got)-extra) > 1 || extra < 2000 {
				t.Errorf("TP%d, %d tokens: the norm over all heads adds %d ns to qkv, want %.0f (a read of q and k and an all-reduce)", tp, tokens, got, extra)
			}
		}
	}
}
