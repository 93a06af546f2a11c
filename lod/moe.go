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
//     precision, and at least the time the GPU's HBM takes to read the
//     experts hit (hbmReadNs). The fused MoE kernels the cost model's
//     tables measure permute the tokens to their experts and back
//     themselves;
//   - shared experts as a dense MLP split by TP.
//
// It also sets the weight bytes one rank reads (the router, the shared
// experts and the ExpectedExperts of the group's tokens on this rank) and
// the all-to-all buffer: with attention DP and EP > 1 each of the rank's
// t tokens goes to k experts, spread evenly over the EP ranks, and comes
// back; with pure TP the post-MLP all-reduce combines the experts' partial
// outputs instead.
func (p *Planner) moeLayer(d *moeCost, t, group int) {
	m, cm := &p.model, p.cost
	h, el, ft := m.Hidden, float64(m.DTypeBytes), float64(t)
	moeTP := p.MoETP()
	ew := m.expertPrecision()
	v := cm.Elementwise(2*ft*float64(h)*el) + cm.GEMM(t, m.Experts, h) + cm.Elementwise(2*ft*float64(m.Experts)*4)
	w := float64(Unquantized.bytes(int64(h)*int64(m.Experts), m.DTypeBytes))
	d.experts = ExpectedExperts(group, m.ExpertsPerToken, m.Experts) / float64(p.ep)
	d.expertNs = 0
	if group > 0 {
		e := cm.MoE(cost.MoEShape{Tokens: group, Hidden: h, Inter: m.ExpertIntermediate, Experts: m.Experts,
			TopK: m.ExpertsPerToken, TP: moeTP, EP: p.ep, Quant: m.ExpertKernel()})
		we := d.experts * float64(ew.bytes(3*int64(h)*int64(m.ExpertIntermediate/moeTP), m.DTypeBytes))
		e = max(e, hbmReadNs(cm.GPU(), we))
		v += e
		d.expertNs = ns(e)
		w += we
	}
	if m.SharedIntermediate > 0 {
		si := m.SharedIntermediate / p.tp
		v += p.gemm(t, 2*si, h, m.Weights) + cm.Elementwise(3*ft*float64(si)*el) + p.gemm(t, h, si, m.Weights)
		w += float64(m.Weights.bytes(3*int64(h)*int64(si), m.DTypeBytes))
	}
	d.moe, d.wMoE = v, w
	d.a2a, d.a2aLink, d.a2aRanks = 0, cost.Link{}, 0
	switch {
	case p.adp > 1 && p.gather:
		p.gatherExchange(d, group)
	case p.adp > 1 && p.ep > 1:
		d.a2a = ft * float64(m.ExpertsPerToken) * float64(h) * el
		d.a2aLink = cm.AllToAllLink(p.ep, d.a2a)
		d.a2aRanks = p.ep
	}
}

// hbmReadNs is the time g's HBM takes to read b bytes at its peak
// bandwidth (0 without one): the floor of a memory-bound kernel. The
// routed experts are floored there (moeLayer): aiconfigurator's H200
// SGLang fp8_block table measures DeepSeek-R1's layer at MoE TP8 in
// 247-257 us from 32 to 128 tokens, when the 1.41 GB of all 256 experts a
// rank take 294 us at the H200's 4.8 TB/s (BENCHMARKS.md "MoE times
// floored at the HBM's read of the weights").
func hbmReadNs(g cost.GPU, b float64) float64 {
	if g.MemBWBytes <= 0 {
		return 0
	}
	return b / g.MemBWBytes * 1e9
}

// gatherExchange sets an MoE layer's token exchange when the attention
// data-parallel ranks gather their tokens (SetDPGather), as vLLM's
// allgather_reducescatter backend does (its default VLLM_ALL2ALL_BACKEND
// from 0.10.2; AgRsAll2AllManager, called from FusedMoE.forward_impl
// whenever the DP size is above 1): before the experts an all-gather over
// the n = attention-DP ranks of every rank's hidden states and router
// logits, after them a reduce-scatter of the group's outputs back to the
// ranks that own the tokens (the attention TP all-reduce follows, as
// without DP). With G the group's tokens and el the activation bytes,
//
//	dispatch = AllGather(G x (hidden + experts) x el, n)
//	combine  = ReduceScatter(G x hidden x el, n)
//
// from the cost model's collectives. The step's exchange is expressed as
// two equal "all-to-alls" of the G x hidden x el buffer over n ranks
// (lod.StageCost.MoECommNs, and the high LoD's per-rank transfers): a
// ring all-gather or reduce-scatter is n-1 hops of one rank's share each,
// which is AllToAllNs's (n-1) x hop(S/n), so the link is the one that
// makes those hops take the mean of dispatch and combine.
func (p *Planner) gatherExchange(d *moeCost, group int) {
	m, cm := &p.model, p.cost
	n := p.adp
	el := float64(m.DTypeBytes)
	out := float64(group) * float64(m.Hidden) * el
	in := float64(group) * float64(m.Hidden+m.Experts) * el
	t := (cm.AllGather(in, n) + cm.ReduceScatter(out, n)) / 2
	hops := float64(n - 1)
	l := cm.RingLink(n)
	if beta := t/hops - l.LatencyNs; beta > 0 {
		l.BytesPerNs = out / float64(n) / beta
	} else {
		l = cost.Link{LatencyNs: t / hops, BytesPerNs: math.Inf(1)}
	}
	d.a2a, d.a2aLink, d.a2aRanks = out, l, n
}

// moeFor is the MoE layer's cost for t tokens at the mean load, computed
// once per t.
func (p *Planner) moeFor(t int) *moeCost {
	if t >= len(p.moe) {
		d := make([]moeCost, max(2*len(p.moe), t+64))
		copy(d, p.moe)
		p.moe = d
	}
	d := &p.moe[t]
	if !d.ok {
		p.moeLayer(d, t, t*p.adp)
		d.ok = true
	}
	return d
}

// moeOf is the MoE layer's cost for t tokens of this rank when the group's
// MoE layers compute group tokens (Batch.MoETokens; 0 or the mean load
// t x attention DP take the memo).
func (p *Planner) moeOf(t, group int) moeCost {
	if group <= 0 || group == t*p.adp {
		return *p.moeFor(t)
	}
	p.moeLayer(&p.moeOne, t, group)
	return p.moeOne
}

// SetDPGather makes the attention data-parallel ranks exchange their
// tokens for the MoE layers by all-gather and reduce-scatter
// (gatherExchange: vLLM's data parallelism) instead of the expert-parallel
// all-to-all (TensorRT-LLM's and SGLang's attention DP). With one
// attention-DP rank it changes nothing.
func (p *Planner) SetDPGather(on bool) {
	p.gather = on
	p.resetMemo()
}

// ExchangeRanks is how many ranks exchange tokens in each MoE layer: the
// attention data-parallel ranks when they gather (SetDPGather), the
// expert-parallel ranks when attention DP spreads tokens over EP, else 1
// (always for a dense model: nothing to exchange).
func (p *Planner) ExchangeRanks() int {
	switch {
	case p.model.Experts == 0:
		return 1
	case p.adp > 1 && p.gather:
		return p.adp
	case p.adp > 1 && p.ep > 1:
		return p.ep
	}
	return 1
}
