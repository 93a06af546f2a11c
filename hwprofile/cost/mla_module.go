package cost

// MLAModule is the attention module of a DeepSeek-V2/V3 layer as
// aiconfigurator's mla_*_module_perf tables time it (vLLM's
// DeepseekV2MLAAttention forward, unsharded, with the head count set to the
// per-rank one): the q projections (q_a_proj fused with
// kv_a_proj_with_mqa, q_a_layernorm, q_b_proj), kv_a_layernorm, rotary
// embedding, the latent attention with its up-projections (kv_b_proj in
// prefill; the absorbed per-head BMMs in decode) and o_proj. The decoder
// layer's input norm, residual add and tensor-parallel all-reduce are
// outside it.
//
// lodsim costs the module's parts apart (lod.Planner: the projections by
// the step's token count, the attention by sequence), so the module time
// is used as the attention kernel's time plus MLAModule.PartsNs, the time
// lodsim charges for the rest with the same profile; calibration subtracts
// PartsNs from each module row to get a latent-attention row
// (hwprofile.MEASUREMENTS.md, "MLA module tables").
type MLAModule struct {
	Hidden, QLoRARank, KVLoRARank  int
	QKNopeDim, QKRopeDim, VHeadDim int
	DTypeBytes                     int
}

// DeepSeekV3MLAModule is the module the aiconfigurator tables measure
// (deepseek-ai/DeepSeek-V3, BF16 activations).
var DeepSeekV3MLAModule = MLAModule{Hidden: 7168, QLoRARank: 1536, KVLoRARank: 512,
	QKNopeDim: 128, QKRopeDim: 64, VHeadDim: 128, DTypeBytes: 2}

// Projections is the time c gives the module's projections for t tokens on
// heads query heads with the weights at q: with a q LoRA, the fused
// q_a_proj/kv_a_proj_with_mqa GEMM, q_a_layernorm and q_b_proj, else the
// q and kv_a GEMMs; kv_a_layernorm; rotary embedding of q and the key; and
// o_proj. It is lod.Planner's MLA projection cost less the layer's input
// norm (TestMLAModuleMatchesPlanner in lod checks the two agree).
func (d MLAModule) Projections(c CostModel, t, heads int, q Precision) float64 {
	el, ft := float64(d.DTypeBytes), float64(t)
	gemm := func(m, n, k int) float64 { return gemmAt(c, m, n, k, q) }
	qk, lat := d.QKNopeDim+d.QKRopeDim, d.KVLoRARank+d.QKRopeDim
	var v float64
	if r := d.QLoRARank; r > 0 {
		v = gemm(t, r+lat, d.Hidden) + c.Elementwise(2*ft*float64(r)*el) + gemm(t, heads*qk, r)
	} else {
		v = gemm(t, heads*qk, d.Hidden) + gemm(t, lat, d.Hidden)
	}
	v += c.Elementwise(2*ft*float64(d.KVLoRARank)*el) + c.Elementwise(2*ft*float64(heads*d.QKRopeDim+d.QKRopeDim)*el)
	return v + gemm(t, d.Hidden, heads*d.VHeadDim)
}

// PartsNs is the time lodsim charges in one module forward outside the
// latent-attention kernel: the projections of every token, and the
// up-projections beside the kernel. Decode (batch sequences of one token
// each, seq the KV length): the absorbed q and output BMMs, costed as BF16
// GEMMs (engines dequantize kv_b_proj at load). Prefill (batch sequences
// of seq tokens, no prefix): kv_b_proj, at q, as one GEMM over the batch's
// batch x seq tokens, as vLLM's MLA prefill applies it to the latents of
// all its prefill tokens at once (MLACommonImpl._forward_prefill) and as
// lod.Planner charges it per step (KVUpProjection).
func (d MLAModule) PartsNs(c CostModel, decode bool, batch, seq, heads int, q Precision) float64 {
	if decode {
		return d.Projections(c, batch, heads, q) +
			c.GEMM(batch, heads*d.KVLoRARank, d.QKNopeDim) + c.GEMM(batch, heads*d.VHeadDim, d.KVLoRARank)
	}
	return d.Projections(c, batch*seq, heads, q) + d.KVUpProjection(c, batch*seq, heads, q)
}

// KVUpProjection is kv_b_proj over t latents: each expands into heads
// query-key (nope) and value halves.
func (d MLAModule) KVUpProjection(c CostModel, t, heads int, q Precision) float64 {
	return gemmAt(c, t, heads*(d.QKNopeDim+d.VHeadDim), d.KVLoRARank, q)
}

// gemmAt is c's GEMM with the weight at q: the BF16 GEMM itself for BF16
// (as lod.Planner's gemm).
func gemmAt(c CostModel, m, n, k int, q Precision) float64 {
	if q != BF16 {
		return c.QuantGEMM(m, n, k, q)
	}
	return c.GEMM(m, n, k)
}
