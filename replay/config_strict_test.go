package replay

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace/workload"
)

const strictHead = `
model: {name: Llama-3.1-8B}
hardware: {gpu: H100-SXM}
`

const strictBase = strictHead + `workload:
  synthetic: {arrival: poisson, rate: 1, count: 10, prompt: {kind: fixed, mean: 100}, output: {kind: fixed, mean: 10}}
`

// strictErr parses and validates base with extra merged in (later keys of
// one mapping win in the decoder, so extra sections replace base ones).
func strictErr(t *testing.T, yml string) string {
	t.Helper()
	c, err := ParseConfig([]byte(yml))
	if err != nil {
		return err.Error()
	}
	if err := c.Validate(); err != nil {
		return err.Error()
	}
	return ""
}

// TestExplicitZeroIsNotDefault: an explicit 0 in a field whose unset
// value takes a default is an error naming the field, never the default.
func TestExplicitZeroIsNotDefault(t *testing.T) {
	for _, tc := range []struct{ yml, want string }{
		{"cluster: {replicas: 0}", "cluster.replicas: 0, expected a positive value (0 is not a setting here: leave the field out for the default, 1)"},
		{"cluster: {tensor_parallel: 0}", "cluster.tensor_parallel: 0"},
		{"cluster: {pipeline_parallel: 0}", "cluster.pipeline_parallel: 0"},
		{"cluster: {gpu_memory_utilization: 0}", "cluster.gpu_memory_utilization: 0"},
		{"cluster: {gpu_memory_utilization: 0.0}", "cluster.gpu_memory_utilization: 0"},
		{"scheduler: {max_num_seqs: 0}", "scheduler.max_num_seqs: 0"},
		{"scheduler: {max_num_batched_tokens: 0}", "scheduler.max_num_batched_tokens: 0"},
		{"scheduler: {block_size: 0}", "scheduler.block_size: 0"},
		{"scheduler: {engine: sglang, block_size: 0}", "scheduler.block_size: 0, expected a positive value (0 is not a setting here: leave the field out for the default, 1)"},
		{"scheduler: {engine: sglang, admission_reserve: 0}", "scheduler.admission_reserve: 0"},
		{"simulation: {sample_interval: 0}", "simulation.sample_interval: 0, expected a positive value (0 is not a setting here: leave the field out for the default, 100ms)"},
		{"simulation: {sample_interval: 0s}", "simulation.sample_interval: 0"},
	} {
		got := strictErr(t, strictBase+tc.yml)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.yml, got, tc.want)
		}
	}
	// A 0 that is a setting stays one.
	for _, yml := range []string{"simulation: {seed: 0, variability: 0, max_simulation_time: 0}",
		"cluster: {activation_reserve_gb: 0}", "scheduler: {admission_reserve: 0, kv_blocks: 0}"} {
		if got := strictErr(t, strictBase+yml); got != "" {
			t.Errorf("%s: %s", yml, got)
		}
	}
}

// TestFractionsAndNonFinite: a fraction in an integer field and a
// non-finite float are errors, never truncated or carried into the run;
// every one is reported at once with the other problems.
func TestFractionsAndNonFinite(t *testing.T) {
	yml := strictBase + `
cluster: {replicas: 2.9, tensor_parallel: 1e0, gpu_memory_utilization: .nan, links: {bandwidth_gbps: .inf}}
scheduler: {max_num_seqs: 1.5e2, block_size: 1e9, cuda_graph_sizes: [1, 2.5]}
simulation: {seed: 0.5, sample_interval: 1ns}
router: {policy: nope}
`
	got := strictErr(t, yml)
	for _, want := range []string{
		"cluster.replicas: 2.9, expected a whole number",
		"cluster.gpu_memory_utilization: .nan, expected a finite number",
		"cluster.links.bandwidth_gbps: .inf, expected a finite number",
		"scheduler.cuda_graph_sizes[1]: 2.5, expected a whole number",
		"simulation.seed: 0.5, expected a whole number",
		"scheduler.block_size: 1000000000, expected 1 to 1024 tokens per KV block",
		"simulation.sample_interval: 1ns, expected at least 1ms",
		"router.policy",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	for _, bad := range []string{"tensor_parallel", "max_num_seqs"} {
		if strings.Contains(got, bad) {
			t.Errorf("whole numbers written as floats are fine, got a problem with %s:\n%s", bad, got)
		}
	}
}

// TestConfigLimits: sizes beyond the stated limits are refused with the
// limit named.
func TestConfigLimits(t *testing.T) {
	for _, tc := range []struct{ yml, want string }{
		{"cluster: {replicas: 100000000}", "cluster.replicas: 100000000, expected 1 to 4096"},
		{"scheduler: {max_num_seqs: 2000000000}", "scheduler.max_num_seqs: 2000000000, expected 1 to 1073741824"},
		{"scheduler: {kv_blocks: 5000000000}", "scheduler.kv_blocks: 5000000000"},
		{"scheduler: {max_model_len: 5000000000}", "scheduler.max_model_len: 5000000000"},
		{"workload: {synthetic: {arrival: gamma, cv: -1, rate: 1, count: -5, duration: -3s, prompt: {kind: fixed, mean: 1}, output: {kind: fixed, mean: 1}}}",
			"workload.synthetic.count: -5"},
		{"workload: {synthetic: {arrival: gamma, cv: -1, rate: 1, count: 5, prompt: {kind: fixed, mean: 1}, output: {kind: fixed, mean: 1}}}",
			"workload.synthetic.cv: -1, expected a positive coefficient of variation"},
		{"workload: {synthetic: {arrival: poisson, cv: 2, rate: 1, count: 5, prompt: {kind: fixed, mean: 1}, output: {kind: fixed, mean: 1}}}",
			"workload.synthetic.cv: 2 with arrival \"poisson\""},
		{"workload: {synthetic: {rate: 1, duration: -3s, prompt: {kind: fixed, mean: 1}, output: {kind: fixed, mean: 1}}}",
			"workload.synthetic.duration: -3s"},
		{"workload: {closed_loop: {clients: 1, requests: 1, think_time: -1s, prompt: {kind: fixed, mean: 1}, output: {kind: fixed, mean: 1}}}",
			"workload.closed_loop.think_time: -1s"},
	} {
		base := strictBase
		if strings.HasPrefix(tc.yml, "workload") {
			base = strictHead
		}
		got := strictErr(t, base+tc.yml)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want it to contain %q", tc.yml, got, tc.want)
		}
	}
}

// TestDecodeConfigNodeStrict: the sweep's fast path makes the same checks.
func TestDecodeConfigNodeStrict(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(strictBase+"cluster: {replicas: 0, tensor_parallel: 1.5}\n"), &root); err != nil {
		t.Fatal(err)
	}
	c, err := DecodeConfigNode(root.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil || !strings.Contains(err.Error(), "cluster.replicas: 0") || !strings.Contains(err.Error(), "cluster.tensor_parallel: 1.5") {
		t.Fatalf("got %v", err)
	}
}

// TestIdleTimeNotSampled: a day-long gap between two requests costs a few
// samples, not one per interval, and the time series stays on its grid.
func TestIdleTimeNotSampled(t *testing.T) {
	c := refConfig(1, 1, "medium")
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	g, _ := lookupGPU(t, c)
	reqs := []workload.Request{
		{ID: 0, Arrival: 0, PromptTokens: 512, OutputTokens: 16},
		{ID: 1, Arrival: 86400e9, PromptTokens: 512, OutputTokens: 16},
	}
	var col Collect
	st, err := Run(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: workload.NewSliceReader(reqs), Sink: &col})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(st.Samples); n > 20 {
		t.Fatalf("%d samples for two short requests a day apart, want a handful (idle time skipped)", n)
	}
	iv := Time(c.Simulation.SampleInterval)
	for i, s := range st.Samples {
		if s.T%iv != 0 {
			t.Fatalf("sample %d at %d ns, off the %v grid", i, s.T, iv)
		}
		if i > 0 && s.T <= st.Samples[i-1].T {
			t.Fatalf("sample %d at %d ns after %d ns", i, s.T, st.Samples[i-1].T)
		}
	}
	if last := st.Samples[len(st.Samples)-1]; last.T < 86400e9 {
		t.Fatalf("last sample at %d ns, before the second request", last.T)
	}
	if col.Results[1].Status != Completed {
		t.Fatalf("second request %v", col.Results[1].Status)
	}
}

func lookupGPU(t *testing.T, c *Config) (cost.GPU, error) {
	t.Helper()
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		t.Fatal(err)
	}
	return g, nil
}
