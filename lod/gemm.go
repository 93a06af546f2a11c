package lod

import (
	"math"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// nativeFormats says which low-precision formats g's tensor cores compute
// in: FP8 from Hopper (and Ada, MI300) on, FP4 on Blackwell. A100 runs FP8
// checkpoints as weight-only (W8A16) kernels.
func nativeFormats(g cost.GPU) (fp8, fp4 bool) {
	k := strings.ToLower(g.Key)
	switch {
	case strings.HasPrefix(k, "a100"):
		return false, false
	case strings.HasPrefix(k, "b2"), strings.HasPrefix(k, "b3"), strings.HasPrefix(k, "gb"):
		return true, true
	}
	return true, false
}

// gemm is the time of an (m x k) activation by (k x n) weight GEMM with
// the weight stored in w.
//
// The cost model's GEMM is BF16, so a quantized GEMM is costed from it by
// the roofline: its weight takes ratio r of BF16's bytes and its tensor-
// core math runs at ratio c of BF16's time (FP8 0.5, FP4 on Blackwell
// 0.25; a weight-only format dequantizes and computes at the activation
// precision, c = 1, or 0.5 for MXFP4 x FP8 on Hopper). A BF16 GEMM of n x
// r columns reads the right weight bytes and does r of the FLOPs; where c
// exceeds r the math is the floor, costed as a cube GEMM (s = cbrt(m n k
// c), compute-bound for all but tiny shapes) of c of the FLOPs:
//
//	t = max(GEMM(m, ceil(n r), k), GEMM(s, s, s))
//
// Unquantized weights cost GEMM(m, n, k) exactly.
func (p *Planner) gemm(m, n, k int, w Precision) float64 {
	dt := p.model.DTypeBytes
	if w == Unquantized || w.bytesPer16K(dt) == 16384*int64(dt) {
		return p.cost.GEMM(m, n, k)
	}
	r := w.ratio(dt)
	t := p.cost.GEMM(m, max(1, int(math.Ceil(float64(n)*r))), k)
	c := w.mathRatio(p.fp4)
	if (w == FP8 || w == FP8Block) && !p.fp8 {
		c = 1
	}
	if c > r {
		s := max(1, int(math.Round(math.Cbrt(float64(m)*float64(n)*float64(k)*c))))
		t = max(t, p.cost.GEMM(s, s, s))
	}
	return t
}
