package replay

import (
	"github.com/lodsim/lodsim/trace"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// refConfig is the reference scenario of the core issue: Llama-3-8B on
// A100-80GB SXM, Poisson arrivals, 512 prompt and 128 output tokens,
// chunked prefill at 2048 tokens, 20 simulated seconds of arrivals.
func refConfig(tp int, rate float64, lodName string) *Config {
	c := &Config{
		Name:       "ref",
		Simulation: SimulationConfig{LoD: LoD(lodName), Seed: 42},
		Model:      lod.Model{Name: "Llama-3-8B"},
		Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
		Cluster:    ClusterConfig{Replicas: 1, TensorParallel: tp},
		Scheduler:  SchedulerConfig{MaxNumBatchedTokens: 2048},
		Workload: WorkloadConfig{Synthetic: &SyntheticConfig{
			Arrival: "poisson", Rate: rate, Duration: Duration(20e9),
			Prompt: workload.LengthDist{Kind: "fixed", Mean: 512},
			Output: workload.LengthDist{Kind: "fixed", Mean: 128},
		}},
	}
	c.ApplyDefaults()
	return c
}

func synthReader(t testing.TB, c *Config) workload.Reader {
	w := c.Workload.Synthetic
	r, err := trace.NewSynthetic(trace.Synthetic{Arrival: w.Arrival, Rate: w.Rate, Prompt: w.Prompt, Output: w.Output,
		Count: w.Count, Duration: int64(w.Duration), Seed: c.Simulation.Seed})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func runCfg(t testing.TB, c *Config, cm cost.CostModel) (*Stats, []RequestResult) {
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	if cm == nil {
		g, err := cost.LookupGPU(c.Hardware.GPU)
		if err != nil {
			t.Fatal(err)
		}
		cm = cost.NewRoofline(g)
	}
	var col Collect
	st, err := Run(Input{Config: c, Model: m, Cost: cm, Workload: synthReader(t, c), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, col.Results
}

func TestHighMediumEquivalent(t *testing.T) {
	for _, tp := range []int{1, 2, 4} {
		hs, hr := runCfg(t, refConfig(tp, 4, "high"), nil)
		ms, mr := runCfg(t, refConfig(tp, 4, "medium"), nil)
		if d := diffOutputs(hs, ms, hr, mr); d != "" {
			t.Fatalf("tp%d: high and medium differ: %s", tp, d)
		}
		// The time series holds every token: a decode run counts its
		// steps as they end, not in one lump.
		var tokens int64
		for _, sm := range ms.Samples {
			tokens += sm.OutputTokens
		}
		if tokens != ms.OutputTokens {
			t.Errorf("tp%d: samples hold %d tokens, run produced %d", tp, tokens, ms.OutputTokens)
		}
		t.Logf("tp%d: events high %d medium %d (%.0fx), completed %d", tp, hs.TotalEvents, ms.TotalEvents, float64(hs.TotalEvents)/float64(ms.TotalEvents), hs.Completed)
	}
	_ = lod.OpQKV
}
