package cost

import "math"

// The roofline work of each operation: the floating-point operations it
// performs and the bytes it moves through HBM. Both the analytical Roofline
// and the calibrated Profile (as the base its measured grids are stored
// relative to) count work this way.

// GEMMWork is the roofline work of an (m x k) by (k x n) BF16 multiply.
func GEMMWork(m, n, k float64) (flops, bytes float64) {
	return 2 * m * n * k, bf16 * (m*k + k*n + m*n)
}

// ContextWork is the roofline work of causal prefill attention, as Roofline
// counts it.
func ContextWork(b, q, p, h, kv, hd float64) (flops, bytes float64) {
	return 4 * b * h * hd * q * (p + q/2), bf16 * b * hd * (2*kv*(p+q) + 2*h*q)
}

// GenerationWork is the roofline work of decode attention, as Roofline
// counts it.
func GenerationWork(b, ctx, h, kv, hd float64) (flops, bytes float64) {
	return 4 * b * h * hd * ctx, bf16 * b * hd * (2*kv*ctx + 2*h)
}

// QuantGEMMWork is the work of an (m x k) by (k x n) multiply with weights
// and activations stored at precision p and a BF16 output; at BF16 it is
// GEMMWork.
func QuantGEMMWork(m, n, k float64, p Precision) (flops, bytes float64) {
	if p == BF16 {
		return GEMMWork(m, n, k)
	}
	return 2 * m * n * k, m*k*p.ActivationBytes() + k*n*p.WeightBytes() + bf16*m*n
}

// DeepSeek-V3's latent attention dimensions, taken for MLAShape fields
// left zero.
const (
	defaultKVLoRARank = 512
	defaultQKNopeDim  = 128
	defaultQKRopeDim  = 64
	defaultVHeadDim   = 128
)

func (s MLAShape) dims() (lora, nope, rope, v float64) {
	lora, nope, rope, v = float64(s.KVLoRARank), float64(s.QKNopeDim), float64(s.QKRopeDim), float64(s.VHeadDim)
	if lora <= 0 {
		lora = defaultKVLoRARank
	}
	if nope <= 0 {
		nope = defaultQKNopeDim
	}
	if rope <= 0 {
		rope = defaultQKRopeDim
	}
	if v <= 0 {
		v = defaultVHeadDim
	}
	return
}

func kvBytes(p Precision) float64 {
	if p == BF16 {
		return bf16
	}
	return 1
}

// ContextMLAWork is the work of causal prefill latent attention: K and V
// are decompressed per head, so it is attention with head dimensions
// nope+rope (QK) and v (PV), reading the latent cache of the prefix.
func ContextMLAWork(b, q, p float64, s MLAShape) (flops, bytes float64) {
	lora, nope, rope, v := s.dims()
	h := float64(s.Heads)
	flops = 2 * b * h * q * (p + q/2) * (nope + rope + v)
	bytes = b*p*(lora+rope)*kvBytes(s.KVCache) + bf16*b*h*(p+2*q)*(nope+rope+v)
	return
}

// GenerationMLAWork is the work of decode latent attention with the
// projections absorbed: each head scores the ctx cached latents (lora+rope
// wide) and sums them (lora wide); the latent cache is read once for all
// heads.
func GenerationMLAWork(b, ctx float64, s MLAShape) (flops, bytes float64) {
	lora, _, rope, _ := s.dims()
	h := float64(s.Heads)
	flops = 2 * b * h * ctx * (2*lora + rope)
	bytes = b*ctx*(lora+rope)*kvBytes(s.KVCache) + bf16*b*h*(2*lora+rope)
	return
}

// MoEWork is the work of one rank's routed experts: Tokens x TopK / EP
// token-expert pairs, each through gate/up (2 x Inter/TP columns) and down
// (Inter/TP rows) projections, reading the weights of the experts that
// receive at least one token. With random routing (uniform, independent
// across tokens) an expert receives none of Tokens tokens with
// probability (1 - TopK/Experts)^Tokens, so a small batch reads only a few
// experts' weights.
func MoEWork(s MoEShape) (flops, bytes float64) {
	ep := math.Max(float64(s.EP), 1)
	e := math.Max(float64(s.Experts), 1)
	k := math.Min(math.Max(float64(s.TopK), 1), e)
	tok := math.Max(float64(s.Tokens), 1)
	active := e / ep * -math.Expm1(tok*math.Log1p(-k/e))
	if k >= e {
		active = e / ep
	}
	return moeWork(s, active)
}

// BalancedMoEWork is MoEWork under the balanced routing the MoE kernel
// tables were measured with: the Tokens x TopK pairs go to distinct
// experts until every expert has one, min(Tokens x TopK, Experts) experts
// active (the tables' latency grows linearly in tokens until then and
// stays flat after). Random routing hits fewer experts at the same token
// count, up to 37 % fewer at Tokens x TopK = Experts.
func BalancedMoEWork(s MoEShape) (flops, bytes float64) {
	ep := math.Max(float64(s.EP), 1)
	e := math.Max(float64(s.Experts), 1)
	k := math.Min(math.Max(float64(s.TopK), 1), e)
	tok := math.Max(float64(s.Tokens), 1)
	return moeWork(s, math.Min(tok*k, e)/ep)
}

// moeWork is one rank's expert work with active of its experts receiving
// tokens.
func moeWork(s MoEShape, active float64) (flops, bytes float64) {
	tp, ep := math.Max(float64(s.TP), 1), math.Max(float64(s.EP), 1)
	e := math.Max(float64(s.Experts), 1)
	k := math.Min(math.Max(float64(s.TopK), 1), e)
	tok := math.Max(float64(s.Tokens), 1)
	hid, inter := float64(s.Hidden), float64(s.Inter)/tp
	pairs := tok * k / ep
	flops = 2 * pairs * hid * inter * 3
	bytes = active*3*hid*inter*s.Quant.WeightBytes() + pairs*(hid*(s.Quant.ActivationBytes()+bf16)+3*inter*bf16)
	return
}
