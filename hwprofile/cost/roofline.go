package cost

import "math"

// Roofline is the analytical cost model used when no calibrated profile
// exists for a GPU. An operation with F floating-point operations that moves
// B bytes takes
//
//	t = LaunchNs + max(F / (peak x ComputeEff), B / (bandwidth x MemoryEff))
//
// the classic roofline bound (Williams, Waterman and Patterson, CACM 2009)
// with efficiency factors for achievable rather than peak throughput.
// Element sizes are BF16 (2 bytes) unless an operation names its precision,
// whose peak rate comes from GPU.PeakFLOPS.
type Roofline struct {
	Device     GPU
	ComputeEff float64 // achieved fraction of peak tensor FLOP/s
	MemoryEff  float64 // achieved fraction of peak HBM bandwidth
	LaunchNs   float64 // fixed cost per kernel
	Overhead   Overheads
}

// NewRoofline returns a roofline model of g with default efficiencies: 70% of
// peak FLOP/s, 80% of HBM bandwidth (the empirical scaling aiconfigurator's
// system files use) and 3 us per kernel.
func NewRoofline(g GPU) *Roofline {
	return &Roofline{Device: g, ComputeEff: 0.7, MemoryEff: 0.8, LaunchNs: 3000}
}

const bf16 = 2

func (r *Roofline) bound(flops, bytes float64) float64 {
	return r.boundAt(BF16, flops, bytes)
}

// boundAt is the roofline time of work computed at precision p's rate.
func (r *Roofline) boundAt(p Precision, flops, bytes float64) float64 {
	c := flops / (r.Device.PeakFLOPS(p) * r.ComputeEff) * 1e9
	m := bytes / (r.Device.MemBWBytes * r.MemoryEff) * 1e9
	return r.LaunchNs + math.Max(c, m)
}

// Name implements CostModel.
func (r *Roofline) Name() string { return "roofline:" + r.Device.Name }

// GPU implements CostModel.
func (r *Roofline) GPU() GPU { return r.Device }

// GEMM implements CostModel.
func (r *Roofline) GEMM(m, n, k int) float64 {
	fm, fn, fk := float64(m), float64(n), float64(k)
	return r.bound(2*fm*fn*fk, bf16*(fm*fk+fk*fn+fm*fn))
}

// QuantGEMM implements CostModel: QuantGEMMWork at the precision's peak.
func (r *Roofline) QuantGEMM(m, n, k int, p Precision) float64 {
	if p == BF16 {
		return r.GEMM(m, n, k)
	}
	f, b := QuantGEMMWork(float64(m), float64(n), float64(k), p)
	return r.boundAt(p, f, b)
}

// ContextMLA implements CostModel: ContextMLAWork at the BF16 rate.
func (r *Roofline) ContextMLA(batch, q, prefix int, s MLAShape) float64 {
	f, b := ContextMLAWork(pos(batch), pos(q), math.Max(float64(prefix), 0), s)
	return r.bound(f, b)
}

// GenerationMLA implements CostModel: GenerationMLAWork at the BF16 rate.
func (r *Roofline) GenerationMLA(batch, ctx int, s MLAShape) float64 {
	f, b := GenerationMLAWork(pos(batch), pos(ctx), s)
	return r.bound(f, b)
}

// MoE implements CostModel: MoEWork at the expert precision's peak, plus a
// second kernel launch (the gate/up and down grouped GEMMs).
func (r *Roofline) MoE(s MoEShape) float64 {
	f, b := MoEWork(s)
	return r.LaunchNs + r.boundAt(s.Quant, f, b)
}

// ContextAttention implements CostModel.
func (r *Roofline) ContextAttention(batch, q, prefix int, s AttnShape) float64 {
	b, fq, p := float64(batch), float64(q), float64(prefix)
	hd := float64(s.HeadDim)
	// Causal attention: each new token attends to the prefix and, on
	// average, half of the new tokens. QK^T and PV are 2 FLOPs per MAC each.
	flops := 4 * b * float64(s.Heads) * hd * fq * (p + fq/2)
	bytes := bf16 * b * hd * (2*float64(s.KVHeads)*(p+fq) + 2*float64(s.Heads)*fq)
	return r.bound(flops, bytes)
}

// GenerationAttention implements CostModel.
func (r *Roofline) GenerationAttention(batch, ctx int, s AttnShape) float64 {
	b, c := float64(batch), float64(ctx)
	hd := float64(s.HeadDim)
	flops := 4 * b * float64(s.Heads) * hd * c
	bytes := bf16 * b * hd * (2*float64(s.KVHeads)*c + 2*float64(s.Heads))
	return r.bound(flops, bytes)
}

// Elementwise implements CostModel.
func (r *Roofline) Elementwise(bytes float64) float64 { return r.bound(0, bytes) }

// RingLink implements CostModel: the datasheet per-direction link bandwidth
// and latency, the same for every ring size.
func (r *Roofline) RingLink(n int) Link {
	return Link{LatencyNs: r.Device.LinkLatencyNs, BytesPerNs: r.Device.LinkBWBytes / 1e9}
}

// AllReduceLink implements CostModel: the datasheet link at every size.
func (r *Roofline) AllReduceLink(n int, s float64) Link { return r.RingLink(n) }

// AllGather implements CostModel: n-1 ring hops of bytes/n over the
// datasheet link.
func (r *Roofline) AllGather(bytes float64, n int) float64 {
	return r.collective(OpAllGather, bytes, n)
}

// ReduceScatter implements CostModel, as AllGather.
func (r *Roofline) ReduceScatter(bytes float64, n int) float64 {
	return r.collective(OpReduceScatter, bytes, n)
}

// AllToAll implements CostModel: n-1 transfers of bytes/n over the
// datasheet link.
func (r *Roofline) AllToAll(bytes float64, n int) float64 {
	return r.collective(OpAllToAll, bytes, n)
}

// AllToAllLink implements CostModel: the datasheet link.
func (r *Roofline) AllToAllLink(n int, s float64) Link { return r.RingLink(n) }

func (r *Roofline) collective(op Op, bytes float64, n int) float64 {
	if n < 2 {
		return 0
	}
	return RingTime(op, r.RingLink(n), math.Max(bytes, 1), float64(n))
}

// SendLink implements CostModel: the datasheet link.
func (r *Roofline) SendLink() Link { return r.RingLink(2) }

// Overheads implements CostModel.
func (r *Roofline) Overheads() Overheads { return r.Overhead }
