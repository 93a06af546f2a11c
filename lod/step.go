package lod

import (
	"fmt"
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Op names one per-layer compute operation.
type Op int

// The four compute operations of a layer, in execution order. The TP
// all-reduces follow OpOProj and OpMLP.
const (
	OpQKV Op = iota
	OpAttention
	OpOProj
	OpMLP
	NumOps
)

var opNames = [NumOps]string{"qkv", "attention", "o_proj", "mlp"}

func (o Op) String() string { return opNames[o] }

// Chunk is one sequence's prefill work in a step: Q new tokens whose
// attention also covers Prefix tokens already in the KV cache.
type Chunk struct {
	Q      int32
	Prefix int32
}

// Batch is what the scheduler hands to one step.
type Batch struct {
	Chunks    []Chunk // prefill chunks
	Decodes   int     // sequences decoding one token
	DecodeCtx int64   // context tokens the decodes attend to, summed
	Sampled   int     // sequences that produce a token this step
	// Graph, when above Tokens(), is the batch size of the CUDA graph the
	// step replays: its layers, all-reduces and pipeline hand-offs run on
	// Graph tokens (padding); attention, sampling and per-sequence
	// overheads stay with the real sequences. With Draft, the graph's
	// sequences verify 1 + Draft tokens each, all counted here.
	Graph int
	// MoETokens, when above 0, is the tokens the MoE layers of the whole
	// attention data-parallel group compute this step (the ranks' own
	// tokens, as the engine gathered or padded them); 0 takes the mean
	// load, Tokens() x attention DP (Planner.SetExpertParallel).
	MoETokens int
	// Draft, when above 0, is speculative decoding with draft modules
	// (DeepSeek's multi-token prediction, Model.MTPLayers): every decode
	// verifies its token and Draft draft tokens in one pass of the model
	// (1 + Draft query tokens over its context), after which Draft
	// sequential passes of the draft module over the decodes propose the
	// next step's drafts (StageCost.Draft).
	Draft int
}

// Reset empties b, keeping its storage.
func (b *Batch) Reset() {
	b.Chunks = b.Chunks[:0]
	b.Decodes, b.DecodeCtx, b.Sampled, b.Graph, b.MoETokens, b.Draft = 0, 0, 0, 0, 0, 0
}

// DecodeTokens is the tokens the decodes compute: one each, and with
// speculative decoding their draft tokens to verify.
func (b *Batch) DecodeTokens() int { return b.Decodes * (1 + b.Draft) }

// Tokens is the number of tokens the step computes.
func (b *Batch) Tokens() int {
	t := b.DecodeTokens()
	for _, c := range b.Chunks {
		t += int(c.Q)
	}
	return t
}

// PrefillTokens is the number of prefill tokens in the step.
func (b *Batch) PrefillTokens() int { return b.Tokens() - b.DecodeTokens() }

// Seqs is the number of sequences in the step.
func (b *Batch) Seqs() int { return len(b.Chunks) + b.Decodes }

// StageCost is the work of one pipeline stage for one step, on each of its
// TP ranks, in integer nanoseconds.
//
//	compute = Overhead + Layers x sum(Op) + Head
//	each layer ends its attention and its MLP with an all-reduce of ARBytes
//
// Layers of one stage can differ (MoE and dense-MLP layers, sliding-window
// and full attention): Op is then the stage's mean layer, so that Layers x
// Op is the stage's sum to within rounding.
type StageCost struct {
	Op       [NumOps]int64
	Layers   int
	Head     int64     // LM head and sampling; last stage only
	Draft    int64     // speculative decoding's draft passes (Batch.Draft); last stage only
	Overhead int64     // engine overhead; first stage only
	ARBytes  float64   // bytes of each TP all-reduce; 0 when TP = 1
	ARLink   cost.Link // per-hop link of those all-reduces
	PPBytes  float64   // activation bytes sent to the next stage; 0 on the last

	// MoELayers is how many of the stage's layers route tokens to experts.
	MoELayers int
	// A2ABytes is one rank's buffer in each MoE layer's token dispatch
	// all-to-all over A2ARanks ranks, and again in the combine that brings
	// the expert outputs back: the hidden state of each of its tokens for
	// each of its k experts, A2ABytes / A2ARanks to every rank of the
	// expert-parallel group (itself included, as cost.CostModel.AllToAll
	// counts it). 0 unless the experts are spread (EP > 1) over ranks that
	// hold different tokens (attention data parallelism).
	A2ABytes float64
	A2ARanks int
	A2ALink  cost.Link // per-peer link of those all-to-alls
	// ExpertNs is the routed experts' kernel time in one MoE layer at the
	// mean load, the part of Op[OpMLP] that follows an expert-parallel
	// rank's share of the tokens when the load is skewed.
	ExpertNs int64
	// WeightBytes is the weights one rank reads in the step: the stage's
	// layers (for MoE layers only the experts the step's tokens hit) and,
	// on the last stage, the LM head.
	WeightBytes float64
}

// Compute is the stage's total compute time for the step.
func (c *StageCost) Compute() int64 {
	var layer int64
	for _, d := range c.Op {
		layer += d
	}
	return c.Overhead + int64(c.Layers)*layer + c.Head + c.Draft
}

// HopNs is the uncontended time of one point-to-point transfer of s bytes
// over l, in whole nanoseconds: round(latency) + ceil(s / bandwidth). Every
// transfer at every level of detail is timed by this one function.
func HopNs(l cost.Link, s float64) int64 {
	lat, bw := HopParts(l, s)
	return lat + bw
}

// HopParts splits HopNs into the latency and the time the bytes occupy
// the link's bandwidth; only the latter is shared by concurrent transfers.
func HopParts(l cost.Link, s float64) (lat, bw int64) {
	if s <= 0 {
		return 0, 0
	}
	return int64(math.Round(l.LatencyNs)), int64(math.Ceil(s / l.BytesPerNs))
}

// RingAllReduceNs is the alpha-beta time of a ring all-reduce of s bytes over
// n ranks: 2(n-1) hops of s/n bytes each,
//
//	2(n-1) x alpha + 2(n-1)/n x s/B
//
// (Patarasuk and Yuan, JPDC 2009), computed hop by hop in integer ns so that
// it equals the high level of detail's ring of transfers exactly.
func RingAllReduceNs(l cost.Link, s float64, n int) int64 {
	if n <= 1 || s <= 0 {
		return 0
	}
	return int64(2*(n-1)) * HopNs(l, s/float64(n))
}

// CollectiveNs is the stage's analytical communication time for one step:
// two ring all-reduces per layer.
func (c *StageCost) CollectiveNs(tp int) int64 {
	return int64(2*c.Layers) * RingAllReduceNs(c.ARLink, c.ARBytes, tp)
}

// AllToAllNs is the uncontended time of one all-to-all of s bytes per rank
// over n ranks: each rank sends s/n bytes to each of the n-1 others, one
// after another,
//
//	(n-1) x (alpha + (s/n)/B)
//
// computed hop by hop in integer ns, as the high level of detail would
// send them.
func AllToAllNs(l cost.Link, s float64, n int) int64 {
	if n <= 1 || s <= 0 {
		return 0
	}
	return int64(n-1) * HopNs(l, s/float64(n))
}

// MoECommNs is the stage's analytical all-to-all time for one step: a
// dispatch and a combine per MoE layer.
func (c *StageCost) MoECommNs() int64 {
	return int64(2*c.MoELayers) * AllToAllNs(c.A2ALink, c.A2ABytes, c.A2ARanks)
}

// StepNs is the stage's uncontended, variation-free time for one step on
// tp ranks: compute, all-reduces and MoE exchanges.
func (c *StageCost) StepNs(tp int) int64 {
	return c.Compute() + c.CollectiveNs(tp) + c.MoECommNs()
}

// Planner turns batches into per-stage costs for one model on one
// parallel layout. It caches the token-count-only parts of the costs, so a
// Planner is not safe for concurrent use.
type Planner struct {
	model   Model
	cost    cost.CostModel
	tp, pp  int
	ep, adp int // expert parallelism, attention data parallelism
	// gather: the attention data-parallel ranks exchange tokens by
	// all-gather and reduce-scatter (vLLM, SetDPGather), not all-to-all
	gather  bool
	moeOne  moeCost // an MoE layer costed for one batch's gathered tokens (Batch.MoETokens)
	layers  []int
	kinds   []stageKinds
	shape   cost.AttnShape // attention, per rank (GQA)
	mla     cost.MLAShape  // latent attention, per rank (MLA)
	kvRatio float64        // KV-cache element size relative to DTypeBytes
	// kvMeasured says the cost model's decode attention was measured with
	// the model's KV cache type (cost.Profile.MeasuresKVCache), so that
	// kvRatio does not apply.
	kvMeasured bool
	over       cost.Overheads
	dense      []denseCost // by token count, lazily filled
	moe        []moeCost   // by token count, lazily filled; MoE models only
	heads      []int64     // LM head cost by sampled sequences, lazily filled (0: unset)
	// Weight bytes one rank reads that do not depend on the batch: per
	// layer of attention and of dense MLP, the LM head, and each stage's
	// total of them (the whole stage's weights for a dense model). Kept
	// here so that a dense model's step does no weight arithmetic.
	wAttn, wMLP, wHead float64
	stageW             []float64
	attn               []attnEntry // the attention memo, 1 << attnBits entries
	attnBits           uint
	attnMiss           int
	link               *cost.Link // fixed all-reduce link (SetLink), else the cost model's
}

// stageKinds counts a stage's layers by kind.
type stageKinds struct {
	moe, window int
}

// SetLink makes every all-reduce use l instead of the cost model's
// size-dependent link (a configured link overrides calibration).
func (p *Planner) SetLink(l cost.Link) {
	p.link = &l
	p.resetMemo()
}

func (p *Planner) resetMemo() {
	for i := range p.dense {
		p.dense[i].ok = false
	}
	for i := range p.moe {
		p.moe[i].ok = false
	}
}

// The attention memo is direct-mapped: cost models interpolate measured
// tables (hundreds of ns a call) and a decode-heavy replay asks for the
// same (batch, context) pairs millions of times. A hit returns the exact
// value the model gave, so caching changes no result. It starts small, so
// that a short replay does not allocate (and the GC clear) the whole of
// it, and doubles, emptied, whenever it has missed twice its size, up to
// 1 << attnMaxBits entries.
const (
	attnMinBits = 10
	attnMaxBits = 14
)

type attnEntry struct {
	key uint64 // kind<<62 | a<<31 | b, +1 so that zero means empty
	v   float64
}

// The attention memo's kinds.
const (
	attnPrefill = iota
	attnDecode
	attnPrefillWindow
	attnDecodeWindow
)

func (p *Planner) attnCost(kind uint64, a, b int) float64 {
	key := kind<<62 | uint64(a)<<31 | uint64(b)
	key++
	h := (key * 0x9e3779b97f4a7c15) >> (64 - p.attnBits)
	e := &p.attn[h]
	if e.key == key {
		return e.v
	}
	if p.attnMiss++; p.attnMiss > 2*len(p.attn) && p.attnBits < attnMaxBits {
		p.attnBits++
		p.attn, p.attnMiss = make([]attnEntry, 1<<p.attnBits), 0
		e = &p.attn[(key*0x9e3779b97f4a7c15)>>(64-p.attnBits)]
	}
	var v float64
	switch kind {
	case attnPrefill:
		v = p.prefillAttention(a, b)
	case attnDecode:
		v = p.decodeAttention(a&decodeSeqMask, b, a>>decodeQShift+1)
	case attnPrefillWindow:
		v = p.windowPrefillAttention(a, b)
	case attnDecodeWindow:
		// The mean context capped at the window: exact once every
		// sequence is past the window, an overestimate of at most the
		// window while some are shorter.
		v = p.decodeAttention(a&decodeSeqMask, min(b, p.model.SlidingWindow), a>>decodeQShift+1)
	}
	e.key, e.v = key, v
	return v
}

// prefillAttention is one sequence's prefill of q tokens after prefix
// cached ones. MLA computes it decompressed, after expanding the latents
// of all prefix + q tokens into per-head keys and values (kv_b_proj, which
// kvUpProjection charges once for the whole step).
func (p *Planner) prefillAttention(q, prefix int) float64 {
	if !p.model.MLA() {
		return p.cost.ContextAttention(1, q, prefix, p.shape)
	}
	return p.cost.ContextMLA(1, q, prefix, p.mla)
}

// kvUpProjection is MLA's kv_b_proj for a step's prefill chunks: one GEMM
// over the latents of every chunk's prefix and new tokens, as vLLM's MLA
// prefill applies it to all its prefill tokens at once
// (MLACommonImpl._forward_prefill; the cached prefixes in workspace
// chunks), not one small GEMM a sequence. 0 for other models and steps
// without prefill.
func (p *Planner) kvUpProjection(b *Batch) float64 {
	m := &p.model
	if !m.MLA() || len(b.Chunks) == 0 {
		return 0
	}
	var t int
	for _, c := range b.Chunks {
		t += int(c.Q) + int(c.Prefix)
	}
	return p.gemm(t, p.mla.Heads*(m.QKNopeDim+m.VHeadDim), m.KVLoRARank, m.attnPrecision())
}

// A decode attention's memo argument a packs its sequences (low bits)
// and, above decodeQShift, its query tokens per sequence less one
// (speculative decoding's 1 + Batch.Draft).
const (
	decodeQShift  = 24
	decodeSeqMask = 1<<decodeQShift - 1
)

// decodeKey is the memo argument of batch sequences decoding q query
// tokens each.
func decodeKey(batch, q int) int { return batch | (q-1)<<decodeQShift }

// decodeAttention is batch sequences decoding over ctx tokens each, q
// query tokens per sequence (1, or with speculative decoding its token
// and drafts). The q tokens of a sequence attend to its cache in one pass
// as q times the heads: FlashMLA, TensorRT-LLM's MLA generation kernel on
// Hopper (tech blog 2, "DeepSeek R1 MTP Implementation and
// Optimization"), folds them into the heads (get_mla_metadata(seqlens,
// s_q x h_q / h_kv, h_kv)), and so do GQA decode kernels into the query
// heads of a KV head; the projections around it run on batch x q rows. MLA
// decodes in the absorbed form over the latent cache, plus the per-head
// absorption of q into the latent space and of the output back
// (kv_b_proj's two halves, which vLLM and SGLang dequantize to BF16 at
// load: batched GEMMs, costed as one BF16 GEMM of their FLOPs and
// weights). GQA attention over a cache the cost model measured (an FP8
// one in a profile with FP8-KV sections) is its time; over one it did not,
// it costs as a BF16 cache of ctx x the element ratio: decode attention is
// bound by the bytes of the cache.
func (p *Planner) decodeAttention(batch, ctx, q int) float64 {
	m := &p.model
	if m.MLA() {
		h, s := p.mla.Heads, p.mla
		s.Heads *= q
		return p.cost.GenerationMLA(batch, ctx, s) +
			p.cost.GEMM(batch*q, h*m.KVLoRARank, m.QKNopeDim) + p.cost.GEMM(batch*q, h*m.VHeadDim, m.KVLoRARank)
	}
	c := ctx
	if p.kvRatio != 1 && !p.kvMeasured {
		c = int(math.Ceil(float64(ctx) * p.kvRatio))
	}
	s := p.shape
	s.Heads *= q
	return p.cost.GenerationAttention(batch, c, s)
}

// gemm is an (m x k) activation by (k x n) weight GEMM with the weight in
// w; an unquantized one is the cost model's GEMM itself.
func (p *Planner) gemm(m, n, k int, w Precision) float64 {
	if q := w.Kernel(); q != cost.BF16 {
		return p.cost.QuantGEMM(m, n, k, q)
	}
	return p.cost.GEMM(m, n, k)
}

// windowPrefillAttention is a prefill of q tokens after prefix ones in a
// layer whose queries see at most the last W keys. The first queries,
// while the window still holds the whole context, attend causally as in a
// full layer; every later one attends to exactly W keys, which costs as
// chunks of W queries over a prefix of W/2 (W x W products each).
func (p *Planner) windowPrefillAttention(q, prefix int) float64 {
	w := p.model.SlidingWindow
	if prefix+q <= w {
		return p.attnCost(attnPrefill, q, prefix)
	}
	var v float64
	q1 := max(0, min(q, w-prefix))
	if q1 > 0 {
		v += p.cost.ContextAttention(1, q1, prefix, p.shape)
	}
	n, r := (q-q1)/w, (q-q1)%w
	if n > 0 {
		v += p.cost.ContextAttention(n, w, w/2, p.shape)
	}
	if r > 0 {
		v += p.cost.ContextAttention(1, r, w-r/2, p.shape)
	}
	return v
}

// denseCost is what every model's layer costs for a token count. It is
// kept as small as the first dense-only planner's, since a replay touches
// one per step; the MoE layer's parts live in moeCost.
type denseCost struct {
	ok     bool
	qkv, o int64
	mlp    float64 // dense MLP layer, before rounding: elementwise + GEMMs
	arLink cost.Link
}

// moeCost is an MoE layer's cost for a token count.
type moeCost struct {
	ok       bool
	moe      float64   // MoE layer, before rounding
	wMoE     float64   // weight bytes read: router, shared experts and the experts hit
	a2a      float64   // all-to-all bytes per rank and MoE layer
	a2aLink  cost.Link // and their link
	a2aRanks int       // the ranks exchanging them (0: none)
	experts  float64   // expected distinct experts hit on this rank
	// expertNs is the routed experts' kernel time, rounded.
	expertNs int64
}

// kvMeasurer is a cost model that says which KV-cache types its attention
// was measured with (cost.Profile).
type kvMeasurer interface {
	MeasuresKVCache(kv cost.Precision) bool
}

// NewPlanner checks that the layout fits the model and returns a planner.
func NewPlanner(m Model, cm cost.CostModel, tp, pp int) (*Planner, error) {
	if errs := m.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("lod: model %s: %v", m.Name, errs)
	}
	if tp < 1 || pp < 1 {
		return nil, fmt.Errorf("lod: tensor_parallel %d, pipeline_parallel %d: expected both >= 1", tp, pp)
	}
	if m.Heads%tp != 0 {
		return nil, fmt.Errorf("lod: tensor_parallel %d does not divide %s's %d attention heads", tp, m.Name, m.Heads)
	}
	if pp > m.Layers {
		return nil, fmt.Errorf("lod: pipeline_parallel %d exceeds %s's %d layers", pp, m.Name, m.Layers)
	}
	p := &Planner{model: m, cost: cm, tp: tp, pp: pp, ep: 1, adp: 1, over: cm.Overheads(),
		attn: make([]attnEntry, 1<<attnMinBits), attnBits: attnMinBits}
	p.layers = StageLayers(m.Layers, pp)
	start := 0
	for _, n := range p.layers {
		var k stageKinds
		for i := start; i < start+n; i++ {
			if m.IsMoELayer(i) {
				k.moe++
			}
			if m.IsWindowLayer(i) {
				k.window++
			}
		}
		p.kinds = append(p.kinds, k)
		start += n
	}
	p.shape = cost.AttnShape{Heads: m.Heads / tp, KVHeads: m.KVHeadsPerRank(tp), HeadDim: m.HeadDim, KVCache: m.KVCache.Kernel()}
	if k, ok := cm.(kvMeasurer); ok && p.shape.KVCache != cost.BF16 {
		p.kvMeasured = k.MeasuresKVCache(p.shape.KVCache)
	}
	if m.MLA() {
		p.mla = cost.MLAShape{Heads: m.Heads / tp, KVLoRARank: m.KVLoRARank, QKNopeDim: m.QKNopeDim, QKRopeDim: m.QKRopeDim,
			VHeadDim: m.VHeadDim, KVCache: m.KVCache.Kernel()}
	}
	p.kvRatio = float64(m.kvElemBytes()) / float64(m.DTypeBytes)
	p.weightConstants()
	return p, nil
}

// weightConstants sets the batch-independent weight bytes one rank reads:
// per attention layer, per dense MLP layer, for the LM head, and per
// stage (the attention and dense MLP layers, plus the head on the last;
// MoE layers add the experts a step hits, in Plan).
func (p *Planner) weightConstants() {
	m := &p.model
	h := int64(m.Hidden)
	aw := m.attnPrecision()
	if m.MLA() {
		p.wAttn = float64(aw.bytes(p.mlaWeightElems(), m.DTypeBytes))
	} else {
		qn := (p.shape.Heads + 2*p.shape.KVHeads) * m.HeadDim
		p.wAttn = float64(aw.bytes(h*int64(qn+p.shape.Heads*m.HeadDim), m.DTypeBytes))
	}
	p.wMLP = float64(m.Weights.bytes(3*h*int64(m.Intermediate/p.tp), m.DTypeBytes))
	p.wHead = float64(m.Vocab/p.tp) * float64(m.Hidden) * float64(m.DTypeBytes)
	p.stageW = make([]float64, p.pp)
	for s, n := range p.layers {
		k := p.kinds[s]
		p.stageW[s] = float64(n)*p.wAttn + float64(n-k.moe)*p.wMLP
		if k.moe == 0 && s == p.pp-1 {
			p.stageW[s] += p.wHead
		}
	}
}

// SetExpertParallel spreads each MoE layer's routed experts over ep ranks
// and runs attention data-parallel over attentionDP groups of TP ranks
// (the rows' moe_ep_size and attention_dp_size). The MoE layers then span
// TP x attentionDP ranks: ep expert groups of moe_tp = TP x attentionDP /
// ep ranks, each of which splits its experts' intermediate dimension.
// A batch given to Plan is one data-parallel group's; the others are
// taken to carry as many tokens (the mean load).
func (p *Planner) SetExpertParallel(ep, attentionDP int) error {
	m := p.model
	if ep < 1 || attentionDP < 1 {
		return fmt.Errorf("lod: expert_parallel %d, attention_data_parallel %d: expected both >= 1", ep, attentionDP)
	}
	if g := p.tp * attentionDP; g%ep != 0 {
		return fmt.Errorf("lod: expert_parallel %d does not divide the %d ranks of tensor_parallel %d x attention_data_parallel %d", ep, g, p.tp, attentionDP)
	}
	if ep > 1 && !m.MoE() {
		return fmt.Errorf("lod: expert_parallel %d: %s has no experts", ep, m.Name)
	}
	if m.MoE() && m.Experts%ep != 0 {
		return fmt.Errorf("lod: expert_parallel %d does not divide %s's %d experts", ep, m.Name, m.Experts)
	}
	p.ep, p.adp = ep, attentionDP
	p.resetMemo()
	return nil
}

// StageLayers splits layers over pp stages as evenly as possible, the
// earlier stages taking the remainder.
func StageLayers(layers, pp int) []int {
	out := make([]int, pp)
	for i := range out {
		out[i] = layers / pp
		if i < layers%pp {
			out[i]++
		}
	}
	return out
}

// Model returns the planner's model.
func (p *Planner) Model() Model { return p.model }

// Stages is the number of pipeline stages.
func (p *Planner) Stages() int { return p.pp }

// TP is the tensor-parallel degree.
func (p *Planner) TP() int { return p.tp }

// EP is the expert-parallel degree.
func (p *Planner) EP() int { return p.ep }

// AttentionDP is the attention data-parallel degree.
func (p *Planner) AttentionDP() int { return p.adp }

// MoETP is the tensor-parallel degree inside each expert group.
func (p *Planner) MoETP() int { return p.tp * p.adp / p.ep }

func ns(x float64) int64 {
	if !(x >= 1) { // also catches NaN
		return 1
	}
	return int64(x + 0.5)
}

func (p *Planner) denseFor(t int) *denseCost {
	if t >= len(p.dense) {
		n := 2 * len(p.dense)
		if n <= t {
			n = t + 64
		}
		d := make([]denseCost, n)
		copy(d, p.dense)
		p.dense = d
	}
	d := &p.dense[t]
	if d.ok {
		return d
	}
	m, tp, cm := p.model, p.tp, p.cost
	h := m.Hidden
	el := float64(m.DTypeBytes)
	act := float64(t) * float64(h) * el
	aw := m.attnPrecision()
	if m.MLA() {
		p.mlaProjections(d, t)
	} else {
		hd := m.HeadDim
		qn := (p.shape.Heads + 2*p.shape.KVHeads) * hd
		// input RMSNorm reads and writes the activations; rotary embedding
		// touches q and k once.
		d.qkv = ns(cm.Elementwise(2*act) + p.gemm(t, qn, h, aw) + cm.Elementwise(2*float64(t)*float64(qn)*el) + p.qkNormReduce(t))
		d.o = ns(p.gemm(t, h, p.shape.Heads*hd, aw))
	}
	inter := m.Intermediate / tp
	// post-attention RMSNorm, gate+up GEMM, SiLU-and-multiply (reads 2x,
	// writes 1x the intermediate activations), down GEMM
	d.mlp = cm.Elementwise(2*act) + p.gemm(t, 2*inter, h, m.Weights) +
		cm.Elementwise(3*float64(t)*float64(inter)*el) + p.gemm(t, h, inter, m.Weights)
	if p.link != nil {
		d.arLink = *p.link
	} else if tp > 1 {
		d.arLink = cm.AllReduceLink(tp, act)
	}
	d.ok = true
	return d
}

// qkNormReduce is the extra work of a q/k norm over all heads
// (Model.QKNormAllHeads) for t tokens on one TP rank: reading the rank's
// q and k once more for their sums of squares, and one all-reduce of the
// t x 2 FP32 sums over the TP ranks, timed as the layer's other
// all-reduces (RingAllReduceNs over the cost model's AllReduceLink). It
// is charged to the qkv op: the message is a few bytes a token, so the
// all-reduce is latency, which no link sharing changes. 0 without TP or
// without such a norm.
func (p *Planner) qkNormReduce(t int) float64 {
	if !p.model.QKNormAllHeads || p.tp < 2 {
		return 0
	}
	qk := float64((p.shape.Heads + p.shape.KVHeads) * p.model.HeadDim)
	s := float64(t) * 2 * 4
	return p.cost.Elementwise(float64(t)*qk*float64(p.model.DTypeBytes)) +
		float64(RingAllReduceNs(p.cost.AllReduceLink(p.tp, s), s, p.tp))
}

// mlaProjections costs MLA's projections for t tokens on one TP rank:
// q through its low-rank pair (q_a_proj, q_a_layernorm, q_b_proj) or
// directly, the joint KV latent and rotary key (kv_a_proj_with_mqa,
// kv_a_layernorm), rotary embedding, and o_proj. q_a_proj and
// kv_a_proj_with_mqa are replicated on every rank, the rest split by head
// (as vLLM and SGLang shard DeepSeek-V3).
func (p *Planner) mlaProjections(d *denseCost, t int) {
	m, cm := &p.model, p.cost
	h, heads, w := m.Hidden, p.shape.Heads, m.attnPrecision()
	el, ft := float64(m.DTypeBytes), float64(t)
	qk, lat := m.QKNopeDim+m.QKRopeDim, m.KVLoRARank+m.QKRopeDim
	v := cm.Elementwise(2 * ft * float64(h) * el)
	if q := m.QLoRARank; q > 0 {
		// q_a_proj and kv_a_proj_with_mqa read the same input: engines
		// run them as one GEMM (vLLM's fused_qkv_a_proj).
		v += p.gemm(t, q+lat, h, w) + cm.Elementwise(2*ft*float64(q)*el) + p.gemm(t, heads*qk, q, w)
	} else {
		v += p.gemm(t, heads*qk, h, w) + p.gemm(t, lat, h, w)
	}
	v += cm.Elementwise(2*ft*float64(m.KVLoRARank)*el) + cm.Elementwise(2*ft*float64(heads*m.QKRopeDim+m.QKRopeDim)*el)
	d.qkv = ns(v)
	d.o = ns(p.gemm(t, h, heads*m.VHeadDim, w))
}

// mlaWeightElems is the weight elements of one MLA layer on one rank: the
// projections mlaProjections costs, and kv_b_proj.
func (p *Planner) mlaWeightElems() int64 {
	m := &p.model
	h, heads := int64(m.Hidden), int64(p.shape.Heads)
	qk, lat := int64(m.QKNopeDim+m.QKRopeDim), int64(m.KVLoRARank+m.QKRopeDim)
	var wts int64
	if q := int64(m.QLoRARank); q > 0 {
		wts += h*(q+lat) + q*(heads*qk)
	} else {
		wts += h * (heads*qk + lat)
	}
	wts += int64(m.KVLoRARank) * (heads * int64(m.QKNopeDim+m.VHeadDim))
	return wts + heads*int64(m.VHeadDim)*h
}

// headCost is the LM head over the sampled positions, then sampling over
// the logits (read once more in FP32).
func (p *Planner) headCost(sampled int) int64 {
	if sampled <= 0 {
		return 0
	}
	if sampled >= len(p.heads) {
		h := make([]int64, 2*sampled+64)
		copy(h, p.heads)
		p.heads = h
	}
	if p.heads[sampled] == 0 {
		v := p.model.Vocab / p.tp
		p.heads[sampled] = ns(p.cost.GEMM(sampled, v, p.model.Hidden) + p.cost.Elementwise(float64(sampled)*float64(v)*4))
	}
	return p.heads[sampled]
}

// mix is the mean of a layers costing x and b layers costing y, in whole
// ns; a stage of one kind costs exactly its kind.
func mix(a int, x float64, b int, y float64) int64 {
	switch {
	case b == 0:
		return ns(x)
	case a == 0:
		return ns(y)
	}
	return ns((float64(a)*x + float64(b)*y) / float64(a+b))
}

// Plan fills out (length Stages()) with the cost of batch b on each stage.
// A dense model with full attention (no MoE layer, no window layer) takes
// the shortest path: its per-step work is what the first, dense-only
// planner did, with the weight bytes read from weightConstants.
func (p *Planner) Plan(b *Batch, out []StageCost) {
	t := max(b.Tokens(), b.Graph) // tokens through the layers, padding included
	d := p.denseFor(t)
	m := &p.model
	attn, wattn := p.attention(b)
	var arBytes float64
	if p.tp > 1 {
		arBytes = float64(t) * float64(m.Hidden) * float64(m.DTypeBytes)
	}
	head := p.headCost(b.Sampled + b.Decodes*b.Draft)
	draft := p.draftCost(b)
	over := p.overhead(b)
	var mo moeCost
	if m.Experts > 0 {
		mo = p.moeOf(t, b.MoETokens)
	}
	a2aRanks := mo.a2aRanks
	last := len(out) - 1
	for s := range out {
		c := &out[s]
		n, k := p.layers[s], p.kinds[s]
		c.Op = [NumOps]int64{d.qkv, mix(n-k.window, attn, k.window, wattn), d.o, mix(n-k.moe, d.mlp, k.moe, mo.moe)}
		c.Layers = n
		c.ARBytes = arBytes
		c.ARLink = d.arLink
		c.MoELayers = k.moe
		c.A2ABytes, c.A2ALink, c.A2ARanks, c.ExpertNs = mo.a2a, mo.a2aLink, a2aRanks, mo.expertNs
		c.WeightBytes = p.stageW[s]
		if k.moe > 0 {
			c.WeightBytes += float64(k.moe) * mo.wMoE
			if s == last {
				c.WeightBytes += p.wHead
			}
		}
		c.Head, c.Draft, c.Overhead, c.PPBytes = 0, 0, 0, 0
		if s == 0 {
			c.Overhead = over
		}
		if s == last {
			c.Head, c.Draft = head, draft
		} else {
			c.PPBytes = float64(t) * float64(m.Hidden) * float64(m.DTypeBytes)
		}
	}
}

// attention is b's attention time per full-attention layer (with MLA's
// kv_b_proj of the step's prefill chunks) and per sliding-window layer (0
// unless the model has window layers).
func (p *Planner) attention(b *Batch) (attn, wattn float64) {
	attn = p.kvUpProjection(b)
	for _, c := range b.Chunks {
		attn += p.attnCost(attnPrefill, int(c.Q), int(c.Prefix))
	}
	// With speculative decoding each decode attends with 1 + Draft query
	// tokens (decodeAttention).
	ctx, q := b.decodeCtx(), decodeKey(b.Decodes, 1+b.Draft)
	if b.Decodes > 0 {
		attn += p.attnCost(attnDecode, q, ctx)
	}
	if p.model.SlidingWindow > 0 {
		for _, c := range b.Chunks {
			wattn += p.attnCost(attnPrefillWindow, int(c.Q), int(c.Prefix))
		}
		if b.Decodes > 0 {
			wattn += p.attnCost(attnDecodeWindow, q, ctx)
		}
	}
	return attn, wattn
}

// overhead is the engine's per-step overhead for b.
func (p *Planner) overhead(b *Batch) int64 {
	o := &p.over
	if o.StepNs == 0 && o.PerSeqNs == 0 && o.PerPrefillTokenNs == 0 {
		return 0
	}
	return ns(o.StepNs + o.PerSeqNs*float64(b.Seqs()) + o.PerPrefillTokenNs*float64(b.PrefillTokens()))
}

// Redecode brings out, which holds Plan's costs of a batch that differs
// from b only in DecodeCtx, to b's costs, as Plan(b, out) would. Only the
// attention follows the decodes' context (and the overhead is set afresh,
// since an engine's overlap adjusts it after Plan). A medium-LoD decode
// run re-costs each of its steps this way.
func (p *Planner) Redecode(b *Batch, out []StageCost) {
	attn, wattn := p.attention(b)
	for s := range out {
		n, k := p.layers[s], p.kinds[s]
		out[s].Op[OpAttention] = mix(n-k.window, attn, k.window, wattn)
	}
	out[0].Overhead = p.overhead(b)
	out[len(out)-1].Draft = p.draftCost(b)
}

// decodeCtx is the decodes' mean context, rounded.
func (b *Batch) decodeCtx() int {
	if b.Decodes == 0 {
		return 0
	}
	return int((b.DecodeCtx + int64(b.Decodes)/2) / int64(b.Decodes))
}

// draftCost is the draft stage of speculative decoding (Batch.Draft):
// Draft sequential passes of the model's multi-token-prediction module
// over the step's decodes (as CUDA-graph padded), each one transformer
// layer as the model's last (attention over the sequence's context, its
// MLP or MoE with their all-reduces and exchanges), DeepSeek's eh_proj
// (the concatenated normalized embedding and hidden state, 2 x hidden, to
// hidden, after enorm and hnorm) and the shared LM head over the decodes
// (TensorRT-LLM's MTP Eagle path calls the one module Draft times:
// tensorrt_llm/_torch/speculative/mtp.py, tech blog 2 "DeepSeek R1 MTP
// Implementation and Optimization"). It is costed as compute on the last
// stage, its collectives at their analytical times.
func (p *Planner) draftCost(b *Batch) int64 {
	if b.Draft <= 0 || b.Decodes == 0 {
		return 0
	}
	m := &p.model
	g := max(b.Decodes, b.Graph/(1+b.Draft)) // the graph's sequences
	d := p.denseFor(g)
	qkv, o, mlp, arLink := d.qkv, d.o, d.mlp, d.arLink
	act := float64(g) * float64(m.Hidden) * float64(m.DTypeBytes)
	var comm int64
	if m.Experts > 0 {
		mo := p.moeFor(g)
		mlp = mo.moe
		comm = 2 * AllToAllNs(mo.a2aLink, mo.a2a, mo.a2aRanks)
	}
	comm += 2 * RingAllReduceNs(arLink, act, p.tp)
	eh := p.cost.Elementwise(4*act) + p.gemm(g, m.Hidden, 2*m.Hidden, m.Weights)
	pass := float64(qkv+o) + p.attnCost(attnDecode, b.Decodes, b.decodeCtx()) + mlp + eh
	return int64(b.Draft) * (ns(pass) + comm + p.headCost(b.Decodes))
}
