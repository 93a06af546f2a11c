package replay

import (
	"io"
	"math"
	"sort"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace"
	"github.com/lodsim/lodsim/trace/workload"
)

// suiteSeeds are the variability seeds TestAdaptiveSuiteVar5 averages
// over; the workload stays the scenario's (its own seed).
var suiteSeeds = []uint64{42, 43, 44, 45, 46}

// TestAdaptiveSuiteVar5 holds adaptive to issue 16's budget on the 5%
// variability scenarios of the suite: mean TTFT, TPOT and E2E within 1%
// of high's, TTFT p99 within 3%, with at least 20x fewer events.
//
// One pair of runs cannot show it: high's own TTFT (mostly queueing) moves
// with the variability seed by more than the budget (lod-var5-tp4, seeds
// 42-46: mean 20.46-20.66 ms, p99 54.3-56.6 ms, 4% apart), and adaptive's
// windows at high perturb its trajectory as much. So the statistics are
// averaged over suiteSeeds at both levels, which estimates each level's
// expectation: the error is adaptive's bias, not one draw's luck.
// lod-var5-tp8 (13 s a high run) runs only without -short.
func TestAdaptiveSuiteVar5(t *testing.T) {
	names := []string{"lod-var5-tp4", "lod-var5-tp8"}
	if testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		reqs := scenarioRequests(t, name)
		var h, a [4]float64
		var he, ae uint64
		for _, seed := range suiteSeeds {
			st, s := suiteStats(t, name, "high", seed, reqs)
			he += st.TotalEvents
			st2, s2 := suiteStats(t, name, "adaptive", seed, reqs)
			ae += st2.TotalEvents
			for i := range h {
				h[i] += s[i]
				a[i] += s2[i]
			}
		}
		labels := [4]string{"TTFT mean", "TTFT p99", "TPOT mean", "E2E mean"}
		for i := range h {
			e := a[i]/h[i] - 1
			budget := 0.01
			if i == 1 {
				budget = 0.03
			}
			t.Logf("%s: adaptive %s %+.2f%% off high (seeds %v)", name, labels[i], 100*e, suiteSeeds)
			if math.Abs(e) > budget {
				t.Errorf("%s: adaptive %s %+.2f%% off high, budget %.0f%%", name, labels[i], 100*e, 100*budget)
			}
		}
		if he < 20*ae {
			t.Errorf("%s: adaptive %d events, high %d: want at least 20x fewer", name, ae, he)
		}
	}
}

// scenarioRequests is the workload of embedded scenario name.
func scenarioRequests(t *testing.T, name string) []workload.Request {
	t.Helper()
	c, err := Scenario(name)
	if err != nil {
		t.Fatal(err)
	}
	c.ApplyDefaults()
	w := c.Workload.Synthetic
	r, err := trace.NewSynthetic(trace.Synthetic{Arrival: w.Arrival, Rate: w.Rate, Prompt: w.Prompt, Output: w.Output,
		Count: w.Count, Duration: int64(w.Duration), Seed: c.Simulation.Seed})
	if err != nil {
		t.Fatal(err)
	}
	var reqs []workload.Request
	for {
		q, err := r.Next()
		if err == io.EOF {
			return reqs
		}
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, q)
	}
}

// suiteStats runs scenario name on reqs at level l with variability seed
// seed and returns its TTFT mean and p99 (nearest rank, as lodsim compare
// reports it), mean TPOT and mean E2E, over completed requests.
func suiteStats(t *testing.T, name, l string, seed uint64, reqs []workload.Request) (*Stats, [4]float64) {
	t.Helper()
	c, err := Scenario(name)
	if err != nil {
		t.Fatal(err)
	}
	c.Simulation.LoD = LoD(l)
	c.Simulation.Seed = seed
	c.ApplyDefaults()
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cost.LookupGPU(c.Hardware.GPU)
	var col Collect
	st, err := Run(Input{Config: c, Model: m, Cost: hwprofile.DefaultCostModel(g), Workload: workload.NewSliceReader(reqs), Sink: &col})
	if err != nil {
		t.Fatal(err)
	}
	mean := meanLatencies(col.Results)
	var ttft []float64
	for _, r := range col.Results {
		if r.Status == Completed {
			ttft = append(ttft, float64(r.TTFT()))
		}
	}
	sort.Float64s(ttft)
	p99 := ttft[int(math.Ceil(0.99*float64(len(ttft))))-1]
	return st, [4]float64{mean[0], p99, mean[1], mean[2]}
}

// TestAdaptiveSuiteScenarios: the suite (issue 16) holds every kind of
// scenario where high and medium differ, the two multi-node references
// included, each an embedded scenario that loads.
func TestAdaptiveSuiteScenarios(t *testing.T) {
	want := []string{"lod-var5-tp4", "lod-var20-tp4", "lod-var5-tp8", "lod-var20-tp8", "lod-shared-bus", "lod-moe-skew",
		"lod-pd-contended", "multinode-405b-tp8pp2", "multinode-405b-tp16"}
	have := map[string]bool{}
	for _, name := range AdaptiveScenarios {
		if _, err := Scenario(name); err != nil {
			t.Errorf("suite scenario %s: %v", name, err)
		}
		have[name] = true
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("suite lacks %s", name)
		}
	}
}
