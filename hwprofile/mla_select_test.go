package hwprofile

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestModulesOnlyWithoutKernels: a phase with MLA kernel rows (as
// TensorRT-LLM's tables) keeps none of its module rows, neither for the
// fit nor for the compact table, nor counts them as used; a phase with
// module rows only keeps them, and module rows with a prefix are left out.
func TestModulesOnlyWithoutKernels(t *testing.T) {
	g, err := cost.LookupGPU("h200_sxm")
	if err != nil {
		t.Fatal(err)
	}
	ms := &Measurements{}
	for b := int64(1); b <= 3; b++ {
		ms.Rows = append(ms.Rows,
			Measurement{Op: cost.OpContextMLA, GPU: "h200_sxm", Engine: "trtllm", Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 1000, Source: "k"},
			Measurement{Op: cost.OpContextMLAModule, GPU: "h200_sxm", Engine: "trtllm", Quant: cost.BF16, Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 9000, Source: "m"},
			Measurement{Op: cost.OpGenerationMLAModule, GPU: "h200_sxm", Engine: "trtllm", Quant: cost.BF16, Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 900, Source: "m"},
			Measurement{Op: cost.OpContextMLAModule, GPU: "h200_sxm", Engine: "vllm", Quant: cost.BF16, Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 9000, Source: "v"},
			Measurement{Op: cost.OpContextMLAModule, GPU: "h200_sxm", Engine: "vllm", Quant: cost.BF16, Heads: 16, Batch: b, SeqLen: 1024, Prefix: 512, MedianNs: 9000, Source: "v"})
	}
	v, err := selectRows(ms, g, "vllm")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.cmlaMod) != 3 || v.total != 3 {
		t.Errorf("vllm: %d context module points from %d rows, want 3 from 3 (the prefixed rows left out)", len(v.cmlaMod), v.total)
	}
	s, err := selectRows(ms, g, "trtllm")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.cmla) != 3 || len(s.cmlaMod) != 0 {
		t.Errorf("context: %d kernel and %d module points, want 3 and 0 (kernels win)", len(s.cmla), len(s.cmlaMod))
	}
	if len(s.gmla) != 0 || len(s.gmlaMod) != 3 {
		t.Errorf("generation: %d kernel and %d module points, want 0 and 3", len(s.gmla), len(s.gmlaMod))
	}
	if s.used["k"] != 3 || s.used["m"] != 3 || s.total != 6 {
		t.Errorf("used %v total %d, want k 3, m 3 (the generation module rows), total 6", s.used, s.total)
	}
}
