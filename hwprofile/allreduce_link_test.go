package hwprofile

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestAllReduceLinkMatchesGrid checks that a ring of 2(n-1) hops over
// AllReduceLink(n, s) takes the grid-interpolated tensor-parallel
// all-reduce time (custom all-reduce or NCCL, TPAllReduce), so that
// the simulator's ring transfers (high LoD) and its alpha-beta collective
// (medium LoD) both follow the measurements.
func TestAllReduceLinkMatchesGrid(t *testing.T) {
	p, err := EmbeddedProfile("h100_sxm")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 4, 8} {
		for s := 1024.0; s <= 1<<28; s *= 4 {
			l := p.AllReduceLink(n, s)
			ring := 2 * float64(n-1) * l.TransferNs(s/float64(n))
			want := p.TPAllReduce(s, n)
			// Floating-point reassociation only.
			if math.Abs(ring-want) > 1e-9*want {
				t.Errorf("n=%d s=%.0f: ring over AllReduceLink %.1f ns, grid all-reduce %.1f ns", n, s, ring, want)
			}
			if !(l.LatencyNs >= 0) || !(l.BytesPerNs > 0) {
				t.Errorf("n=%d s=%.0f: link %+v", n, s, l)
			}
		}
	}
}

// TestTPAllReduceCustomForSmallMessages: a tensor-parallel all-reduce runs
// on the profile's measured custom all-reduce up to
// CustomAllReduceMaxBytes and on NCCL above it, and the decode-sized
// messages where the engines' one-shot kernel matters come out several
// times faster than NCCL's ring (H200 TRT-LLM: 3.5 us against 17 us at
// 16 KiB on 8 GPUs).
func TestTPAllReduceCustomForSmallMessages(t *testing.T) {
	p, err := EmbeddedProfileFor("h200_sxm", "trtllm")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 4, 8} {
		small := 16384.0
		custom, ok := p.Collective(cost.OpCustomAllReduce, small, n)
		if !ok {
			t.Fatal("the H200 TRT-LLM profile has no custom_all_reduce section")
		}
		if got := p.TPAllReduce(small, n); got != custom {
			t.Errorf("n=%d %.0f bytes: TPAllReduce %.0f ns, custom all-reduce %.0f ns", n, small, got, custom)
		}
		// The measured grids put NCCL at 2.5x to 5x the custom kernel here.
		if nccl := p.AllReduce(small, n); !(custom < nccl/2) {
			t.Errorf("n=%d: custom %.0f ns, NCCL %.0f ns: expected the custom kernel well under NCCL", n, custom, nccl)
		}
		big := 2.0 * cost.CustomAllReduceMaxBytes
		if got, want := p.TPAllReduce(big, n), p.AllReduce(big, n); got != want {
			t.Errorf("n=%d %.0f bytes: TPAllReduce %.0f ns, expected NCCL's %.0f ns above the custom limit", n, big, got, want)
		}
	}
	if got, want := p.TPAllReduce(16384, 16), p.AllReduce(16384, 16); got != want {
		t.Errorf("16 GPUs: TPAllReduce %.0f ns, expected NCCL's %.0f ns (no custom all-reduce beyond 8 GPUs)", got, want)
	}
}

// TestStaticFP8Activations: with static activation scales set, a
// TensorRT-LLM table's FP8 GEMMs cost the table's fixed FP8-over-BF16
// difference less than measured (StaticFP8ActivationNs: 10.7 us on H200);
// unset, or on another engine's table, or another precision, nothing
// changes.
func TestStaticFP8Activations(t *testing.T) {
	measured, err := EmbeddedProfileFor("h200_sxm", "trtllm")
	if err != nil {
		t.Fatal(err)
	}
	if d := measured.StaticFP8ActivationNs(); d != 0 {
		t.Errorf("static scales unset: saving %.0f ns, expected none", d)
	}
	trt := *measured // the same tables, for a deployment with static scales
	trt.StaticFP8Activations = true
	d := trt.StaticFP8ActivationNs()
	// The shipped fits: 14243 ns FP8 launch against 3509 ns BF16.
	if d < 10000 || d > 11500 {
		t.Fatalf("H200 TRT-LLM static-scale saving %.0f ns, expected about 10.7 us", d)
	}
	for _, s := range [][3]int{{1, 8192, 8192}, {64, 10240, 8192}, {8192, 57344, 8192}} {
		got, raw := trt.QuantGEMM(s[0], s[1], s[2], cost.FP8), measured.QuantGEMM(s[0], s[1], s[2], cost.FP8)
		if math.Abs(raw-d-got) > 1e-6*raw {
			t.Errorf("%v: FP8 GEMM %.0f ns, expected the table's %.0f ns less %.0f", s, got, raw, d)
		}
		if a, b := trt.QuantGEMM(s[0], s[1], s[2], cost.FP8Block), measured.QuantGEMM(s[0], s[1], s[2], cost.FP8Block); a != b {
			t.Errorf("%v: block-scaled FP8 changed: %.0f against %.0f ns", s, a, b)
		}
	}
	v, err := EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	vc := *v // the embedded profile is shared
	vc.StaticFP8Activations = true
	if d := vc.StaticFP8ActivationNs(); d != 0 {
		t.Errorf("vLLM table: static-scale saving %.0f ns, expected none (vLLM quantizes activations dynamically)", d)
	}
}
