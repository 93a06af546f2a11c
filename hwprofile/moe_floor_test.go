package hwprofile

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestMoENotFasterThanHBM: no shipped profile prices an MoE layer below
// the time its GPU's HBM takes to read the weights the layer's tokens hit
// (the profile's MoE is floored there, cost.Profile.MoE). aiconfigurator's
// H200 SGLang fp8_block table measures DeepSeek-R1's layer at MoE TP8 in
// 247-257 us from 32 to 128 tokens, when all 256 experts' 1.41 GB a rank
// take 294 us at the H200's 4.8 TB/s.
func TestMoENotFasterThanHBM(t *testing.T) {
	shapes := []cost.MoEShape{
		{Hidden: 7168, Inter: 2048, Experts: 256, TopK: 8}, // DeepSeek-R1
		{Hidden: 4096, Inter: 1536, Experts: 128, TopK: 8}, // Qwen3-235B-A22B
		{Hidden: 2880, Inter: 2880, Experts: 128, TopK: 4}, // gpt-oss-120b
		{Hidden: 3072, Inter: 1536, Experts: 256, TopK: 8}, // MiniMax-M2.5
	}
	checked := 0
	for _, key := range EmbeddedKeys() {
		for _, engine := range EmbeddedEngines(key) {
			p, err := EmbeddedProfileFor(key, engine)
			if err != nil {
				t.Fatal(err)
			}
			bw := p.GPU().MemBWBytes
			for q := cost.Precision(0); q < cost.Precision(8); q++ {
				if !p.HasMoE(q) {
					continue
				}
				for _, s := range shapes {
					for _, par := range [][2]int{{1, 1}, {2, 1}, {4, 1}, {8, 1}, {1, 8}} {
						for tok := 1; tok <= 16384; tok *= 2 {
							for _, bal := range []bool{true, false} {
								s := s
								s.Tokens, s.TP, s.EP, s.Quant, s.Balanced = tok, par[0], par[1], q, bal
								_, b := cost.MoEWork(s)
								if bal {
									_, b = cost.BalancedMoEWork(s)
								}
								floor := b / bw * 1e9
								if got := p.MoE(s); got < floor-1 {
									t.Errorf("%s/%s: MoE %+v in %.0f ns, below the %.0f ns its %.2f GB take at %.1f TB/s",
										key, engine, s, got, floor, b/1e9, bw/1e12)
								}
								checked++
							}
						}
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no embedded profile has an MoE section")
	}
}
