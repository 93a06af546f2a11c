package cost

import (
	"fmt"
	"strings"
)

// Precision is the quantisation of a matrix multiply or an MoE layer: how
// its weights are stored and at which rate the tensor cores compute it.
// The zero value is BF16.
type Precision uint8

// The precisions lodsim models. The names in parentheses are the
// aiconfigurator quant-mode spellings ParsePrecision accepts.
const (
	// BF16 weights and activations (bfloat16, float16, half).
	BF16 Precision = iota
	// FP8 weights and activations with per-tensor scales (fp8).
	FP8
	// FP8Block is FP8 with 128x128 block scales, DeepSeek style (fp8_block).
	FP8Block
	// NVFP4 is 4-bit weights and activations with FP8 scales per 16
	// elements, computed by Blackwell FP4 tensor cores (nvfp4).
	NVFP4
	// MXFP4 is 4-bit weights with E8M0 scales per 32 elements and BF16
	// activations, dequantised in the kernel (mxfp4, w4a16_mxfp4).
	MXFP4
	// W4A8MXFP4 is MXFP4 weights with MXFP8 activations, computed at the FP8
	// rate (w4a8_mxfp4_mxfp8).
	W4A8MXFP4
	// INT4WO is 4-bit integer weights, weight-only: BF16 activations and
	// compute (int4_wo, w4a16).
	INT4WO
	// INT8WO is 8-bit integer weights, weight-only (int8_wo, w8a16).
	INT8WO
	numPrecisions
)

var precisionNames = [numPrecisions]string{"bf16", "fp8", "fp8_block", "nvfp4", "mxfp4", "w4a8_mxfp4", "int4_wo", "int8_wo"}

// String is the precision's canonical name (the one a profile stores).
func (p Precision) String() string {
	if p < numPrecisions {
		return precisionNames[p]
	}
	return fmt.Sprintf("precision(%d)", uint8(p))
}

// Precisions lists every precision in order.
func Precisions() []Precision {
	out := make([]Precision, numPrecisions)
	for i := range out {
		out[i] = Precision(i)
	}
	return out
}

// ParsePrecision reads a precision in the spellings of the canonical names,
// the aiconfigurator quant-mode columns (gemm_dtype, moe_dtype, gemm_type)
// and Hugging Face quantisation configs, ignoring case. An unknown spelling
// is an error listing the known ones.
func ParsePrecision(s string) (Precision, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "bf16", "bfloat16", "fp16", "float16", "half", "torch.bfloat16", "torch.float16":
		return BF16, nil
	case "fp8", "float8", "fp8_e4m3", "e4m3", "fp8_tensor", "fp8_per_tensor":
		return FP8, nil
	case "fp8_block", "fp8_block_scaled", "fp8_blockwise":
		return FP8Block, nil
	case "nvfp4", "fp4":
		return NVFP4, nil
	case "mxfp4", "w4a16_mxfp4":
		return MXFP4, nil
	case "w4a8_mxfp4", "w4a8_mxfp4_mxfp8":
		return W4A8MXFP4, nil
	case "int4_wo", "int4", "w4a16", "int4_awq", "int4_gptq":
		return INT4WO, nil
	case "int8_wo", "w8a16":
		return INT8WO, nil
	}
	return 0, fmt.Errorf("unknown quant mode %q: expected one of bf16 (bfloat16, fp16), fp8, fp8_block, nvfp4, mxfp4 (w4a16_mxfp4), w4a8_mxfp4 (w4a8_mxfp4_mxfp8), int4_wo, int8_wo", s)
}

// MarshalText implements encoding.TextMarshaler (YAML and JSON write the
// canonical name).
func (p Precision) MarshalText() ([]byte, error) {
	if p >= numPrecisions {
		return nil, fmt.Errorf("cost: unknown precision %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Precision) UnmarshalText(b []byte) error {
	v, err := ParsePrecision(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// WeightBytes is the storage of one weight element, scales included
// (NVFP4: one FP8 scale per 16 elements; MXFP4: one byte per 32).
func (p Precision) WeightBytes() float64 {
	switch p {
	case FP8, FP8Block:
		return 1
	case NVFP4:
		return 0.5 + 1.0/16
	case MXFP4, W4A8MXFP4:
		return 0.5 + 1.0/32
	case INT4WO:
		return 0.5 + 2.0/128 // a BF16 scale per group of 128
	case INT8WO:
		return 1
	}
	return 2
}

// ActivationBytes is the size of one input activation element as the kernel
// reads it.
func (p Precision) ActivationBytes() float64 {
	switch p {
	case FP8, FP8Block, W4A8MXFP4:
		return 1
	case NVFP4:
		return 0.5 + 1.0/16
	}
	return 2
}

// Compute is the tensor-core rate class the precision runs at: BF16 for
// weight-only formats, FP8 for FP8 and W4A8, NVFP4 (the FP4 rate) for NVFP4.
func (p Precision) Compute() Precision {
	switch p {
	case FP8, FP8Block, W4A8MXFP4:
		return FP8
	case NVFP4:
		return NVFP4
	}
	return BF16
}
