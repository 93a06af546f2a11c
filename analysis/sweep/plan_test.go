package sweep

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testSpec is a small sweep over the reference scenario (Llama-3-8B on
// A100, 40 Poisson requests): cheap enough to simulate many times.
func testSpec(t testing.TB) *Spec {
	t.Helper()
	base, dir, err := ScenarioBase("reference-tp1")
	if err != nil {
		t.Fatal(err)
	}
	return &Spec{Base: base, Dir: dir, Grid: []Axis{
		{"gpu", []string{"a100", "h100"}},
		{"tp", []string{"1", "2", "4"}},
		{"replicas", []string{"1", "2"}},
	}}
}

func TestGridExpansion(t *testing.T) {
	s := testSpec(t)
	s.Points = [][]Assignment{{{"gpu", "h200"}, {"scheduler.max_num_seqs", "64"}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Points) != 2*3*2+1 {
		t.Fatalf("%d points, want 13", len(p.Points))
	}
	wantKeys := []string{"gpu", "tp", "replicas", "scheduler.max_num_seqs"}
	if strings.Join(p.Keys, " ") != strings.Join(wantKeys, " ") {
		t.Fatalf("keys %v, want %v", p.Keys, wantKeys)
	}
	wantKinds := []Kind{KindString, KindInt, KindInt, KindInt}
	for i, k := range wantKinds {
		if p.Kinds[i] != k {
			t.Errorf("kind of %s: %s, want %s", p.Keys[i], p.Kinds[i], k)
		}
	}
	ids := map[string]bool{}
	for i, pt := range p.Points {
		if pt.Index != i {
			t.Errorf("point %d has index %d", i, pt.Index)
		}
		if ids[pt.ID] {
			t.Errorf("point %d: duplicate ID %s", i, pt.ID)
		}
		ids[pt.ID] = true
		c := pt.Config
		if c.Simulation.LoD != "medium" {
			t.Errorf("point %d: lod %q, want medium by default", i, c.Simulation.LoD)
		}
		if i < 12 {
			// First key slowest: gpu changes every 6 points, replicas every point.
			wantGPU := []string{"a100", "h100"}[i/6]
			wantTP := []int{1, 2, 4}[i/2%3]
			wantRep := []int{1, 2}[i%2]
			if c.Hardware.GPU != wantGPU || c.Cluster.TensorParallel != wantTP || c.Cluster.Replicas != wantRep {
				t.Errorf("point %d: gpu %s tp %d replicas %d, want %s %d %d", i, c.Hardware.GPU,
					c.Cluster.TensorParallel, c.Cluster.Replicas, wantGPU, wantTP, wantRep)
			}
			if pt.GPUs != wantTP*wantRep {
				t.Errorf("point %d: %d GPUs, want %d", i, pt.GPUs, wantTP*wantRep)
			}
			// The dotted-path key it does not set reads back the base value.
			if pt.Values[3] != "256" {
				t.Errorf("point %d: max_num_seqs column %q, want the base's 256", i, pt.Values[3])
			}
		}
	}
	last := p.Points[12]
	if last.Config.Scheduler.MaxNumSeqs != 64 || last.GPU != "H200-SXM" {
		t.Errorf("explicit point: max_num_seqs %d gpu %s, want 64 H200-SXM", last.Config.Scheduler.MaxNumSeqs, last.GPU)
	}
	if got := strings.Join(last.Values, " "); got != "h200 1 1 64" {
		t.Errorf("explicit point values %q, want the base's tp and replicas filled in", got)
	}
	if last.Price != DefaultPrices()["H200-SXM"] {
		t.Errorf("explicit point price %v", last.Price)
	}
}

// TestNewConfigFieldsNeedNoCode sets fields no alias names, through their
// dotted paths, including a nested section the base does not have.
func TestNewConfigFieldsNeedNoCode(t *testing.T) {
	s := testSpec(t)
	s.Grid = []Axis{{"cluster.links.latency_us", []string{"5", "7.5"}}, {"scheduler.batching", []string{"mixed", "prefill_first"}}}
	s.Set = []Assignment{{"slo.ttft", "1s"}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kinds[0] != KindFloat || p.Kinds[1] != KindString {
		t.Errorf("kinds %v, want double and string", p.Kinds)
	}
	c := p.Points[3].Config
	if c.Cluster.Links.LatencyUs != 7.5 || c.Scheduler.Batching != "prefill_first" || c.SLO.TTFT != 1e9 {
		t.Errorf("point 3: latency %v batching %s slo.ttft %v", c.Cluster.Links.LatencyUs, c.Scheduler.Batching, c.SLO.TTFT)
	}
}

// TestGPUDropsProfile: a calibrated profile belongs to the GPU it was
// measured on, so sweeping the GPU drops it; the roofline choice stays.
func TestGPUDropsProfile(t *testing.T) {
	for _, tc := range []struct{ profile, want string }{{"h100-profile.json", ""}, {"roofline", "roofline"}} {
		s := testSpec(t)
		s.Base = append(s.Base, []byte("\n")...)
		s.Set = []Assignment{{"hardware.profile", tc.profile}}
		s.Grid = []Axis{{"gpu", []string{"a100", "h200"}}}
		p, err := NewPlan(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, pt := range p.Points {
			if pt.Config.Hardware.Profile != tc.want {
				t.Errorf("base profile %q, gpu %s: profile %q, want %q", tc.profile, pt.Config.Hardware.GPU, pt.Config.Hardware.Profile, tc.want)
			}
		}
	}
}

// TestModelConfigFile: a base naming a Hugging Face config.json resolves
// it per point, so the points run (and their IDs cover the file).
func TestModelConfigFile(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "..", "lod", "data", "hf-configs", "meta-llama--Meta-Llama-3.1-8B_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
	s := testSpec(t)
	s.Dir = dir
	s.Set = []Assignment{{"model.config", "config.json"}, {"model.name", ""}}
	s.Grid = []Axis{{"model.weights", []string{"bf16", "fp8"}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := p.Points[1].Config.ResolveModel(); err != nil || m.Layers != 32 || m.Weights != "fp8" {
		t.Errorf("point 1 model: %+v %v, want the 32 layers of config.json in FP8", m, err)
	}
	os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644)
	if _, err := NewPlan(s); err == nil || !strings.Contains(err.Error(), "model.config") {
		t.Errorf("a bad config.json: %v, want an error naming model.config", err)
	}
}

func TestRateScale(t *testing.T) {
	s := testSpec(t)
	s.Grid = []Axis{{RateScaleKey, []string{"0.5", "2"}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	// The reference workload is synthetic at 2 req/s: its rate scales in
	// the config and nothing is left to scale at replay.
	for i, want := range []float64{1, 4} {
		pt := p.Points[i]
		if pt.Config.Workload.Synthetic.Rate != want || pt.RateScale != 1 {
			t.Errorf("point %d: rate %v scale %v, want %v and 1", i, pt.Config.Workload.Synthetic.Rate, pt.RateScale, want)
		}
	}
	base, dir, err := ScenarioBase("azure-conv-4xh100")
	if err != nil {
		t.Fatal(err)
	}
	p, err = NewPlan(&Spec{Base: base, Dir: dir, Grid: []Axis{{RateScaleKey, []string{"0.5", "2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Points[1].RateScale != 2 || p.Points[0].ID == p.Points[1].ID {
		t.Errorf("trace workload: scale %v, IDs %s %s: want 2 and distinct IDs", p.Points[1].RateScale, p.Points[0].ID, p.Points[1].ID)
	}
}

func TestPlanErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(s *Spec)
		want []string
	}{
		// Every point is decoded strictly until one passes, so the
		// misspelt key fails all of them, not just the first.
		{"unknown field", func(s *Spec) { s.Grid = []Axis{{"scheduler.max_seqs", []string{"1", "2"}}} },
			[]string{"2 of 2 points are invalid", "point 1 (scheduler.max_seqs=2)", "max_seqs"}},
		{"bad values reported together", func(s *Spec) { s.Grid = []Axis{{"tp", []string{"3", "5", "2"}}} },
			[]string{"2 of 3 points are invalid", "point 0 (tp=3)", "point 1 (tp=5)", "tensor_parallel"}},
		{"unknown gpu", func(s *Spec) { s.Grid = []Axis{{"gpu", []string{"tpu"}}} }, []string{"unknown GPU"}},
		{"duplicate point", func(s *Spec) {
			s.Grid = []Axis{{"tp", []string{"1", "2"}}}
			s.Points = [][]Assignment{{{"tp", "2"}}}
		}, []string{"point 2 (tp=2) is the same configuration as point 1"}},
		{"rate of a trace", func(s *Spec) {
			s.Base, s.Dir, _ = ScenarioBase("azure-conv-4xh100")
			s.Grid = []Axis{{"rate", []string{"1"}}}
		}, []string{"not synthetic", RateScaleKey}},
		{"bad scale", func(s *Spec) { s.Grid = []Axis{{RateScaleKey, []string{"-1"}}} }, []string{"positive factor"}},
		{"column clash", func(s *Spec) { s.Grid = []Axis{{"gpus", []string{"1"}}} }, []string{"column \"gpus\""}},
		{"empty", func(s *Spec) { s.Grid = nil }, []string{"nothing to sweep"}},
		{"attainment", func(s *Spec) { s.Attainment = 2 }, []string{"attainment"}},
		{"price missing", func(s *Spec) { s.Prices = Prices{"tpu": 1} }, []string{"unknown GPU"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testSpec(t)
			tc.edit(s)
			_, err := NewPlan(s)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseSpec(t *testing.T) {
	spec := `
sweep:
  lod: medium
  attainment: 0.9
  grid:
    gpu: [h100, h200]
    tp: [1, 2]
  points:
    - {gpu: a100, tp: 4}
  set: {slo.ttft: 1s, slo.tpot: 50ms}
  prices: {h100: 2.5}
name: inline
model: {name: Llama-3-8B}
hardware: {gpu: A100-80GB-SXM}
workload:
  synthetic: {arrival: poisson, rate: 1, count: 5, prompt: {kind: fixed, mean: 16}, output: {kind: fixed, mean: 4}}
`
	s, err := ParseSpec([]byte(spec), "/tmp/x/spec.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Attainment != 0.9 || len(s.Grid) != 2 || s.Grid[1].Key != "tp" || len(s.Points) != 1 || len(s.Set) != 2 || s.Prices["h100"] != 2.5 || s.Dir != "/tmp/x" {
		t.Fatalf("parsed %+v", s)
	}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Points) != 5 || p.Points[0].Price != 2.5 || p.Points[0].Config.SLO.TPOT != 50e6 || p.Points[0].Config.Name != "inline" {
		t.Fatalf("plan: %d points, price %v, tpot %v", len(p.Points), p.Points[0].Price, p.Points[0].Config.SLO.TPOT)
	}
	// Marshal round-trips to the same plan (the emitted jobs read it).
	data, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	s2, err := ParseSpec(data, "/elsewhere/sweep.yaml", nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	p2, err := NewPlan(s2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p.Points {
		if p.Points[i].ID != p2.Points[i].ID {
			t.Fatalf("point %d: ID %s after a round trip, want %s\n%s", i, p2.Points[i].ID, p.Points[i].ID, data)
		}
	}

	for _, bad := range []struct{ doc, want string }{
		{"name: x\n", "no sweep: section"},
		{"sweep: {grid: {tp: [1]}, bogus: 1}\n", "bogus"},
		{"sweep: {base: scenario:reference-tp1}\nname: x\n", "expected one"},
		{"sweep: {grid: {tp: {a: 1}}, base: scenario:reference-tp1}\n", "sweep.grid.tp"},
		{"sweep: {grid: {tp: [1]}}\n", "no base configuration"},
		{"sweep: {base: scenario:reference-tp1, prices: {h100: cheap}}\n", "sweep.prices.h100"},
	} {
		_, err := ParseSpec([]byte(bad.doc), "s.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%q: error %v, want it to mention %q", bad.doc, err, bad.want)
		}
	}
}

func TestShardsPartitionThePlan(t *testing.T) {
	p, err := NewPlan(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n <= 13; n++ {
		seen := make([]int, len(p.Points))
		for i := range n {
			for _, k := range p.Shard(Shard{i, n}) {
				seen[k]++
			}
		}
		for k, c := range seen {
			if c != 1 {
				t.Fatalf("n=%d: point %d in %d shards", n, k, c)
			}
		}
	}
}

func TestPrices(t *testing.T) {
	def := DefaultPrices()
	for _, g := range []string{"A100-40GB-SXM", "A100-80GB-SXM", "H100-SXM", "H100-PCIe", "H200-SXM", "B200-SXM", "L40S", "MI300X"} {
		if def[g] <= 0 {
			t.Errorf("no default price for %s", g)
		}
	}
	p, err := ParsePrices([]byte("h100: 2\nB200: 6.5\n"), "p.yaml")
	if err != nil || p["H100-SXM"] != 2 || p["B200-SXM"] != 6.5 {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := ParsePrices([]byte("h100: -1\ntpu: 3\n"), "p.yaml"); err == nil ||
		!strings.Contains(err.Error(), "h100: -1") || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("error %v, want both problems named", err)
	}
}
