package lod

import (
	"fmt"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Precision is the storage format of weights or of the KV cache. The empty
// Precision means unquantized: elements of the model's DTypeBytes.
//
// A format's size includes its scales. Per 16384 elements (one 128 x 128
// block) a format stores:
//
//	bf16, fp16   32768 bytes
//	fp8          16384 bytes (one FP32 scale per tensor, negligible)
//	fp8_block    16384 + 4 bytes (one FP32 scale per 128 x 128 block, DeepSeek-V3)
//	nvfp4        8192 + 1024 bytes (E2M1 pairs, one FP8 E4M3 scale per 16)
//	mxfp4        8192 + 512 bytes (E2M1 pairs, one E8M0 scale per 32; OCP MX)
//	int4         8192 + 320 bytes (weight-only, AWQ/GPTQ: FP16 scale and
//	             4-bit zero point per group of 128)
type Precision string

// The weight and KV-cache formats lodsim knows.
const (
	Unquantized Precision = ""
	BF16        Precision = "bf16"
	FP16        Precision = "fp16"
	FP8         Precision = "fp8"
	FP8Block    Precision = "fp8_block"
	NVFP4       Precision = "nvfp4"
	MXFP4       Precision = "mxfp4"
	INT4        Precision = "int4"
)

var precisions = []Precision{BF16, FP16, FP8, FP8Block, NVFP4, MXFP4, INT4}

// ParsePrecision reads a weight or KV-cache format in any spelling the cost
// model's quant modes accept ("FP8", "fp8_block", "nvfp4", "fp4", "w4a16",
// "bfloat16", ...; W4A8 MXFP4 is stored as MXFP4), the lodsim names
// above, or "auto" (unquantized), ignoring case.
func ParsePrecision(s string) (Precision, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	for _, p := range precisions {
		if string(p) == n {
			return p, nil
		}
	}
	if n == "auto" {
		return Unquantized, nil
	}
	k, err := cost.ParsePrecision(n)
	if err != nil {
		return "", fmt.Errorf("precision %q: expected one of bf16, fp16, fp8, fp8_block, nvfp4, mxfp4, int4 or auto", s)
	}
	switch k {
	case cost.FP8:
		return FP8, nil
	case cost.FP8Block:
		return FP8Block, nil
	case cost.NVFP4:
		return NVFP4, nil
	case cost.MXFP4, cost.W4A8MXFP4:
		return MXFP4, nil
	case cost.INT4WO:
		return INT4, nil
	}
	return BF16, nil
}

// valid reports whether p is a known precision (or unset).
func (p Precision) valid() bool {
	if p == Unquantized {
		return true
	}
	for _, q := range precisions {
		if p == q {
			return true
		}
	}
	return false
}

// bytesPer16K is the bytes 16384 elements take in p, scales included;
// dtype is the unquantized element size.
func (p Precision) bytesPer16K(dtype int) int64 {
	switch p {
	case BF16, FP16:
		return 32768
	case FP8:
		return 16384
	case FP8Block:
		return 16384 + 4
	case NVFP4:
		return 8192 + 1024
	case MXFP4:
		return 8192 + 512
	case INT4:
		return 8192 + 320
	}
	return 16384 * int64(dtype)
}

// bytes is the size of n elements in p.
func (p Precision) bytes(n int64, dtype int) int64 {
	b := p.bytesPer16K(dtype)
	if b%16384 == 0 {
		return n * (b / 16384)
	}
	return n/16384*b + (n%16384*b+16383)/16384
}

// Kernel is the precision the cost model prices p's GEMMs at: the same
// format, the unquantized ones as BF16. An MXFP4 checkpoint runs as
// weight-only (BF16 activations, cost.MXFP4), as vLLM serves gpt-oss on
// Hopper; an engine that runs it W4A8 would ask for cost.W4A8MXFP4.
func (p Precision) Kernel() cost.Precision {
	switch p {
	case FP8:
		return cost.FP8
	case FP8Block:
		return cost.FP8Block
	case NVFP4:
		return cost.NVFP4
	case MXFP4:
		return cost.MXFP4
	case INT4:
		return cost.INT4WO
	}
	return cost.BF16
}
