package replay

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// specConfig is tinyConfig with the tiny model given an MTP module and
// speculative decoding of k draft tokens at acceptance rate a.
func specConfig(l string, k int, a float64) *Config {
	c := tinyConfig(l, 1)
	c.Model.MTPLayers = 1
	c.Scheduler.Speculative = &SpeculativeConfig{Method: "mtp", DraftTokens: k, AcceptanceRate: new(a)}
	return c
}

// TestSpeculativeStepsByHand works one request's steps and times out by
// hand, at both levels of detail. Under fixedCost (every GEMM 1000 ns,
// attention and element-wise work rounded to 1 ns) the tiny model's step
// is 2 layers x (QKV 1000 + attention 1 + O 1000 + MLP 2000) + LM head
// 1000 = 9002 ns; each draft pass adds QKV and O 2000, MLP 2000, eh_proj
// 1000 and the LM head 1000 = 6000 ns, so a decode step with 3 drafts
// takes 9002 + 18000 = 27002 ns. The prompt's step (no decode, no draft)
// takes 9002 ns and yields the first of 31 tokens; the other 30 come from
// decode steps of 1 + a + a^2 + a^3 tokens on average: at a = 0.5, 1.875
// (30 / 1.875 = 16 steps); at a = 1, 4 (8 steps, the last capped at 2
// tokens); at a = 0, 1 (30 steps, drafts all rejected); at rates 1, 0.5,
// 0 by position, 1 + 1 + 0.5 = 2.5 (12 steps).
func TestSpeculativeStepsByHand(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 8, OutputTokens: 31}}
	for _, l := range []string{"high", "medium"} {
		for _, x := range []struct {
			a     float64
			steps int64
			rates []float64
		}{{0.5, 16, nil}, {1, 8, nil}, {0, 30, nil}, {0, 12, []float64{1, 0.5, 0}}} {
			c := specConfig(l, 3, x.a)
			if x.rates != nil {
				c.Scheduler.Speculative.AcceptanceRate, c.Scheduler.Speculative.AcceptanceRates = nil, x.rates
			}
			st, res := runReqs(t, c, fixedCost{}, reqs)
			r := res[0]
			if st.Steps != uint64(1+x.steps) || st.OutputTokens != 31 || r.OutputTokens != 31 {
				t.Errorf("%s a=%g: %d steps, %d tokens, want %d steps, 31 tokens", l, x.a, st.Steps, st.OutputTokens, 1+x.steps)
			}
			if want := Time(9002 + x.steps*27002); r.FirstToken != 9002 || r.Completion != want {
				t.Errorf("%s a=%g: first token at %d, completion at %d, want 9002 and %d", l, x.a, r.FirstToken, r.Completion, want)
			}
		}
		// Without speculation: 30 decode steps of 9002 ns.
		st, res := runReqs(t, tinyConfig(l, 1), fixedCost{}, reqs)
		if st.Steps != 31 || res[0].Completion != 31*9002 {
			t.Errorf("%s without speculation: %d steps, completion %d, want 31 and %d", l, st.Steps, res[0].Completion, 31*9002)
		}
	}
}

// TestSpeculativeKVSpan: a decode step holds KV room for its token and
// its drafts. A request of 16 prompt tokens in 2-token blocks holds 8
// blocks after its prompt's step (9002 ns); its first decode step (3
// drafts, to 36029 ns) then holds blocksFor(16 + 4) = 10 blocks, where a
// plain decode would hold blocksFor(17) = 9. The run stops inside that
// step, so the peak is its hold. The rejected drafts' blocks are given
// back after every step: runReqs checks the KV invariant (a request not
// in flight holds blocksFor(computed)) at each.
func TestSpeculativeKVSpan(t *testing.T) {
	reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 16, OutputTokens: 20}}
	for _, l := range []string{"high", "medium"} {
		for _, spec := range []bool{true, false} {
			c := specConfig(l, 3, 0)
			if !spec {
				c.Scheduler.Speculative = nil
			}
			c.Scheduler.BlockSize, c.Scheduler.KVBlocks = 2, 100
			c.Simulation.MaxSimulationTime = 15000
			st, _ := runReqs(t, c, fixedCost{}, reqs)
			want := 0.09
			if spec {
				want = 0.10
			}
			if st.PeakKVUtil != want {
				t.Errorf("%s speculative %v: peak KV use %v, want %v", l, spec, st.PeakKVUtil, want)
			}
		}
	}
	// Run whole, every step's invariant holds and nothing is left held.
	st, _ := runReqs(t, specConfig("medium", 3, 0.5), fixedCost{}, reqs)
	if st.Completed != 1 {
		t.Errorf("completed %d, want 1", st.Completed)
	}
}

func TestSpeculativeDeterministic(t *testing.T) {
	reqs := drawReqs(rand.New(rand.NewPCG(9, 1)), 30, 10, 200, 300)
	for _, l := range []string{"high", "medium"} {
		_, a := runReqs(t, specConfig(l, 3, 0.85), fixedCost{}, reqs)
		_, b := runReqs(t, specConfig(l, 3, 0.85), fixedCost{}, reqs)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ", l)
		}
	}
}

func TestSpeculativeConfigErrors(t *testing.T) {
	for _, x := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Scheduler.Speculative.Method = "medusa" }, `scheduler.speculative.method: "medusa", expected mtp`},
		{func(c *Config) { c.Scheduler.Speculative.DraftTokens = 0 }, "scheduler.speculative.draft_tokens: 0, expected 1 to 16"},
		{func(c *Config) { c.Scheduler.Speculative.AcceptanceRate = new(1.5) }, "scheduler.speculative.acceptance_rate: 1.5, expected a probability in [0, 1]"},
		{func(c *Config) { c.Scheduler.Speculative.AcceptanceRates = []float64{0.85, 0.3} }, "scheduler.speculative: both acceptance_rate and acceptance_rates, expected one of them"},
		{func(c *Config) {
			c.Scheduler.Speculative.AcceptanceRate, c.Scheduler.Speculative.AcceptanceRates = nil, []float64{0.85, 0.3}
		}, "scheduler.speculative.acceptance_rates: 2 rates, expected one per draft token (3)"},
		{func(c *Config) {
			c.Scheduler.Speculative.AcceptanceRate, c.Scheduler.Speculative.AcceptanceRates = nil, []float64{0.85, -1, 0}
		}, "scheduler.speculative.acceptance_rates[1]: -1, expected a probability in [0, 1]"},
		// No silent default: a missing rate is an error, and an explicit
		// acceptance_rate: 0 beside the rates is still two of them.
		{func(c *Config) { c.Scheduler.Speculative.AcceptanceRate = nil }, "scheduler.speculative: no acceptance_rate or acceptance_rates, expected one of them"},
		{func(c *Config) {
			c.Scheduler.Speculative.AcceptanceRate, c.Scheduler.Speculative.AcceptanceRates = new(0.0), []float64{0.85, 0.3, 0}
		}, "scheduler.speculative: both acceptance_rate and acceptance_rates, expected one of them"},
		{func(c *Config) { c.Model.MTPLayers = 0 }, "scheduler.speculative.method: mtp needs a model with multi-token-prediction modules, but tiny has none"},
	} {
		c := specConfig("medium", 3, 0.5)
		x.edit(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), x.want) {
			t.Errorf("got %v, want an error containing %q", err, x.want)
		}
	}
	if err := specConfig("medium", 3, 0.5).Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
	m, err := lod.LookupModel("DeepSeek-R1")
	if err != nil || m.MTPLayers != 1 {
		t.Errorf("DeepSeek-R1: %d MTP layers (%v), want 1 (num_nextn_predict_layers)", m.MTPLayers, err)
	}
}

// TestSpeculationArithmetic: the per-request credit telescopes, so n steps
// at once yield what n single steps do, and carries counts the requests
// that yield the extra token at each step of a run.
func TestSpeculationArithmetic(t *testing.T) {
	sp := newSpeculation(&SpeculativeConfig{Method: "mtp", DraftTokens: 3, AcceptanceRate: new(0.85)})
	if sp.perMille != 3187 { // 1 + 0.85 + 0.7225 + 0.614125 = 3.186625
		t.Fatalf("perMille %d, want 3187", sp.perMille)
	}
	// Per position, aiconfigurator's default [0.85, 0.3, 0]: 1 + 0.85 +
	// 0.255 + 0 = 2.105 tokens a step.
	pp := newSpeculation(&SpeculativeConfig{Method: "mtp", DraftTokens: 3, AcceptanceRates: []float64{0.85, 0.3, 0}})
	if pp.perMille != 2105 {
		t.Errorf("per-position perMille %d, want 2105", pp.perMille)
	}
	credits := []int16{0, 1, 186, 500, 812, 813, 999}
	var cum [1001]int32
	for _, c := range credits {
		cum[c+1]++
	}
	for v := 1; v <= 1000; v++ {
		cum[v] += cum[v-1]
	}
	for j := 1; j <= 40; j++ {
		var extra int64
		for _, c := range credits {
			extra += int64(sp.emitted(c, j)-sp.emitted(c, j-1)) - 3
		}
		if got := carries(&cum, 187, j); got != extra {
			t.Fatalf("step %d: carries %d, want %d", j, got, extra)
		}
	}
	r := reqState{output: 1000, generated: 1, credit: 421}
	var one int32
	c := r
	for i := 0; i < 37; i++ {
		one += sp.yield(&c, 1)
		sp.advance(&c, 1)
	}
	if all := sp.yield(&r, 37); all != one {
		t.Errorf("37 steps at once yield %d, one by one %d", all, one)
	}
}

// TestMTPMemory: with speculative decoding on, a replica loads DeepSeek-R1's
// MTP module and caches its attention's KV, so fewer KV blocks fit. By
// hand, FP8 (128 x 128 block-scaled: 16388 bytes per 16384 weights) at
// TP8/EP8, one GPU holds of the module:
//
//	norms and MLA's small rest  (1536 + 512 + 2 x 7168) x 2        =        32,768
//	MLA projections  (7168 x 1536 + 7168 x 576 replicated; 1536 x 16 x 192
//	  + 512 x 16 x 256 + 16 x 128 x 7168 by head) = 2236 x 16384
//	  weights                                      x 16388 / 16384  =    36,643,568
//	routed experts  256 x 3 x 7168 x 2048 / 8 = 86016 x 16384       = 1,409,630,208
//	shared expert  3 x 7168 x 2048 / 8 = 336 x 16384                =     5,506,368
//	router  7168 x 256 x 2                                          =     3,670,016
//	eh_proj and enorm, hnorm, shared_head.norm
//	  (2 x 7168 x 7168 + 3 x 7168) x 2 (BF16)                       =   205,563,904
//	                                                                 1,661,046,832
//
// and each token's KV takes a 62nd layer of 576 x 2 bytes: a 32-token
// block 62 x 1152 x 32 = 2,285,568 bytes instead of 2,248,704.
func TestMTPMemory(t *testing.T) {
	const mtpBytes, blockOff, blockOn = 1_661_046_832, 2_248_704, 2_285_568
	g, _ := cost.LookupGPU("H200")
	c := &Config{Model: lod.Model{Name: "DeepSeek-R1"}, Hardware: HardwareConfig{GPU: "H200"},
		Cluster:   ClusterConfig{Replicas: 1, TensorParallel: 8, ExpertParallel: 8, ActivationReserveGB: 4},
		Scheduler: SchedulerConfig{Engine: EngineTRTLLM, BlockSize: 32}, Workload: WorkloadConfig{Embedded: "test"}}
	c.ApplyDefaults()
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.MTPRankBytes(8, 1); got != mtpBytes {
		t.Errorf("MTP module bytes per GPU %d, want %d", got, mtpBytes)
	}
	weights, reserve := m.WeightBytes()/8, int64(4<<30)
	blocks := func(extra, perBlock int64) int64 {
		return int64(float64(g.MemoryBytes-weights-extra-reserve)*0.9) / perBlock
	}
	off, err := KVBlocks(c, m, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := blocks(0, blockOff); off != want {
		t.Errorf("without speculation %d KV blocks, want %d", off, want)
	}
	c.Scheduler.Speculative = &SpeculativeConfig{Method: "mtp", DraftTokens: 3, AcceptanceRate: new(0.7)}
	on, err := KVBlocks(c, m, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := blocks(mtpBytes, blockOn); on != want {
		t.Errorf("with MTP %d KV blocks, want %d (%d without)", on, want, off)
	}
	t.Logf("KV blocks: %d without speculation, %d with MTP", off, on)
}
