package lod

import "testing"

// TestSpeculativeStep: a decode step with k drafts (Batch.Draft) runs its
// layers on (1 + k) tokens per decode, its attention as one pass over
// each cache with (1 + k) x the heads (decodeAttention), its LM head over
// every verified position, and k draft passes after it on the last
// stage; without drafts nothing of that changes the plain step.
func TestSpeculativeStep(t *testing.T) {
	p, prof := vllmMLA(t)
	m := p.model
	const B, ctx, k = 32, 2048, 3
	plain := Batch{Decodes: B, DecodeCtx: B * ctx, Sampled: B}
	spec := plain
	spec.Draft = k
	if spec.Tokens() != B*(1+k) || spec.PrefillTokens() != 0 || plain.Tokens() != B {
		t.Fatalf("tokens %d (prefill %d), plain %d; want %d, 0, %d", spec.Tokens(), spec.PrefillTokens(), plain.Tokens(), B*(1+k), B)
	}
	var cp, cs [1]StageCost
	p.Plan(&plain, cp[:])
	p.Plan(&spec, cs[:])
	if cp[0].Draft != 0 {
		t.Errorf("plain step has draft cost %d", cp[0].Draft)
	}
	// Attention: the latent kernel at 4 x 16 heads over B caches, the
	// absorption GEMMs on 4B rows.
	s := p.mla
	s.Heads *= 1 + k
	h := p.mla.Heads
	want := prof.GenerationMLA(B, ctx, s) + prof.GEMM(B*(1+k), h*m.KVLoRARank, m.QKNopeDim) + prof.GEMM(B*(1+k), h*m.VHeadDim, m.KVLoRARank)
	if got := cs[0].Op[OpAttention]; got != ns(want) {
		t.Errorf("verify attention %d ns, want %d", got, ns(want))
	}
	if cs[0].Op[OpQKV] != p.denseFor(B*(1+k)).qkv || cs[0].Head != p.headCost(B*(1+k)) {
		t.Errorf("QKV %d, head %d: want the planner's at %d tokens", cs[0].Op[OpQKV], cs[0].Head, B*(1+k))
	}
	// Draft: k passes of one MoE layer, eh_proj and the LM head over B.
	d, mo := p.denseFor(B), p.moeFor(B)
	act := float64(B) * float64(m.Hidden) * float64(m.DTypeBytes)
	pass := float64(d.qkv+d.o) + p.decodeAttention(B, ctx, 1) + mo.moe + prof.Elementwise(4*act) + p.gemm(B, m.Hidden, 2*m.Hidden, m.Weights)
	wantDraft := k * (ns(pass) + 2*RingAllReduceNs(d.arLink, act, 8) + p.headCost(B))
	if cs[0].Draft != wantDraft || cs[0].Compute() != cs[0].Overhead+int64(cs[0].Layers)*sumOps(&cs[0])+cs[0].Head+wantDraft {
		t.Errorf("draft %d ns, want %d", cs[0].Draft, wantDraft)
	}
	// Redecode follows the context in the draft passes too.
	spec.DecodeCtx += B * 1000
	p.Redecode(&spec, cs[:])
	var fresh [1]StageCost
	p.Plan(&spec, fresh[:])
	if cs[0] != fresh[0] {
		t.Errorf("Redecode %+v, Plan %+v", cs[0], fresh[0])
	}
}

func sumOps(c *StageCost) int64 {
	var s int64
	for _, d := range c.Op {
		s += d
	}
	return s
}
