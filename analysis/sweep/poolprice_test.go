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

// TestPoolGPUColumn: a sweep point of a disaggregated cluster names each
// pool's GPU in its gpu column when they differ (one name when they do
// not); setting a pool's GPU drops that pool's profile file (it was
// calibrated on the old GPU) but keeps roofline, as does setting
// hardware.gpu for a pool without a GPU of its own; and the point's ID
// covers a pool's profile file by its absolute path, so one relative name
// under two directories gives two IDs.
func TestPoolGPUColumn(t *testing.T) {
	base := []byte(`simulation: {lod: medium}
model: {name: Llama-3-8B}
hardware: {gpu: H200-SXM}
cluster:
  disaggregated:
    prefill: {workers: 1, profile: roofline}
    decode: {workers: 1, profile: h200.yaml}
workload: {synthetic: {rate: 1, count: 1}}
`)
	s := &Spec{Base: base, Dir: t.TempDir(), Grid: []Axis{{"cluster.disaggregated.decode.gpu", []string{"H200-SXM", "H100-SXM"}}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"H200-SXM", "H200-SXM prefill + H100-SXM decode"} {
		pt := p.Points[i]
		if pt.GPU != want {
			t.Errorf("point %d: gpu %q, expected %q", i, pt.GPU, want)
		}
		if d := pt.Config.Cluster.Disaggregated; d.Decode.Profile != "" || d.Prefill.Profile != "roofline" {
			t.Errorf("point %d: pool profiles %q/%q, expected roofline/\"\" (the decode file dropped with its GPU)", i, d.Prefill.Profile, d.Decode.Profile)
		}
	}
	// hardware.gpu is the GPU of a pool without its own: its file goes too.
	s.Grid = []Axis{{"hardware.gpu", []string{"H100-SXM"}}}
	if p, err = NewPlan(s); err != nil {
		t.Fatal(err)
	}
	if d := p.Points[0].Config.Cluster.Disaggregated; d.Decode.Profile != "" || d.Prefill.Profile != "roofline" {
		t.Errorf("hardware.gpu swept: pool profiles %q/%q, expected roofline/\"\" (the decode file dropped with the GPU it inherits)", d.Prefill.Profile, d.Decode.Profile)
	}
	s.Grid = []Axis{{"rate", []string{"1"}}}
	var ids []string
	for range 2 {
		s.Dir = t.TempDir()
		p, err := NewPlan(s)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.Points[0].ID)
	}
	if ids[0] == ids[1] {
		t.Errorf("decode.profile h200.yaml under two directories: one point ID %s, expected two", ids[0])
	}
}
