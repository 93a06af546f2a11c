package experiment

import (
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
)

const ctxYAML = `
model: {name: Llama-2-7B}
hardware: {gpu: H100-SXM}
workload:
  synthetic: {arrival: poisson, rate: 10, count: 20, prompt: {kind: fixed, mean: 4000}, output: {kind: fixed, mean: 200}}
`

// TestMaxModelLenDefaultsToContext: max_model_len left out is the model's
// context length (Llama-2-7B: 4096), stated in the resolved config, and a
// request longer than it is rejected, not run.
func TestMaxModelLenDefaultsToContext(t *testing.T) {
	c, err := replay.ParseConfig([]byte(ctxYAML))
	if err != nil {
		t.Fatal(err)
	}
	x, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Config().Scheduler.MaxModelLen; got != 4096 {
		t.Errorf("resolved max_model_len %d, want 4096 (Llama-2-7B's context)", got)
	}
	run, err := x.Collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.Rejected != 20 {
		t.Fatalf("%d of 20 requests of 4200 tokens rejected, want all (context 4096)", run.Summary.Rejected)
	}
	for _, r := range run.Results {
		if r.Reason != replay.TooLongForModel {
			t.Fatalf("request %d: reason %v, want too long for the model", r.ID, r.Reason)
		}
	}
	// Asking for more than the context is a config error.
	c.Scheduler.MaxModelLen = 8192
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "scheduler.max_model_len: 8192 exceeds Llama-2-7B's context length of 4096") {
		t.Fatalf("max_model_len above the context: %v", err)
	}
}

// TestCostModelGPUMismatch: a cost model of another GPU is refused on the
// code path too (WithCost), not only for hardware.profile.
func TestCostModelGPUMismatch(t *testing.T) {
	c, err := replay.ParseConfig([]byte(strings.Replace(ctxYAML, "H100-SXM", "A100-SXM", 1)))
	if err != nil {
		t.Fatal(err)
	}
	g, err := cost.LookupGPU("H100-SXM")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(c, WithCost(hwprofile.DefaultCostModel(g), analysis.ProfileID{Name: "h100"}))
	if err == nil || !strings.Contains(err.Error(), "hardware.gpu: A100") || !strings.Contains(err.Error(), "H100") {
		t.Fatalf("H100 cost model under an A100 config: %v", err)
	}
}
