package replay

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/trace"
	"github.com/lodsim/lodsim/trace/workload"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// BenchmarkEngine measures the bare event heap as the loop drives it
// (take the earliest event, the handler's push replaces it) with a steady
// population of 64 pending events, as a replica of TP4 keeps.
func BenchmarkEngine(b *testing.B) {
	var h eventHeap
	for i := 0; i < 64; i++ {
		h.push(Time(i*100), evRankCompute, 0, 0, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := h.take()
		h.push(e.t+Time(1000+i%977), e.kind, e.a, e.b, 0)
		h.settle()
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchScenario(b *testing.B, name, lodName string) {
	c, err := Scenario(name)
	if err != nil {
		b.Fatal(err)
	}
	c.Simulation.LoD = LoD(lodName)
	benchConfig(b, c)
}

func benchConfig(b *testing.B, c *Config) {
	m, err := c.ResolveModel()
	if err != nil {
		b.Fatal(err)
	}
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		b.Fatal(err)
	}
	cm := hwprofile.DefaultCostModel(g) // the calibrated A100 profile
	var events uint64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		var col Collect
		st, err := Run(Input{Config: c, Model: m, Cost: cm, Workload: synthReader(b, c), Sink: &col})
		if err != nil {
			b.Fatal(err)
		}
		events += st.TotalEvents
	}
	sec := b.Elapsed().Seconds()
	// Process CPU time is less sensitive than wall time to other
	// processes on a shared machine.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(sec*1e9/float64(events), "ns/event")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// BenchmarkReplay runs the embedded reference scenarios at both levels of
// detail.
func BenchmarkReplay(b *testing.B) {
	for _, lodName := range []string{"high", "medium"} {
		for _, tp := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("lod=%s/tp=%d", lodName, tp), func(b *testing.B) {
				benchScenario(b, fmt.Sprintf("reference-tp%d", tp), lodName)
			})
		}
	}
}

// BenchmarkBatchWait runs overload-tp1 (a full batch of 256 requests,
// KV preemptions) under TensorRT-LLM with batch waiting on: every step
// asks whether to hold the waiting prompts back (holdPrompts).
func BenchmarkBatchWait(b *testing.B) {
	for _, lodName := range []string{"high", "medium"} {
		b.Run("lod="+lodName, func(b *testing.B) {
			data, err := scenarioFS.ReadFile("scenarios/overload-tp1.yaml")
			if err != nil {
				b.Fatal(err)
			}
			y := strings.Replace(string(data), "scheduler:\n", "scheduler:\n  engine: trtllm\n  batch_wait_timeout_iters: 20\n  batch_wait_max_tokens_ratio: 0.9\n", 1)
			c, err := ParseConfig([]byte(y))
			if err != nil {
				b.Fatal(err)
			}
			c.Simulation.LoD = LoD(lodName)
			benchConfig(b, c)
		})
	}
}

// BenchmarkAzureConv replays the Azure 2023 conversation trace (19,366
// requests, read from the embedded CSV inside the timed loop) on four
// replicas of Llama-3.1-8B at TP1 on H100 SXM at medium LoD.
func BenchmarkAzureConv(b *testing.B) { benchAzure(b, "azure-conv-4xh100", "") }

// BenchmarkAzureConvDeepSeekR1 replays the same trace on DeepSeek-R1 over
// 8 x H200 (attention data-parallel over 8 replicas of TP1, EP8) at medium
// LoD, the MoE layers' all-to-alls analytical. Target: under 1 s a run.
func BenchmarkAzureConvDeepSeekR1(b *testing.B) { benchAzure(b, "azure-conv-8xh200-dsr1", "") }

// benchAzure replays the scenario's embedded Azure conversation trace at
// its own level of detail, or at lodName when that is not "".
func benchAzure(b *testing.B, scenario, lodName string) {
	c, err := Scenario(scenario)
	if err != nil {
		b.Fatal(err)
	}
	if lodName != "" {
		c.Simulation.LoD = LoD(lodName)
	}
	m, err := c.ResolveModel()
	if err != nil {
		b.Fatal(err)
	}
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		b.Fatal(err)
	}
	cm := hwprofile.DefaultCostModel(g)
	var events uint64
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		src, err := trace.Embedded(c.Workload.Embedded)
		if err != nil {
			b.Fatal(err)
		}
		var col Collect
		st, err := Run(Input{Config: c, Model: m, Cost: cm, Workload: src, Sink: &col})
		if err != nil {
			b.Fatal(err)
		}
		if st.Completed != 19366 {
			b.Fatalf("completed %d of 19366", st.Completed)
		}
		events += st.TotalEvents
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// BenchmarkMultiNodeAdaptive replays the Azure conversation trace with
// Llama-3.1-405B at TP16 over two H100 nodes (multinode-405b-tp16) at
// adaptive LoD. The tuner picks the hierarchical all-reduce at every
// step, whose medium form is exact, so adaptive runs medium's events; it
// used to refine windows of every step of a TP group across nodes.
func BenchmarkMultiNodeAdaptive(b *testing.B) { benchAzure(b, "multinode-405b-tp16", "adaptive") }

// BenchmarkExpertParallel runs the dsr1-ep8-h200 scenario (DeepSeek-R1,
// EP8 over 8 attention data-parallel replicas on H200, skewed expert
// loads) at high LoD: per-GPU dispatch and combine transfers in every MoE
// layer. It should allocate nothing per event (TestNoAllocationPerEvent/expert-parallel).
func BenchmarkExpertParallel(b *testing.B) { benchScenario(b, "dsr1-ep8-h200", "high") }

// BenchmarkAdaptive runs the adaptive suite (AdaptiveScenarios) at every
// level of detail, e.g. BenchmarkAdaptive/scenario=lod-var5-tp4/lod=adaptive.
// High takes tens of seconds a run on the TP8 scenarios and minutes on the
// multi-node ones (the whole Azure trace, benchAzure): use -benchtime 1x,
// and -bench 'Adaptive/scenario=lod' to leave the multi-node ones out.
func BenchmarkAdaptive(b *testing.B) {
	for _, name := range AdaptiveScenarios {
		c, err := Scenario(name)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range LoDs {
			b.Run(fmt.Sprintf("scenario=%s/lod=%s", name, l), func(b *testing.B) {
				if c.Workload.Embedded != "" {
					benchAzure(b, name, string(l))
					return
				}
				benchScenario(b, name, string(l))
			})
		}
	}
}

// BenchmarkAzureConvDisagg replays the Azure 2023 conversation trace on
// azure-conv-4xh100's four GPUs split into two prefill and two decode
// workers (azure-conv-2p2d-h100), at both levels of detail; compare with
// BenchmarkAzureConvAggregated, the same loop over the aggregated cluster.
func BenchmarkAzureConvDisagg(b *testing.B) {
	for _, l := range []string{"medium", "high"} {
		b.Run("lod="+l, func(b *testing.B) { benchAzure(b, "azure-conv-2p2d-h100", l) })
	}
}

// BenchmarkAzureConvAggregated is BenchmarkAzureConv at both levels of
// detail, the reference for BenchmarkAzureConvDisagg.
func BenchmarkAzureConvAggregated(b *testing.B) {
	for _, l := range []string{"medium", "high"} {
		b.Run("lod="+l, func(b *testing.B) { benchAzure(b, "azure-conv-4xh100", l) })
	}
}

// BenchmarkHoldPrompts is one TensorRT-LLM step's batch-waiting decision
// with 255 decodes running and 20 prompts of 100 tokens gathering: the
// step holds them (4,255 tokens, below 0.9 x 8,192).
func BenchmarkHoldPrompts(b *testing.B) {
	c := tinyConfig("medium", 1)
	c.Scheduler = SchedulerConfig{Engine: EngineTRTLLM, KVBlocks: 100000, BlockSize: 16, MaxNumSeqs: 512,
		MaxNumBatchedTokens: 8192, BatchWaitTimeoutIters: 1000, BatchWaitMaxTokensRatio: 0.9}
	c.ApplyDefaults()
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err != nil {
		b.Fatal(err)
	}
	rp := s.replicas[0]
	t := rp.sched.(*trtllmScheduler)
	bt := s.getBatch(rp)
	for i := 0; i < 275; i++ {
		r := reqState{prompt: 100, output: 50}
		slot := int32(len(s.reqs))
		if i < 255 {
			r.generated, r.computed = 5, 104
			s.reqs = append(s.reqs, r)
			rp.running = append(rp.running, slot)
			bt.add(&s.reqs[slot], slot, 1)
			continue
		}
		s.reqs = append(s.reqs, r)
		rp.waiting.pushBack(slot)
		rp.waitingTokens += 100
	}
	budget := int32(8192 - 255)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.waited = 0
		if !t.holdPrompts(bt, budget) {
			b.Fatal("prompts not held")
		}
	}
}
