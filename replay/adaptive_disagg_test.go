package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// scenarioRun runs embedded scenario name at level l (shortened to dur
// seconds when dur > 0) with the default cost model, as lodsim runs it.
func scenarioRun(t *testing.T, name, l string, dur float64) (*Stats, []RequestResult) {
	t.Helper()
	c, err := Scenario(name)
	if err != nil {
		t.Fatal(err)
	}
	c.Simulation.LoD = LoD(l)
	c.ApplyDefaults()
	if dur > 0 {
		c.Workload.Synthetic.Duration = Duration(dur * 1e9)
	}
	g, _ := cost.LookupGPU(c.Hardware.GPU)
	return runCfg(t, c, hwprofile.DefaultCostModel(g))
}

// TestAdaptiveKVWholeEqualsHigh: lod-pd-contended (one prefill and one
// decode worker at TP2, KV over 10 GB/s network lanes that several
// transfers share). Without variability adaptive runs every step at
// medium, which equals high there, and sends the KV in its compressed
// form (one transfer per stage's lane instead of one per layer and TP
// rank): every request's times must be high's to the nanosecond, while
// medium, which times each transfer alone, is off; and adaptive must
// process far fewer events than high (the layered streams dominate it).
func TestAdaptiveKVWholeEqualsHigh(t *testing.T) {
	hs, hr := scenarioRun(t, "lod-pd-contended", "high", 10)
	_, mr := scenarioRun(t, "lod-pd-contended", "medium", 10)
	as, ar := scenarioRun(t, "lod-pd-contended", "adaptive", 10)
	if d := diffResults(hr, ar); d != "" {
		t.Errorf("adaptive differs from high: %s", d)
	}
	if d := diffResults(hr, mr); d == "" {
		t.Error("medium equals high: the scenario's KV transfers do not contend, the test proves nothing")
	}
	// 1500x in the full scenario; the layered streams alone are 32
	// layers x 2 ranks per request.
	if as.TotalEvents*100 > hs.TotalEvents {
		t.Errorf("adaptive %d events, high %d: want at least 100x fewer", as.TotalEvents, hs.TotalEvents)
	}
	// Every link event of the adaptive run is a KV lane: one per transfer
	// (one stage, its two network lanes as one), against 64 at high.
	var links uint64
	for _, e := range as.Events {
		if e.Kind == "link_transfer" {
			links = e.Count
		}
	}
	if n := as.Disaggregated.Transfers; n == 0 || links != uint64(n) {
		t.Errorf("adaptive: %d link transfer events for %d KV transfers, expected one each", links, n)
	}
}

// diffResults names the first request whose times differ, or "".
func diffResults(a, b []RequestResult) string {
	if len(a) != len(b) {
		return "different numbers of results"
	}
	bm := byID(b)
	for _, r := range a {
		o := bm[r.ID]
		if r != o {
			return fmt.Sprintf("request %d: %+v against %+v", r.ID, r, o)
		}
	}
	return ""
}

// TestAdaptiveDisaggPerPool: with variability on a disaggregated cluster
// (prefill at TP4, decode at TP2 x PP2) adaptive learns step classes for
// each pool apart, and stays within 1% of high on mean TPOT (variability
// 0.1 slows TP4 steps by about 4% at medium without the straggler
// correction; the residual adaptive learns is well under 1%).
func TestAdaptiveDisaggPerPool(t *testing.T) {
	run := func(l string) (*Stats, []RequestResult) {
		c := refConfig(4, 6, l)
		c.Cluster.Replicas, c.Cluster.TensorParallel = 0, 0
		c.Cluster.Disaggregated = &DisaggConfig{Prefill: PoolConfig{Workers: 1, TensorParallel: 4},
			Decode: PoolConfig{Workers: 1, TensorParallel: 2, PipelineParallel: 2}}
		c.Simulation.Variability = 0.1
		c.Workload.Synthetic.Duration = Duration(8e9)
		c.ApplyDefaults()
		return runCfg(t, c, nil)
	}
	_, hr := run("high")
	as, ar := run("adaptive")
	pools := map[string]int{}
	for _, c := range as.Adaptive.Classes {
		pools[c.Pool]++
	}
	if pools["prefill"] == 0 || pools["decode"] == 0 || len(pools) != 2 {
		t.Errorf("classes by pool %v, expected prefill and decode classes", pools)
	}
	h, a := meanLatencies(hr), meanLatencies(ar)
	if e := a[1]/h[1] - 1; math.Abs(e) > 0.01 {
		t.Errorf("adaptive mean TPOT %+.2f%% off high, want within 1%%", 100*e)
	}
}

// TestAdaptiveWallSplit: with Input.Clock an adaptive run splits its wall
// time between the levels (here a clock that ticks once a read), the two
// parts add up to the clock's whole span, and neither reaches the JSON
// outputs, which stay deterministic.
func TestAdaptiveWallSplit(t *testing.T) {
	c := refConfig(4, 8, "adaptive")
	c.Simulation.Variability = 0.1
	c.Workload.Synthetic.Duration = Duration(3e9)
	m, _ := c.ResolveModel()
	g, _ := cost.LookupGPU(c.Hardware.GPU)
	var now int64
	clock := func() int64 { now += 1000; return now }
	var col Collect
	st, err := Run(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &col, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	r := st.Adaptive
	if r.HighWallNs <= 0 || r.MediumWallNs <= 0 {
		t.Fatalf("wall split high %d, medium %d: expected both measured", r.HighWallNs, r.MediumWallNs)
	}
	// The first read is at construction, the last at the report.
	if span := now - 1000; r.HighWallNs+r.MediumWallNs != span {
		t.Errorf("wall split %d + %d, clock span %d", r.HighWallNs, r.MediumWallNs, span)
	}
	b, _ := json.Marshal(st)
	if bytes.Contains(b, []byte("wall")) {
		t.Errorf("stats JSON carries a wall time: %s", b)
	}
}

// TestMediumExpertSkew: on lod-moe-skew (EP4, expert skew 0.3) medium's
// expected-maximum rank load keeps its mean TPOT within 1% of high's
// (without it medium takes the mean load and is 21% fast: the test's
// 8 s, before the MoE was costed under random routing).
func TestMediumExpertSkew(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an MoE scenario at high LoD")
	}
	_, hr := scenarioRun(t, "lod-moe-skew", "high", 8)
	_, mr := scenarioRun(t, "lod-moe-skew", "medium", 8)
	h, m := meanLatencies(hr), meanLatencies(mr)
	t.Logf("medium vs high: TTFT %+.2f%%, TPOT %+.2f%%", 100*(m[0]/h[0]-1), 100*(m[1]/h[1]-1))
	if e := m[1]/h[1] - 1; math.Abs(e) > 0.01 {
		t.Errorf("medium mean TPOT %+.2f%% off high, want within 1%%", 100*e)
	}
}
