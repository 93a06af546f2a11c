package cost

import (
	"math"
	"testing"
)

// TestMoERandomRouting: the MoE tables were measured with balanced routing
// (Tokens x TopK distinct experts until all are hit); random routing hits
// E x (1 - (1 - k/E)^T) and a rank reads only those experts' weights. At
// T x k = E (32 tokens of DeepSeek-R1's 256 experts, top 8) that is 1 - 1/e
// = 63 % of the experts, so the weight bytes and a memory-bound layer's
// time drop by about a third; one token hits k experts either way.
func TestMoERandomRouting(t *testing.T) {
	s := MoEShape{Tokens: 32, Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 8, Quant: FP8Block}
	_, rb := MoEWork(s)
	_, bb := BalancedMoEWork(s)
	// weight bytes dominate at 32 tokens; the activations are under 1 %.
	if r := rb / bb; r < 0.62 || r > 0.65 {
		t.Errorf("random/balanced bytes at T x k = E: %.3f, expected about 1 - 1/e = 0.632", r)
	}
	one := s
	one.Tokens = 1
	_, r1 := MoEWork(one)
	_, b1 := BalancedMoEWork(one)
	if math.Abs(r1/b1-1) > 1e-12 { // the two formulas round differently
		t.Errorf("one token: random %g bytes, balanced %g, expected equal (k experts either way)", r1, b1)
	}
	p, err := compileMoE("moe", &MoETable{Precision: FP8Block, Base: BaseParams{LaunchNs: 1000, FlopsPerNs: 3e5, BytesPerNs: 3000},
		Slices: []MoESlice{{Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8, TP: 1, EP: 8,
			Tokens: []int64{1, 16, 32, 64}, LatencyNs: []float64{40e3, 190e3, 360e3, 520e3}}}})
	if err != nil {
		t.Fatal(err)
	}
	bal := s
	bal.Balanced = true
	// At a measured token count the balanced query is the table (to
	// rounding in the log-space grid).
	if got := p.time(bal); got < 359e3 || got > 361e3 {
		t.Errorf("balanced at a measured point: %.0f ns, expected the table's 360000", got)
	}
	if r := p.time(s) / p.time(bal); r > 0.8 || r < 0.6 {
		t.Errorf("random/balanced time at T x k = E: %.3f, expected the memory-bound ratio of about 0.65", r)
	}
}
