package replay

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/trace/workload"
)

// drawPoolExperts makes one disaggregated draw in three the MoE model
// with each pool's own expert layout: attention data parallelism over 1,
// 2 or 4 groups (the pool's workers a multiple of it) and the experts over
// a divisor of the pool's ranks. The skew stays 0, so the high level's
// all-to-alls take the medium level's analytical time.
func drawPoolExperts(r *rand.Rand, c *Config) {
	if r.IntN(3) != 0 {
		return
	}
	c.Model = tinyMoE
	d := c.Cluster.Disaggregated
	for _, p := range []*PoolConfig{&d.Prefill, &d.Decode} {
		p.AttentionDataParallel = []int{1, 2, 4}[r.IntN(3)]
		p.Workers = p.AttentionDataParallel * (1 + r.IntN(2))
		tp := max(p.TensorParallel, 1)
		var eps []int
		for ep := 1; ep <= 8; ep *= 2 {
			if (tp*p.AttentionDataParallel)%ep == 0 {
				eps = append(eps, ep)
			}
		}
		p.ExpertParallel = eps[r.IntN(len(eps))]
	}
}

// epDisagg is tinyMoE on a disaggregated cluster whose pools have their
// own expert layouts: 2 prefill workers in attention DP2 with EP2, 4
// decode workers in attention DP4 with EP4.
func epDisagg(l string) *Config {
	c := tinyDisagg(l, PoolConfig{Workers: 2, AttentionDataParallel: 2, ExpertParallel: 2},
		PoolConfig{Workers: 4, AttentionDataParallel: 4, ExpertParallel: 4, MoETensorParallel: 1})
	c.Model = tinyMoE
	c.ApplyDefaults()
	return c
}

// TestDisaggPoolExpertParallel: each pool plans its steps with its own
// expert layout (the all-to-alls make the steps longer than with the
// experts split by TP), and the two levels of detail agree in every output
// when nothing contends: the high level's per-rank all-to-all transfers
// in both pools take the medium level's analytical time.
func TestDisaggPoolExpertParallel(t *testing.T) {
	reqs := randomDisaggReqs(rand.New(rand.NewPCG(5, 5)), 30)
	for i := range reqs {
		// One arrival at a time: no two KV transfers share a lane.
		reqs[i].Arrival = int64(i) * 2_000_000
	}
	c := epDisagg("medium")
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: latencyCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err != nil {
		t.Fatal(err)
	}
	if p, d := s.disagg.prefill.planner, s.disagg.decode.planner; p.EP() != 2 || p.AttentionDP() != 2 || d.EP() != 4 || d.AttentionDP() != 4 {
		t.Fatalf("planners: prefill EP%d DP%d, decode EP%d DP%d; expected EP2 DP2, EP4 DP4", p.EP(), p.AttentionDP(), d.EP(), d.AttentionDP())
	}
	if got := c.Layout(); got != "2 prefill x TP1 x PP1 DP2 EP2 + 4 decode x TP1 x PP1 DP4 EP4" {
		t.Errorf("layout %q", got)
	}
	var st [2]*Stats
	var rs [2][]RequestResult
	for i, l := range []string{"high", "medium"} {
		st[i], rs[i] = runDisagg(t, epDisagg(l), latencyCost{}, reqs)
		if st[i].Completed != int64(len(reqs)) {
			t.Fatalf("%s: %d of %d completed", l, st[i].Completed, len(reqs))
		}
	}
	if d := diffOutputs(st[0], st[1], rs[0], rs[1]); d != "" {
		t.Errorf("high and medium differ with per-pool expert parallelism: %s", d)
	}
	// The run's pool stats carry each pool's layout (MoE TP: TP1 x DP/EP).
	if p, d := st[1].Disaggregated.Prefill, st[1].Disaggregated.Decode; p.EP != 2 || p.AttentionDP != 2 || p.MoETP != 1 ||
		d.EP != 4 || d.AttentionDP != 4 || d.MoETP != 1 {
		t.Errorf("pool stats: prefill %+v, decode %+v; expected EP2 DP2 MoE TP1, EP4 DP4 MoE TP1", p, d)
	}
	plain := tinyDisagg("medium", PoolConfig{Workers: 2}, PoolConfig{Workers: 4})
	plain.Model = tinyMoE
	plainSt, noEP := runDisagg(t, plain, latencyCost{}, reqs)
	if p, d := plainSt.Disaggregated.Prefill, plainSt.Disaggregated.Decode; p.HasEP() || d.HasEP() {
		t.Errorf("pools without expert parallelism report a layout: %+v, %+v", p, d)
	}
	if rs[1][0].Completion == noEP[0].Completion {
		t.Errorf("the first request completes at %d with and without expert parallelism: the pools' layouts are not applied", noEP[0].Completion)
	}
}

// TestDisaggPoolExpertParallelErrors: each pool's expert layout is
// checked on its own, every problem named by the pool's field, and the
// cluster-wide fields are refused on a disaggregated cluster.
func TestDisaggPoolExpertParallelErrors(t *testing.T) {
	c := tinyDisagg("medium", PoolConfig{Workers: 3, ExpertParallel: 3},
		PoolConfig{Workers: 2, ExpertParallel: 2, MoETensorParallel: 2, AttentionDataParallel: -1})
	c.Model = tinyMoE
	c.Cluster.ExpertParallel = 2
	c.Cluster.ExpertSkew = 0.5
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"cluster.disaggregated.prefill.expert_parallel: 3 does not divide the 1 ranks of tensor_parallel 1 x attention_data_parallel 1",
		"cluster.disaggregated.decode.attention_data_parallel: -1, expected >= 1",
		"cluster.expert_parallel/attention_data_parallel/moe_tensor_parallel: 2/0/0 with cluster.disaggregated, expected unset",
		"cluster.expert_skew: 0.5 has nothing to skew",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, tc := range []struct {
		prefill, decode PoolConfig
		want            string
	}{
		{PoolConfig{Workers: 3, AttentionDataParallel: 2, ExpertParallel: 2}, PoolConfig{Workers: 1},
			"cluster.disaggregated.prefill.workers: 3, expected a multiple of attention_data_parallel 2"},
		{PoolConfig{Workers: 1}, PoolConfig{Workers: 2, TensorParallel: 2, ExpertParallel: 2, MoETensorParallel: 2},
			"cluster.disaggregated.decode.moe_tensor_parallel: 2, but tensor_parallel 2 x attention_data_parallel 1 / expert_parallel 2 = 1"},
	} {
		c := tinyDisagg("medium", tc.prefill, tc.decode)
		c.Model = tinyMoE
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	d := tinyDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 2, ExpertParallel: 2})
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode.expert_parallel: tiny has no experts") {
		t.Errorf("dense model with a decode pool's expert_parallel: %v", err)
	}
	// A skew applies when one pool exchanges tokens between its groups.
	ok := tinyDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 2, AttentionDataParallel: 2, ExpertParallel: 2})
	ok.Model, ok.Cluster.ExpertSkew = tinyMoE, 0.3
	if err := ok.Validate(); err != nil {
		t.Errorf("skew over the decode pool's EP2 x DP2: %v", err)
	}
}
