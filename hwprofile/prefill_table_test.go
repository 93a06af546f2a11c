package hwprofile

import (
	"math"
	"sort"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestLlama70BPrefillFollowsVLLMTable checks the shipped H200 vLLM profile
// against the vLLM 0.24.0 kernel tables it was built from, at the shapes of
// a Llama-3.1-70B FP8 prefill (hidden 8192, 64 query and 8 KV heads of
// 128, intermediate 28672) on TP 1, 2, 4 and 8, at 1024 and 8192 tokens:
// the per-tensor FP8 QKV, O, gate-up and down GEMMs and the causal context
// attention (BF16 KV cache). The dev set's vLLM rows of that model measure
// a TTFT above lodsim's kernels that falls with TP as the GPU work does
// (BENCHMARKS.md); this pins that the kernels are not the cause: the
// profile reproduces the table at these shapes, so the shortfall lies
// between the table and the serving engine, not in the fit.
//
// A shape the table measured must come out within 3 % (the held-out GEMM
// MAPE is 3.0 %, and measured grid points are reproduced exactly); one
// between two measured n (or k) is compared with the straight line
// between them (a large GEMM's time is linear in n and k once the tiles
// fill the GPU), within 6 %, the interpolation being multilinear in the
// logs.
func TestLlama70BPrefillFollowsVLLMTable(t *testing.T) {
	const dir = "data/aiconfigurator/h200_sxm/"
	ms, err := ReadMeasurements(dir+"gemm/vllm/0.24.0/gemm_perf.parquet", dir+"attention/vllm/0.24.0/context_attention_perf.parquet")
	if err != nil {
		t.Fatal(err)
	}
	type mnk struct{ m, n, k int64 }
	gemm := map[mnk]float64{}
	attn := map[[3]int64]float64{} // seq, heads, kv heads
	for i := range ms.Rows {
		r := &ms.Rows[i]
		switch {
		case r.Op == cost.OpGEMM && r.Quant == cost.FP8:
			gemm[mnk{r.M, r.N, r.K}] = r.LatencyNs()
		case r.Op == cost.OpContextAttention && r.Batch == 1 && r.Prefix == 0 && r.Window == 0 && r.HeadDim == 128 &&
			(r.KVDtype == "" || r.KVDtype == "bf16"):
			attn[[3]int64{r.SeqLen, r.Heads, r.KVHeads}] = r.LatencyNs()
		}
	}
	p, err := EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	// table is the measured time of (m, n, k), or the straight line
	// between the nearest measured n (then k) on either side.
	var ns, ks []int64
	for s := range gemm {
		ns, ks = append(ns, s.n), append(ks, s.k)
	}
	ns, ks = uniq(ns), uniq(ks)
	table := func(m, n, k int64) (float64, bool) {
		if v, ok := gemm[mnk{m, n, k}]; ok {
			return v, true
		}
		line := func(axis []int64, x int64, at func(int64) (float64, bool)) (float64, bool) {
			i := sort.Search(len(axis), func(i int) bool { return axis[i] >= x })
			if i == 0 || i == len(axis) {
				return 0, false
			}
			lo, okl := at(axis[i-1])
			hi, okh := at(axis[i])
			f := float64(x-axis[i-1]) / float64(axis[i]-axis[i-1])
			return lo + f*(hi-lo), okl && okh
		}
		if !contains(ks, k) {
			return line(ks, k, func(k int64) (float64, bool) { v, ok := gemm[mnk{m, n, k}]; return v, ok })
		}
		return line(ns, n, func(n int64) (float64, bool) { v, ok := gemm[mnk{m, n, k}]; return v, ok })
	}
	const h, heads, kvHeads, hd, inter = 8192, 64, 8, 128, 28672
	for _, tp := range []int64{1, 2, 4, 8} {
		shapes := []struct {
			name string
			n, k int64
		}{
			{"qkv", (heads + 2*kvHeads) / tp * hd, h},
			{"o", h, heads / tp * hd},
			{"gate_up", 2 * inter / tp, h},
			{"down", h, inter / tp},
		}
		for _, m := range []int64{1024, 8192} {
			for _, s := range shapes {
				want, ok := table(m, s.n, s.k)
				if !ok {
					t.Fatalf("tp %d %s: the table has no FP8 GEMM at or around m=%d n=%d k=%d", tp, s.name, m, s.n, s.k)
				}
				_, exact := gemm[mnk{m, s.n, s.k}]
				tol := 0.06
				if exact {
					tol = 0.03
				}
				got := p.QuantGEMM(int(m), int(s.n), int(s.k), cost.FP8)
				t.Logf("tp %d %-7s m=%-4d n=%-5d k=%-5d profile %8.1f us table %8.1f us (exact %v)", tp, s.name, m, s.n, s.k, got/1e3, want/1e3, exact)
				if r := got / want; math.Abs(r-1) > tol {
					t.Errorf("tp %d %s m=%d n=%d k=%d: profile %.1f us, table %.1f us (ratio %.3f, exact point %v): want within %.0f %%",
						tp, s.name, m, s.n, s.k, got/1e3, want/1e3, r, exact, tol*100)
				}
			}
			want, ok := attn[[3]int64{m, heads / tp, kvHeads / tp}]
			if !ok {
				t.Fatalf("tp %d: the table has no context attention at s=%d, %d/%d heads", tp, m, heads/tp, kvHeads/tp)
			}
			got := p.ContextAttention(1, int(m), 0, cost.AttnShape{Heads: int(heads / tp), KVHeads: int(kvHeads / tp), HeadDim: hd})
			t.Logf("tp %d attention s=%d profile %.1f us table %.1f us", tp, m, got/1e3, want/1e3)
			if r := got / want; math.Abs(r-1) > 0.03 {
				t.Errorf("tp %d context attention s=%d: profile %.1f us, table %.1f us (ratio %.3f): want within 3 %%", tp, m, got/1e3, want/1e3, r)
			}
		}
	}
}

func contains(v []int64, x int64) bool {
	i := sort.Search(len(v), func(i int) bool { return v[i] >= x })
	return i < len(v) && v[i] == x
}
