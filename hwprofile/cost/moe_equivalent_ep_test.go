package cost

import (
	"math"
	"testing"
)

// TestMoEEquivalentEP: a MoE layer sharded by tensor parallelism over t
// GPUs, where the table measured no slice at TP t, costs as the measured
// expert-parallel layout of the same GPUs (TP 1, EP t): each rank does the
// same work in as many GEMM tiles. Without the mapping the nearest TP-1
// EP-1 slice, scaled by MoEWork, gives TP 8 an ideal 8-fold speedup
// (here 1/8 of 8 ms) where the table's EP 8 slice measures 2 ms. A table
// that measured the layer at a TP above 1 keeps its nearest slice.
func TestMoEEquivalentEP(t *testing.T) {
	base := BaseParams{LaunchNs: 1000, FlopsPerNs: 3e5, BytesPerNs: 3000}
	layer := func(tp, ep int, ns float64) MoESlice {
		return MoESlice{Hidden: 2880, Inter: 2880, Experts: 128, TopK: 4, TP: tp, EP: ep,
			Tokens: []int64{1024, 8192}, LatencyNs: []float64{ns / 8, ns}}
	}
	ep1, ep8 := layer(1, 1, 8e6), layer(1, 8, 2e6)
	tpOnly, err := compileMoE("moe", &MoETable{Precision: MXFP4, Base: base, Slices: []MoESlice{ep1, ep8}})
	if err != nil {
		t.Fatal(err)
	}
	q := MoEShape{Tokens: 8192, Hidden: 2880, Inter: 2880, Experts: 128, TopK: 4, TP: 8, EP: 1, Quant: MXFP4, Balanced: true}
	asEP := q
	asEP.TP, asEP.EP = 1, 8
	got, want := tpOnly.time(q), tpOnly.time(asEP)
	if math.Abs(got/want-1) > 1e-9 {
		t.Errorf("TP8 x EP1 without a TP-8 slice: %.0f ns, expected the EP-8 layout's %.0f", got, want)
	}
	if want < 1.9e6 || want > 2.1e6 {
		t.Errorf("EP 8 at a measured point: %.0f ns, expected the table's 2000000", want)
	}
	// TP 2 x EP 4 spans 8 GPUs too.
	q24 := q
	q24.TP, q24.EP = 2, 4
	if g := tpOnly.time(q24); math.Abs(g/want-1) > 1e-9 {
		t.Errorf("TP2 x EP4: %.0f ns, expected the EP-8 layout's %.0f", g, want)
	}
	// A table with a TP-8 slice of the layer keeps it.
	withTP, err := compileMoE("moe", &MoETable{Precision: MXFP4, Base: base, Slices: []MoESlice{ep1, ep8, layer(8, 1, 3e6)}})
	if err != nil {
		t.Fatal(err)
	}
	if g := withTP.time(q); g < 2.9e6 || g > 3.1e6 {
		t.Errorf("TP8 with a TP-8 slice: %.0f ns, expected the slice's 3000000", g)
	}
	// A table with a TP-4 slice of the layer extrapolates from it to TP 8
	// (the nearest slice), not from EP 8.
	withTP4, err := compileMoE("moe", &MoETable{Precision: MXFP4, Base: base, Slices: []MoESlice{ep1, ep8, layer(4, 1, 3e6)}})
	if err != nil {
		t.Fatal(err)
	}
	if g := withTP4.equivalentEP(q); g != q {
		t.Errorf("TP8 with a TP-4 slice mapped to %+v, expected it unchanged", g)
	}
	// More GPUs than experts are left as they are.
	few := q
	few.Experts, few.TP = 4, 8
	if g, w := tpOnly.time(few), tpOnly.equivalentEP(few); w != few {
		t.Errorf("TP 8 over 4 experts mapped to %+v (%.0f ns), expected it unchanged", w, g)
	}
}

// TestMoEEquivalentEPOtherLayer: a layer the table never measured (its
// nearest slice is another model's) is not remapped: the rule is about a
// measured layer missing one TP, not about other models' tables.
func TestMoEEquivalentEPOtherLayer(t *testing.T) {
	m, err := compileMoE("moe", &MoETable{Precision: FP8Block, Base: BaseParams{LaunchNs: 1000, FlopsPerNs: 3e5, BytesPerNs: 3000},
		Slices: []MoESlice{{Hidden: 2880, Inter: 2880, Experts: 128, TopK: 4, TP: 1, EP: 8, Tokens: []int64{1, 64}, LatencyNs: []float64{5e4, 2e5}}}})
	if err != nil {
		t.Fatal(err)
	}
	q := MoEShape{Tokens: 64, Hidden: 3072, Inter: 1536, Experts: 256, TopK: 8, TP: 4, EP: 1, Quant: FP8Block}
	if got := m.equivalentEP(q); got != q {
		t.Errorf("unmeasured layer mapped to %+v, expected it unchanged", got)
	}
}
