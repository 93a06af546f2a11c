package sweep

import (
	"strings"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

// TestPoolPrice: a disaggregated cluster whose decode pool runs on a GPU
// of its own is priced per GPU-hour as the mean over its GPUs: 2 prefill
// GPUs at $3 and 6 decode GPUs at $2 cost (6 + 12) / 8 = $2.25 a GPU-hour;
// pools on the cluster's GPU keep its price, and a pool GPU without a
// price is an error naming the field.
func TestPoolPrice(t *testing.T) {
	cfg := func(decodeGPU string) *replay.Config {
		c, err := replay.ParseConfig([]byte(`simulation: {lod: medium}
model: {name: Llama-3-8B}
hardware: {gpu: H200-SXM}
cluster:
  disaggregated:
    prefill: {workers: 1, tensor_parallel: 2}
    decode: {workers: 3, tensor_parallel: 2` + decodeGPU + `}
workload: {synthetic: {rate: 1, count: 1}}
`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	prices := Prices{"H200-SXM": 3, "H100-SXM": 2}
	if p, err := poolPrice(cfg(", gpu: H100-SXM"), prices, 3); err != nil || p != 2.25 {
		t.Errorf("mixed pools: $%v per GPU-hour (%v), expected 2.25", p, err)
	}
	if p, err := poolPrice(cfg(""), prices, 3); err != nil || p != 3 {
		t.Errorf("pools on H200: $%v per GPU-hour (%v), expected 3", p, err)
	}
	if _, err := poolPrice(cfg(", gpu: L40S"), prices, 3); err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode.gpu: prices: no price for GPU L40S") {
		t.Errorf("unpriced pool GPU: %v", err)
	}
}
