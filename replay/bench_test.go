package replay

import (
	"fmt"
	"github.com/lodsim/lodsim/trace"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// BenchmarkEngine measures the bare event heap: push and pop with a
// steady population of 64 pending events, as a replica of TP4 keeps.
func BenchmarkEngine(b *testing.B) {
	var h eventHeap
	for i := 0; i < 64; i++ {
		h.push(Time(i*100), evRankCompute, 0, 0, 0)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := h.pop()
		h.push(e.t+Time(1000+i%977), e.kind, e.a, e.b, 0)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func benchScenario(b *testing.B, name, lodName string) {
	c, err := Scenario(name)
	if err != nil {
		b.Fatal(err)
	}
	c.Simulation.LoD = LoD(lodName)
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

// BenchmarkAzureConv replays the Azure 2023 conversation trace (19,366
// requests, read from the embedded CSV inside the timed loop) on four
// replicas of Llama-3.1-8B at TP1 on H100 SXM at medium LoD.
func BenchmarkAzureConv(b *testing.B) {
	c, err := Scenario("azure-conv-4xh100")
	if err != nil {
		b.Fatal(err)
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
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
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

func benchAzure(b *testing.B, scenario, lodName string) {
	c, err := Scenario(scenario)
	if err != nil {
		b.Fatal(err)
	}
	c.Simulation.LoD = LoD(lodName)
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
	for i := 0; i < b.N; i++ {
		src, err := trace.Embedded(c.Workload.Embedded)
		if err != nil {
			b.Fatal(err)
		}
		st, err := Run(Input{Config: c, Model: m, Cost: cm, Workload: src, Sink: discard{}})
		if err != nil {
			b.Fatal(err)
		}
		if st.Completed != 19366 {
			b.Fatalf("completed %d of 19366", st.Completed)
		}
		events += st.TotalEvents
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/sec, "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// discard is a Sink that keeps nothing.
type discard struct{}

func (discard) Record(*RequestResult) error { return nil }
