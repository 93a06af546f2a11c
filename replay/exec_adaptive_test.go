package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// sameAsMedium compares an adaptive run that had nothing to refine with a
// medium run: every output, and the events, must be medium's; its report
// must say that nothing ran at high.
func sameAsMedium(med, ad *Stats, rm, ra []RequestResult) string {
	if r := ad.Adaptive; r == nil || r.Refined || r.HighSteps != 0 || r.HighEvents != 0 || r.Windows != 0 {
		return fmt.Sprintf("adaptive report %+v, expected nothing refined", ad.Adaptive)
	}
	x := *ad
	x.Adaptive = nil
	if d := diffOutputs(med, &x, rm, ra); d != "" {
		return d
	}
	if !reflect.DeepEqual(med.Events, ad.Events) || med.TotalEvents != ad.TotalEvents {
		return fmt.Sprintf("events differ: medium %v, adaptive %v", med.Events, ad.Events)
	}
	return ""
}

// budgetModel is small enough for hundreds of high-LoD runs and deep
// enough (eight layers, 16 all-reduces a step) for stragglers to matter.
var budgetModel = lod.Model{Name: "budget", Layers: 8, Hidden: 1024, Heads: 8, KVHeads: 8, HeadDim: 128, Intermediate: 4096, Vocab: 1000, DTypeBytes: 2}

// budgetRun runs one random budget scenario at lodName with the given
// variability seed.
func budgetRun(t *testing.T, seed uint64, lodName string, simSeed uint64) (*Stats, []RequestResult, string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 131))
	var reqs []workload.Request
	var at int64
	n := 150 + rng.IntN(150)
	gap := 200_000 + rng.Int64N(2_000_000)
	for i := 0; i < n; i++ {
		at += rng.Int64N(2 * gap)
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: at,
			PromptTokens: int32(16 + rng.IntN(600)), OutputTokens: int32(2 + rng.IntN(80))})
	}
	tp := []int{2, 4, 8}[rng.IntN(3)]
	c := tinyConfig(lodName, tp)
	c.Model = budgetModel
	c.Cluster.PipelineParallel = 1 + rng.IntN(2)
	c.Cluster.Replicas = 1 + rng.IntN(2)
	c.Cluster.Links.Topology = Topologies[rng.IntN(2)]
	c.Simulation.Variability = []float64{0, 0.05, 0.1, 0.2}[rng.IntN(4)]
	if c.Simulation.Variability == 0 {
		c.Cluster.Links.Topology = TopologyShared
	}
	c.Simulation.Seed = simSeed
	c.Scheduler.KVBlocks = 4000
	c.Scheduler.BlockSize = 16
	c.Scheduler.MaxNumBatchedTokens = 512
	desc := fmt.Sprintf("tp%d pp%d x%d %s variability %.2f, %d requests", c.Cluster.TensorParallel, c.Cluster.PipelineParallel,
		c.Cluster.Replicas, c.Cluster.Links.Topology, c.Simulation.Variability, n)
	if seed%3 == 0 {
		desc = budgetDisagg(c, rng, n)
	}
	g, _ := cost.LookupGPU("H100-SXM")
	st, rs := runReqs(t, c, cost.NewRoofline(g), reqs)
	return st, rs, desc
}

// budgetDisagg turns budget scenario c into a disaggregated one: c's TP,
// PP, topology and variability on a prefill and a decode pool of one or
// two workers each (the decode pool's PP drawn apart), the KV over a
// network of 5-50 GB/s or over NVLink. It returns the description.
func budgetDisagg(c *Config, rng *rand.Rand, n int) string {
	k := &c.Cluster
	pool := func(pp int) PoolConfig {
		return PoolConfig{Workers: 1 + rng.IntN(2), TensorParallel: k.TensorParallel, PipelineParallel: pp}
	}
	d := &DisaggConfig{Prefill: pool(k.PipelineParallel), Decode: pool(1 + rng.IntN(2))}
	if rng.IntN(2) == 0 {
		d.Transfer = TransferConfig{Link: KVLinkNetwork, BandwidthGBps: float64(5 + rng.IntN(46)), LatencyUs: 5}
	} else {
		d.Transfer.Link = KVLinkNVLink
	}
	k.Replicas, k.TensorParallel, k.PipelineParallel, k.Disaggregated = 0, 0, 0, d
	c.ApplyDefaults()
	return fmt.Sprintf("disaggregated %dP tp%d pp%d + %dD pp%d, KV over %s %.0f GB/s, %s variability %.2f, %d requests",
		d.Prefill.Workers, d.Prefill.TensorParallel, d.Prefill.PipelineParallel, d.Decode.Workers, d.Decode.PipelineParallel,
		d.Transfer.Link, d.Transfer.BandwidthGBps, k.Links.Topology, c.Simulation.Variability, n)
}

// meanLatencies is the mean TTFT, TPOT and E2E of completed requests.
func meanLatencies(rs []RequestResult) [3]float64 {
	var m [3]float64
	var n, nt float64
	for _, r := range rs {
		if r.Status != Completed {
			continue
		}
		n++
		m[0] += float64(r.TTFT())
		m[2] += float64(r.E2E())
		if v := r.TPOT(); v >= 0 {
			m[1] += v
			nt++
		}
	}
	m[0], m[1], m[2] = m[0]/n, m[1]/nt, m[2]/n
	return m
}

// TestRandomAdaptiveWithinBudget is the differential test of the adaptive
// level of detail where it refines: random workloads with per-rank
// variability and shared buses, at TP2-8, PP1-2 and one or two replicas,
// every third seed on a disaggregated cluster (prefill and decode pools
// of their own PP, KV over a network or NVLink).
// Its mean TPOT and E2E must stay within the error budget (1%) of high's,
// plus the noise no model of high's mean can beat: twice the difference
// between two high runs that differ only in their variability seed. Mean
// TTFT is held to three times the budget: it is mostly queueing, whose
// wait grows as 1/(1-utilisation), so a residual step-time error within
// the budget moves it several times as much (worst seen here: -2.1% at
// TP4 x PP2 on a shared bus, seed 16, where TPOT and E2E are within 0.1%).
// A failure prints the seed.
func TestRandomAdaptiveWithinBudget(t *testing.T) {
	names := [3]string{"TTFT", "TPOT", "E2E"}
	for seed := uint64(1); seed <= 30; seed++ {
		if os.Getenv("ADAPTIVE_SEED") != "" && os.Getenv("ADAPTIVE_SEED") != fmt.Sprint(seed) {
			continue
		}
		hs, hr, desc := budgetRun(t, seed, "high", 1)
		_, hr2, _ := budgetRun(t, seed, "high", 2)
		as, ar, _ := budgetRun(t, seed, "adaptive", 1)
		h, h2, a := meanLatencies(hr), meanLatencies(hr2), meanLatencies(ar)
		if os.Getenv("ADAPTIVE_REPORT") != "" {
			t.Logf("%+v", *as.Adaptive)
		}
		for i := range h {
			noise := math.Abs(h2[i]/h[i] - 1)
			e := a[i]/h[i] - 1
			t.Logf("seed %d %s: %s adaptive %+.3f%%, high seed-to-seed %.3f%%, events %d vs %d", seed, desc, names[i], 100*e, 100*noise, as.TotalEvents, hs.TotalEvents)
			budget := 0.01
			if i == 0 {
				budget = 0.03
			}
			if math.Abs(e) > budget+2*noise {
				t.Errorf("seed %d (%s): adaptive mean %s %+.2f%% off high, budget %.0f%% + 2 x %.2f%% noise", seed, desc, names[i], 100*e, 100*budget, 100*noise)
			}
		}
	}
}

// TestAdaptiveReportsItsParts: an adaptive run with variability says how
// many windows and steps ran at high, splits its events by level exactly,
// keeps high steps under its cost bound and is deterministic.
func TestAdaptiveReportsItsParts(t *testing.T) {
	run := func() (*Stats, []byte) {
		c := refConfig(4, 8, "adaptive")
		c.Simulation.Variability = 0.1
		c.Workload.Synthetic.Duration = Duration(5e9)
		st, rs := runCfg(t, c, nil)
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(st)
		json.NewEncoder(&buf).Encode(rs)
		return st, buf.Bytes()
	}
	st, a := run()
	if _, b := run(); !bytes.Equal(a, b) {
		t.Fatal("two adaptive runs with the same seed differ")
	}
	r := st.Adaptive
	if r == nil || !r.Refined || r.Windows == 0 || r.HighSteps == 0 || r.HighStageNs <= 0 || len(r.Classes) == 0 {
		t.Fatalf("report %+v: expected windows at high and measured classes", r)
	}
	if r.HighEvents+r.MediumEvents != st.TotalEvents || r.HighEvents == 0 {
		t.Errorf("events split %d high + %d medium, total %d", r.HighEvents, r.MediumEvents, st.TotalEvents)
	}
	if bound := highStartup + st.Steps/highShare + windowSteps; r.HighSteps > bound {
		t.Errorf("%d steps at high of %d, over the bound %d", r.HighSteps, st.Steps, bound)
	}
	if r.HighSteps+r.MediumSteps != st.Steps {
		t.Errorf("%d high + %d medium steps, run had %d", r.HighSteps, r.MediumSteps, st.Steps)
	}
}

func TestErrorBudgetValidated(t *testing.T) {
	c := refConfig(4, 8, "adaptive")
	if c.Simulation.ErrorBudget != DefaultErrorBudget {
		t.Errorf("adaptive error budget after ApplyDefaults %v, want %v", c.Simulation.ErrorBudget, DefaultErrorBudget)
	}
	if m := refConfig(4, 8, "medium"); m.Simulation.ErrorBudget != 0 {
		t.Errorf("medium run's error budget %v, want it left unset", m.Simulation.ErrorBudget)
	}
	c.Simulation.ErrorBudget = 2
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "simulation.error_budget: 2") {
		t.Fatalf("error %v, expected one naming simulation.error_budget", err)
	}
}

// TestAdaptiveSeesStageContention: the lod-shared-bus scenario, TP4 x PP2
// on one 25 GB/s bus where the two stages' all-reduces and hand-offs
// contend, with the calibrated A100 profile (as lodsim compare runs it).
// Medium's analytical bus with one ring at a time was 25% fast on mean
// TPOT, busStep's first-order load of the other stage 1.6% (mean TTFT
// 8.8%), and adaptive's learned ratios on top of it 16% fast on mean TTFT.
// Medium's fluid bus (busfluid.go) shares the bus hop by hop as high does,
// and adaptive, which no longer refines a shared bus alone, runs it: both
// within 0.1% of high on the mean and p99 of TTFT, TPOT and E2E (measured:
// 0.00%; the fluid bus at one phase per all-reduce was 0.6% off on mean
// TPOT).
func TestAdaptiveSeesStageContention(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the 40 s scenario at high LoD (several seconds)")
	}
	var lat [3][6]float64
	for i, l := range []string{"high", "medium", "adaptive"} {
		c, err := Scenario("lod-shared-bus")
		if err != nil {
			t.Fatal(err)
		}
		c.Simulation.LoD = LoD(l)
		g, _ := cost.LookupGPU(c.Hardware.GPU)
		_, rs := runCfg(t, c, hwprofile.DefaultCostModel(g))
		m, p := meanLatencies(rs), p99Latencies(rs)
		lat[i] = [6]float64{m[0], m[1], m[2], p[0], p[1], p[2]}
	}
	names := [6]string{"mean TTFT", "mean TPOT", "mean E2E", "p99 TTFT", "p99 TPOT", "p99 E2E"}
	for i, l := range []string{"medium", "adaptive"} {
		for k, name := range names {
			e := lat[i+1][k]/lat[0][k] - 1
			t.Logf("%s %s %+.3f%% off high", l, name, 100*e)
			if math.Abs(e) > 0.001 {
				t.Errorf("%s %s %+.2f%% off high, want within 0.1%%", l, name, 100*e)
			}
		}
	}
}

// p99Latencies is the 99th percentile (nearest rank) of TTFT, TPOT and
// E2E over completed requests.
func p99Latencies(rs []RequestResult) [3]float64 {
	var v [3][]float64
	for _, r := range rs {
		if r.Status != Completed {
			continue
		}
		v[0], v[2] = append(v[0], float64(r.TTFT())), append(v[2], float64(r.E2E()))
		if x := r.TPOT(); x >= 0 {
			v[1] = append(v[1], x)
		}
	}
	var p [3]float64
	for i := range v {
		sort.Float64s(v[i])
		p[i] = v[i][int(math.Ceil(0.99*float64(len(v[i]))))-1]
	}
	return p
}

// TestAdaptiveRingOnly: TP4 over two 2-GPU nodes (TestNodesTPRingAcrossNodes'
// layout), where the only thing medium can miss is an all-reduce that
// takes the ring through the NICs: a decode step of one token takes the
// hierarchical algorithm (latency-bound), whose medium form is exact, and
// a 2048-token prefill the ring. With every class learned at 1.5, the
// ratio must apply to the ring step only, and a measured hierarchical step
// must not teach the classes (it would pull the ring's ratio towards 1).
// With variability, PP2 handing off across the nodes, or expert-parallel
// all-to-alls across them, every step can differ: no ring-only
// refinement there.
func TestAdaptiveRingOnly(t *testing.T) {
	sim := func(set func(c *Config)) *Simulator {
		c := refConfig(4, 6, "adaptive")
		c.Cluster.Links = ringLinks
		c.Cluster.Nodes, c.Cluster.GPUsPerNode = 2, 2
		c.Cluster.Network = NetworkConfig{BandwidthGBps: 12.5, LatencyUs: 0.5}
		set(c)
		m, err := c.ResolveModel()
		if err != nil {
			t.Fatal(err)
		}
		g, _ := cost.LookupGPU(c.Hardware.GPU)
		s, err := NewSimulator(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &Collect{}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, x := range []struct {
		name string
		set  func(c *Config)
	}{
		{"variability", func(c *Config) { c.Simulation.Variability = 0.1 }},
		{"PP2", func(c *Config) { c.Cluster.PipelineParallel, c.Cluster.Nodes = 2, 4 }},
		{"EP4", func(c *Config) { c.Model, c.Cluster.ExpertParallel = lod.Model{Name: "Qwen3-30B-A3B"}, 4 }},
	} {
		if p := sim(x.set).adaptive.pools[0]; !p.refine || p.ringOnly {
			t.Errorf("%s: refine %v, ringOnly %v: want every step refinable", x.name, p.refine, p.ringOnly)
		}
	}
	s := sim(func(*Config) {})
	a, grp := s.adaptive, s.pools[0]
	p := &a.pools[0]
	if !p.refine || !p.ringOnly {
		t.Fatalf("pool refine %v, ringOnly %v: want both", p.refine, p.ringOnly)
	}
	steps := [2]*batch{{lb: lod.Batch{Decodes: 1, DecodeCtx: 100}}, {lb: lod.Batch{Chunks: []lod.Chunk{{Q: 2048}}}}}
	for i, b := range steps {
		b.cost = make([]lod.StageCost, grp.pp)
		grp.steps.plan(&b.lb, b.cost)
		if ring := ringStage(s, grp, &b.cost[0]); ring != (i == 1) {
			t.Fatalf("step %d: ring %v, want %v (the test's layout no longer splits the tuner's pick)", i, ring, i == 1)
		}
	}
	for _, tab := range [][]ratioStat{p.stages.classes, p.stages.pooled} {
		for i := range tab {
			tab[i] = ratioStat{n: minSamples, hi: 1.5, med: 1}
		}
	}
	for i, want := range []float64{1, 1.5} {
		if f := a.factor(grp, 0, &steps[i].lb, &steps[i].cost[0]); f != want {
			t.Errorf("step %d: factor %v, want %v", i, f, want)
		}
	}
	st := s.stages[0]
	for i, b := range steps {
		st.cur, s.now, a.startAt[st.gid] = b, 1_000_000, 0
		k := classOf(&b.lb)
		before := p.stages.classes[k].n
		a.measured(st)
		if got := p.stages.classes[k].n - before; got != i {
			t.Errorf("step %d: %d samples taken, want %d", i, got, i)
		}
	}
}
