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
	// overheads stay with the real sequences.
	Graph int
}

// Reset empties b, keeping its storage.
func (b *Batch) Reset() {
	b.Chunks = b.Chunks[:0]
	b.Decodes, b.DecodeCtx, b.Sampled, b.Graph = 0, 0, 0, 0
}

// Tokens is the number of tokens the step computes.
func (b *Batch) Tokens() int {
	t := b.Decodes
	for _, c := range b.Chunks {
		t += int(c.Q)
	}
	return t
}

// PrefillTokens is the number of prefill tokens in the step.
func (b *Batch) PrefillTokens() int { return b.Tokens() - b.Decodes }

// Seqs is the number of sequences in the step.
func (b *Batch) Seqs() int { return len(b.Chunks) + b.Decodes }

// StageCost is the work of one pipeline stage for one step, on each of its
// TP ranks, in integer nanoseconds.
//
//	compute = Overhead + Layers x sum(Op) + Head
//	each layer ends its attention and its MLP with an all-reduce of ARBytes
type StageCost struct {
	Op       [NumOps]int64
	Layers   int
	Head     int64     // LM head and sampling; last stage only
	Overhead int64     // engine overhead; first stage only
	ARBytes  float64   // bytes of each TP all-reduce; 0 when TP = 1
	ARLink   cost.Link // per-hop link of those all-reduces
	PPBytes  float64   // activation bytes sent to the next stage; 0 on the last
}

// Compute is the stage's total compute time for the step.
func (c *StageCost) Compute() int64 {
	var layer int64
	for _, d := range c.Op {
		layer += d
	}
	return c.Overhead + int64(c.Layers)*layer + c.Head
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

// Planner turns batches into per-stage costs for one model on one
// parallel layout. It caches the token-count-only parts of the costs, so a
// Planner is not safe for concurrent use.
type Planner struct {
	model  Model
	cost   cost.CostModel
	tp, pp int
	layers []int // layers per stage
	shape  cost.AttnShape
	over   cost.Overheads
	dense  []denseCost // by token count, lazily filled
	heads  []int64     // LM head cost by sampled sequences, lazily filled (0: unset)
	attn   *[attnCacheSize]attnEntry
	link   *cost.Link // fixed all-reduce link (SetLink), else the cost model's
}

// SetLink makes every all-reduce use l instead of the cost model's
// size-dependent link (a configured link overrides calibration).
func (p *Planner) SetLink(l cost.Link) {
	p.link = &l
	for i := range p.dense {
		p.dense[i].ok = false
	}
}

// The attention memo is direct-mapped: cost models interpolate measured
// tables (hundreds of ns a call) and a decode-heavy replay asks for the
// same (batch, context) pairs millions of times. A hit returns the exact
// value the model gave, so caching changes no result.
const attnCacheSize = 1 << 14

type attnEntry struct {
	key uint64 // kind<<62 | a<<31 | b, +1 so that zero means empty
	v   float64
}

func (p *Planner) attnCost(decode bool, a, b int) float64 {
	key := uint64(a)<<31 | uint64(b)
	if decode {
		key |= 1 << 62
	}
	key++
	h := (key * 0x9e3779b97f4a7c15) >> (64 - 14)
	e := &p.attn[h]
	if e.key == key {
		return e.v
	}
	var v float64
	if decode {
		v = p.cost.GenerationAttention(a, b, p.shape)
	} else {
		v = p.cost.ContextAttention(1, a, b, p.shape)
	}
	e.key, e.v = key, v
	return v
}

type denseCost struct {
	ok     bool
	qkv, o int64
	mlp    float64 // before rounding: elementwise + GEMMs
	arLink cost.Link
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
	p := &Planner{model: m, cost: cm, tp: tp, pp: pp, over: cm.Overheads(), attn: new([attnCacheSize]attnEntry)}
	p.layers = StageLayers(m.Layers, pp)
	p.shape = cost.AttnShape{Heads: m.Heads / tp, KVHeads: m.KVHeadsPerRank(tp), HeadDim: m.HeadDim}
	return p, nil
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
	h, hd := m.Hidden, m.HeadDim
	el := float64(m.DTypeBytes)
	act := float64(t) * float64(h) * el
	qn := (p.shape.Heads + 2*p.shape.KVHeads) * hd
	// input RMSNorm reads and writes the activations; rotary embedding
	// touches q and k once.
	d.qkv = ns(cm.Elementwise(2*act) + cm.GEMM(t, qn, h) + cm.Elementwise(2*float64(t)*float64(qn)*el))
	d.o = ns(cm.GEMM(t, h, p.shape.Heads*hd))
	inter := m.Intermediate / tp
	// post-attention RMSNorm, gate+up GEMM, SiLU-and-multiply (reads 2x,
	// writes 1x the intermediate activations), down GEMM
	d.mlp = cm.Elementwise(2*act) + cm.GEMM(t, 2*inter, h) +
		cm.Elementwise(3*float64(t)*float64(inter)*el) + cm.GEMM(t, h, inter)
	if p.link != nil {
		d.arLink = *p.link
	} else if tp > 1 {
		d.arLink = cm.AllReduceLink(tp, act)
	}
	d.ok = true
	return d
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

// Plan fills out (length Stages()) with the cost of batch b on each stage.
func (p *Planner) Plan(b *Batch, out []StageCost) {
	t := max(b.Tokens(), b.Graph) // tokens through the layers, padding included
	d := p.denseFor(t)
	var attn float64
	for _, c := range b.Chunks {
		attn += p.attnCost(false, int(c.Q), int(c.Prefix))
	}
	if b.Decodes > 0 {
		ctx := int((b.DecodeCtx + int64(b.Decodes)/2) / int64(b.Decodes))
		attn += p.attnCost(true, b.Decodes, ctx)
	}
	var arBytes float64
	if p.tp > 1 {
		arBytes = float64(t) * float64(p.model.Hidden) * float64(p.model.DTypeBytes)
	}
	head := p.headCost(b.Sampled)
	over := ns(p.over.StepNs + p.over.PerSeqNs*float64(b.Seqs()) + p.over.PerPrefillTokenNs*float64(b.PrefillTokens()))
	if p.over.StepNs == 0 && p.over.PerSeqNs == 0 && p.over.PerPrefillTokenNs == 0 {
		over = 0
	}
	for s := range out {
		c := &out[s]
		c.Op = [NumOps]int64{d.qkv, ns(attn), d.o, ns(d.mlp)}
		c.Layers = p.layers[s]
		c.ARBytes = arBytes
		c.ARLink = d.arLink
		c.Head, c.Overhead, c.PPBytes = 0, 0, 0
		if s == 0 {
			c.Overhead = over
		}
		if s == len(out)-1 {
			c.Head = head
		} else {
			c.PPBytes = float64(t) * float64(p.model.Hidden) * float64(p.model.DTypeBytes)
		}
	}
}
