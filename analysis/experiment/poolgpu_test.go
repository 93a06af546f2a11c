package experiment

import (
	"strings"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

// disaggPoolGPU is a 1P+1D SGLang cluster of Llama-3-8B on H200 whose
// decode pool runs on decodeGPU.
func disaggPoolGPU(t *testing.T, decodeGPU string) *replay.Config {
	t.Helper()
	c, err := replay.ParseConfig([]byte(`name: pool-gpu
simulation: {lod: medium, seed: 7}
model: {name: Llama-3-8B}
hardware: {gpu: H200-SXM}
scheduler: {engine: sglang}
cluster:
  disaggregated:
    prefill: {workers: 1}
    decode: {workers: 1, gpu: ` + decodeGPU + `}
workload:
  synthetic:
    arrival: poisson
    rate: 2
    count: 20
    prompt: {kind: fixed, mean: 1024}
    output: {kind: fixed, mean: 128}
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPoolGPUShippedProfiles: a decode pool on its own GPU takes that
// GPU's shipped profile for the run's engine, as hardware.gpu takes its
// own: on H100 it decodes slower than on H200 (higher mean TPOT), its
// pool summary names the GPU, and the prefill pool (H200 in both) is
// unchanged.
func TestPoolGPUShippedProfiles(t *testing.T) {
	var tpot [2]float64
	for i, g := range []string{"H200-SXM", "H100-SXM"} {
		e, err := New(disaggPoolGPU(t, g))
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && (e.decodeCost == nil || e.decodeCost.GPU().Name != g || !strings.Contains(e.decodeCost.Name(), "sglang")) {
			t.Fatalf("decode pool on %s: cost model %v, expected H100's shipped SGLang profile", g, e.decodeCost)
		}
		var col replay.Collect
		st, _, err := e.Run(&col, nil)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, r := range col.Results {
			sum += float64(r.Completion-r.FirstToken) / float64(r.OutputTokens-1)
		}
		tpot[i] = sum / float64(len(col.Results))
		want := map[int]string{0: "", 1: g}[i]
		if d := st.Disaggregated; d.Decode.GPU != want || d.Prefill.GPU != "" {
			t.Errorf("decode on %s: pool GPUs %q/%q, expected \"\"/%q", g, d.Prefill.GPU, d.Decode.GPU, want)
		}
	}
	t.Logf("mean TPOT: decode on H200 %.0f ns, on H100 %.0f ns", tpot[0], tpot[1])
	if !(tpot[1] > 1.1*tpot[0]) {
		t.Errorf("mean TPOT %.0f ns with decode on H100, %.0f on H200: expected H100 slower", tpot[1], tpot[0])
	}
}

// TestPoolGPUErrors: an unknown pool GPU, and a pool on its own GPU with a
// calibrated profile file (which describes hardware.gpu only), are
// errors naming the pool's gpu field.
func TestPoolGPUErrors(t *testing.T) {
	if _, err := New(disaggPoolGPU(t, "H300")); err == nil || !strings.Contains(err.Error(), `cluster.disaggregated.decode.gpu: cost: unknown GPU "H300"`) {
		t.Errorf("unknown decode GPU: %v", err)
	}
	c := disaggPoolGPU(t, "H100-SXM")
	c.Hardware.Profile = writeFile(t, t.TempDir(), "h200.yaml", "not used")
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode.gpu: H100-SXM, but hardware.profile") {
		t.Errorf("profile file with a pool GPU: %v", err)
	}
}
