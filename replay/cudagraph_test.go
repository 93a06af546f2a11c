package replay

import (
	"slices"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace"
)

// rowCost is fixedCost with GEMMs that grow with their rows: 1000 + 10 x m
// ns, so that padding a step's tokens shows in its time.
type rowCost struct{ fixedCost }

func (rowCost) GEMM(m, n, k int) float64 { return 1000 + 10*float64(m) }

// QuantGEMM is what the planner prices the layers' GEMMs with (at the
// model's weight precision).
func (r rowCost) QuantGEMM(m, n, k int, _ cost.Precision) float64 { return r.GEMM(m, n, k) }

// TestCUDAGraphPaddingCost: with graphs captured at 4 and 8, a decode step
// of one sequence replays the graph of 4. Each of the tiny model's 2 layers
// has 4 GEMMs (QKV, O, gate+up, down) whose rows grow from 1 to 4: 8 x 10 x
// 3 = 240 ns more per decode step. The LM head samples the real sequence
// only, the prefill step is never padded, and a 1-token decode run of 19
// steps pays 19 x 240 ns at both levels of detail. Nine decoding sequences
// exceed the largest graph and run eagerly at their own cost.
func TestCUDAGraphPaddingCost(t *testing.T) {
	one := []trace.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 20}}
	var nine []trace.Request
	for i := 0; i < 9; i++ {
		nine = append(nine, trace.Request{ID: trace.RequestID(i), Arrival: 0, PromptTokens: 4, OutputTokens: 6})
	}
	for _, l := range []string{"high", "medium"} {
		run := func(reqs []trace.Request, sizes []int) (*Stats, []RequestResult) {
			c := tinyConfig(l, 1)
			c.Scheduler.CUDAGraphSizes = sizes
			return runReqs(t, c, rowCost{}, reqs)
		}
		st0, eager := run(one, nil)
		st1, padded := run(one, []int{8, 4})
		if padded[0].FirstToken != eager[0].FirstToken {
			t.Errorf("%s: prefill padded: first token %d, eager %d", l, padded[0].FirstToken, eager[0].FirstToken)
		}
		if d := padded[0].Completion - eager[0].Completion; d != 19*240 {
			t.Errorf("%s: padding to 4 added %d ns over 19 decode steps, want %d", l, d, 19*240)
		}
		if st0.Steps != st1.Steps || st0.OutputTokens != st1.OutputTokens || st0.PeakKVUtil != st1.PeakKVUtil {
			t.Errorf("%s: padding changed steps, tokens or KV: %+v vs %+v", l, st0, st1)
		}
		_, e9 := run(nine, nil)
		_, p9 := run(nine, []int{4, 8})
		for i := range e9 {
			if e9[i] != p9[i] {
				t.Errorf("%s: 9 decodes beyond the largest graph (8) changed: %+v vs %+v", l, e9[i], p9[i])
			}
		}
	}
}

func TestCUDAGraphPadSizes(t *testing.T) {
	g := cudaGraphs{sizes: []int32{1, 2, 4, 8, 16}}
	for _, c := range []struct {
		decodes, chunks, want int
	}{{1, 0, 1}, {3, 0, 4}, {4, 0, 4}, {5, 0, 8}, {16, 0, 16}, {17, 0, 0}, {3, 1, 0}, {0, 0, 0}} {
		lb := lod.Batch{Decodes: c.decodes, Graph: 99}
		for i := 0; i < c.chunks; i++ {
			lb.Chunks = append(lb.Chunks, lod.Chunk{Q: 5})
		}
		g.pad(&lb)
		if lb.Graph != c.want {
			t.Errorf("%d decodes, %d chunks: graph %d, want %d", c.decodes, c.chunks, lb.Graph, c.want)
		}
	}
}

// TestStepOverheadIndependentOfTP: the engine's per-step CPU cost is the
// same absolute amount per step at TP1 and TP8 (it does not shrink with
// the GPUs), at both levels of detail: a request of 3 steps pays exactly
// 3 x StepNs more, whatever the TP degree.
func TestStepOverheadIndependentOfTP(t *testing.T) {
	m := lod.Model{Name: "tiny8", Layers: 2, Hidden: 64, Heads: 8, KVHeads: 8, HeadDim: 8, Intermediate: 128, Vocab: 96, DTypeBytes: 2}
	reqs := []trace.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 3}}
	const stepNs = 70000
	for _, l := range []string{"high", "medium"} {
		for _, tp := range []int{1, 8} {
			c := tinyConfig(l, tp)
			c.Model = m
			_, base := runReqs(t, c, fixedCost{}, reqs)
			_, over := runReqs(t, c, fixedCost{overheads: cost.Overheads{StepNs: stepNs}}, reqs)
			if d := over[0].Completion - base[0].Completion; d != 3*stepNs {
				t.Errorf("%s tp%d: step overhead added %d ns over 3 steps, want %d", l, tp, d, 3*stepNs)
			}
		}
	}
}

// TestOverlapSchedulerHidesStepOverhead: with TensorRT-LLM's overlap
// scheduler, vLLM's async scheduling or SGLang's overlap schedule (set in
// the config) a step's CPU overhead runs behind the GPU work, so a step
// takes max(GPU, CPU) instead of their sum. The
// tiny model's steps take 9002 ns of GPU time at TP1: a 5000 ns overhead
// disappears, a 20000 ns one leaves a 20000 ns step; without overlap the
// two add up.
func TestOverlapSchedulerHidesStepOverhead(t *testing.T) {
	reqs := []trace.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 3}}
	for _, e := range Engines {
		overlapSteps(t, e, reqs)
	}
}

func overlapSteps(t *testing.T, e Engine, reqs []trace.Request) {
	for _, l := range []string{"high", "medium"} {
		for _, c := range []struct {
			stepNs  float64
			overlap bool
			want    Time
		}{{5000, true, 3 * tinyStep}, {20000, true, 3 * 20000}, {5000, false, 3 * (tinyStep + 5000)}, {20000, false, 3 * (tinyStep + 20000)}} {
			cfg := tinyConfig(l, 1)
			cfg.Scheduler.Engine = e
			cfg.Scheduler.OverlapScheduler = &c.overlap
			_, rs := runReqs(t, cfg, fixedCost{overheads: cost.Overheads{StepNs: c.stepNs}}, reqs)
			if rs[0].Completion != c.want {
				t.Errorf("%s %s overhead %.0f ns overlap %v: completion %d, want %d", e, l, c.stepNs, c.overlap, rs[0].Completion, c.want)
			}
		}
	}
}

// TestReplanEqualsPlan: a medium decode run re-costs each step with
// stepCost.replan; with graphs and the overlap scheduler hiding part of a
// large overhead, that equals planning the step afresh.
func TestReplanEqualsPlan(t *testing.T) {
	g, err := cost.LookupGPU("H200")
	if err != nil {
		t.Fatal(err)
	}
	r := cost.NewRoofline(g)
	r.Overhead = cost.Overheads{StepNs: 8e6, PerSeqNs: 1000}
	m, err := lod.LookupModel("Llama-3.1-8B")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := lod.NewPlanner(m, r, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	sc := stepCost{planner: pl, graphs: cudaGraphs{sizes: []int32{1, 2, 4, 8, 16}}, overlap: true, tp: 2}
	got, want := make([]lod.StageCost, 1), make([]lod.StageCost, 1)
	b := lod.Batch{Decodes: 5, Sampled: 5, DecodeCtx: 5 * 100}
	sc.plan(&b, got)
	if got[0].Overhead == 0 {
		t.Fatalf("overhead fully hidden: the test needs a partly hidden one: %+v", got[0])
	}
	for step := 0; step < 50; step++ {
		b.DecodeCtx += 5
		sc.replan(&b, got)
		sc.plan(&b, want)
		if got[0] != want[0] {
			t.Fatalf("step %d: replan %+v\nplan %+v", step, got[0], want[0])
		}
	}
}

// TestCUDAGraphPadSpeculative: a speculating decode step of B sequences
// with k drafts runs B x (1 + k) tokens. vLLM captures its graphs by
// tokens and replays the smallest size holding them; TensorRT-LLM and
// SGLang capture them by sequences and replay the smallest size holding
// B, of 1 + k tokens each. With sizes 1, 2, 4, ..., 32: 3 sequences with 2
// drafts are 9 tokens, vLLM's graph of 16, the others' of 4 sequences (12
// tokens); 11 with 2 drafts are 33 tokens, past vLLM's largest graph
// (eager), the others' graph of 16 sequences (48 tokens). Each engine's
// step cost (newStepCost) picks its convention.
func TestCUDAGraphPadSpeculative(t *testing.T) {
	sizes := []int32{1, 2, 4, 8, 16, 32}
	cases := []struct{ decodes, draft, vllm, bySeqs int }{
		{3, 2, 16, 12}, {5, 3, 32, 32}, {6, 2, 32, 24}, {11, 2, 0, 48}, {1, 1, 2, 2}, {40, 1, 0, 0},
		{3, 0, 4, 4}, {9, 0, 16, 16}, // no speculation: the two agree
	}
	for _, e := range []Engine{EngineVLLM, EngineTRTLLM, EngineSGLang} {
		c := engineConfig(t, "scheduler:\n  engine: "+string(e)+"\n  cuda_graph_sizes: [1, 2, 4, 8, 16, 32]\n")
		sc, err := newStepCost(c, &lod.Planner{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sc.graphs.sizes, sizes) {
			t.Fatalf("%s: graph sizes %v, want %v", e, sc.graphs.sizes, sizes)
		}
		for _, k := range cases {
			lb := lod.Batch{Decodes: k.decodes, Draft: k.draft}
			sc.graphs.pad(&lb)
			want := k.bySeqs
			if e == EngineVLLM {
				want = k.vllm
			}
			if lb.Graph != want {
				t.Errorf("%s: %d decodes with %d drafts pad to %d tokens, want %d", e, k.decodes, k.draft, lb.Graph, want)
			}
		}
	}
}
