package replay

import (
	"testing"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// tokenCost is fixedCost with GEMMs that grow with their token count, so
// that a long prefill step outlasts a decode step, and collectives that
// take time.
type tokenCost struct{ fixedCost }

func (tokenCost) GEMM(m, n, k int) float64                   { return 1000 + 50*float64(m) }
func (tokenCost) AllGather(bytes float64, n int) float64     { return 3000 + bytes/100 }
func (tokenCost) ReduceScatter(bytes float64, n int) float64 { return 2000 + bytes/100 }

// dpConfig is tinyMoE on vLLM with two data-parallel replicas of TP1
// sharing the experts (expert TP 2), routed round-robin.
func dpConfig(lodName string, engine Engine) *Config {
	c := tinyConfig(lodName, 1)
	c.Model = tinyMoE
	c.Cluster.Replicas, c.Cluster.AttentionDataParallel = 2, 2
	c.Scheduler.Engine = engine
	c.ApplyDefaults()
	return c
}

// dpStepNs is the planner's time of one lock-step group step in which
// the ranks run batches bs, padded to graph tokens (0: eager), and the MoE
// layers compute the group's moe tokens: the longest of the ranks' steps
// (tokenCost has no overheads).
func dpStepNs(t *testing.T, moe, graph int, bs ...lod.Batch) int64 {
	t.Helper()
	pl, err := lod.NewPlanner(tinyMoE, tokenCost{}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.SetExpertParallel(1, 2); err != nil {
		t.Fatal(err)
	}
	pl.SetDPGather(true)
	var longest int64
	out := make([]lod.StageCost, 1)
	for _, b := range bs {
		b.MoETokens, b.Graph = moe, graph
		pl.Plan(&b, out)
		longest = max(longest, out[0].StepNs(1))
	}
	return longest
}

// TestVLLMDataParallelLockstep: vLLM's data-parallel ranks step together.
// Request A (600-token prompt) arrives at rank 0 at t=0, B (8 tokens) at
// rank 1 1 us later. Rank 1 cannot start B while rank 0 prefills A (its
// dummy batch is in the same MoE layers), so B's prefill starts when A's
// ends, in the step that decodes A's second token, and both end together
// after the longer of the two ranks' steps. Hand-computed from the
// planner: A's prefill is above the largest captured CUDA graph (vLLM's
// 512 here), so the ranks run eagerly and the MoE layers compute A's 600
// tokens and rank 1's one dummy token; then the 8 tokens of B's prefill
// fit a graph, so both ranks pad to 8 (A's decode too) and the MoE layers
// compute 16. At both levels of detail. Without lock-step (no engine
// named) B runs at once, before A's prefill ends.
func TestVLLMDataParallelLockstep(t *testing.T) {
	reqs := []workload.Request{
		{ID: 0, Arrival: 0, PromptTokens: 600, OutputTokens: 2},
		{ID: 1, Arrival: 1000, PromptTokens: 8, OutputTokens: 2},
	}
	prefillA := lod.Batch{Chunks: []lod.Chunk{{Q: 600}}, Sampled: 1}
	step1 := dpStepNs(t, 601, 0, prefillA)
	step2 := dpStepNs(t, 16, 8, lod.Batch{Decodes: 1, DecodeCtx: 601, Sampled: 1}, lod.Batch{Chunks: []lod.Chunk{{Q: 8}}, Sampled: 1})
	for _, l := range []string{"medium", "high"} {
		_, rs := runReqs(t, dpConfig(l, EngineVLLM), tokenCost{}, reqs)
		r := byID(rs)
		a, b := r[0], r[1]
		if a.Replica == b.Replica {
			t.Fatalf("%s: A and B both on replica %d, expected round-robin over the two ranks", l, a.Replica)
		}
		if a.FirstToken != Time(step1) {
			t.Errorf("%s: A's first token at %d ns, expected its prefill step's %d", l, a.FirstToken, step1)
		}
		if b.FirstScheduled != a.FirstToken || b.FirstToken != a.FirstToken+Time(step2) || a.Completion != b.FirstToken {
			t.Errorf("%s: B scheduled at %d, first token %d, A done %d; expected B to start with A's second step at %d and both to end at %d",
				l, b.FirstScheduled, b.FirstToken, a.Completion, a.FirstToken, a.FirstToken+Time(step2))
		}
	}
	// A rank that ends the group's step with nothing left to run (A done
	// after one token) still lets the waiting rank's batch start.
	one := []workload.Request{reqs[0], reqs[1]}
	one[0].OutputTokens = 1
	_, rs := runReqs(t, dpConfig("medium", EngineVLLM), tokenCost{}, one)
	if r := byID(rs); len(rs) != 2 || r[1].Status != Completed || r[1].FirstScheduled != r[0].Completion {
		t.Errorf("A done in its first step: %d results, B scheduled at %d (status %v), expected B to start when A's step ended at %d",
			len(rs), r[1].FirstScheduled, r[1].Status, r[0].Completion)
	}
	_, rs = runReqs(t, dpConfig("medium", ""), tokenCost{}, reqs)
	if r := byID(rs); r[1].FirstToken >= r[0].FirstToken {
		t.Errorf("no lock-step: B's first token at %d ns, A's at %d: expected B to run at once", r[1].FirstToken, r[0].FirstToken)
	}
}

// TestVLLMGatherAcrossNodes: with vLLM's gather the MoE layers exchange
// tokens among the attention data-parallel ranks, not the expert-parallel
// ones, so across nodes the exchange's node layout has a rank per DP rank.
// At DP4 x EP2 over two 2-GPU nodes a layout of the 2 EP ranks indexed
// out of range at high LoD (panic) and timed medium's exchange over the
// wrong ranks. Both levels must run every request, and the network must
// cost time at both.
func TestVLLMGatherAcrossNodes(t *testing.T) {
	var reqs []workload.Request
	for i := 0; i < 8; i++ {
		reqs = append(reqs, workload.Request{ID: workload.RequestID(i), Arrival: int64(i) * 20000, PromptTokens: 40, OutputTokens: 5})
	}
	for _, l := range []string{"high", "medium"} {
		var e2e [2]int64
		for i, nodes := range []int{0, 2} {
			c := epConfig(l, 0)
			c.Cluster.ExpertParallel = 2
			c.Scheduler.Engine = EngineVLLM
			if nodes > 0 {
				c.Cluster.Nodes, c.Cluster.GPUsPerNode = nodes, 2
				c.Cluster.Network = NetworkConfig{BandwidthGBps: 1, LatencyUs: 2}
			}
			c.ApplyDefaults()
			_, rs := runReqs(t, c, fixedCost{}, reqs)
			if len(rs) != len(reqs) {
				t.Fatalf("%s, %d nodes: %d results, want %d", l, nodes, len(rs), len(reqs))
			}
			for _, r := range rs {
				e2e[i] += int64(r.Completion - r.Arrival)
			}
		}
		if e2e[1] <= e2e[0] {
			t.Errorf("%s: two nodes e2e %d ns, one node %d: the gather across nodes should cost time", l, e2e[1], e2e[0])
		}
	}
}

// TestVLLMDenseDataParallelIndependent: only an MoE model's vLLM
// data-parallel ranks step in lock-step (DPEngineCoreProc); a dense
// model's are independent engines (run_engine_core treats each as DP=1),
// so rank 1 starts B at once while rank 0 prefills A, as without an
// engine named, at both levels of detail.
func TestVLLMDenseDataParallelIndependent(t *testing.T) {
	reqs := []workload.Request{
		{ID: 0, Arrival: 0, PromptTokens: 600, OutputTokens: 2},
		{ID: 1, Arrival: 1000, PromptTokens: 8, OutputTokens: 2},
	}
	for _, l := range []string{"medium", "high"} {
		c := dpConfig(l, EngineVLLM)
		c.Model = tinyModel
		_, rs := runReqs(t, c, tokenCost{}, reqs)
		r := byID(rs)
		if r[0].Replica == r[1].Replica {
			t.Fatalf("%s: A and B both on replica %d, expected round-robin over the two ranks", l, r[0].Replica)
		}
		if r[1].FirstScheduled != 1000 || r[1].FirstToken >= r[0].FirstToken {
			t.Errorf("%s: dense model, B scheduled at %d, first token %d (A's %d): expected B to start on arrival at 1000 and finish first",
				l, r[1].FirstScheduled, r[1].FirstToken, r[0].FirstToken)
		}
	}
}

// TestVLLMDataParallelEagerPadding: vLLM before 0.17 pads every
// data-parallel step to the largest rank's tokens while CUDA graphs are
// on (allow_dp_padding = cudagraph_mode != NONE), eager steps included.
// A's 600-token prefill on rank 0 is above the largest graph (512), yet
// rank 1's dummy batch runs 600 tokens too, so the MoE layers compute
// 2 x 600 = 1200 tokens, not 600 + 1; hand-computed from the planner as
// TestVLLMDataParallelLockstep. From 0.17 (#34102) and with enforce_eager
// (no graphs: allow_dp_padding false) the eager step keeps 601, at both
// levels of detail.
func TestVLLMDataParallelEagerPadding(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 600, OutputTokens: 2}}
	prefillA := lod.Batch{Chunks: []lod.Chunk{{Q: 600}}, Sampled: 1}
	padded, own := dpStepNs(t, 1200, 600, prefillA), dpStepNs(t, 601, 0, prefillA)
	if padded <= own {
		t.Fatalf("padded step %d ns, own-size step %d: the hand-computed cases do not differ", padded, own)
	}
	for _, tc := range []struct {
		version string
		eager   bool
		want    int64
	}{{"0.12.0", false, padded}, {"0.14.0", false, padded}, {"0.17.0", false, own}, {"", false, own}, {"0.12.0", true, own}} {
		for _, l := range []string{"medium", "high"} {
			c := dpConfig(l, "")
			c.Scheduler.Engine, c.Scheduler.EngineVersion, c.Scheduler.EnforceEager = EngineVLLM, tc.version, tc.eager
			c.ApplyDefaults()
			_, rs := runReqs(t, c, tokenCost{}, reqs)
			if got := byID(rs)[0].FirstToken; got != Time(tc.want) {
				t.Errorf("vLLM %q, enforce_eager %v, %s: first token at %d ns, want the prefill step's %d (padded %d, own size %d)",
					tc.version, tc.eager, l, got, tc.want, padded, own)
			}
		}
	}
}

// TestDPGroupStartWithoutTokens: a data-parallel group is started only
// with a batch formed by one of its ranks, never empty, so a start whose
// batches hold no token is a broken invariant: the run ends with an error
// naming it, rather than parking the group's ranks and leaving their
// requests unfinished without a word.
func TestDPGroupStartWithoutTokens(t *testing.T) {
	c := dpConfig("high", EngineVLLM)
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: tokenCost{}, Sink: &Collect{},
		Workload: workload.NewSliceReader([]workload.Request{{ID: 0, Arrival: 1000, PromptTokens: 8, OutputTokens: 2}})})
	if err != nil {
		t.Fatal(err)
	}
	rp := s.pools[0].replicas[0]
	if !rp.grp.lockstep() {
		t.Fatal("vLLM's data-parallel MoE replicas are not in lock-step")
	}
	g := rp.grp.dpGroupOf(rp)
	g.pend[0] = s.getBatch(rp) // formed, but with no token
	g.start(s)
	ok, err := s.Step()
	want := "replay: invariant: data-parallel group of replicas 0..1 started with 1 of 2 ranks' batches formed and no token in them"
	if ok || err == nil || err.Error() != want {
		t.Errorf("step after an empty group start: %v, %v; want false and %q", ok, err, want)
	}
}
