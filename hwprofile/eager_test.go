package hwprofile

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestEagerFP8BlockGEMMLeftOut checks that calibration drops the vLLM
// fp8_block GEMM rows of collections before vLLM 0.25 (timed without CUDA
// graphs) and keeps every other quantized GEMM row: per-tensor FP8 of the
// same collection, fp8_block of SGLang, and fp8_block of a vLLM 0.25
// collection.
func TestEagerFP8BlockGEMMLeftOut(t *testing.T) {
	row := func(engine, version string, q cost.Precision, m int64) Measurement {
		return Measurement{Op: cost.OpGEMM, GPU: "h200_sxm", Dtype: q.String(), Engine: engine, Version: version,
			Quant: q, M: m, N: 1024, K: 3072, MedianNs: 7400}
	}
	ms := &Measurements{}
	for m := int64(1); m <= 4; m++ {
		ms.Rows = append(ms.Rows, row("vllm", "0.24.0", cost.FP8Block, m), row("vllm", "0.24.0", cost.FP8, m),
			row("sglang", "0.5.14", cost.FP8Block, m), row("vllm", "0.25.1", cost.FP8Block, m))
	}
	g, err := cost.LookupGPU("h200_sxm")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		engine string
		want   map[cost.Precision]int
	}{
		// vLLM: the 0.24.0 fp8_block rows go, the 0.25.1 ones stay (4
		// shapes), as do the 0.24.0 FP8 ones.
		{"vllm", map[cost.Precision]int{cost.FP8: 4, cost.FP8Block: 4}},
		{"sglang", map[cost.Precision]int{cost.FP8Block: 4}},
	} {
		s, err := selectRows(ms, g, c.engine)
		if err != nil {
			t.Fatal(err)
		}
		for q, n := range c.want {
			if got := len(s.qgemm[q]); got != n {
				t.Errorf("%s %v: %d shapes selected, want %d", c.engine, q, got, n)
			}
		}
		if c.engine == "vllm" && s.total != 8 {
			t.Errorf("vllm: %d rows used, want 8 (its 4 FP8 and 4 0.25.1 fp8_block rows; the 4 eager ones left out)", s.total)
		}
	}
	for v, want := range map[string]bool{"0.24.0": true, "v0.24.1rc1": true, "": true, "0.25.0": false, "1.0": false, "0.9.2": true,
		"0.25.0rc1": false, "v0.24": true, "V0.25.1": false, "1": false, "0": true, "main": true} {
		if got := versionBefore(v, 0, 25); got != want {
			t.Errorf("versionBefore(%q, 0, 25) = %v, want %v", v, got, want)
		}
	}
}

// TestShippedVLLMFP8BlockGEMM pins what an fp8_block GEMM costs on the
// shipped H200 vLLM profile: the FP8 grid's measured point, 7447.1 ns at
// m, n, k = 32, 1024, 3072 (MiniMax-M2.5's qkv_proj at TP8 for 32
// decodes), where the eager-timed fp8_block row held 85.8 us.
func TestShippedVLLMFP8BlockGEMM(t *testing.T) {
	p, err := EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	got := p.QuantGEMM(32, 1024, 3072, cost.FP8Block)
	if want := p.QuantGEMM(32, 1024, 3072, cost.FP8); got != want {
		t.Errorf("fp8_block %.1f ns, FP8 %.1f ns: want the FP8 grid", got, want)
	}
	if math.Abs(got-7447.1) > 0.5 {
		t.Errorf("fp8_block GEMM 32 x 1024 x 3072: %.1f ns, want the measured FP8 point 7447.1 ns", got)
	}
	// SGLang's fp8_block table was timed under CUDA graphs and stays.
	s, err := EmbeddedProfileFor("h200_sxm", "sglang")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := s.QuantGEMM(32, 3072, 768, cost.FP8Block), s.QuantGEMM(32, 3072, 768, cost.FP8); a == b {
		t.Errorf("sglang fp8_block GEMM equals its FP8 one (%.1f ns): its own table was dropped", a)
	}
}

// TestEagerVLLMMLALeftOut checks that calibration drops vLLM's MLA kernel
// rows (aiconfigurator times them eagerly, host launch gaps included) and
// keeps the same rows of another engine and vLLM's MLA module rows.
func TestEagerVLLMMLALeftOut(t *testing.T) {
	ms := &Measurements{}
	for b := int64(1); b <= 4; b++ {
		for _, e := range []string{"vllm", "trtllm"} {
			for _, op := range []cost.Op{cost.OpContextMLA, cost.OpGenerationMLA} {
				ms.Rows = append(ms.Rows, Measurement{Op: op, GPU: "a100_sxm", Dtype: "bf16", KVDtype: "bf16", Engine: e, Version: "0.14.0",
					Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 300e3})
			}
		}
		ms.Rows = append(ms.Rows, Measurement{Op: cost.OpGenerationMLAModule, GPU: "a100_sxm", Dtype: "bf16", KVDtype: "bf16",
			Engine: "vllm", Version: "0.24.0", Quant: cost.BF16, Heads: 16, Batch: b, SeqLen: 1024, MedianNs: 300e3})
	}
	g, err := cost.LookupGPU("a100_sxm")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		engine           string
		cmla, gmla, gmod int
	}{{"vllm", 0, 0, 4}, {"trtllm", 4, 4, 0}} {
		s, err := selectRows(ms, g, c.engine)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.cmla) != c.cmla || len(s.gmla) != c.gmla || len(s.gmlaMod) != c.gmod {
			t.Errorf("%s: %d context and %d generation MLA kernel shapes, %d generation module shapes; want %d, %d, %d",
				c.engine, len(s.cmla), len(s.gmla), len(s.gmlaMod), c.cmla, c.gmla, c.gmod)
		}
	}
}
