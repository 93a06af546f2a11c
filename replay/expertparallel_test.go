package replay

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// epConfig is tinyMoE on 4 attention data-parallel replicas of TP1 with
// its experts over 4 ranks: every MoE layer exchanges tokens.
func epConfig(lodName string, skew float64) *Config {
	c := tinyConfig(lodName, 1)
	c.Model = tinyMoE
	c.Cluster.Replicas = 4
	c.Cluster.AttentionDataParallel = 4
	c.Cluster.ExpertParallel = 4
	c.Cluster.ExpertSkew = skew
	return c
}

// TestExpertSkewMakesStragglers: with a skewed load the high level of
// detail waits for the busiest rank in every MoE layer, so requests take
// longer than at the mean load (which equals the medium level), the same
// seed reproduces the run exactly, and another seed draws other loads.
func TestExpertSkewMakesStragglers(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 16; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20000, PromptTokens: 40, OutputTokens: 30})
	}
	e2e := func(rs []RequestResult) (sum Time) {
		for _, r := range rs {
			sum += r.Completion - r.Arrival
		}
		return sum
	}
	_, med := runReqs(t, epConfig("medium", 0), fixedCost{}, reqs)
	_, uni := runReqs(t, epConfig("high", 0), fixedCost{}, reqs)
	if e2e(uni) != e2e(med) {
		t.Fatalf("uniform load: high %d ns, medium %d ns of latency in all", e2e(uni), e2e(med))
	}
	st1, sk1 := runReqs(t, epConfig("high", 0.5), fixedCost{}, reqs)
	st2, sk2 := runReqs(t, epConfig("high", 0.5), fixedCost{}, reqs)
	if d := diffOutputs(st1, st2, sk1, sk2); d != "" {
		t.Fatalf("same seed, different runs: %s", d)
	}
	if e2e(sk1) <= e2e(uni) {
		t.Errorf("skew 0.5: %d ns of latency in all, uniform %d: the stragglers cost nothing", e2e(sk1), e2e(uni))
	}
	c := epConfig("high", 0.5)
	c.Simulation.Seed = 2
	_, other := runReqs(t, c, fixedCost{}, reqs)
	if e2e(other) == e2e(sk1) {
		t.Errorf("seeds 1 and 2 drew the same loads")
	}
	t.Logf("latency in all: medium %d, high uniform %d, skew 0.5 %d (seed 2: %d)", e2e(med), e2e(uni), e2e(sk1), e2e(other))
}

// TestExpertLoadDraws: the load weights have mean 1 and the configured
// coefficient of variation; a skew of 0 gives exactly 1 each.
func TestExpertLoadDraws(t *testing.T) {
	w := make([]float64, 8)
	l := newExpertLoad(0, 1)
	if sum := l.draw(w); sum != 8 || w[3] != 1 {
		t.Fatalf("uniform: sum %v, weight %v", sum, w[3])
	}
	l = newExpertLoad(0.4, 1)
	var n, s, s2 float64
	for i := 0; i < 20000; i++ {
		l.draw(w)
		for _, x := range w {
			n++
			s += x
			s2 += x * x
		}
	}
	mean := s / n
	cv := math.Sqrt(s2/n-mean*mean) / mean
	if math.Abs(mean-1) > 0.01 || math.Abs(cv-0.4) > 0.01 {
		t.Errorf("mean %.4f, cv %.4f; want 1 and 0.4", mean, cv)
	}
}

// TestExpertParallelConfigErrors: every problem with the expert-parallel
// settings is reported at once, naming the field and what was expected.
func TestExpertParallelConfigErrors(t *testing.T) {
	c := tinyConfig("high", 2)
	c.Model = tinyMoE
	c.Cluster.Replicas = 3
	c.Cluster.AttentionDataParallel = 2
	c.Cluster.ExpertParallel = 8
	c.Cluster.MoETensorParallel = -1
	c.Cluster.ExpertSkew = math.NaN()
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"cluster.moe_tensor_parallel: -1, expected >= 1",
		"cluster.expert_skew: NaN, expected a coefficient of variation in [0, 10]",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, tc := range []struct {
		set  func(k *ClusterConfig)
		want string
	}{
		{func(k *ClusterConfig) { k.ExpertParallel = 8 },
			"cluster.expert_parallel: 8 does not divide the 4 ranks of tensor_parallel 2 x attention_data_parallel 2"},
		{func(k *ClusterConfig) { k.ExpertParallel, k.MoETensorParallel = 4, 2 },
			"cluster.moe_tensor_parallel: 2, but tensor_parallel 2 x attention_data_parallel 2 / expert_parallel 4 = 1"},
		{func(k *ClusterConfig) { k.ExpertParallel, k.Replicas = 2, 3 },
			"cluster.replicas: 3, expected a multiple of attention_data_parallel 2"},
		{func(k *ClusterConfig) { k.AttentionDataParallel, k.ExpertSkew = 1, 0.2 },
			"cluster.expert_skew: 0.2 has nothing to skew"},
	} {
		c := tinyConfig("high", 2)
		c.Model = tinyMoE
		c.Cluster.Replicas, c.Cluster.AttentionDataParallel = 2, 2
		tc.set(&c.Cluster)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	d := tinyConfig("high", 2)
	d.Cluster.ExpertParallel = 2
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "cluster.expert_parallel: tiny has no experts") {
		t.Errorf("dense model with expert_parallel: %v", err)
	}
	var six = tinyMoE
	six.Experts = 6
	e := tinyConfig("high", 2)
	e.Model, e.Cluster.Replicas, e.Cluster.AttentionDataParallel, e.Cluster.ExpertParallel = six, 2, 2, 4
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "cluster.expert_parallel: 4 does not divide tiny-moe's 6 experts") {
		t.Errorf("6 experts over 4: %v", err)
	}
}

// TestRandomExpertParallelLiveness: with skewed loads, variability and a
// shared bus, where the levels of detail legitimately differ, on one node
// or on several (all-to-alls across them, epnodes.go), the high level still
// finishes every request with consistent KV accounting.
func TestRandomExpertParallelLiveness(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 93))
		reqs := livenessReqs(rng)
		c := tinyConfig("high", []int{1, 2}[rng.IntN(2)])
		c.Model = tinyMoE
		c.Cluster.AttentionDataParallel = []int{2, 4}[rng.IntN(2)]
		c.Cluster.Replicas = c.Cluster.AttentionDataParallel
		c.Cluster.ExpertParallel = []int{2, c.Cluster.AttentionDataParallel}[rng.IntN(2)]
		c.Cluster.ExpertSkew = rng.Float64()
		c.Cluster.PipelineParallel = 1 + rng.IntN(2)
		c.Cluster.Links.Topology = Topologies[rng.IntN(2)]
		c.Simulation.Variability = 0.5 * rng.Float64()
		c.Simulation.Seed = seed
		c.Simulation.MaxSimulationTime = Duration(10e9)
		c.Scheduler.KVBlocks = 100 + rng.IntN(300)
		if rng.IntN(2) == 0 {
			// On nodes: all-to-alls (and TP groups, hand-offs) across them.
			c.Cluster.GPUsPerNode = []int{1, 2}[rng.IntN(2)]
			c.Cluster.Nodes = c.Cluster.Replicas * c.Cluster.TensorParallel * c.Cluster.PipelineParallel / c.Cluster.GPUsPerNode
			c.Cluster.Network = NetworkConfig{BandwidthGBps: 0.5 + 20*rng.Float64(), LatencyUs: 5 * rng.Float64()}
			c.Cluster.Placement = Placements[rng.IntN(2)]
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		var col Collect
		st, err := Run(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if st.Completed+st.Rejected != int64(len(reqs)) {
			t.Fatalf("seed %d: %d of %d requests finished", seed, st.Completed+st.Rejected, len(reqs))
		}
	}
}

// TestExpertSkewHandChecked times one prefill step of tinyMoE with EP2
// over 2 attention data-parallel replicas by hand. In each of its two MoE
// layers ranks 0 and 1 draw weights w0, w1 (the simulator's seeded
// stream, redrawn here); rank j takes the share w_j / (w0 + w1) of the
// layer's s = 10 tokens x 2 experts x 64 x 2 bytes. A hop of rank j's
// share takes h_j = 100 + ceil(s w_j/(w0+w1) / 10) ns on fixedCost's link.
// Dispatch: rank 0 sends rank 1 its share and receives its own, so both
// start computing at D = max(h0, h1); rank j computes the MLP operation
// plus (2 w_j/(w0+w1) - 1) x the routed experts' 1000 ns, then sends h_j
// back. The layer ends when both combines are through:
// max(c0 + h0, c1 + h1). At the mean load that is 2 x (100 + ceil(s/2 / 10))
// + MLP, so the skewed step is longer by the difference, summed over the
// layers.
func TestExpertSkewHandChecked(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 1}}
	cfg := func(skew float64) *Config {
		c := tinyConfig("high", 1)
		c.Model = tinyMoE
		c.Cluster.Replicas, c.Cluster.AttentionDataParallel, c.Cluster.ExpertParallel = 2, 2, 2
		c.Cluster.ExpertSkew = skew
		return c
	}
	_, uni := runReqs(t, cfg(0), fixedCost{}, reqs)
	_, sk := runReqs(t, cfg(0.6), fixedCost{}, reqs)

	// The MLP operation of the stage: its mean over the dense and the two
	// MoE layers, as the planner gives it.
	c := cfg(0)
	st := make([]lod.StageCost, 1)
	pl, err := lod.NewPlanner(c.Model, fixedCost{}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.SetExpertParallel(2, 2); err != nil {
		t.Fatal(err)
	}
	pl.Plan(&lod.Batch{Chunks: []lod.Chunk{{Q: 10}}, Sampled: 1}, st)
	mlp, s := st[0].Op[lod.OpMLP], 10.0*2*64*2
	if st[0].A2ABytes != s || st[0].ExpertNs != 1000 {
		t.Fatalf("planner: all-to-all %v bytes, experts %d ns; want %v and 1000", st[0].A2ABytes, st[0].ExpertNs, s)
	}
	hop := func(b float64) Time { return 100 + Time(math.Ceil(b/10)) }
	load := newExpertLoad(0.6, c.Simulation.Seed)
	w := make([]float64, 2)
	var extra Time
	for layer := 0; layer < 2; layer++ {
		sum := load.draw(w)
		h0, h1 := hop(s*w[0]/sum), hop(s*w[1]/sum)
		d := max(h0, h1)
		c0 := d + Time(mlp) + Time(math.Round((2*w[0]/sum-1)*1000))
		c1 := d + Time(mlp) + Time(math.Round((2*w[1]/sum-1)*1000))
		extra += max(c0+h0, c1+h1) - (2*hop(s/2) + Time(mlp))
	}
	if extra == 0 {
		t.Fatal("the draws made no straggler; pick another skew")
	}
	if got := sk[0].FirstToken - uni[0].FirstToken; got != extra {
		t.Errorf("skewed step %d ns longer than the uniform one, want %d", got, extra)
	}
}

// TestExpertSkewEP4 checks the order of the all-to-all transfers with
// four ranks against a closed form of the schedule. Rank i sends to
// i+1, i+2, i+3 (mod 4) back to back over its own link, each dispatch
// transfer sized by the receiver's share (h_dst) and each combine
// transfer by the sender's (h_i). Rank i computes once its own sends and
// the three it receives are through, and is done once its combine sends
// and the three combines it receives are; the layer ends with the last
// rank. One prefill step's two MoE layers, skewed, against the uniform
// step.
func TestExpertSkewEP4(t *testing.T) {
	const n = 4
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 1}}
	cfg := func(skew float64) *Config {
		c := tinyConfig("high", 1)
		c.Model = tinyMoE
		c.Cluster.Replicas, c.Cluster.AttentionDataParallel, c.Cluster.ExpertParallel = n, n, n
		c.Cluster.ExpertSkew = skew
		return c
	}
	_, uni := runReqs(t, cfg(0), fixedCost{}, reqs)
	_, sk := runReqs(t, cfg(0.8), fixedCost{}, reqs)
	pl, _ := lod.NewPlanner(tinyMoE, fixedCost{}, 1, 1)
	if err := pl.SetExpertParallel(n, n); err != nil {
		t.Fatal(err)
	}
	st := make([]lod.StageCost, 1)
	pl.Plan(&lod.Batch{Chunks: []lod.Chunk{{Q: 10}}, Sampled: 1}, st)
	mlp, s := Time(st[0].Op[lod.OpMLP]), st[0].A2ABytes
	hop := func(b float64) Time { return 100 + Time(math.Ceil(b/10)) }
	// layer is the closed form of one MoE layer's time for weights w.
	layer := func(w []float64, sum float64) Time {
		var h, c [n]Time
		for j := range h {
			h[j] = hop(s * w[j] / sum)
		}
		// arrive(s, i, size) is when sender s's transfer to i is through,
		// its transfers of sizes size(dst) starting at start[s].
		arrive := func(start [n]Time, from, to int, size func(dst int) Time) Time {
			at := start[from]
			for k := 1; k < n; k++ {
				dst := (from + k) % n
				at += size(dst)
				if dst == to {
					return at
				}
			}
			t.Fatal("no transfer")
			return 0
		}
		var zero [n]Time
		for i := range c {
			d := arrive(zero, i, (i+n-1)%n, func(dst int) Time { return h[dst] }) // own sends
			for from := range n {
				if from != i {
					d = max(d, arrive(zero, from, i, func(dst int) Time { return h[dst] }))
				}
			}
			c[i] = d + mlp + Time(math.Round((float64(n)*w[i]/sum-1)*1000))
		}
		var end Time
		for i := range c {
			done := arrive(c, i, (i+n-1)%n, func(int) Time { return h[i] })
			for from := range n {
				if from != i {
					done = max(done, arrive(c, from, i, func(int) Time { return h[from] }))
				}
			}
			end = max(end, done)
		}
		return end
	}
	load := newExpertLoad(0.8, cfg(0).Simulation.Seed)
	w := make([]float64, n)
	one := []float64{1, 1, 1, 1}
	var extra Time
	for range 2 {
		sum := load.draw(w)
		extra += layer(w, sum) - layer(one, n)
	}
	if layer(one, n) != 2*(n-1)*hop(s/n)+mlp {
		t.Fatalf("closed form at the mean load %d, want %d", layer(one, n), 2*(n-1)*hop(s/n)+mlp)
	}
	if got := sk[0].FirstToken - uni[0].FirstToken; got != extra {
		t.Errorf("skewed step %d ns longer than the uniform one, want %d", got, extra)
	}
}

// TestExpertParallelAcrossNodes: epConfig's 4 EP ranks on two 2-GPU nodes
// (1 GB/s, 2 us network against fixedCost's 10 GB/s, 0.1 us links). Half
// of each all-to-all's hops cross the network, so both levels take longer
// than on one node, and medium's bound (the slowest sender or the busiest
// link, epnodes.go) lands within a few percent of high (-3.8% when this
// was written: high's senders overlap a little worse than the bound).
func TestExpertParallelAcrossNodes(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 16; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20000, PromptTokens: 40, OutputTokens: 30})
	}
	e2e := func(rs []RequestResult) (sum float64) {
		for _, r := range rs {
			sum += float64(r.Completion - r.Arrival)
		}
		return sum
	}
	var one, two [2]float64
	for i, l := range []string{"high", "medium"} {
		_, r1 := runReqs(t, epConfig(l, 0), fixedCost{}, reqs)
		c := epConfig(l, 0)
		c.Cluster.Nodes, c.Cluster.GPUsPerNode = 2, 2
		c.Cluster.Network = NetworkConfig{BandwidthGBps: 1, LatencyUs: 2}
		_, r2 := runReqs(t, c, fixedCost{}, reqs)
		one[i], two[i] = e2e(r1), e2e(r2)
	}
	t.Logf("latency in all: one node high %.0f medium %.0f; two nodes high %.0f medium %.0f (%+.2f%%)", one[0], one[1], two[0], two[1], 100*(two[1]/two[0]-1))
	if one[0] != one[1] {
		t.Fatalf("one node: high %.0f, medium %.0f, want equal", one[0], one[1])
	}
	if !(two[0] > one[0]) || !(two[1] > one[1]) {
		t.Errorf("two nodes should cost time: high %.0f vs %.0f, medium %.0f vs %.0f", two[0], one[0], two[1], one[1])
	}
	// 5%: room around the -3.8% measured; the lockstep barrier this
	// replaced was +20.6%, a bound that ignores the network was -53%.
	if r := two[1]/two[0] - 1; math.Abs(r) > 0.05 {
		t.Errorf("two nodes: medium %+.2f%% off high, want within 5%%", 100*r)
	}
}

// TestExpertParallelAcrossNodesPerStage: at PP3 and TP1 packed on 4-GPU
// nodes, attention-DP group 0's stage 0 (GPUs 0 and 3) lies on node 0
// while its stages 1 and 2 (GPUs 1, 4 and 2, 5) span nodes 0 and 1; the
// dense first layer leaves stage 0 no all-to-all. Medium must time each
// stage's all-to-alls over its own layout, not stage 0's.
func TestExpertParallelAcrossNodesPerStage(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 8; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20000, PromptTokens: 40, OutputTokens: 10})
	}
	var e2e [2]float64
	for i, l := range []string{"high", "medium"} {
		c := epConfig(l, 0)
		c.Cluster.Replicas, c.Cluster.AttentionDataParallel, c.Cluster.ExpertParallel = 2, 2, 2
		c.Cluster.PipelineParallel = 3
		c.Cluster.Nodes, c.Cluster.GPUsPerNode = 2, 4
		c.Cluster.Network = NetworkConfig{BandwidthGBps: 0.01, LatencyUs: 50}
		_, rs := runReqs(t, c, fixedCost{}, reqs)
		for _, r := range rs {
			e2e[i] += float64(r.Completion - r.Arrival)
		}
	}
	// 8%: room around the -4.6% measured (the senders overlap their
	// network transfers unevenly, TestExpertParallelAcrossNodes); stage
	// 0's layout for every stage left the network out: -91%.
	if r := e2e[1]/e2e[0] - 1; math.Abs(r) > 0.08 {
		t.Errorf("medium %+.2f%% off high (e2e %.0f vs %.0f), want within 8%%", 100*r, e2e[1], e2e[0])
	}
}

// TestAdaptiveEPAcrossNodesEqualsMedium: where nothing calls for
// refinement (no variability, skew or crossing hand-off), the adaptive
// level runs medium's steps, all-to-alls across nodes included. The
// replicas are made before the adaptive executor wraps the high one, so
// its medium half never read the node layout and timed the all-to-alls
// as on one node (summed e2e 4.2x below medium over 200 requests).
func TestAdaptiveEPAcrossNodesEqualsMedium(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 16; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20000, PromptTokens: 40, OutputTokens: 30})
	}
	var res [2][]RequestResult
	for i, l := range []string{"medium", "adaptive"} {
		c := epConfig(l, 0)
		c.Cluster.Nodes, c.Cluster.GPUsPerNode = 2, 2
		c.Cluster.Network = NetworkConfig{BandwidthGBps: 1, LatencyUs: 2}
		_, res[i] = runReqs(t, c, fixedCost{}, reqs)
	}
	med, ad := byID(res[0]), byID(res[1])
	for id, r := range med {
		if ad[id] != r {
			t.Fatalf("request %d: medium %+v, adaptive %+v", id, r, ad[id])
		}
	}
}
