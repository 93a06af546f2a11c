package experiment

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile"
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

// writeShipped writes the shipped SGLang profile of gpu to dir/name with
// its per-step overhead set to stepNs, so that a run shows whether the
// file's numbers reached it.
func writeShipped(t *testing.T, dir, name, gpu string, stepNs float64) string {
	t.Helper()
	p, err := hwprofile.ShippedProfile(gpu, "sglang")
	if err != nil {
		t.Fatal(err)
	}
	cp := *p
	cp.Overhead.StepNs = stepNs
	var b strings.Builder
	if err := cp.Write(&b); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, b.String())
}

// TestPoolProfileFile: pools on different GPUs each run on a calibrated
// profile file of their own (cluster.disaggregated.*.profile, the prefill
// pool's from hardware.profile): the decode pool's file reaches its steps
// (a larger step overhead in it raises every TPOT by that much), and the
// run's provenance, results metadata and cost phrase name each pool's GPU
// and profile digest.
func TestPoolProfileFile(t *testing.T) {
	dir := t.TempDir()
	const step = 2e6 // 2 ms a decode step: far above the shipped overhead
	var tpot [2]float64
	for i, stepNs := range []float64{0, step} {
		c := disaggPoolGPU(t, "H100-SXM")
		c.Hardware.Profile = writeShipped(t, dir, "h200.yaml", "H200-SXM", 0)
		c.Cluster.Disaggregated.Decode.Profile = writeShipped(t, dir, fmt.Sprintf("h100-%d.yaml", i), "H100-SXM", stepNs)
		e, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		run, err := e.Collect(nil)
		if err != nil {
			t.Fatal(err)
		}
		tpot[i] = run.Summary.TPOT.Mean // ms
		p := run.Provenance
		want, err := LoadProfile(c.Cluster.Disaggregated.Decode.Profile)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Pools) != 2 || p.Pools[1] != (analysis.PoolProvenance{Pool: "decode", GPU: "H100-SXM", Profile: ProfileIdentity(want)}) ||
			p.Pools[0].GPU != "H200-SXM" || p.Pools[0].Profile != e.profile {
			t.Errorf("pools %+v, expected prefill on H200-SXM with hardware.profile, decode on H100-SXM with %+v", p.Pools, ProfileIdentity(want))
		}
		if p.GPU != "H200-SXM prefill + H100-SXM decode" {
			t.Errorf("provenance GPU %q, expected each pool's", p.GPU)
		}
		if s := p.Costs(); !strings.Contains(s, "decode: "+want.Name()+" on H100-SXM (sha256 "+ProfileIdentity(want).SHA256+")") || !strings.HasPrefix(s, "prefill: ") {
			t.Errorf("costs %q, expected each pool's profile", s)
		}
		rp, err := e.ResultsProvenance()
		if err != nil {
			t.Fatal(err)
		}
		if md := rp.Metadata; md["decode_gpu"] != "H100-SXM" || md["prefill_gpu"] != "H200-SXM" || md["decode_profile"] != want.Name() || md["decode_profile_sha256"] != ProfileIdentity(want).SHA256 {
			t.Errorf("results metadata %v, expected each pool's GPU and profile", md)
		}
	}
	// Each token after the first is one decode step: its TPOT grows by the
	// added overhead, less what batching overlaps (requests share steps, so
	// the mean grows by at least half of it).
	if d := tpot[1] - tpot[0]; d < step/2*1e-6 {
		t.Errorf("mean TPOT %.3f ms with a 2 ms step overhead in the decode pool's file, %.3f ms without: expected the file's overhead in it", tpot[1], tpot[0])
	}
}

// TestDescribePoolGPUs: the header line of a run whose pools run on
// different GPUs names each pool's; pools on one GPU name it once.
func TestDescribePoolGPUs(t *testing.T) {
	for g, want := range map[string]string{"H100-SXM": "Llama-3-8B on H200-SXM prefill + H100-SXM decode (1 prefill", "h200_sxm": "Llama-3-8B on H200-SXM (1 prefill"} {
		if d := Describe(disaggPoolGPU(t, g)); !strings.HasPrefix(d, want) {
			t.Errorf("decode on %s: %q, expected it to start %q", g, d, want)
		}
	}
}

// TestPoolProfileErrors: a pool's profile file calibrated on another GPU
// than the pool's, or missing, is an error naming the pool's profile
// field, the file and both GPUs; every problem at once.
func TestPoolProfileErrors(t *testing.T) {
	dir := t.TempDir()
	c := disaggPoolGPU(t, "H100-SXM")
	h200 := writeShipped(t, dir, "h200.yaml", "H200-SXM", 0)
	h100 := writeShipped(t, dir, "h100.yaml", "H100-SXM", 0)
	c.Cluster.Disaggregated.Decode.Profile = h200
	c.Cluster.Disaggregated.Prefill.Profile = h100
	_, err := New(c)
	for _, want := range []string{
		"cluster.disaggregated.decode.profile: " + h200 + " was calibrated on H200-SXM, but cluster.disaggregated.decode.gpu is H100-SXM",
		"cluster.disaggregated.prefill.profile: " + h100 + " was calibrated on H100-SXM, but hardware.gpu is H200-SXM",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, expected %q", err, want)
		}
	}
	c.Cluster.Disaggregated.Prefill.Profile = ""
	c.Cluster.Disaggregated.Decode.Profile = filepath.Join(dir, "missing.yaml")
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode.profile: open "+c.Cluster.Disaggregated.Decode.Profile) {
		t.Errorf("missing pool profile: %v", err)
	}
}
