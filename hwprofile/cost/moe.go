package cost

import (
	"fmt"
	"math"
)

// MoETable is the MoE section of one expert precision: the fitted base
// roofline (over MoEWork) and, per measured layer shape, the latency by
// token count. Measurements with balanced routing only: routing skew is
// the simulator's to model.
type MoETable struct {
	Precision Precision  `yaml:"precision"`
	Base      BaseParams `yaml:"base"`
	Slices    []MoESlice `yaml:"shapes"`
}

// MoESlice is one layer shape (MoEShape without Tokens and Quant) and its
// latency at each measured token count.
type MoESlice struct {
	Hidden    int       `yaml:"hidden"`
	Inter     int       `yaml:"inter"`
	Experts   int       `yaml:"experts"`
	TopK      int       `yaml:"topk"`
	TP        int       `yaml:"tp"`
	EP        int       `yaml:"ep"`
	Tokens    []int64   `yaml:"tokens,flow"`
	LatencyNs []float64 `yaml:"latency_ns,flow"`
}

func (s MoESlice) shape(tokens int, q Precision) MoEShape {
	return MoEShape{Tokens: tokens, Hidden: s.Hidden, Inter: s.Inter, Experts: s.Experts, TopK: s.TopK, TP: s.TP, EP: s.EP, Quant: q}
}

type moeSlice struct {
	key  [6]float64 // logs of hidden, inter/tp, experts/ep, topk, tp, ep
	grid *Grid
	// the layer and its tensor-parallel size, for equivalentEP
	hidden, inter, experts, topk, tp int
}

func moeKey(s MoEShape) [6]float64 {
	tp, ep := pos(s.TP), pos(s.EP)
	return [6]float64{math.Log(pos(s.Hidden)), math.Log(pos(s.Inter) / tp), math.Log(pos(s.Experts) / ep),
		math.Log(pos(s.TopK)), math.Log(tp), math.Log(ep)}
}

// moeModel is base x exp(residual over log tokens of the nearest measured
// layer shape, by the L1 distance of moeKey): the measured latency of the
// balanced routing the tables used. Random routing (MoEShape.Balanced
// false) scales it by the base roofline's time of MoEWork over that of
// BalancedMoEWork, so a batch that hits fewer experts than the table's
// reads only their weights.
type moeModel struct {
	base   BaseParams
	slices []moeSlice
}

func (m *moeModel) time(s MoEShape) float64 {
	s = m.equivalentEP(s)
	k := moeKey(s)
	best, bestD := 0, math.Inf(1)
	for i := range m.slices {
		d := 0.0
		for j, v := range m.slices[i].key {
			d += math.Abs(v - k[j])
		}
		if d < bestD {
			best, bestD = i, d
		}
	}
	f, b := MoEWork(s)
	t := m.base.Time(f, b) * math.Exp(m.slices[best].grid.At([MaxDims]float64{math.Log(pos(s.Tokens))}))
	if s.Balanced {
		return t
	}
	// The table measured balanced routing; random routing reads only the
	// experts it hits: scale by the base roofline's ratio of the two.
	bf, bb := BalancedMoEWork(s)
	return t * m.base.Time(f, b) / m.base.Time(bf, bb)
}

// equivalentEP maps a layer sharded over t = TP GPUs by tensor
// parallelism, whose layer the table measured at TP 1 only (the H200
// TensorRT-LLM 1.3.0rc20 MXFP4 table holds gpt-oss's layers at MoE TP 1,
// EP 1-128), to the expert-parallel layout of the same GPUs, TP 1 and
// EP t x EP: each rank then does the same work (MoEWork: Tokens x TopK x
// 3 x Hidden x Inter / t multiply-adds, the same expert weight bytes) in
// as many GEMM output tiles (Experts x Inter / t columns against
// Experts / t x Inter), where the nearest TP-1 slice scaled by MoEWork
// would give the TP layout an ideal t-fold speedup that no table shows
// (that table's EP 8 slice: 4x of EP 1 at 8192 tokens; vLLM's H200
// fp8_block MiniMax-M2.5 layer: TP 4 2.6x and EP 4 3.4x of TP 1; and
// gpt-oss-120b measures the same TTFT and TPOT at TP 8 x EP 1 as at
// TP 8 x EP 8). A layer with a measured TP slice above 1 keeps the
// nearest slice (the same layout's scaling is the better evidence), as
// does a layer the table did not measure at all (its nearest slice is
// another model's) and one whose GPUs outnumber its experts.
func (m *moeModel) equivalentEP(s MoEShape) MoEShape {
	if s.TP <= 1 || s.TP*max(s.EP, 1) > s.Experts {
		return s
	}
	layer := false
	for i := range m.slices {
		c := &m.slices[i]
		if c.hidden == s.Hidden && c.inter == s.Inter && c.experts == s.Experts && c.topk == s.TopK {
			if c.tp > 1 {
				return s
			}
			layer = true
		}
	}
	if !layer {
		return s
	}
	s.EP = s.TP * max(s.EP, 1)
	s.TP = 1
	return s
}

func (p *Profile) moeModel(q Precision) *moeModel {
	if int(q) < len(p.moe) {
		return p.moe[q]
	}
	return nil
}

func compileMoE(field string, t *MoETable) (*moeModel, error) {
	if err := t.Base.Check(field + ".base"); err != nil {
		return nil, err
	}
	if len(t.Slices) == 0 {
		return nil, fmt.Errorf("%s.shapes: found none, expected at least one layer shape", field)
	}
	m := &moeModel{base: t.Base}
	for i, s := range t.Slices {
		f := fmt.Sprintf("%s.shapes[%d]", field, i)
		for _, v := range []struct {
			n string
			v int
		}{{"hidden", s.Hidden}, {"inter", s.Inter}, {"experts", s.Experts}, {"topk", s.TopK}, {"tp", s.TP}, {"ep", s.EP}} {
			if v.v <= 0 {
				return nil, fmt.Errorf("%s.%s: found %d, expected a positive integer", f, v.n, v.v)
			}
		}
		if s.TopK > s.Experts {
			return nil, fmt.Errorf("%s.topk: found %d, expected at most experts (%d)", f, s.TopK, s.Experts)
		}
		if err := checkAxis(f+".tokens", s.Tokens); err != nil {
			return nil, err
		}
		if err := checkTimes(f+".latency_ns", s.LatencyNs, len(s.Tokens)); err != nil {
			return nil, err
		}
		g := NewGrid(s.Tokens)
		for j, tok := range s.Tokens {
			fl, by := MoEWork(s.shape(int(tok), t.Precision))
			g.R[j] = math.Log(s.LatencyNs[j] / t.Base.Time(fl, by))
		}
		m.slices = append(m.slices, moeSlice{key: moeKey(s.shape(1, t.Precision)), grid: g,
			hidden: s.Hidden, inter: s.Inter, experts: s.Experts, topk: s.TopK, tp: s.TP})
	}
	return m, nil
}
