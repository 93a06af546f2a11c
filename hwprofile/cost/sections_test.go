package cost

import (
	"math"
	"strings"
	"testing"
)

const smallEngineProfile = `version: 1
gpu: {name: x, key: x, bf16_tflops: 1, mem_bw_bytes_per_s: 1, link_bw_bytes_per_s: 1, link_latency_ns: 1}
quant_gemm: [{precision: fp8, base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, m: [1], n: [1], k: [1], latency_ns: [5]}]
context_mla: {base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, shapes: [{heads: 16, kv_cache: fp8, batch: [1, 2], seq_len: [8], latency_ns: [3, 4]}]}
moe: [{precision: nvfp4, base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, shapes: [{hidden: 8, inter: 8, experts: 4, topk: 2, tp: 1, ep: 1, tokens: [1, 4], latency_ns: [2, 3]}]}]
`

// The quantised GEMM, MLA and MoE sections reproduce their stored points
// and reject impossible values with the field's name.
func TestEngineSections(t *testing.T) {
	p, err := LoadProfile(strings.NewReader(smallEngineProfile), "small.yaml")
	if err != nil {
		t.Fatal(err)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9*b } // exp(log(x)) round trip
	if got := p.QuantGEMM(1, 1, 1, FP8); !near(got, 5) {
		t.Errorf("fp8 GEMM at the stored point %v, expected 5", got)
	}
	if got := p.ContextMLA(2, 8, 0, MLAShape{Heads: 16, KVCache: FP8}); !near(got, 4) {
		t.Errorf("context MLA at the stored point %v, expected 4", got)
	}
	s := MoEShape{Tokens: 4, Hidden: 8, Inter: 8, Experts: 4, TopK: 2, TP: 1, EP: 1, Quant: NVFP4}
	if got := p.MoE(s); !near(got, 3) {
		t.Errorf("MoE at the stored point %v, expected 3", got)
	}
	// A precision without a section: the roofline.
	s.Quant = BF16
	if got, want := p.MoE(s), NewRoofline(p.GPU()).MoE(s); got != want {
		t.Errorf("bf16 MoE without a section %v, expected the roofline's %v", got, want)
	}
	for _, c := range []struct{ from, to, want string }{
		{"precision: fp8, base", "precision: bf16, base", "quant_gemm[0].precision: found bf16"},
		{"kv_cache: fp8", "kv_cache: nvfp4", "context_mla.shapes[0].kv_cache: found nvfp4, expected bf16 or fp8"},
		{"topk: 2", "topk: 9", "moe[0].shapes[0].topk: found 9, expected at most experts (4)"},
		{"tokens: [1, 4]", "tokens: [4, 1]", "moe[0].shapes[0].tokens[1]: found 1 after 4"},
		{"precision: nvfp4", "precision: fp3", `unknown quant mode "fp3"`},
	} {
		bad := strings.Replace(smallEngineProfile, c.from, c.to, 1)
		if _, err := LoadProfile(strings.NewReader(bad), "bad.yaml"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s -> %s: %v, expected %q", c.from, c.to, err, c.want)
		}
	}
}
