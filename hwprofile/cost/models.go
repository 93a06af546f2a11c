package cost

import "math"

// BaseParams is a fitted roofline: an operation with F floating-point
// operations that moves B bytes takes
//
//	t = LaunchNs + max(F / FlopsPerNs, B / BytesPerNs)
//
// (Williams, Waterman and Patterson, CACM 2009), with the two rates fitted
// to the measurements rather than taken from the datasheet. It is the smooth
// shape the measured grids are stored relative to, and what carries a time
// outside the measured grid.
type BaseParams struct {
	LaunchNs   float64 `yaml:"launch_ns"`
	FlopsPerNs float64 `yaml:"flops_per_ns"`
	BytesPerNs float64 `yaml:"bytes_per_ns"`
}

func (b BaseParams) Time(flops, bytes float64) float64 {
	return b.LaunchNs + math.Max(flops/b.FlopsPerNs, bytes/b.BytesPerNs)
}

// pos clamps a shape argument to at least 1, so that a zero or negative
// shape still yields a positive time.
func pos(x int) float64 {
	if x < 1 {
		return 1
	}
	return float64(x)
}

// gemmModel is base x exp(residual grid over (log m, log n, log k)).
type gemmModel struct {
	prec Precision
	base BaseParams
	grid *Grid
}

func (g *gemmModel) work(m, n, k float64) (flops, bytes float64) {
	return QuantGEMMWork(m, n, k, g.prec)
}

func (g *gemmModel) Time(m, n, k float64) float64 {
	f, b := g.work(m, n, k)
	return g.base.Time(f, b) * math.Exp(g.grid.At([MaxDims]float64{math.Log(m), math.Log(n), math.Log(k)}))
}

// attnSlice is the measured (batch, sequence) grid of one head shape.
type attnSlice struct {
	heads, kv, hd int
	lh, lkv, lhd  float64
	grid          *Grid
}

type shapeKey struct{ h, kv, hd int32 }

// attnModel is base x exp(residual of the nearest measured head shape over
// (log batch, log sequence)).
type attnModel struct {
	decode bool
	base   BaseParams
	slices []attnSlice
	index  map[shapeKey]int
}

// slice finds the measured head shape for s: itself when measured, else the
// nearest in log heads + log KV heads + log head dim (the first in table
// order on a tie).
func (a *attnModel) slice(h, kv, hd int) *attnSlice {
	if i, ok := a.index[shapeKey{int32(h), int32(kv), int32(hd)}]; ok {
		return &a.slices[i]
	}
	lh, lkv, lhd := math.Log(pos(h)), math.Log(pos(kv)), math.Log(pos(hd))
	best, bestD := 0, math.Inf(1)
	for i := range a.slices {
		s := &a.slices[i]
		d := math.Abs(s.lh-lh) + math.Abs(s.lkv-lkv) + math.Abs(s.lhd-lhd)
		if d < bestD {
			best, bestD = i, d
		}
	}
	return &a.slices[best]
}

// context is the prefill time. The tables have no prefix dimension: the
// base roofline counts the prefix's work exactly, and the residual is taken
// at the prefill length with the same causal work, sqrt(q (q + 2 prefix)),
// which is q itself when there is no prefix.
func (a *attnModel) context(b, q, p float64, h, kv, hd int) float64 {
	fh, fkv, fhd := pos(h), pos(kv), pos(hd)
	f, by := ContextWork(b, q, p, fh, fkv, fhd)
	s := a.slice(h, kv, hd)
	seq := q
	if p > 0 {
		seq = math.Sqrt(q * (q + 2*p))
	}
	return a.base.Time(f, by) * math.Exp(s.grid.At([MaxDims]float64{math.Log(b), math.Log(seq)}))
}

func (a *attnModel) generation(b, ctx float64, h, kv, hd int) float64 {
	f, by := GenerationWork(b, ctx, pos(h), pos(kv), pos(hd))
	s := a.slice(h, kv, hd)
	return a.base.Time(f, by) * math.Exp(s.grid.At([MaxDims]float64{math.Log(b), math.Log(ctx)}))
}

// CommHops gives the alpha-beta form of each collective on n GPUs: a
// message of S bytes costs hops x (LatencyNs + share x S / BytesPerNs).
// Ring all-reduce: 2(n-1) hops of S/n; ring all-gather and reduce-scatter:
// n-1 hops of S/n (S is the whole buffer, as nccl-tests counts it);
// all-to-all: n-1 transfers of S/n (S is what each rank sends); send: one
// hop of S.
func CommHops(op Op, n float64) (hops, share float64) {
	switch op {
	case OpAllReduce, OpCustomAllReduce:
		return 2 * (n - 1), 1 / n
	case OpAllGather, OpReduceScatter, OpAllToAll:
		return n - 1, 1 / n
	default:
		return 1, 1
	}
}

// RingTime is the alpha-beta time of op on n GPUs over l for s bytes (see
// CommHops).
func RingTime(op Op, l Link, s, n float64) float64 {
	hops, share := CommHops(op, n)
	return hops * (l.LatencyNs + share*s/l.BytesPerNs)
}

// commModel is, for each measured GPU count, the fitted alpha-beta link and
// a residual grid over log bytes.
type commModel struct {
	op    Op
	gpus  []int // ascending
	links []Link
	grids []*Grid
}

// nearest is the index of the measured GPU count nearest n in log scale
// (the larger on a tie).
func (c *commModel) nearest(n int) int {
	best, bestD := 0, math.Inf(1)
	ln := math.Log(pos(n))
	for i, g := range c.gpus {
		if d := math.Abs(math.Log(float64(g)) - ln); d <= bestD {
			best, bestD = i, d
		}
	}
	return best
}

func (c *commModel) Time(bytes float64, n int) float64 {
	i := c.nearest(n)
	fn := float64(n)
	if c.op == OpSend {
		fn = 2
	}
	return RingTime(c.op, c.links[i], bytes, fn) * math.Exp(c.grids[i].At([MaxDims]float64{math.Log(bytes)}))
}
