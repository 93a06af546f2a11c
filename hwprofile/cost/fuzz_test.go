package cost

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzLoadProfile: no profile YAML makes loading or a prediction panic.
func FuzzLoadProfile(f *testing.F) {
	gz, err := os.ReadFile("../profiles/a100_sxm.vllm.yaml.gz")
	if err != nil {
		f.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		f.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`version: 1
gpu: {name: x, key: x, bf16_tflops: 1, mem_bw_bytes_per_s: 1, link_bw_bytes_per_s: 1, link_latency_ns: 1}
quant_gemm: [{precision: fp8, base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, m: [1], n: [1], k: [1], latency_ns: [5]}]
context_mla: {base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, shapes: [{heads: 16, kv_cache: fp8, batch: [1, 2], seq_len: [8], latency_ns: [3, 4]}]}
moe: [{precision: nvfp4, base: {launch_ns: 1, flops_per_ns: 1, bytes_per_ns: 1}, shapes: [{hidden: 8, inter: 8, experts: 4, topk: 2, tp: 1, ep: 1, tokens: [1, 4], latency_ns: [2, 3]}]}]
`))
	f.Add([]byte("version: 1\ngpu: {name: x}\n"))
	f.Add([]byte("version: 1\ngemm: {m: [1, 2], n: [1], k: [1], ns: [1e30, .nan]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadProfile(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		s := AttnShape{Heads: 8, KVHeads: 1, HeadDim: 128}
		_ = p.GEMM(77, 5000, 3000)
		_ = p.ContextAttention(3, 700, 300, s)
		_ = p.GenerationAttention(50, 3000, s)
		_ = p.AllReduce(1e6, 4)
		_ = p.QuantGEMM(77, 5000, 3000, FP8)
		_ = p.ContextMLA(3, 700, 300, MLAShape{Heads: 16, KVCache: FP8})
		_ = p.GenerationMLA(50, 3000, MLAShape{Heads: 16})
		_ = p.MoE(MoEShape{Tokens: 9, Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 8, Quant: NVFP4})
		_ = p.AllToAllLink(8, 1e6)
	})
}
