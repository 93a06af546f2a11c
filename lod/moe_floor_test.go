package lod

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
)

// TestMoEExpertsNotFasterThanHBM: DeepSeek-R1's routed experts at MoE TP8
// on the H200 SGLang profile take at least the time the H200's HBM (4.8
// TB/s) takes to read the FP8 experts the tokens hit, 3 x 7168 x 2048 / 8
// bytes each a rank (hbmReadNs). The table measures 247-257 us at 32-128
// tokens, below the 294 us of all 256 experts' 1.41 GB; at 64 tokens
// (ExpectedExperts 223.4) the floor is 256 us.
func TestMoEExpertsNotFasterThanHBM(t *testing.T) {
	cm, err := hwprofile.EmbeddedProfileFor("h200_sxm", "sglang")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlanner(lookup(t, "DeepSeek-R1"), cm, 8, 1)
	if err != nil {
		t.Fatal(err)
	}
	const perExpert = 3 * 7168 * 2048 / 8 // FP8 bytes of one expert on a rank
	bw := cm.GPU().MemBWBytes
	if bw != 4.8e12 {
		t.Fatalf("H200 HBM bandwidth %v, expected 4.8e12", bw)
	}
	for tok := 1; tok <= 1024; tok *= 2 {
		d := p.moeFor(tok)
		floor := d.experts * perExpert / bw * 1e9
		if float64(d.expertNs) < floor-1 {
			t.Errorf("%d tokens: experts in %d ns, below the %.0f ns HBM read of %.1f experts", tok, d.expertNs, floor, d.experts)
		}
	}
	if d := p.moeFor(64); d.expertNs < 255_000 || d.expertNs > 257_000 {
		t.Errorf("64 tokens: experts in %d ns, expected the HBM floor, about 256 us (the table's random-routing time is 220 us)", d.expertNs)
	}
}
