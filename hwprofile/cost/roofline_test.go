package cost

import (
	"math"
	"testing"
)

func mustGPU(t *testing.T, name string) GPU {
	t.Helper()
	g, err := LookupGPU(name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestPeakFLOPSByPrecision(t *testing.T) {
	for _, c := range []struct {
		gpu  string
		p    Precision
		want float64 // TFLOP/s
	}{
		{"h200", BF16, 989}, {"h200", FP8, 1978}, {"h200", FP8Block, 1978}, {"h200", W4A8MXFP4, 1978},
		{"h200", NVFP4, 1978},                       // no FP4 tensor cores: the FP8 rate
		{"h200", MXFP4, 989}, {"h200", INT4WO, 989}, // weight-only: BF16 compute
		{"a100", FP8, 312}, // no FP8 tensor cores
		{"b200", NVFP4, 9000}, {"gb200", NVFP4, 10000}, {"gb200", FP8, 5000}, {"l40s", FP8, 733},
	} {
		if got := mustGPU(t, c.gpu).PeakFLOPS(c.p) / 1e12; got != c.want {
			t.Errorf("%s %s: %v TFLOP/s, expected %v", c.gpu, c.p, got, c.want)
		}
	}
	if d := mustGPU(t, "gb200").LinkDomain; d != 72 {
		t.Errorf("GB200 NVLink domain %d, expected 72 (NVL72)", d)
	}
}

func TestParsePrecision(t *testing.T) {
	for s, want := range map[string]Precision{"bfloat16": BF16, "FP8": FP8, "fp8_block": FP8Block, "nvfp4": NVFP4,
		"w4a16_mxfp4": MXFP4, "w4a8_mxfp4_mxfp8": W4A8MXFP4, "int4_wo": INT4WO} {
		got, err := ParsePrecision(s)
		if err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; expected %v", s, got, err, want)
		}
	}
	for _, p := range Precisions() {
		if got, err := ParsePrecision(p.String()); err != nil || got != p {
			t.Errorf("%s does not round-trip: %v, %v", p, got, err)
		}
	}
	if _, err := ParsePrecision("int3_magic"); err == nil {
		t.Error("an unknown quant mode parsed")
	}
}

func TestRooflineQuantGEMM(t *testing.T) {
	r := NewRoofline(mustGPU(t, "h200"))
	if r.QuantGEMM(64, 4096, 4096, BF16) != r.GEMM(64, 4096, 4096) {
		t.Error("QuantGEMM at BF16 differs from GEMM")
	}
	// Compute-bound: FP8 runs at twice the BF16 rate.
	big := 8192
	bf, f8 := r.GEMM(big, big, big)-r.LaunchNs, r.QuantGEMM(big, big, big, FP8)-r.LaunchNs
	if math.Abs(bf/f8-2) > 1e-9 {
		t.Errorf("compute-bound BF16/FP8 time ratio %.4f, expected 2", bf/f8)
	}
	// Memory-bound decode (m = 1): the weights dominate, so the time
	// follows the weight bytes: 2, 1 and 0.53125 (MXFP4 with its scales).
	w := func(p Precision) float64 { return r.QuantGEMM(1, 8192, 8192, p) - r.LaunchNs }
	if got := w(BF16) / w(FP8); math.Abs(got-2) > 0.01 {
		t.Errorf("decode BF16/FP8 %.3f, expected about 2", got)
	}
	if got := w(BF16) / w(MXFP4); math.Abs(got-2/0.53125) > 0.02 {
		t.Errorf("decode BF16/MXFP4 %.3f, expected about %.3f", got, 2/0.53125)
	}
}

// TestRooflineMoEActiveExperts hand-checks that a one-token MoE step reads
// only the experts it routes to: DeepSeek-R1 (256 experts, top-8, hidden
// 7168, expert width 2048) in FP8 on one H200 reads 8 experts x 3 matrices
// x 7168 x 2048 bytes = 352,321,536 bytes, at 80% of 4.8 TB/s 91.75 us.
func TestRooflineMoEActiveExperts(t *testing.T) {
	r := NewRoofline(mustGPU(t, "h200"))
	s := MoEShape{Tokens: 1, Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 1, Quant: FP8}
	_, bytes := MoEWork(s)
	weights := 8.0 * 3 * 7168 * 2048
	// The activations add 8 x (7168 x 3 + 3 x 2048 x 2) bytes.
	if act := bytes - weights; math.Abs(act-8*(7168*3+3*2048*2)) > 1e-3 {
		t.Errorf("MoE bytes %v: %v beyond the 8 experts' weights", bytes, act)
	}
	want := 2*r.LaunchNs + bytes/(4800e9*0.8)*1e9
	if got := r.MoE(s); math.Abs(got-want) > 1e-6*want || math.Abs(got-2*r.LaunchNs-91750) > 100 {
		t.Errorf("MoE time %.0f ns, expected %.0f (about 91.75 us of weight reads)", got, want)
	}
	// A large batch touches every expert: EP8 holds 32 of them.
	s.Tokens, s.EP = 4096, 8
	_, bytes = MoEWork(s)
	if all := 32.0 * 3 * 7168 * 2048; bytes < all || bytes > all*1.2 {
		t.Errorf("EP8 large batch reads %v bytes, expected the 32 local experts (%v) plus activations", bytes, all)
	}
}

func TestRooflineCollectivesAndMLA(t *testing.T) {
	r := NewRoofline(mustGPU(t, "b200"))
	for _, n := range []int{2, 8} {
		s := float64(16 << 20)
		l := r.AllToAllLink(n, s)
		if got, want := float64(n-1)*l.TransferNs(s/float64(n)), r.AllToAll(s, n); math.Abs(got-want) > 1e-9*want {
			t.Errorf("n=%d: all-to-all over its link %v, AllToAll %v", n, got, want)
		}
		if r.AllGather(s, n) <= 0 || r.ReduceScatter(s, n) != r.AllGather(s, n) {
			t.Errorf("n=%d: all-gather %v, reduce-scatter %v", n, r.AllGather(s, n), r.ReduceScatter(s, n))
		}
	}
	if r.AllToAll(1<<20, 1) != 0 {
		t.Error("all-to-all on one GPU costs time")
	}
	s := MLAShape{Heads: 16}
	if a, b := r.GenerationMLA(64, 4096, s), r.GenerationMLA(64, 8192, s); !(a > 0 && b > a) {
		t.Errorf("generation MLA %v at 4k, %v at 8k: expected positive and growing", a, b)
	}
	fp8 := s
	fp8.KVCache = FP8
	if r.GenerationMLA(64, 8192, fp8) >= r.GenerationMLA(64, 8192, s) {
		t.Error("an FP8 latent cache is not cheaper to read than BF16")
	}
	if a, b := r.ContextMLA(1, 1024, 0, s), r.ContextMLA(1, 1024, 4096, s); !(a > 0 && b > a) {
		t.Errorf("context MLA %v without prefix, %v with: expected positive and growing", a, b)
	}
}
