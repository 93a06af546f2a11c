package lod

import "math"

// ExpectedExperts is the expected number of distinct experts that tokens
// tokens, each routed to k of e experts, hit together:
//
//	E[distinct] = e x (1 - (1 - k/e)^tokens)
//
// (each expert is missed by one token with probability 1 - k/e, routing
// taken uniform and independent across tokens). One decoding token hits
// exactly k; a large batch hits all e, so a small decode batch reads only
// a fraction of an MoE layer's weights.
func ExpectedExperts(tokens, k, e int) float64 {
	if tokens <= 0 || k <= 0 || e <= 0 {
		return 0
	}
	if k >= e {
		return float64(e)
	}
	return float64(e) * -math.Expm1(float64(tokens)*math.Log1p(-float64(k)/float64(e)))
}

// moeLayer costs one MoE layer for t tokens on one rank, from the cost
// model's GEMMs:
//
//   - post-attention RMSNorm; the router GEMM (t x hidden by hidden x
//     experts, unquantized) and its top-k over the logits;
//   - the routed experts as one grouped GEMM per projection: the rank's
//     tokens x k / EP assignments over the experts they hit on this rank
//     (ExpectedExperts of the MoE group's tokens, over EP), each expert's
//     intermediate split over the expert group's MoE-TP ranks. A grouped
//     GEMM of n experts with m tokens each costs as one GEMM of m rows
//     and n x columns: the same FLOPs and the same weight bytes, one launch;
//   - SiLU-and-multiply on the assignments, and the permute before and
//     un-permute-and-weight after the experts (each a read and a write of
//     the hidden states);
//   - shared experts as a dense MLP split by TP.
//
// The tokens of the MoE group are t x attention-DP (with pure TP every
// rank holds the same t). Per rank it also sets the weight bytes read and
// the all-to-all bytes (with attention DP and EP > 1: each of the t tokens
// goes to k experts, (EP-1)/EP of them on other ranks).
func (p *Planner) moeLayer(d *denseCost, t int) {
	m, cm := &p.model, p.cost
	h, el, ft := m.Hidden, float64(m.DTypeBytes), float64(t)
	moeTP := p.MoETP()
	ie := m.ExpertIntermediate / moeTP
	ew := m.expertPrecision()
	v := cm.Elementwise(2*ft*float64(h)*el) + p.cost.GEMM(t, m.Experts, h) + cm.Elementwise(2*ft*float64(m.Experts)*4)
	w := float64(Unquantized.bytes(int64(h)*int64(m.Experts), m.DTypeBytes))
	group := t * p.adp
	d.experts = ExpectedExperts(group, m.ExpertsPerToken, m.Experts) / float64(p.ep)
	assign := float64(group) * float64(m.ExpertsPerToken) / float64(p.ep)
	if d.experts > 0 {
		rows := int(math.Ceil(assign / d.experts))
		cols := func(n int) int { return max(1, int(math.Round(d.experts*float64(n)))) }
		v += p.gemm(rows, cols(2*ie), h, ew) + cm.Elementwise(3*assign*float64(ie)*el) + p.gemm(rows, cols(h), ie, ew) +
			cm.Elementwise(2*(assign+ft)*float64(h)*el)
		w += d.experts * float64(ew.bytes(3*int64(h)*int64(ie), m.DTypeBytes))
	}
	if m.SharedIntermediate > 0 {
		si := m.SharedIntermediate / p.tp
		v += p.gemm(t, 2*si, h, m.Weights) + cm.Elementwise(3*ft*float64(si)*el) + p.gemm(t, h, si, m.Weights)
		w += float64(m.Weights.bytes(3*int64(h)*int64(si), m.DTypeBytes))
	}
	d.moe, d.wMoE = v, w
	d.a2a = 0
	if p.adp > 1 && p.ep > 1 {
		d.a2a = ft * float64(m.ExpertsPerToken) * float64(h) * el * float64(p.ep-1) / float64(p.ep)
	}
}
