package lod

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

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

// moeLayer costs one MoE layer for t tokens on one rank:
//
//   - post-attention RMSNorm; the router GEMM (t x hidden by hidden x
//     experts, unquantized) and its top-k over the logits;
//   - the routed experts by the cost model's MoE: the MoE group's tokens
//     (t x attention-DP; with pure TP every rank holds the same t), k
//     experts each, the experts split over EP ranks and each expert's
//     intermediate over the expert group's MoE-TP ranks, in the experts'
//     precision. The fused MoE kernels the cost model's tables measure
//     permute the tokens to their experts and back themselves;
//   - shared experts as a dense MLP split by TP.
//
// It also sets the weight bytes one rank reads (the router, the shared
// experts and the ExpectedExperts of the group's tokens on this rank) and
// the all-to-all buffer: with attention DP and EP > 1 each of the rank's
// t tokens goes to k experts, spread evenly over the EP ranks, and comes
// back; with pure TP the post-MLP all-reduce combines the experts' partial
// outputs instead.
func (p *Planner) moeLayer(d *moeCost, t int) {
	m, cm := &p.model, p.cost
	h, el, ft := m.Hidden, float64(m.DTypeBytes), float64(t)
	moeTP := p.MoETP()
	ew := m.expertPrecision()
	v := cm.Elementwise(2*ft*float64(h)*el) + cm.GEMM(t, m.Experts, h) + cm.Elementwise(2*ft*float64(m.Experts)*4)
	w := float64(Unquantized.bytes(int64(h)*int64(m.Experts), m.DTypeBytes))
	group := t * p.adp
	d.experts = ExpectedExperts(group, m.ExpertsPerToken, m.Experts) / float64(p.ep)
	d.expertNs = 0
	if group > 0 {
		e := cm.MoE(cost.MoEShape{Tokens: group, Hidden: h, Inter: m.ExpertIntermediate, Experts: m.Experts,
			TopK: m.ExpertsPerToken, TP: moeTP, EP: p.ep, Quant: ew.Kernel()})
		v += e
		d.expertNs = ns(e)
		w += d.experts * float64(ew.bytes(3*int64(h)*int64(m.ExpertIntermediate/moeTP), m.DTypeBytes))
	}
	if m.SharedIntermediate > 0 {
		si := m.SharedIntermediate / p.tp
		v += p.gemm(t, 2*si, h, m.Weights) + cm.Elementwise(3*ft*float64(si)*el) + p.gemm(t, h, si, m.Weights)
		w += float64(m.Weights.bytes(3*int64(h)*int64(si), m.DTypeBytes))
	}
	d.moe, d.wMoE = v, w
	d.a2a, d.a2aLink = 0, cost.Link{}
	if p.adp > 1 && p.ep > 1 {
		d.a2a = ft * float64(m.ExpertsPerToken) * float64(h) * el
		d.a2aLink = cm.AllToAllLink(p.ep, d.a2a)
	}
}

// moeFor is the MoE layer's cost for t tokens, computed once per t.
func (p *Planner) moeFor(t int) *moeCost {
	if t >= len(p.moe) {
		d := make([]moeCost, max(2*len(p.moe), t+64))
		copy(d, p.moe)
		p.moe = d
	}
	d := &p.moe[t]
	if !d.ok {
		p.moeLayer(d, t)
		d.ok = true
	}
	return d
}
