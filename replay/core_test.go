package replay

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// fixedCost charges 1000 ns per GEMM, nothing for attention and
// element-wise work (the planner rounds those up to 1 ns), and uses a link
// of 100 ns latency and 10 bytes/ns, so step times can be worked out by
// hand.
type fixedCost struct{ overheads cost.Overheads }

func (fixedCost) Name() string                                                    { return "fixed" }
func (fixedCost) GPU() cost.GPU                                                   { return cost.GPU{Name: "test", MemoryBytes: 1 << 34} }
func (fixedCost) GEMM(m, n, k int) float64                                        { return 1000 }
func (fixedCost) ContextAttention(batch, q, prefix int, s cost.AttnShape) float64 { return 0 }
func (fixedCost) GenerationAttention(batch, ctx int, s cost.AttnShape) float64    { return 0 }
func (fixedCost) Elementwise(bytes float64) float64                               { return 0 }
func (fixedCost) RingLink(n int) cost.Link {
	return cost.Link{LatencyNs: 100, BytesPerNs: 10}
}
func (f fixedCost) AllReduceLink(n int, s float64) cost.Link { return f.RingLink(n) }
func (f fixedCost) SendLink() cost.Link                      { return f.RingLink(2) }
func (f fixedCost) Overheads() cost.Overheads                { return f.overheads }

// The operations of quantised, MLA and MoE models, which these tests do not
// run.
func (fixedCost) QuantGEMM(m, n, k int, p cost.Precision) float64          { return 1000 }
func (fixedCost) ContextMLA(batch, q, prefix int, s cost.MLAShape) float64 { return 0 }
func (fixedCost) GenerationMLA(batch, ctx int, s cost.MLAShape) float64    { return 0 }
func (fixedCost) MoE(s cost.MoEShape) float64                              { return 1000 }
func (fixedCost) AllGather(bytes float64, n int) float64                   { return 0 }
func (fixedCost) ReduceScatter(bytes float64, n int) float64               { return 0 }
func (fixedCost) AllToAll(bytes float64, n int) float64                    { return 0 }
func (f fixedCost) AllToAllLink(n int, s float64) cost.Link                { return f.RingLink(n) }

var tinyModel = lod.Model{Name: "tiny", Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, Intermediate: 128, Vocab: 100, DTypeBytes: 2}

func tinyConfig(lodName string, tp int) *Config {
	c := &Config{
		Simulation: SimulationConfig{LoD: LoD(lodName), Seed: 1},
		Model:      tinyModel,
		Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
		Cluster:    ClusterConfig{Replicas: 1, TensorParallel: tp},
		Scheduler:  SchedulerConfig{KVBlocks: 1000, BlockSize: 4},
		Workload:   WorkloadConfig{Embedded: "test"},
	}
	c.ApplyDefaults()
	return c
}

func runReqs(t *testing.T, c *Config, cm cost.CostModel, reqs []workload.Request) (*Stats, []RequestResult) {
	t.Helper()
	var col Collect
	st, err := Run(Input{Config: c, Model: c.Model, Cost: cm, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, col.Results
}

func byID(rs []RequestResult) map[workload.RequestID]RequestResult {
	m := map[workload.RequestID]RequestResult{}
	for _, r := range rs {
		m[r.ID] = r
	}
	return m
}

// A step of the tiny model at TP1: per layer QKV 1000 + attention 1 +
// output projection 1000 + MLP 2x1000, two layers, plus the LM head 1000:
// 2 x 4001 + 1000 = 9002 ns, whatever the batch.
const tinyStep = 9002

func TestHandComputedStepTimes(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 3}}
	for _, l := range []string{"high", "medium"} {
		_, rs := runReqs(t, tinyConfig(l, 1), fixedCost{}, reqs)
		r := rs[0]
		if r.FirstToken != tinyStep || r.Completion != 3*tinyStep || r.Status != Completed {
			t.Errorf("%s tp1: first token %d completion %d, want %d and %d", l, r.FirstToken, r.Completion, tinyStep, 3*tinyStep)
		}
		// TP2: each layer adds two ring all-reduces of 2(N-1)=2 hops. A
		// prefill of 10 tokens reduces 10x64x2 = 1280 bytes, 640 per hop:
		// 100 + 64 = 164 ns a hop, 2 layers x 2 all-reduces x 2 hops = 1312.
		// A decode reduces 128 bytes, 64 per hop: 100 + ceil(6.4) = 107 ns,
		// x 8 = 856.
		_, rs = runReqs(t, tinyConfig(l, 2), fixedCost{}, reqs)
		r = rs[0]
		if want := Time(tinyStep + 1312); r.FirstToken != want {
			t.Errorf("%s tp2: first token %d, want %d", l, r.FirstToken, want)
		}
		if want := Time(tinyStep+1312) + 2*(tinyStep+856); r.Completion != want {
			t.Errorf("%s tp2: completion %d, want %d", l, r.Completion, want)
		}
	}
}

func TestEngineOverheads(t *testing.T) {
	cm := fixedCost{overheads: cost.Overheads{StepNs: 500, PerSeqNs: 10, PerRequestNs: 7}}
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 2}}
	_, rs := runReqs(t, tinyConfig("medium", 1), cm, reqs)
	// The request becomes schedulable at 7 ns; each step pays 500 + 10.
	if want := Time(7 + tinyStep + 510); rs[0].FirstToken != want {
		t.Errorf("first token %d, want %d", rs[0].FirstToken, want)
	}
}

func TestPreemptionCompletesEveryRequest(t *testing.T) {
	// 40 blocks of 4 tokens = 160 tokens of KV for 8 requests that each
	// grow to 8 + 32 = 40 tokens (10 blocks): at most 4 fit at the end, so
	// running requests are preempted and recomputed, and all complete.
	var reqs []workload.Request
	for i := 0; i < 8; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 1000, PromptTokens: 8, OutputTokens: 32})
	}
	for _, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 2)
		c.Scheduler.KVBlocks = 40
		st, rs := runReqs(t, c, fixedCost{}, reqs)
		if st.Completed != 8 || st.Preemptions == 0 {
			t.Fatalf("%s: completed %d preemptions %d, want 8 completed and some preemptions", l, st.Completed, st.Preemptions)
		}
		for _, r := range rs {
			if r.OutputTokens != 32 || r.Status != Completed {
				t.Errorf("%s: request %d: %d tokens, %v", l, r.ID, r.OutputTokens, r.Status)
			}
		}
	}
}

func TestStopTimeReportsUnfinished(t *testing.T) {
	c := tinyConfig("medium", 1)
	c.Simulation.MaxSimulationTime = Duration(5 * tinyStep)
	reqs := []workload.Request{
		{ID: 0, Arrival: 0, PromptTokens: 4, OutputTokens: 3},
		{ID: 1, Arrival: 0, PromptTokens: 4, OutputTokens: 100},
	}
	st, rs := runReqs(t, c, fixedCost{}, reqs)
	m := byID(rs)
	if len(rs) != 2 || m[0].Status != Completed || m[1].Status != Unfinished || st.Unfinished != 1 {
		t.Fatalf("results %+v", rs)
	}
	// A and B arrive on the same ns, before the scheduler runs: both
	// prefill in step 1 and B decodes in steps 2-5.
	if m[1].OutputTokens != 5 {
		t.Errorf("unfinished request produced %d tokens by the stop time, want 5", m[1].OutputTokens)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() []byte {
		c := refConfig(2, 8, "high")
		c.Simulation.Variability = 0.1
		c.Workload.Synthetic.Duration = Duration(3e9)
		st, rs := runCfg(t, c, nil)
		var buf bytes.Buffer
		json.NewEncoder(&buf).Encode(st)
		json.NewEncoder(&buf).Encode(rs)
		return buf.Bytes()
	}
	a, b := run(), run()
	if !bytes.Equal(a, b) {
		t.Fatal("two runs with the same seed differ")
	}
}

func TestPipelineParallelEquivalent(t *testing.T) {
	for _, pp := range []int{2, 4} {
		var rs [2][]RequestResult
		var st [2]*Stats
		for i, l := range []string{"high", "medium"} {
			c := refConfig(2, 6, l)
			c.Cluster.PipelineParallel = pp
			c.Workload.Synthetic.Duration = Duration(5e9)
			st[i], rs[i] = runCfg(t, c, nil)
		}
		if d := diffOutputs(st[0], st[1], rs[0], rs[1]); d != "" {
			t.Fatalf("pp%d: high and medium differ: %s", pp, d)
		}
	}
}

func TestPipelineKeepsSeveralMicroBatchesInFlight(t *testing.T) {
	// PP2, one layer per stage. A arrives at 0 and its step occupies stage
	// 0 until 4001 ns; B arrives at 1 ns and starts on stage 0 as soon as
	// A's micro-batch moves to stage 1, so B's first token comes before
	// A's second: two micro-batches are in flight.
	reqs := []workload.Request{
		{ID: 0, Arrival: 0, PromptTokens: 4, OutputTokens: 10},
		{ID: 1, Arrival: 1, PromptTokens: 4, OutputTokens: 10},
	}
	for _, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 1)
		c.Cluster.PipelineParallel = 2
		_, rs := runReqs(t, c, fixedCost{}, reqs)
		m := byID(rs)
		if m[1].FirstScheduled != 4001 {
			t.Errorf("%s: B first scheduled at %d, want 4001 (when stage 0 frees)", l, m[1].FirstScheduled)
		}
		// A's second step cannot start before its first finishes, at
		// about 9.1 us; B's first token comes about 5 us after that.
		if m[1].FirstToken >= m[0].FirstToken+9002 {
			t.Errorf("%s: B's first token at %d not before A's second step could end (%d)", l, m[1].FirstToken, m[0].FirstToken+9002)
		}
	}
}

func TestContentionAndVariabilityDiverge(t *testing.T) {
	base := func(l string) *Config {
		c := refConfig(4, 8, l)
		c.Workload.Synthetic.Duration = Duration(3e9)
		return c
	}
	_, med := runCfg(t, base("medium"), nil)
	mean := func(rs []RequestResult) float64 {
		var s float64
		for _, r := range rs {
			s += float64(r.E2E())
		}
		return s / float64(len(rs))
	}
	// A shared bus: the four ring transfers of each step divide its
	// bandwidth, which the analytical collective does not see.
	c := base("high")
	c.Cluster.Links.Topology = "shared"
	_, shared := runCfg(t, c, nil)
	if mean(shared) <= mean(med)*1.01 {
		t.Errorf("shared bus: high mean E2E %.0f not above medium %.0f", mean(shared), mean(med))
	}
	// Variability: each collective waits for its slowest rank.
	c = base("high")
	c.Simulation.Variability = 0.2
	_, vary := runCfg(t, c, nil)
	if mean(vary) <= mean(med)*1.01 {
		t.Errorf("variability: high mean E2E %.0f not above medium %.0f", mean(vary), mean(med))
	}
}

func TestRouterPolicies(t *testing.T) {
	reqs := []workload.Request{}
	for i := 0; i < 12; i++ {
		out := int32(4)
		if i%3 == 0 {
			out = 200 // every third request is long
		}
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 50000, PromptTokens: 8, OutputTokens: out})
	}
	// longHomes is the set of replicas that served the long requests.
	longHomes := func(policy string) map[int32]bool {
		c := tinyConfig("medium", 1)
		c.Cluster.Replicas = 3
		c.Router.Policy = RoutingPolicy(policy)
		_, rs := runReqs(t, c, fixedCost{}, reqs)
		if len(rs) != 12 {
			t.Fatalf("%s: %d results", policy, len(rs))
		}
		homes := map[int32]bool{}
		for _, r := range rs {
			if r.OutputTokens == 200 {
				homes[r.Replica] = true
			}
		}
		return homes
	}
	// Round robin sends every third request, all the long ones, to
	// replica 0; load-aware policies spread them, since the long requests
	// are still outstanding (and hold KV) when the next long one arrives.
	if h := longHomes("round_robin"); len(h) != 1 || !h[0] {
		t.Errorf("round_robin put long requests on %v, want replica 0 only", h)
	}
	for _, p := range []string{"least_outstanding", "least_kv"} {
		if h := longHomes(p); len(h) != 3 {
			t.Errorf("%s put long requests on %v, want all three replicas", p, h)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c, err := ParseConfig([]byte(`
simulation: {lod: ultra}
model: {name: Llama-3-8B}
hardware: {gpu: ""}
cluster: {tensor_parallel: 3, gpu_memory_utilization: 1.5, links: {topology: pcie}}
scheduler: {max_num_seqs: -1, batching: fcfs}
router: {policy: random}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"hardware.gpu", "cluster.tensor_parallel", "cluster.gpu_memory_utilization", "scheduler.max_num_seqs", "workload",
		// An unknown enum value names the field, what was found and every valid value.
		`simulation.lod: "ultra", expected one of high, medium`,
		`cluster.links.topology: "pcie", expected one of nvlink, shared`,
		`scheduler.batching: "fcfs", expected one of mixed, prefill_first`,
		`router.policy: "random", expected one of round_robin, least_outstanding, least_kv`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if _, err := ParseConfig([]byte("simulation: {lodd: high}")); err == nil || !strings.Contains(err.Error(), "lodd") {
		t.Errorf("unknown field not reported: %v", err)
	}
}

func TestScenariosParse(t *testing.T) {
	for _, n := range ScenarioNames() {
		c, err := Scenario(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}
}

func TestKVBlocksFollowVLLM(t *testing.T) {
	c := refConfig(1, 1, "medium")
	g, _ := cost.LookupGPU("A100-80GB-SXM")
	b1, err := KVBlocks(c, tinyModelOr(t, "Llama-3-8B"), g, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Llama-3-8B: 15 GiB of weights, 128 KiB of KV per token (32 layers x
	// 8 KV heads x 128 x 2 x 2 bytes); 0.9 x 80 GiB less weights and a
	// 1.3 GiB reserve leaves about 55.7 GiB: about 28.5k blocks of 16
	// tokens (vLLM logs 27-28k GPU blocks for this setup; the band allows
	// for its measured rather than estimated activation peak).
	if b1 < 26000 || b1 > 30000 {
		t.Errorf("TP1 blocks %d, expected about 28.5k", b1)
	}
	c.Cluster.TensorParallel = 2
	b2, _ := KVBlocks(c, tinyModelOr(t, "Llama-3-8B"), g, 0)
	if b2 < 2*b1 {
		t.Errorf("TP2 blocks %d, expected more than twice TP1's %d (weights split too)", b2, b1)
	}
	c.Cluster.TensorParallel = 1
	if _, err := KVBlocks(c, tinyModelOr(t, "Llama-3-70B"), g, 0); err == nil {
		t.Error("Llama-3-70B on one A100 accepted")
	}
}

func tinyModelOr(t *testing.T, name string) lod.Model {
	m, err := lod.LookupModel(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOverloadScenarioPreempts runs the embedded overload scenario (KV
// exhaustion) with the accounting check after every step, at both levels,
// and checks they agree request by request.
func TestOverloadScenarioPreempts(t *testing.T) {
	var res [2][]RequestResult
	var sts [2]*Stats
	for i, l := range []string{"high", "medium"} {
		c, err := Scenario("overload-tp1")
		if err != nil {
			t.Fatal(err)
		}
		c.Simulation.LoD = LoD(l)
		c.Workload.Synthetic.Duration = Duration(20e9)
		st, rs := runCfg(t, c, nil)
		if st.Preemptions == 0 || st.Completed != st.Arrived || st.PeakKVUtil < 0.99 {
			t.Fatalf("%s: preemptions %d, completed %d of %d, peak KV %.2f", l, st.Preemptions, st.Completed, st.Arrived, st.PeakKVUtil)
		}
		res[i], sts[i] = rs, st
	}
	if d := diffOutputs(sts[0], sts[1], res[0], res[1]); d != "" {
		t.Fatalf("high and medium differ: %s", d)
	}
}

// countSink counts results without keeping them.
type countSink struct{ n int64 }

func (c *countSink) Record(*RequestResult) error { c.n++; return nil }

// TestStateFollowsRequestsInFlight streams 60,000 requests through a
// replica and checks that the simulator's per-request state is recycled:
// its size follows the requests in flight, not the trace length.
func TestStateFollowsRequestsInFlight(t *testing.T) {
	c := refConfig(1, 100, "medium")
	c.Cluster.Replicas = 8
	c.Workload.Synthetic.Duration = 0
	c.Workload.Synthetic.Count = 60000
	m, _ := c.ResolveModel()
	g, _ := cost.LookupGPU(c.Hardware.GPU)
	var sink countSink
	s, err := NewSimulator(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &sink})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	if sink.n != 60000 || st.Completed != 60000 {
		t.Fatalf("recorded %d, completed %d", sink.n, st.Completed)
	}
	// Slots are reused: the slab never outgrows the peak of requests in
	// the system, which at 100 req/s over 8 replicas is a few hundred.
	if int64(len(s.reqs)) != st.PeakInFlight || st.PeakInFlight > 1000 {
		t.Errorf("request slab grew to %d slots for 60000 requests, peak in flight %d", len(s.reqs), st.PeakInFlight)
	}
}

// latencyCost is fixedCost with latency-bound links (no bandwidth term), as
// calibrated profiles give for small all-reduces.
type latencyCost struct{ fixedCost }

func (latencyCost) RingLink(n int) cost.Link {
	return cost.Link{LatencyNs: 100, BytesPerNs: math.Inf(1)}
}
func (c latencyCost) AllReduceLink(n int, s float64) cost.Link { return c.RingLink(n) }
func (c latencyCost) SendLink() cost.Link                      { return c.RingLink(2) }

// TestLatencyBoundLinks: hops that only pay latency are delivered (no
// deadlock), do not slow each other down when they overlap (latency is not
// a shared resource), and match medium exactly without variability.
func TestLatencyBoundLinks(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 6; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 3000, PromptTokens: 8, OutputTokens: 20})
	}
	var res [2][]RequestResult
	var sts [2]*Stats
	for i, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 4)
		c.Cluster.PipelineParallel = 2
		sts[i], res[i] = runReqs(t, c, latencyCost{}, reqs)
	}
	if d := diffOutputs(sts[0], sts[1], res[0], res[1]); d != "" {
		t.Fatalf("high and medium differ: %s", d)
	}
	c := tinyConfig("high", 4)
	c.Simulation.Variability = 0.3
	st, _ := runReqs(t, c, latencyCost{}, reqs)
	if st.Completed != 6 {
		t.Fatalf("with variability %d of 6 completed", st.Completed)
	}
}

// TestNoAllocationPerEvent: a four times longer run processes four times
// the events with about the same number of allocations (the time series
// and the first growth of reused buffers, not the events, allocate), at
// high LoD, at adaptive LoD while it refines (variability on), on a
// disaggregated cluster at high LoD (KV streamed per layer), and for
// DeepSeek-R1 with EP8 over 8 attention data-parallel replicas (the
// dsr1-ep8-h200 scenario: per-GPU dispatch and combine transfers, skewed
// loads), made longer by four times the output instead.
func TestNoAllocationPerEvent(t *testing.T) {
	seconds := func(c *Config, scale float64) *Config {
		c.Workload.Synthetic.Duration = Duration(2e9 * scale)
		return c
	}
	variants := []struct {
		name string
		cfg  func(scale float64) *Config // scale 1 or 4: the run's length
	}{
		{"high", func(x float64) *Config { return seconds(refConfig(2, 4, "high"), x) }},
		{"adaptive", func(x float64) *Config {
			c := refConfig(2, 4, "adaptive")
			c.Simulation.Variability = 0.2
			return seconds(c, x)
		}},
		{"disaggregated", func(x float64) *Config {
			c := refConfig(2, 4, "high")
			c.Cluster.Replicas, c.Cluster.TensorParallel = 0, 0
			c.Cluster.Disaggregated = &DisaggConfig{Prefill: PoolConfig{Workers: 1, TensorParallel: 2}, Decode: PoolConfig{Workers: 1, TensorParallel: 2}}
			c.ApplyDefaults()
			return seconds(c, x)
		}},
		{"hierarchical-all-reduce", func(x float64) *Config {
			// TP4 over two 2-GPU nodes: NVLink is far faster than twice
			// the network, so every all-reduce is hierarchical.
			c := refConfig(4, 4, "high")
			c.Cluster.Nodes, c.Cluster.GPUsPerNode = 2, 2
			c.Cluster.Network = NetworkConfig{BandwidthGBps: 12.5, LatencyUs: 5}
			return seconds(c, x)
		}},
		{"expert-parallel", func(x float64) *Config {
			c, err := Scenario("dsr1-ep8-h200")
			if err != nil {
				t.Fatal(err)
			}
			// 8 requests: one per replica.
			c.Workload.Synthetic.Duration = Duration(0.25e9)
			c.Workload.Synthetic.Rate = 32
			c.Workload.Synthetic.Output.Mean = 16 * x
			return c
		}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			allocs := func(scale float64) (float64, uint64) {
				c := v.cfg(scale)
				m, _ := c.ResolveModel()
				g, _ := cost.LookupGPU(c.Hardware.GPU)
				cm := cost.NewRoofline(g)
				var events uint64
				a := testing.AllocsPerRun(1, func() {
					st, err := Run(Input{Config: c, Model: m, Cost: cm, Workload: synthReader(t, c), Sink: &countSink{}})
					if err != nil {
						t.Fatal(err)
					}
					events = st.TotalEvents
				})
				return a, events
			}
			a1, e1 := allocs(1)
			a4, e4 := allocs(4)
			// Adaptive stops refining once its step classes converge, so
			// its longer run adds mostly medium events (and the high
			// windows its cap of 32 + steps/50 still allows).
			if e4 < 3*e1 && (v.name != "adaptive" || e4 <= e1) {
				t.Fatalf("events %d vs %d: the longer run should process more", e1, e4)
			}
			// 64 allocations of slack for the longer time series and request slab.
			if a4-a1 > 64 {
				t.Errorf("%0.f allocations for %d events vs %0.f for %d: the event loop allocates", a4, e4, a1, e1)
			}
			t.Logf("%d events: %.0f allocs; %d events: %.0f allocs", e1, a1, e4, a4)
			if v.name == "adaptive" {
				// Its windows are few (capped), so compare with the same
				// run at medium: the refined steps' events must not
				// allocate either (a few tables for the step classes).
				c := v.cfg(1)
				c.Simulation.LoD = LoDMedium
				m, _ := c.ResolveModel()
				g, _ := cost.LookupGPU(c.Hardware.GPU)
				var high int64
				am := testing.AllocsPerRun(2, func() {
					if _, err := Run(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &countSink{}}); err != nil {
						t.Fatal(err)
					}
				})
				ca := v.cfg(1)
				st, err := Run(Input{Config: ca, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, ca), Sink: &countSink{}})
				if err != nil {
					t.Fatal(err)
				}
				high = int64(st.Adaptive.HighEvents)
				if high == 0 || a1-am > 32 { // its step-class tables: 24 allocations when written
					t.Errorf("adaptive: %.0f allocations vs %.0f at medium over %d high-LoD events", a1, am, high)
				}
				t.Logf("adaptive %.0f allocs, medium %.0f, %d events at high", a1, am, high)
			}
		})
	}
}

// TestLinkOverride: cluster.links.latency_us and bandwidth_gbps replace the
// cost model's link in both levels of detail. A 10-token prefill at TP2
// reduces 1280 bytes, 640 per hop: 200 + ceil(640/20) = 232 ns a hop, and
// 2 layers x 2 all-reduces x 2 hops = 8 hops.
func TestLinkOverride(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 1}}
	for _, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 2)
		c.Cluster.Links.LatencyUs = 0.2
		c.Cluster.Links.BandwidthGBps = 20
		_, rs := runReqs(t, c, fixedCost{}, reqs)
		if want := Time(tinyStep + 8*232); rs[0].FirstToken != want {
			t.Errorf("%s: first token %d, want %d", l, rs[0].FirstToken, want)
		}
	}
}

// TestProgressReported: a long run calls Progress with simulated time that
// never goes back, so the CLI can show it on a terminal.
func TestProgressReported(t *testing.T) {
	c := refConfig(4, 8, "high")
	c.Workload.Synthetic.Duration = Duration(4e9)
	m, _ := c.ResolveModel()
	g, _ := cost.LookupGPU(c.Hardware.GPU)
	var calls int
	var last Time
	_, err := Run(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &countSink{},
		Progress: func(now Time, finished int64) {
			if now < last {
				t.Errorf("progress went back from %d to %d", last, now)
			}
			last = now
			calls++
		}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Errorf("progress reported %d times over a run of millions of events", calls)
	}
}

// TestArrivalOnStepEnd: a request arriving on the very ns a step ends is
// routed after the step's end, at both levels of detail. Two replicas
// under least_outstanding on fixedCost (every step 9002 ns): A (arrival
// 0, one output token) and D (200) go to replica 0, C (100) to replica 1.
// A's prefill ends at 9002 and completes it, the ns B arrives: replicas
// 0 and 1 then hold one request each and B goes to replica 0 (ties to
// the lowest id). Routed before the step's end (high LoD's last event of
// the step is pushed after B's arrival, medium's before) replica 0 would
// hold two and B would go to replica 1.
func TestArrivalOnStepEnd(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 8, OutputTokens: 1}, {ID: 2, Arrival: 100, PromptTokens: 8, OutputTokens: 4},
		{ID: 3, Arrival: 200, PromptTokens: 8, OutputTokens: 4}, {ID: 4, Arrival: tinyStep, PromptTokens: 8, OutputTokens: 4}}
	for _, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 1)
		c.Cluster.Replicas, c.Router.Policy = 2, LeastOutstanding
		st, rs := runReqs(t, c, fixedCost{}, reqs)
		m := byID(rs)
		if st.Completed != 4 || m[1].Completion != tinyStep || m[2].Replica != 1 || m[3].Replica != 0 || m[4].Replica != 0 {
			t.Errorf("%s: %d completed, A completed at %d, replicas of C, D, B %d %d %d; expected 4, %d, 1 0 0",
				l, st.Completed, m[1].Completion, m[2].Replica, m[3].Replica, m[4].Replica, tinyStep)
		}
	}
}

// TestRunEndTie: two replicas step in phase from t=0, replica 0's chain
// first. A third request cuts replica 0's decode run; its request then
// finishes and replica 0 runs again, so both runs end on one ns with both
// requests' last tokens. Step by step, replica 0's step ends first (its
// scheduler ran first at the step's start); medium's run end events were
// pushed at the runs' starts, replica 1's first, and recorded request 1
// before 0 until a run waited for the step ends of earlier chains
// (mediumExecutor.runPredecessor).
func TestRunEndTie(t *testing.T) {
	reqs := []workload.Request{{ID: 0, PromptTokens: 8, OutputTokens: 10}, {ID: 1, PromptTokens: 8, OutputTokens: 10},
		{ID: 2, Arrival: 3*tinyStep + tinyStep/2, PromptTokens: 8, OutputTokens: 1}}
	for _, l := range []string{"high", "medium"} {
		c := tinyConfig(l, 1)
		c.Cluster.Replicas, c.Router.Policy = 2, RoundRobin
		_, rs := runReqs(t, c, fixedCost{}, reqs)
		if len(rs) != 3 || rs[1].ID != 0 || rs[2].ID != 1 || rs[1].Completion != rs[2].Completion {
			t.Errorf("%s: results %+v, expected requests 2, 0, 1, the last two on one ns", l, rs)
		}
	}
}
