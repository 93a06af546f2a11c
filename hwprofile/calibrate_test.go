package hwprofile

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

func pow2s(lo, hi int64) []int64 {
	var out []int64
	for v := lo; v <= hi; v *= 2 {
		out = append(out, v)
	}
	return out
}

// synthetic builds measurements that follow known models exactly: GEMM and
// decode attention on a roofline, all-reduce on an alpha-beta ring.
func synthetic(gemm, gen cost.BaseParams, ring cost.Link) *Measurements {
	ms := &Measurements{}
	for _, m := range pow2s(1, 4096) {
		for _, n := range pow2s(128, 16384) {
			for _, k := range pow2s(128, 16384) {
				f, b := cost.GEMMWork(float64(m), float64(n), float64(k))
				ms.Rows = append(ms.Rows, Measurement{Op: cost.OpGEMM, Dtype: "bf16", M: m, N: n, K: k, MeanNs: gemm.Time(f, b), Source: "synthetic"})
			}
		}
	}
	for _, s := range []cost.AttnShape{{Heads: 8, KVHeads: 1, HeadDim: 128}, {Heads: 32, KVHeads: 8, HeadDim: 128}, {Heads: 16, KVHeads: 2, HeadDim: 64}} {
		for _, b := range pow2s(1, 256) {
			for _, c := range pow2s(16, 65536) {
				f, by := cost.GenerationWork(float64(b), float64(c), float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim))
				ms.Rows = append(ms.Rows, Measurement{Op: cost.OpGenerationAttention, Dtype: "bf16", Batch: b, SeqLen: c,
					Heads: int64(s.Heads), KVHeads: int64(s.KVHeads), HeadDim: int64(s.HeadDim), MeanNs: gen.Time(f, by), Source: "synthetic"})
			}
		}
	}
	for _, n := range []int{2, 4, 8} {
		for _, s := range pow2s(1024, 1<<30) {
			ms.Rows = append(ms.Rows, Measurement{Op: cost.OpAllReduce, Dtype: "fp16", Bytes: s, GPUs: n,
				MeanNs: cost.RingTime(cost.OpAllReduce, ring, float64(s), float64(n)), Source: "synthetic"})
		}
	}
	ms.Sources = []cost.SourceFile{{Path: "synthetic", Rows: len(ms.Rows)}}
	return ms
}

func relErr(a, b float64) float64 { return math.Abs(a-b) / b }

func TestCalibrateRecoversKnownModels(t *testing.T) {
	gemm := cost.BaseParams{LaunchNs: 4000, FlopsPerNs: 600e3, BytesPerNs: 2500}
	gen := cost.BaseParams{LaunchNs: 9000, FlopsPerNs: 150e3, BytesPerNs: 2000}
	ring := cost.Link{LatencyNs: 2500, BytesPerNs: 280}
	g, _ := cost.LookupGPU("h100_sxm")
	p, rep, err := Calibrate(synthetic(gemm, gen, ring), g, CalibrateOptions{Seed: 7, Created: "2025-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	// The fitted roofline parameters are stored to 6 digits and the search
	// stops at a 1e-9 change in mean squared log error: 0.5% covers both.
	if g := p.GEMMs.Base; relErr(g.LaunchNs, gemm.LaunchNs) > 5e-3 || relErr(g.FlopsPerNs, gemm.FlopsPerNs) > 5e-3 ||
		relErr(g.BytesPerNs, gemm.BytesPerNs) > 5e-3 {
		t.Errorf("gemm base %+v, expected %+v", g, gemm)
	}
	// Decode attention does at most heads/kv_heads = 8 FLOPs per byte, far
	// below the ridge: its FLOP rate is not identifiable, only the launch
	// cost and bandwidth are.
	if g := p.Generation.Base; relErr(g.LaunchNs, gen.LaunchNs) > 5e-3 || relErr(g.BytesPerNs, gen.BytesPerNs) > 5e-3 {
		t.Errorf("generation base %+v, expected %+v", g, gen)
	}
	// The alpha-beta form is linear in (alpha, 1/B): least squares finds it
	// to the 6 stored digits.
	for _, n := range []int{2, 4, 8} {
		l := p.RingLink(n)
		if relErr(l.LatencyNs, ring.LatencyNs) > 1e-6 || relErr(l.BytesPerNs, ring.BytesPerNs) > 1e-6 {
			t.Errorf("RingLink(%d) = %+v, expected %+v", n, l, ring)
		}
	}
	// Held-out points of an exact model are predicted almost exactly (the
	// stored tables keep 5 digits; the fitted bases are within 0.5%).
	for _, op := range []string{"gemm", "generation_attention", "all_reduce", "all_reduce_ring"} {
		f, ok := rep.Op(op)
		if !ok || f.Count == 0 {
			t.Errorf("no held-out fit for %s", op)
			continue
		}
		if f.MAPE > 0.5 || f.WorstAPE > 2 {
			t.Errorf("%s: held-out MAPE %.3f%%, worst %.3f%% on exact synthetic data", op, f.MAPE, f.WorstAPE)
		}
		if len(f.Points) != f.Count {
			t.Errorf("%s: %d points for a count of %d", op, len(f.Points), f.Count)
		}
	}
	// Far outside the grid the fitted roofline carries the time.
	for _, c := range [][3]int{{1 << 20, 8192, 8192}, {3, 100000, 50}} {
		f, b := cost.GEMMWork(float64(c[0]), float64(c[1]), float64(c[2]))
		if e := relErr(p.GEMM(c[0], c[1], c[2]), gemm.Time(f, b)); e > 0.01 {
			t.Errorf("GEMM%v off the grid is %.2f%% from the true model", c, 100*e)
		}
	}
	s := cost.AttnShape{Heads: 12, KVHeads: 3, HeadDim: 96} // not measured
	f, b := cost.GenerationWork(1024, 1<<20, 12, 3, 96)
	if e := relErr(p.GenerationAttention(1024, 1<<20, s), gen.Time(f, b)); e > 0.01 {
		t.Errorf("GenerationAttention off the grid and shape is %.2f%% from the true model", 100*e)
	}
	// n = 16 was not measured: the 8-GPU link in the n = 16 ring form.
	if e := relErr(p.AllReduce(1<<24, 16), cost.RingTime(cost.OpAllReduce, ring, 1<<24, 16)); e > 0.01 {
		t.Errorf("AllReduce on 16 GPUs is %.2f%% from the ring form", 100*e)
	}
	if p.AllReduce(1<<20, 1) != 0 {
		t.Errorf("AllReduce on 1 GPU = %v, expected 0", p.AllReduce(1<<20, 1))
	}
	// No context attention was measured: the roofline answers.
	if got, want := p.ContextAttention(2, 512, 0, s), cost.NewRoofline(g).ContextAttention(2, 512, 0, s); got != want {
		t.Errorf("ContextAttention without measurements = %v, expected the roofline's %v", got, want)
	}
	if p.Created != "2025-01-01" {
		t.Errorf("created %q", p.Created)
	}
}

func TestCalibrateDeterministic(t *testing.T) {
	ms := synthetic(cost.BaseParams{LaunchNs: 4000, FlopsPerNs: 600e3, BytesPerNs: 2500},
		cost.BaseParams{LaunchNs: 9000, FlopsPerNs: 150e3, BytesPerNs: 2000}, cost.Link{LatencyNs: 2500, BytesPerNs: 280})
	g, _ := cost.LookupGPU("a100_sxm")
	_, r1, err := Calibrate(ms, g, CalibrateOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	_, r2, _ := Calibrate(ms, g, CalibrateOptions{Seed: 3})
	_, r3, _ := Calibrate(ms, g, CalibrateOptions{Seed: 4})
	a, _ := r1.Op("gemm")
	b, _ := r2.Op("gemm")
	c, _ := r3.Op("gemm")
	for i := range a.Points {
		if a.Points[i] != b.Points[i] {
			t.Fatalf("same seed, different held-out point %d: %v vs %v", i, a.Points[i], b.Points[i])
		}
	}
	same := true
	for i := range a.Points {
		same = same && a.Points[i] == c.Points[i]
	}
	if same {
		t.Error("seeds 3 and 4 hold out the same points")
	}
}

func TestCalibrateErrors(t *testing.T) {
	ms := &Measurements{Rows: []Measurement{{Op: cost.OpGEMM, GPU: "a100_sxm", Dtype: "bf16", M: 1, N: 1, K: 1, MeanNs: 10}}}
	g, _ := cost.LookupGPU("h100_sxm")
	if _, _, err := Calibrate(ms, g, CalibrateOptions{}); !errors.Is(err, ErrNoUsableRows) {
		t.Errorf("calibrating h100 from a100 rows: %v, expected ErrNoUsableRows", err)
	}
	ms.Rows[0].GPU, ms.Rows[0].Dtype = "h100_sxm", "fp16"
	// Sliding-window attention is not fitted.
	ms.Rows[0] = Measurement{Op: cost.OpContextAttention, GPU: "h100_sxm", Dtype: "bf16", Batch: 1, SeqLen: 64, Heads: 8, KVHeads: 8, HeadDim: 64, Window: 32, MeanNs: 10}
	if _, _, err := Calibrate(ms, g, CalibrateOptions{}); !errors.Is(err, ErrNoUsableRows) {
		t.Errorf("calibrating from unusable rows only: %v, expected ErrNoUsableRows", err)
	}
	// Kernels differ between engines: tables of two engines need a choice.
	two := &Measurements{Rows: []Measurement{
		{Op: cost.OpGEMM, GPU: "h100_sxm", Dtype: "bf16", Engine: "vllm", M: 1, N: 1, K: 1, MeanNs: 10},
		{Op: cost.OpGEMM, GPU: "h100_sxm", Dtype: "bf16", Engine: "sglang", M: 1, N: 1, K: 1, MeanNs: 12},
	}}
	if _, _, err := Calibrate(two, g, CalibrateOptions{}); err == nil || !strings.Contains(err.Error(), "engines sglang, vllm: choose one") {
		t.Errorf("two engines, none chosen: %v", err)
	}
	if _, _, err := Calibrate(two, g, CalibrateOptions{Engine: "tgi"}); err == nil || !strings.Contains(err.Error(), `engine "tgi"`) {
		t.Errorf("unknown engine: %v", err)
	}
	if _, _, err := Calibrate(two, g, CalibrateOptions{Engine: "trtllm"}); !errors.Is(err, ErrNoUsableRows) {
		t.Errorf("an engine the tables lack: %v, expected ErrNoUsableRows", err)
	}
	// One row cannot determine a fit: refused, naming the op and the minimum.
	if _, _, err := Calibrate(two, g, CalibrateOptions{Engine: "sglang", HoldOut: -1}); err == nil ||
		!strings.Contains(err.Error(), "too few measurements to calibrate H100") || !strings.Contains(err.Error(), "gemm: 1 measured shape(s), expected at least 4") {
		t.Errorf("calibrating from one row: %v, expected a too-few-measurements error", err)
	}
	for _, e := range []struct {
		engine string
		ns     float64
	}{{"vllm", 10}, {"sglang", 12}} {
		for i := int64(2); i <= 4; i++ {
			two.Rows = append(two.Rows, Measurement{Op: cost.OpGEMM, GPU: "h100_sxm", Dtype: "bf16", Engine: e.engine, M: 64 * i, N: 1024, K: 1024, MeanNs: e.ns * float64(i)})
		}
	}
	p, _, err := Calibrate(two, g, CalibrateOptions{Engine: "sglang", HoldOut: -1})
	if err != nil || p.Engine != "sglang" || p.GEMM(1, 1, 1) != 12 {
		t.Errorf("sglang only: engine %q, GEMM %v, %v; expected the sglang row's 12 ns", p.Engine, p.GEMM(1, 1, 1), err)
	}
}
