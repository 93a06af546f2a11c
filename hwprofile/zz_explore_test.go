package hwprofile

import (
	"fmt"
	"os"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

func TestZZExplore(t *testing.T) {
	key, eng := os.Getenv("ZK"), os.Getenv("ZE")
	ms, err := ReadMeasurements(os.Getenv("ZM"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := EmbeddedProfileFor(key, eng)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.Rows {
		if m.Dtype != "bf16" || m.Prefix != 0 {
			continue
		}
		dec := m.Op == cost.OpGenerationMLAModule
		if !dec && m.Op != cost.OpContextMLAModule {
			continue
		}
		pa := cost.DeepSeekV3MLAModule.PartsNs(p, dec, int(m.Batch), int(m.SeqLen), int(m.Heads), m.Quant)
		var k float64
		kv := cost.BF16
		if m.KVDtype == "fp8" {
			kv = cost.FP8
		}
		sh := cost.MLAShape{Heads: int(m.Heads), KVLoRARank: 512, QKNopeDim: 128, QKRopeDim: 64, VHeadDim: 128, KVCache: kv}
		if dec {
			k = p.GenerationMLA(int(m.Batch), int(m.SeqLen), sh)
		} else {
			k = p.ContextMLA(int(m.Batch), int(m.SeqLen), 0, sh)
		}
		fmt.Printf("%s %s kv=%s h=%d b=%d s=%d mod=%.0f parts=%.0f kern=%.0f\n", m.Op, m.Quant, kv, m.Heads, m.Batch, m.SeqLen, m.LatencyNs(), pa, k)
	}
}
