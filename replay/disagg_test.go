package replay

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace/workload"
)

// tinyDisagg is the tiny model on a disaggregated cluster: the given
// pools, KV moved over a network link of 10 bytes/ns and 1 us.
func tinyDisagg(lodName string, prefill, decode PoolConfig) *Config {
	c := &Config{
		Simulation: SimulationConfig{LoD: LoD(lodName), Seed: 1},
		Model:      tinyModel,
		Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
		Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: prefill, Decode: decode,
			Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
		Scheduler: SchedulerConfig{KVBlocks: 1000, BlockSize: 4},
		Workload:  WorkloadConfig{Embedded: "test"},
	}
	c.ApplyDefaults()
	return c
}

func runDisagg(t *testing.T, c *Config, cm cost.CostModel, reqs []workload.Request) (*Stats, []RequestResult) {
	t.Helper()
	var col Collect
	st, err := Run(Input{Config: c, Model: c.Model, Cost: cm, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	return st, col.Results
}

// TestDisaggTransferHandComputed follows one request of 10 prompt and 3
// output tokens through a 1P+1D cluster of the tiny model at TP1 on
// fixedCost, at both levels of detail.
//
// The prefill step costs 9002 ns (see the tiny model's step above). The KV
// of 10 tokens is 2 layers x 2 KV heads x 16 dims x K and V x 2 bytes = 256
// bytes a token, 2560 bytes, over one lane of 10 bytes/ns and 1 us: 256 +
// 1000 = 1256 ns. The first token reaches the client with the KV, at 9002
// + 1256 = 10258 ns; the two decode steps of 9002 ns each follow.
func TestDisaggTransferHandComputed(t *testing.T) {
	for _, l := range []string{"high", "medium"} {
		c := tinyDisagg(l, PoolConfig{Workers: 1}, PoolConfig{Workers: 1})
		_, rs := runDisagg(t, c, fixedCost{}, []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 3}})
		r := rs[0]
		if r.Status != Completed || r.TransferStart != 9002 || r.TransferEnd != 10258 || r.FirstToken != 10258 {
			t.Errorf("%s: transfer %d..%d, first token %d, %v; expected 9002..10258, first token 10258, completed", l, r.TransferStart, r.TransferEnd, r.FirstToken, r.Status)
		}
		if r.Completion != 10258+2*9002 || r.OutputTokens != 3 {
			t.Errorf("%s: completed at %d with %d tokens, expected %d with 3", l, r.Completion, r.OutputTokens, 10258+2*9002)
		}
		if r.PrefillWorker != 0 || r.DecodeWorker != 0 || r.Replica != 1 {
			t.Errorf("%s: prefill worker %d, decode worker %d, replica %d; expected 0, 0, 1", l, r.PrefillWorker, r.DecodeWorker, r.Replica)
		}
		// One output token: done when the first token arrives.
		_, rs = runDisagg(t, c, fixedCost{}, []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 1}})
		if r := rs[0]; r.Status != Completed || r.Completion != 10258 || r.OutputTokens != 1 {
			t.Errorf("%s: one-token request %v at %d with %d tokens, expected completed at 10258 with 1", l, r.Status, r.Completion, r.OutputTokens)
		}
		// A setup of 2.5 us per transfer: 2500 + 1256 = 3756 ns, the
		// first token at 9002 + 3756 = 12758 ns.
		c.Cluster.Disaggregated.Transfer.SetupUs = 2.5
		_, rs = runDisagg(t, c, fixedCost{}, []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 3}})
		if r := rs[0]; r.Status != Completed || r.TransferStart != 9002 || r.TransferEnd != 12758 || r.Completion != 12758+2*9002 {
			t.Errorf("%s: with setup_us 2.5: transfer %d..%d, completed %d, %v; expected 9002..12758, completed %d", l, r.TransferStart, r.TransferEnd, r.Completion, r.Status, 12758+2*9002)
		}
	}
}

// TestDisaggConfigErrors: a pool without workers, a decode pool that
// cannot hold one request and a bad transfer link are reported, each by
// its field, all at once.
func TestDisaggConfigErrors(t *testing.T) {
	c := tinyDisagg("medium", PoolConfig{Workers: 0}, PoolConfig{Workers: -1, Router: "nearest"})
	c.Cluster.Disaggregated.Transfer.Link = "pigeon"
	c.Cluster.Disaggregated.Transfer.BandwidthGBps = -1
	c.Cluster.Disaggregated.Transfer.SetupUs = math.NaN()
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"cluster.disaggregated.prefill.workers: 0", "cluster.disaggregated.decode.workers: -1",
		"cluster.disaggregated.decode.router", "cluster.disaggregated.transfer.link", "cluster.disaggregated.transfer.bandwidth_gbps",
		"cluster.disaggregated.transfer.setup_us: NaN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	c = tinyDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 1, KVBlocks: 10})
	c.Scheduler.MaxModelLen = 100
	_, err = Run(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode") || !strings.Contains(err.Error(), "max_model_len") {
		t.Errorf("decode pool of 40 tokens for max_model_len 100: %v", err)
	}
}

// TestDisaggContendedLink: two requests finish their prefill in the same
// step on one prefill worker (they queue behind a first request's step),
// so their KV shares its lane. High LoD
// streams them side by side and both take longer than alone; medium,
// analytical, gives each the uncontended time. The LoD comparison shows it.
func TestDisaggContendedLink(t *testing.T) {
	reqs := []workload.Request{{ID: 0, PromptTokens: 4, OutputTokens: 1},
		{ID: 1, Arrival: 1, PromptTokens: 40, OutputTokens: 2}, {ID: 2, Arrival: 1, PromptTokens: 40, OutputTokens: 2}}
	var xfer [2][2]Time
	for i, l := range []string{"high", "medium"} {
		c := tinyDisagg(l, PoolConfig{Workers: 1}, PoolConfig{Workers: 1})
		_, rs := runDisagg(t, c, fixedCost{}, reqs)
		for _, r := range rs {
			if r.ID > 0 {
				xfer[i][r.ID-1] = r.TransferNs()
			}
		}
	}
	alone := Time(40*256/10 + 1000) // 1024 ns of bytes, 1 us latency
	if xfer[1][0] != alone || xfer[1][1] != alone {
		t.Errorf("medium transfers %v, expected %d each", xfer[1], alone)
	}
	// Sharing the lane, each gets half the bandwidth: 2048 ns of bytes.
	if xfer[0][0] != 2048+1000 || xfer[0][1] != 2048+1000 {
		t.Errorf("high transfers %v, expected %d each (shared lane)", xfer[0], 2048+1000)
	}
}

// TestDisaggDeterministic: the same config and seed give identical
// outputs.
func TestDisaggDeterministic(t *testing.T) {
	reqs := randomDisaggReqs(rand.New(rand.NewPCG(3, 3)), 40)
	for _, l := range []string{"high", "medium"} {
		var st [2]*Stats
		var rs [2][]RequestResult
		for i := range st {
			c := tinyDisagg(l, PoolConfig{Workers: 2, TensorParallel: 2}, PoolConfig{Workers: 2, KVBlocks: 60, Router: LeastKV})
			st[i], rs[i] = runDisagg(t, c, fixedCost{}, reqs)
		}
		if d := diffOutputs(st[0], st[1], rs[0], rs[1]); d != "" {
			t.Errorf("%s: two runs differ: %s", l, d)
		}
	}
}

func randomDisaggReqs(rng *rand.Rand, n int) []workload.Request {
	var reqs []workload.Request
	var at int64
	for i := 0; i < n; i++ {
		at += rng.Int64N(20000)
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: at,
			PromptTokens: int32(1 + rng.IntN(120)), OutputTokens: int32(1 + rng.IntN(60))})
	}
	return reqs
}

// drawDisagg draws a disaggregated cluster of the tiny model: pools of
// their own sizes, TP, PP, limits and routers, shared scheduler settings
// and engine, KV over a dedicated network lane per prefill GPU (so that
// only KV transfers can contend with each other). tight makes both pools'
// caches small: decode preemptions and finished prefills waiting for
// decode room.
func drawDisagg(r *rand.Rand, l string, tight bool) *Config {
	pool := func(seqs int) PoolConfig {
		return PoolConfig{Workers: 1 + r.IntN(2), TensorParallel: []int{1, 2, 4}[r.IntN(3)], PipelineParallel: 1 + r.IntN(2),
			MaxNumSeqs: 1 + r.IntN(seqs), MaxNumBatchedTokens: 16 + r.IntN(200), KVBlocks: 80 + r.IntN(400),
			Router: RoutingPolicies[r.IntN(3)]}
	}
	c := &Config{
		Simulation: SimulationConfig{LoD: LoD(l), Seed: 1, MaxSimulationTime: Duration(10e9)},
		Model:      tinyModel,
		Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
		Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: pool(4), Decode: pool(16),
			Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: float64(5 + r.IntN(100)), LatencyUs: float64(r.IntN(3))}}},
		Scheduler: SchedulerConfig{BlockSize: []int{2, 4, 16}[r.IntN(3)], Batching: BatchingPolicies[r.IntN(2)]},
		Workload:  WorkloadConfig{Embedded: "test"},
	}
	if r.IntN(3) == 0 {
		c.Scheduler.AdmissionReserve = 0.7
	}
	drawEngine(r, c)
	if c.Scheduler.Engine == EngineSGLang && r.IntN(2) == 0 {
		// SGLang's decode pre-allocation reserve, up to a few blocks.
		c.Scheduler.DecodeReservedTokens = reserveTokens(1 + r.IntN(64))
	}
	d := c.Cluster.Disaggregated
	if !tight {
		// One prefill a step per worker: transfers rarely share a lane.
		d.Prefill.MaxNumSeqs = 1
	} else {
		// A 120-token prompt and 60 outputs need 90 blocks of 2: the
		// decode pool holds about one such request, the prefill pool a few
		// prompts.
		d.Prefill.KVBlocks, d.Decode.KVBlocks = 70+r.IntN(100), 95+r.IntN(60)
	}
	drawPoolExperts(r, c)
	c.ApplyDefaults()
	drawDisaggNodes(r, c)
	return c
}

// TestRandomDisaggHighEqualsMedium extends the differential test to
// disaggregated clusters: random pools, workloads, engines and stop times at both
// levels of detail must agree in every output wherever no two KV
// transfers shared a lane (high LoD's transfer times then equal medium's
// analytical ones; a seed where they do not is contended and is only
// checked for liveness and KV accounting). A failure prints its seed.
func TestRandomDisaggHighEqualsMedium(t *testing.T) {
	g, _ := cost.LookupGPU("H100-SXM")
	models := []cost.CostModel{fixedCost{}, latencyCost{}, cost.NewRoofline(g),
		fixedCost{overheads: cost.Overheads{StepNs: 6000, PerSeqNs: 400, PerPrefillTokenNs: 30}}}
	h200, _ := cost.LookupGPU("H200-SXM")
	compared, tightCompared, netCompared, mixedCompared := 0, 0, 0, 0
	const seeds = 300
	// Beyond the 300, seeds that once failed: 882 and 2460 (a medium
	// decode run hid from a waiting KV transfer the blocks a preemption
	// freed as the run began; mediumExecutor.startRun) and 1432 (SGLang's
	// pre-allocation room, checked mid-run, missed the run's unsettled
	// tokens; sglangRoom.sglangAllocatable) and 3512 (an arrival on the ns a
	// prefill step ended was routed before the step's end at high LoD,
	// after it at medium; Simulator.onArrival).
	all := make([]uint64, 0, seeds+4)
	for seed := uint64(1); seed <= seeds; seed++ {
		all = append(all, seed)
	}
	all = append(all, 882, 1432, 2460, 3512)
	for _, seed := range all {
		rng := rand.New(rand.NewPCG(seed, 12))
		reqs := randomDisaggReqs(rng, 5+rng.IntN(30))
		cm := models[rng.IntN(len(models))]
		var res [2][]RequestResult
		var st [2]*Stats
		// A quarter of the seeds stop half way: requests between the
		// pools, waiting for room or in transfer, end unfinished.
		stopped, mixed := seed%4 == 1, seed%5 == 3
		onNodes := false
		for i, l := range []string{"high", "medium"} {
			c := drawDisagg(rand.New(rand.NewPCG(seed, 13)), l, seed%3 == 0)
			onNodes = c.Cluster.Nodes > 0
			// A node holds one GPU type: mixed pools only off nodes.
			mixed = mixed && !onNodes
			if stopped {
				c.Simulation.MaxSimulationTime = Duration(reqs[len(reqs)-1].Arrival / 2)
			}
			// A fifth of the seeds decode on a GPU of their own (H200,
			// its roofline) while prefill runs on the drawn cost model.
			var dc cost.CostModel
			if mixed {
				c.Cluster.Disaggregated.Decode.GPU, dc = h200.Name, cost.NewRoofline(h200)
			}
			var col Collect
			s, err := Run(Input{Config: c, Model: c.Model, Cost: cm, DecodeCost: dc, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
			if err != nil {
				t.Fatalf("seed %d %s: %v", seed, l, err)
			}
			if !stopped && s.Completed+s.Rejected != int64(len(reqs)) {
				t.Fatalf("seed %d %s: %d of %d requests finished", seed, l, s.Completed+s.Rejected, len(reqs))
			}
			res[i], st[i] = col.Results, s
		}
		if contended(res[0], res[1]) {
			continue
		}
		compared++
		if seed%3 == 0 {
			tightCompared++
		}
		if mixed {
			mixedCompared++
		}
		if d := diffOutputs(st[0], st[1], res[0], res[1]); d != "" {
			t.Fatalf("seed %d: high and medium differ: %s", seed, d)
		}
		if onNodes && st[0].Disaggregated.KVLink == string(KVLinkNetwork) && st[0].Disaggregated.Transfers > 0 {
			netCompared++ // on nodes, KV between them
		}
	}
	// Most seeds without cache pressure have no contention, and some with
	// it (whose waiting transfers tend to start together when room opens):
	// the comparison is not vacuous. 215, 54 and 18 (KV between nodes)
	// with the draws on nodes; about 37 on mixed GPUs before them.
	if compared < seeds/2 || tightCompared < 10 || netCompared < 10 || mixedCompared < 15 {
		t.Errorf("only %d of %d seeds (%d of them tight, %d with KV between nodes, %d on mixed GPUs) free of KV contention", compared, seeds, tightCompared, netCompared, mixedCompared)
	}
	t.Logf("%d of %d seeds compared, %d of them tight, %d with KV between nodes, %d on mixed GPUs", compared, seeds, tightCompared, netCompared, mixedCompared)
}

// contended reports whether a high LoD transfer took longer than the
// medium one of the same request (requests matched by ID).
func contended(high, medium []RequestResult) bool {
	m := byID(medium)
	for _, r := range high {
		if o, ok := m[r.ID]; ok && r.TransferStart >= 0 && r.TransferNs() != o.TransferNs() {
			return true
		}
	}
	return false
}

// TestDisaggKVConservation runs small caches on both pools (decode
// preemptions, finished prefills waiting for decode room, prefill workers
// full of KV waiting to leave) at both levels of detail with the KV
// accounting checked after every step across both pools: every request
// completes, none is lost, and the pressure really occurs.
func TestDisaggKVConservation(t *testing.T) {
	var preempt, waited int64
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 21))
		reqs := randomDisaggReqs(rng, 20+rng.IntN(30))
		for _, l := range []string{"high", "medium"} {
			c := drawDisagg(rand.New(rand.NewPCG(seed, 22)), l, true)
			st, rs := runDisagg(t, c, fixedCost{}, reqs)
			if st.Completed+st.Rejected != int64(len(reqs)) || len(rs) != len(reqs) {
				t.Fatalf("seed %d %s: %d completed + %d rejected, %d results, of %d requests", seed, l, st.Completed, st.Rejected, len(rs), len(reqs))
			}
			var tokens int64
			for _, r := range rs {
				if r.Status == Completed {
					tokens += int64(r.OutputTokens)
				}
			}
			if st.OutputTokens < tokens {
				t.Fatalf("seed %d %s: %d tokens generated, results hold %d", seed, l, st.OutputTokens, tokens)
			}
			preempt += st.Preemptions
			waited += st.Disaggregated.WaitedForRoom
		}
	}
	if preempt == 0 || waited == 0 {
		t.Errorf("%d preemptions, %d transfers waited for decode room: the test exerts no pressure", preempt, waited)
	}
	t.Logf("%d preemptions, %d waits for decode room", preempt, waited)
}

// TestDisaggDecodeRoom: a decode worker takes a transfer only while its
// running requests and transfers in progress are fewer than max_num_seqs
// (here one), so the second request's KV waits, on its prefill worker,
// until the first request leaves.
func TestDisaggDecodeRoom(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 5}, {ID: 2, Arrival: 1, PromptTokens: 10, OutputTokens: 5}}
	for _, l := range []string{"high", "medium"} {
		c := tinyDisagg(l, PoolConfig{Workers: 1}, PoolConfig{Workers: 1, MaxNumSeqs: 1})
		st, rs := runDisagg(t, c, fixedCost{}, reqs)
		m := byID(rs)
		if m[2].TransferStart != m[1].Completion || st.Disaggregated.WaitedForRoom != 1 {
			t.Errorf("%s: second transfer started at %d, first request completed at %d; %d waited", l, m[2].TransferStart, m[1].Completion, st.Disaggregated.WaitedForRoom)
		}
	}
}

// TestDisaggDecodeStepsMix: on a decode worker a transferred request joins
// the running decodes at the next step, even under prefill_first batching
// (a step of it alone, as a newly admitted request, would stall them): with fixedCost every step takes
// 9002 ns, so the first request's tokens keep that pace while the second
// one arrives.
func TestDisaggDecodeStepsMix(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 20}, {ID: 2, Arrival: 20000, PromptTokens: 10, OutputTokens: 5}}
	for _, l := range []string{"high", "medium"} {
		c := &Config{
			Simulation: SimulationConfig{LoD: LoD(l), Seed: 1},
			Model:      tinyModel,
			Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
			Cluster:    ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1}}},
			Scheduler:  SchedulerConfig{KVBlocks: 1000, BlockSize: 4, Batching: BatchingPrefillFirst},
			Workload:   WorkloadConfig{Embedded: "test"},
		}
		c.ApplyDefaults()
		_, rs := runDisagg(t, c, fixedCost{}, reqs)
		m := byID(rs)
		if r := m[1]; r.TPOT() != 9002 || m[2].Status != Completed {
			t.Errorf("%s: first request's TPOT %.1f ns, expected one 9002 ns step a token", l, r.TPOT())
		}
	}
}

// TestDisaggKVSharesNVLink: over NVLink a TP2 prefill worker's KV leaves
// through its GPUs' ring links, which the next prefill step's all-reduces
// use at the same time. High LoD shares the bandwidth between them, so the
// transfer takes longer than alone; medium, analytical, does not see it.
func TestDisaggKVSharesNVLink(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 1000, OutputTokens: 2}, {ID: 2, Arrival: 1, PromptTokens: 100, OutputTokens: 2}}
	var xfer [2]Time
	for i, l := range []string{"high", "medium"} {
		c := tinyDisagg(l, PoolConfig{Workers: 1, TensorParallel: 2}, PoolConfig{Workers: 1})
		if c.Cluster.Nodes == 0 {
			c.Cluster.Disaggregated.Transfer = TransferConfig{Link: KVLinkNVLink}
		}
		st, rs := runDisagg(t, c, fixedCost{}, reqs)
		r := byID(rs)[1]
		xfer[i] = r.TransferNs()
		if st.Disaggregated.KVLink != "nvlink" {
			t.Errorf("%s: KV over %s", l, st.Disaggregated.KVLink)
		}
	}
	// 1000 tokens x 256 bytes over 2 lanes of 10 bytes/ns and 100 ns.
	if alone := Time(1000*256/2/10 + 100); xfer[1] != alone || xfer[0] <= alone {
		t.Errorf("transfer %d ns at high, %d at medium; expected medium %d and high longer", xfer[0], xfer[1], alone)
	}
}

// TestDisaggConfigYAML reads cluster.disaggregated from YAML: each pool
// takes the engine's defaults for its own TP (SGLang captures CUDA graphs
// up to batch 512 at TP >= 4 on an H100, 256 below), explicit limits win,
// and the marshalled config (a run directory's config.yaml) gives the same
// pools again, although its scheduler block holds defaults by then.
func TestDisaggConfigYAML(t *testing.T) {
	c, err := ParseConfig([]byte(`
model: {name: Llama-3.1-8B}
hardware: {gpu: H100-SXM}
cluster:
  disaggregated:
    prefill: {workers: 2, max_num_batched_tokens: 16384}
    decode: {workers: 1, tensor_parallel: 4, router: least_kv}
    transfer: {link: network}
scheduler: {engine: sglang}
workload: {embedded: azure-conv-2023}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	pre, dec := c.ForPool(PoolPrefill), c.ForPool(PoolDecode)
	gp, _ := pre.graphSizes()
	gd, _ := dec.graphSizes()
	if gp[len(gp)-1] != 256 || gd[len(gd)-1] != 512 || pre.Scheduler.MaxNumBatchedTokens != 16384 || dec.Scheduler.MaxNumBatchedTokens != 8192 {
		t.Errorf("prefill graphs to %d, budget %d; decode graphs to %d, budget %d", gp[len(gp)-1], pre.Scheduler.MaxNumBatchedTokens, gd[len(gd)-1], dec.Scheduler.MaxNumBatchedTokens)
	}
	if c.GPUs() != 6 || dec.Cluster.TensorParallel != 4 || dec.Router.Policy != LeastKV {
		t.Errorf("%d GPUs, decode %+v", c.GPUs(), dec.Cluster)
	}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []PoolKind{PoolPrefill, PoolDecode} {
		a, b := c.ForPool(k), back.ForPool(k)
		if !reflect.DeepEqual(a.Scheduler, b.Scheduler) || !reflect.DeepEqual(a.Cluster, b.Cluster) {
			t.Errorf("%s pool after a round trip:\n  %+v %+v\n  %+v %+v", k, a.Scheduler, a.Cluster, b.Scheduler, b.Cluster)
		}
	}
	// cluster.replicas and TP belong to the pools.
	bad := c.Clone()
	bad.Cluster.Replicas, bad.Cluster.TensorParallel = 4, 2
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "cluster.replicas: 4 with cluster.disaggregated") || !strings.Contains(err.Error(), "cluster.tensor_parallel") {
		t.Errorf("replicas and TP beside pools: %v", err)
	}
}

// TestRandomDisaggHighLiveness: at high LoD with variability, either
// topology and KV over NVLink (sharing the prefill workers' ring links
// with their all-reduces), every request still completes with consistent
// KV accounting across both pools.
func TestRandomDisaggHighLiveness(t *testing.T) {
	for seed := uint64(1); seed <= 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 31))
		reqs := randomDisaggReqs(rng, 5+rng.IntN(25))
		c := drawDisagg(rand.New(rand.NewPCG(seed, 32)), "high", seed%2 == 0)
		c.Simulation.Variability = 0.5 * rng.Float64()
		c.Simulation.Seed = seed
		c.Cluster.Links.Topology = Topologies[rng.IntN(2)]
		if c.Cluster.Nodes == 0 {
			c.Cluster.Disaggregated.Transfer = TransferConfig{Link: KVLinkNVLink}
		}
		st, _ := runDisagg(t, c, fixedCost{}, reqs)
		if st.Completed+st.Rejected != int64(len(reqs)) {
			t.Fatalf("seed %d: %d of %d requests finished", seed, st.Completed+st.Rejected, len(reqs))
		}
	}
}

// TestDecodeRouterCountsPendingTransfers: the KV-aware decode router
// (least_kv) counts the blocks of transfers waiting for room on a decode
// worker, so a worker whose room is already promised is not chosen again
// while another is as full but has nothing waiting.
func TestDecodeRouterCountsPendingTransfers(t *testing.T) {
	c := tinyDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 2, KVBlocks: 60, Router: LeastKV})
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err != nil {
		t.Fatal(err)
	}
	dec := s.pools[len(s.pools)-1]
	if dec.kind != PoolDecode || len(dec.replicas) != 2 {
		t.Fatalf("decode pool %v with %d workers", dec.kind, len(dec.replicas))
	}
	if got := dec.router.route(s, dec.replicas); got != dec.replicas[0] {
		t.Fatalf("empty workers: routed to %d, want the lowest id %d", got.id, dec.replicas[0].id)
	}
	dec.replicas[0].pendingBlocks = 10
	if got := dec.router.route(s, dec.replicas); got != dec.replicas[1] {
		t.Errorf("worker %d has 10 blocks of transfers waiting: routed to it again", got.id)
	}
}

// TestDisaggDecodeNoEvict: on a TensorRT-LLM decode worker with
// guaranteed_no_evict (the engine's default) a transfer starts only when
// the request's whole sequence fits beside what the running requests may
// still need. Ten blocks of 4 tokens; each request has 10 prompt and 20
// output tokens, 3 blocks on arrival and 8 whole. The second waits for the
// first to complete (10 - 8 = 2 blocks of room < 8) and nothing is evicted;
// with max_utilization it starts at once and the two outgrow the cache.
func TestDisaggDecodeNoEvict(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 20}, {ID: 2, Arrival: 1, PromptTokens: 10, OutputTokens: 20}}
	for _, l := range []string{"high", "medium"} {
		for _, policy := range []CapacityPolicy{GuaranteedNoEvict, MaxUtilization} {
			c := &Config{Simulation: SimulationConfig{LoD: LoD(l), Seed: 1}, Model: tinyModel, Hardware: HardwareConfig{GPU: "A100-80GB-SXM"},
				Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1, KVBlocks: 10},
					Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
				Scheduler: SchedulerConfig{BlockSize: 4, Engine: EngineTRTLLM, CapacityPolicy: policy, KVBlocks: 1000},
				Workload:  WorkloadConfig{Embedded: "test"}}
			c.ApplyDefaults()
			st, rs := runDisagg(t, c, fixedCost{}, reqs)
			m := byID(rs)
			if st.Completed != 2 {
				t.Fatalf("%s %s: %d of 2 completed", l, policy, st.Completed)
			}
			waited := m[2].TransferStart >= m[1].Completion
			if policy == GuaranteedNoEvict && (!waited || st.Preemptions != 0) {
				t.Errorf("%s %s: second transfer at %d, first completed at %d, %d preemptions; expected it to wait and none",
					l, policy, m[2].TransferStart, m[1].Completion, st.Preemptions)
			}
			if policy == MaxUtilization && (waited || st.Preemptions == 0) {
				t.Errorf("%s %s: second transfer at %d, first completed at %d, %d preemptions; expected it at once and an eviction",
					l, policy, m[2].TransferStart, m[1].Completion, st.Preemptions)
			}
		}
	}
}

// TestDisaggDecodeReservedTokens: SGLang's decode pre-allocation reserve
// (scheduler.decode_reserved_tokens) on a decode worker of 12 blocks of 4
// tokens, two requests of 10 + 20 tokens. Without the reserve the second
// KV (3 blocks) moves as soon as its prefill ends, and the two sequences
// (8 blocks each at the end) outgrow the 12 blocks: a preemption. With a
// reserve of 8 tokens (2 blocks), while the first request has n tokens
// the second may take min(A - 2, A - ceil((30-n)/4) + 3) blocks, where
// A = 12 - ceil(n/4) - max(2, ceil((30-n)/4)) (free blocks less the
// reserve of the running request, or the blocks it needs to finish): A
// is 4 for n = 11..25 and 3 for n = 26..29, never leaving the 3 blocks
// the second prompt needs, so its transfer waits until the first request
// completes, and nothing is preempted. A reserve of 0 is SGLang's rule
// with no per-request reserve, not the rule off: the second may take
// min(A, A - ceil((30-n)/4) + 3) blocks with A = 12 - ceil((n-1)/4) -
// ceil((30-n)/4) (the first holds the blocks of its n-1 computed
// tokens), 2 at n = 11..13 and 3 at n = 14, the first's third decode
// step, ending at 10258 + 3 x 9002 = 37264 ns: the transfer starts there,
// and the two sequences, both growing, still meet a preemption. On a
// cache of 1000 blocks the reserve does not bind and the transfer starts
// when the prefill ends, as without it. The setting is SGLang's only.
func TestDisaggDecodeReservedTokens(t *testing.T) {
	bad := tinyDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 1})
	bad.Scheduler.DecodeReservedTokens = reserveTokens(8)
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "scheduler.decode_reserved_tokens") {
		t.Errorf("decode_reserved_tokens without engine sglang: %v", err)
	}
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 20}, {ID: 2, Arrival: 1, PromptTokens: 10, OutputTokens: 20}}
	for _, l := range []string{"high", "medium"} {
		for _, reserve := range []*int{nil, reserveTokens(0), reserveTokens(8)} {
			for _, blocks := range []int{12, 1000} {
				c := &Config{Simulation: SimulationConfig{LoD: LoD(l), Seed: 1}, Model: tinyModel, Hardware: HardwareConfig{GPU: "A100-80GB-SXM"},
					Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1, KVBlocks: blocks},
						Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
					Scheduler: SchedulerConfig{BlockSize: 4, Engine: EngineSGLang, DecodeReservedTokens: reserve, KVBlocks: 1000},
					Workload:  WorkloadConfig{Embedded: "test"}}
				c.ApplyDefaults()
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				st, rs := runDisagg(t, c, fixedCost{}, reqs)
				m := byID(rs)
				if st.Completed != 2 {
					t.Fatalf("%s reserve %s, %d blocks: %d of 2 completed", l, reserveName(reserve), blocks, st.Completed)
				}
				// The second prefill ends at 2 x 9002 ns; the first request
				// completes at 10258 + 19 x 9002 = 181296 ns.
				start, preempt := int64(18004), int64(0)
				switch {
				case blocks == 1000:
				case reserve == nil:
					preempt = 1
				case *reserve == 0:
					start, preempt = 37264, 1
				default:
					start = 181296
				}
				if int64(m[2].TransferStart) != start || int64(m[1].Completion) != 181296 || st.Preemptions != preempt {
					t.Errorf("%s reserve %s, %d blocks: second transfer at %d, first completed at %d, %d preemptions; expected %d, 181296, %d",
						l, reserveName(reserve), blocks, m[2].TransferStart, m[1].Completion, st.Preemptions, start, preempt)
				}
			}
		}
	}
}

// TestDecodeReservedTokensZeroIsSet: scheduler.decode_reserved_tokens:
// 0 is SGLang's rule with no per-request reserve, so it must survive
// parsing, cloning, the pools' configs and writing back as set, apart
// from the key left out (the rule off).
func TestDecodeReservedTokensZeroIsSet(t *testing.T) {
	base := "model:\n  name: llama-3.1-8b\nhardware:\n  gpu: H100-SXM\nworkload:\n  embedded: test\n" +
		"cluster:\n  disaggregated:\n    prefill: {workers: 1}\n    decode: {workers: 1}\nscheduler:\n  engine: sglang\n"
	for y, want := range map[string]string{"": "unset", "  decode_reserved_tokens: 0\n": "0", "  decode_reserved_tokens: 512\n": "512"} {
		c, err := ParseConfig([]byte(base + y))
		if err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: %v", y, err)
		}
		out, err := c.Clone().Marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []*int{c.Scheduler.DecodeReservedTokens, c.ForPool(PoolDecode).Scheduler.DecodeReservedTokens, back.Scheduler.DecodeReservedTokens} {
			if reserveName(got) != want {
				t.Errorf("%q: decode_reserved_tokens read as %s, want %s", y, reserveName(got), want)
			}
		}
	}
}

// reserveTokens is a scheduler.decode_reserved_tokens of n tokens.
func reserveTokens(n int) *int { return &n }

// reserveName prints a scheduler.decode_reserved_tokens: its tokens, or
// unset.
func reserveName(r *int) string {
	if r == nil {
		return "unset"
	}
	return strconv.Itoa(*r)
}

// TestDisaggReserveTooLong: under SGLang's pre-allocation reserve
// (scheduler.decode_reserved_tokens) a KV transfer starts only if the
// decode worker's room holds the prompt and the reserve, so on a decode
// worker of 81 blocks of 2 tokens with a reserve of 51 tokens (26
// blocks) a prompt of 111 tokens (56 blocks) could never move, even to an
// empty worker, and is rejected on arrival (exceeds_kv_capacity), while
// one of 110 tokens (55 blocks) fits exactly and completes. Both
// sequences fit the cache whole; without the reserve both complete.
func TestDisaggReserveTooLong(t *testing.T) {
	for _, l := range []string{"high", "medium"} {
		for _, reserve := range []*int{nil, reserveTokens(51)} {
			for _, prompt := range []int32{110, 111} {
				c := &Config{Simulation: SimulationConfig{LoD: LoD(l), Seed: 1, MaxSimulationTime: Duration(1e9)}, Model: tinyModel,
					Hardware: HardwareConfig{GPU: "A100-80GB-SXM"},
					Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1}, Decode: PoolConfig{Workers: 1, KVBlocks: 81},
						Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
					Scheduler: SchedulerConfig{BlockSize: 2, Engine: EngineSGLang, DecodeReservedTokens: reserve, KVBlocks: 1000},
					Workload:  WorkloadConfig{Embedded: "test"}}
				c.ApplyDefaults()
				if err := c.Validate(); err != nil {
					t.Fatal(err)
				}
				st, rs := runDisagg(t, c, fixedCost{}, []workload.Request{{ID: 1, PromptTokens: prompt, OutputTokens: 10}})
				want, reason := Completed, NotRejected
				if reserve != nil && prompt == 111 {
					want, reason = Rejected, TooLongForKV
				}
				if len(rs) != 1 || rs[0].Status != want || rs[0].Reason != reason || st.Rejected != int64(b2i(want == Rejected)) {
					t.Errorf("%s reserve %s prompt %d: %+v, %d rejected; expected %v (%q)", l, reserveName(reserve), prompt, rs, st.Rejected, want, reason)
				}
			}
		}
	}
}

// TestRandomDisaggReserveHighEqualsMedium: on a decode worker under
// SGLang's pre-allocation reserve (scheduler.decode_reserved_tokens), the
// room a waiting KV transfer may take grows as the running decodes
// advance; at high LoD each step's end checks it again, so a medium decode
// run must end with its step in progress when a transfer is refused
// mid-run (disagg.startTransfers), and count its unsettled tokens
// (sglangRoom.sglangAllocatable). Random small workloads on 1P+1D must give
// identical outputs at both levels. A failure prints its seed.
func TestRandomDisaggReserveHighEqualsMedium(t *testing.T) {
	compared, reserveRejected := 0, 0
	var waited int64
	for seed := uint64(1); seed <= 300; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		reqs := drawReqs(rng, 2, 3, 120, 200)
		// A prompt of up to 120 tokens (60 blocks) beside the reserve (up
		// to 80 blocks) may not fit even an empty worker: such a request
		// is rejected on arrival (disagg.tooLongForKV), never left
		// waiting for room forever.
		blocks, reserved := 100+rng.IntN(100), 1+rng.IntN(160)
		var res [2][]RequestResult
		var st [2]*Stats
		for i, l := range []string{"high", "medium"} {
			c := &Config{
				Simulation: SimulationConfig{LoD: LoD(l), Seed: 1, MaxSimulationTime: Duration(10e9)},
				Model:      tinyModel,
				Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
				Cluster: ClusterConfig{Disaggregated: &DisaggConfig{
					Prefill:  PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 1, MaxNumSeqs: 1, MaxNumBatchedTokens: 256, KVBlocks: 400},
					Decode:   PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 1, MaxNumSeqs: 8, MaxNumBatchedTokens: 256, KVBlocks: blocks},
					Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 50}}},
				Scheduler: SchedulerConfig{BlockSize: 2, Engine: EngineSGLang, DecodeReservedTokens: &reserved},
				Workload:  WorkloadConfig{Embedded: "test"},
			}
			c.ApplyDefaults()
			st[i], res[i] = runDisagg(t, c, fixedCost{}, reqs)
			if st[i].Completed+st[i].Rejected != int64(len(reqs)) {
				t.Fatalf("seed %d %s: %d of %d requests finished (blocks %d reserved %d %+v): %+v", seed, l, st[i].Completed+st[i].Rejected, len(reqs), blocks, reserved, reqs, res[i])
			}
		}
		for _, r := range res[0] {
			q := reqs[r.ID]
			if r.Status == Rejected && int(q.PromptTokens+q.OutputTokens+1)/2 <= blocks {
				reserveRejected++ // its whole sequence fits: the reserve rejected it
			}
		}
		if contended(res[0], res[1]) {
			continue
		}
		compared++
		waited += st[0].Disaggregated.WaitedForRoom
		if d := diffOutputs(st[0], st[1], res[0], res[1]); d != "" {
			t.Fatalf("seed %d: high and medium differ: %s", seed, d)
		}
	}
	// 270 compared, 277 transfers waited for room and 16 requests were
	// rejected for the reserve when this was written.
	if compared < 200 || waited < 100 || reserveRejected < 5 {
		t.Errorf("%d of 300 seeds compared, %d transfers waited for decode room, %d requests rejected for the reserve: the test exerts too little pressure",
			compared, waited, reserveRejected)
	}
	t.Logf("%d of 300 seeds compared, %d transfers waited for decode room, %d requests rejected for the reserve", compared, waited, reserveRejected)
}

// TestDisaggDecodeRouteTieAtStepEnd pins the decode router's view on a
// ns where a prefill step ends beside other events: every event at that
// ns has been applied (disagg.routeFinished), whichever was pushed first,
// and equal loads go to the lowest decode worker. Two prefill workers
// (round robin) and two decode workers (least_outstanding) of the tiny
// model on fixedCost: a step costs 9002 ns, a KV transfer 1256 ns
// (TestDisaggTransferHandComputed). A (10 + 4 tokens, at 0) prefills on
// prefill worker 0 by 9002 and goes to decode worker 0 (both idle: the
// lowest); it decodes there until 37264. B (10 + 1, at 18004) prefills on
// prefill worker 1 by 27006 and goes to decode worker 1 (worker 0 holds
// A); its KV lands, completing it, at 28262. C (10 + 4, at 19260)
// prefills on prefill worker 0 by 28262, the ns B's KV lands: B has left
// decode worker 1 for the router, which sends C there (0 requests against
// A on worker 0). Routed before B's landing was applied, as medium's
// event order once did, it saw one request on each and took worker 0.
// At both levels of detail.
func TestDisaggDecodeRouteTieAtStepEnd(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 4}, {ID: 2, Arrival: 18004, PromptTokens: 10, OutputTokens: 1},
		{ID: 3, Arrival: 19260, PromptTokens: 10, OutputTokens: 4}}
	for _, l := range []string{"high", "medium"} {
		c := tinyDisagg(l, PoolConfig{Workers: 2}, PoolConfig{Workers: 2, Router: LeastOutstanding})
		st, rs := runDisagg(t, c, fixedCost{}, reqs)
		m := byID(rs)
		if st.Completed != 3 || m[1].Completion != 37264 || m[2].Completion != 28262 || m[3].TransferStart != 28262 {
			t.Fatalf("%s: %d completed, A done at %d, B at %d, C's transfer at %d; expected 3, 37264, 28262, 28262",
				l, st.Completed, m[1].Completion, m[2].Completion, m[3].TransferStart)
		}
		if m[1].Replica == m[2].Replica || m[3].Replica != m[2].Replica {
			t.Errorf("%s: A, B and C decoded on replicas %d, %d and %d; want B and C on the worker A left free",
				l, m[1].Replica, m[2].Replica, m[3].Replica)
		}
	}
}
