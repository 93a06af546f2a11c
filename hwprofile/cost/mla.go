package cost

import (
	"fmt"
	"math"
)

// MLATable is a latent-attention section: the fitted base roofline (over
// ContextMLAWork or GenerationMLAWork with DeepSeek-V3's dimensions) and one
// grid per measured head count and KV-cache precision.
type MLATable struct {
	Base   BaseParams `yaml:"base"`
	Slices []MLASlice `yaml:"shapes"`
}

// MLASlice is the latency of one per-rank head count and KV precision on
// the grid Batch x SeqLen (row-major, SeqLen fastest). SeqLen is the
// prefill length for context MLA and the KV length for generation MLA.
type MLASlice struct {
	Heads     int       `yaml:"heads"`
	KVCache   Precision `yaml:"kv_cache"`
	Batch     []int64   `yaml:"batch,flow"`
	SeqLen    []int64   `yaml:"seq_len,flow"`
	LatencyNs []float64 `yaml:"latency_ns,flow"`
}

// MLAWork is the base work of MLA at batch b and sequence s (prefill length
// or KV length), no prefix.
func MLAWork(decode bool, b, s float64, sh MLAShape) (flops, bytes float64) {
	if decode {
		return GenerationMLAWork(b, s, sh)
	}
	return ContextMLAWork(b, s, 0, sh)
}

type mlaSlice struct {
	heads int
	kv    Precision
	lh    float64
	grid  *Grid
}

// mlaModel is base x exp(residual of the nearest measured head count of
// the same KV precision over (log batch, log sequence)).
type mlaModel struct {
	decode bool
	base   BaseParams
	slices []mlaSlice
}

// slice prefers the shape's KV precision, then the nearest head count in
// log scale (the first in table order on a tie).
func (m *mlaModel) slice(s MLAShape) *mlaSlice {
	lh := math.Log(pos(s.Heads))
	best, bestD := 0, math.Inf(1)
	for i := range m.slices {
		c := &m.slices[i]
		d := math.Abs(c.lh - lh)
		if c.kv != s.KVCache {
			d += 100
		}
		if d < bestD {
			best, bestD = i, d
		}
	}
	return &m.slices[best]
}

// context handles a prefix as attnModel.context does.
func (m *mlaModel) context(b, q, p float64, s MLAShape) float64 {
	s.Heads = int(pos(s.Heads))
	f, by := ContextMLAWork(b, q, p, s)
	seq := q
	if p > 0 {
		seq = math.Sqrt(q * (q + 2*p))
	}
	return m.base.Time(f, by) * math.Exp(m.slice(s).grid.At([MaxDims]float64{math.Log(b), math.Log(seq)}))
}

func (m *mlaModel) generation(b, ctx float64, s MLAShape) float64 {
	s.Heads = int(pos(s.Heads))
	f, by := GenerationMLAWork(b, ctx, s)
	return m.base.Time(f, by) * math.Exp(m.slice(s).grid.At([MaxDims]float64{math.Log(b), math.Log(ctx)}))
}

func compileMLA(field string, t *MLATable, decode bool) (*mlaModel, error) {
	if t == nil {
		return nil, nil
	}
	if err := t.Base.Check(field + ".base"); err != nil {
		return nil, err
	}
	if len(t.Slices) == 0 {
		return nil, fmt.Errorf("%s.shapes: found none, expected at least one head count", field)
	}
	m := &mlaModel{decode: decode, base: t.Base}
	seen := map[[2]int]bool{}
	for i, s := range t.Slices {
		f := fmt.Sprintf("%s.shapes[%d]", field, i)
		if s.Heads <= 0 {
			return nil, fmt.Errorf("%s.heads: found %d, expected a positive head count", f, s.Heads)
		}
		if s.KVCache != BF16 && s.KVCache != FP8 {
			return nil, fmt.Errorf("%s.kv_cache: found %s, expected bf16 or fp8", f, s.KVCache)
		}
		if k := [2]int{s.Heads, int(s.KVCache)}; seen[k] {
			return nil, fmt.Errorf("%s: found a second table for %d heads with a %s cache, expected one", f, s.Heads, s.KVCache)
		} else {
			seen[k] = true
		}
		sh := MLAShape{Heads: s.Heads, KVCache: s.KVCache}
		g, err := batchSeqGrid(f, s.Batch, s.SeqLen, s.LatencyNs, func(b, sl float64) float64 {
			return t.Base.Time(MLAWork(decode, b, sl, sh))
		})
		if err != nil {
			return nil, err
		}
		m.slices = append(m.slices, mlaSlice{heads: s.Heads, kv: s.KVCache, lh: math.Log(float64(s.Heads)), grid: g})
	}
	return m, nil
}
