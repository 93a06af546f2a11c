package lod

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestStepUsesCustomAllReduce: a decode step's tensor-parallel
// all-reduces cost what the profile measured for the engine's custom
// all-reduce (two per layer), not NCCL's ring, and a prefill whose
// messages exceed cost.CustomAllReduceMaxBytes goes back to NCCL.
func TestStepUsesCustomAllReduce(t *testing.T) {
	p, err := hwprofile.EmbeddedProfileFor("h200_sxm", "trtllm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := LookupModel("Llama-3.1-70B")
	if err != nil {
		t.Fatal(err)
	}
	for _, tp := range []int{2, 4, 8} {
		pl, err := NewPlanner(m, p, tp, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range []Batch{
			{Decodes: 1, DecodeCtx: 1024, Sampled: 1},
			{Decodes: 64, DecodeCtx: 64 * 1024, Sampled: 64},
			{Chunks: []Chunk{{Q: 8192}}, Sampled: 1},
		} {
			var c [1]StageCost
			pl.Plan(&b, c[:])
			s := float64(b.Tokens() * m.Hidden * m.DTypeBytes)
			want := p.AllReduce(s, tp)
			if s <= cost.CustomAllReduceMaxBytes {
				want, _ = p.Collective(cost.OpCustomAllReduce, s, tp)
			}
			want *= float64(2 * m.Layers)
			got := float64(c[0].CollectiveNs(tp))
			// Each all-reduce is 2(tp-1) hops rounded to whole ns: at most
			// one ns per hop.
			if tol := float64(2*m.Layers*2*(tp-1)) + 1; math.Abs(got-want) > tol {
				t.Errorf("TP%d %d tokens: all-reduces %.0f ns per step, expected %.0f ns", tp, b.Tokens(), got, want)
			}
		}
	}
}
