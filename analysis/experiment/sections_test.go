package experiment

import (
	"errors"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/replay"
)

// moeOn is Qwen3-30B-A3B (a BF16 MoE model) served by engine on gpu.
func moeOn(t *testing.T, gpu, engine, profile string) *replay.Config {
	t.Helper()
	c, err := replay.ParseConfig([]byte(`name: moe-sections
simulation: {lod: medium, seed: 3}
model: {name: Qwen3-30B-A3B}
hardware: {gpu: ` + gpu + `, profile: "` + profile + `"}
scheduler: {engine: ` + engine + `}
cluster: {replicas: 1, tensor_parallel: 2}
workload:
  synthetic: {arrival: poisson, rate: 2, count: 4, prompt: {kind: fixed, mean: 256}, output: {kind: fixed, mean: 8}}
`))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMissingSectionIsAnError: a MoE model on the shipped B200 SGLang
// profile, which has no MoE section, is refused before any output with
// an error naming the field, profile, GPU, engine and section; the same
// run with the roofline named, or on an engine with the section, runs.
func TestMissingSectionIsAnError(t *testing.T) {
	_, err := New(moeOn(t, "B200", "sglang", ""))
	if !errors.Is(err, hwprofile.ErrMissingSection) {
		t.Fatalf("Qwen3-30B-A3B on B200 sglang: %v, want ErrMissingSection", err)
	}
	for _, w := range []string{"hardware.profile: missing profile section", "b200_sxm/sglang", "B200-SXM", "sglang kernels", "moe section for bf16 experts"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q does not say %q", err, w)
		}
	}
	for _, c := range [][2]string{{"sglang", "roofline"}, {"vllm", ""}} {
		e, err := New(moeOn(t, "B200", c[0], c[1]))
		if err != nil {
			t.Fatalf("engine %s, profile %q: %v", c[0], c[1], err)
		}
		if _, _, err := e.Run(&replay.Collect{}, nil); err != nil {
			t.Fatalf("engine %s, profile %q: %v", c[0], c[1], err)
		}
	}
}

// TestSectionsOfUnusedProfileNotChecked: a disaggregated cluster whose
// pools both run on a GPU of their own (H100) never prices a layer by
// hardware.profile (B200's shipped SGLang profile, without an MoE
// section), so the run is not refused for that profile's sections; a
// pool left on hardware.gpu still is, naming the pool.
func TestSectionsOfUnusedProfileNotChecked(t *testing.T) {
	for _, both := range []bool{true, false} {
		c := moeOn(t, "B200", "sglang", "")
		c.Cluster = replay.ClusterConfig{Disaggregated: &replay.DisaggConfig{
			Prefill: replay.PoolConfig{Workers: 1, TensorParallel: 2, GPU: "H100"},
			Decode:  replay.PoolConfig{Workers: 1, TensorParallel: 2}}}
		if both {
			c.Cluster.Disaggregated.Decode.GPU = "H100"
		}
		c.ApplyDefaults()
		_, err := New(c)
		if both && err != nil {
			t.Errorf("both pools on H100: %v", err)
		}
		if !both && (!errors.Is(err, hwprofile.ErrMissingSection) || !strings.Contains(err.Error(), "b200_sxm/sglang")) {
			t.Errorf("decode pool on B200: %v, want ErrMissingSection for b200_sxm/sglang", err)
		}
	}
}
