package hwprofile

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestCalibrateFP8KVAttention: decode-attention rows of an FP8 KV cache
// form a section of their own, apart from the BF16-KV rows of the same
// shapes, and survive the compact re-encoding the shipped profiles are
// rebuilt from. Each set follows its own roofline exactly (the FP8 one at
// 1.4x the bandwidth, not 2x: what vLLM's H200 tables show), so each
// section must give back its own model.
func TestCalibrateFP8KVAttention(t *testing.T) {
	bf := cost.BaseParams{LaunchNs: 9000, FlopsPerNs: 150e3, BytesPerNs: 2000}
	f8 := cost.BaseParams{LaunchNs: 11000, FlopsPerNs: 150e3, BytesPerNs: 2800}
	ms := &Measurements{}
	shapes := []cost.AttnShape{{Heads: 8, KVHeads: 1, HeadDim: 128}, {Heads: 32, KVHeads: 8, HeadDim: 128}, {Heads: 64, KVHeads: 8, HeadDim: 128}, {Heads: 16, KVHeads: 2, HeadDim: 64}}
	for _, s := range shapes {
		for _, b := range pow2s(1, 256) {
			for _, c := range pow2s(64, 65536) {
				f, by := cost.GenerationWork(float64(b), float64(c), float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim))
				row := Measurement{Op: cost.OpGenerationAttention, GPU: "h200_sxm", Dtype: "bf16", Batch: b, SeqLen: c,
					Heads: int64(s.Heads), KVHeads: int64(s.KVHeads), HeadDim: int64(s.HeadDim), MeanNs: bf.Time(f, by), Source: "synthetic"}
				ms.Rows = append(ms.Rows, row)
				row.KVDtype, row.MeanNs = "fp8", f8.Time(f, by)
				ms.Rows = append(ms.Rows, row)
			}
		}
	}
	ms.Sources = []cost.SourceFile{{Path: "synthetic", Rows: len(ms.Rows)}}
	g, err := cost.LookupGPU("h200_sxm")
	if err != nil {
		t.Fatal(err)
	}
	check := func(from string, ms *Measurements) {
		p, rep, err := Calibrate(ms, g, CalibrateOptions{Seed: 3})
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		if p.GenerationFP8KV == nil || p.ContextFP8KV != nil || !p.MeasuresKVCache(cost.FP8) {
			t.Fatalf("%s: FP8-KV sections: generation %v, context %v, measures FP8 %v; want generation only",
				from, p.GenerationFP8KV != nil, p.ContextFP8KV != nil, p.MeasuresKVCache(cost.FP8))
		}
		if _, ok := rep.Op("generation_attention" + fp8KVSuffix); !ok {
			t.Errorf("%s: no held-out fit for the FP8-KV section", from)
		}
		for _, s := range shapes {
			for _, c := range [][2]int{{4, 1000}, {64, 9000}} {
				f, by := cost.GenerationWork(float64(c[0]), float64(c[1]), float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim))
				s8 := s
				s8.KVCache = cost.FP8
				// Exact models: the 5 stored digits and the fitted bases
				// (within 0.5 %, TestCalibrateRecoversKnownModels) leave 1 %.
				if e := relErr(p.GenerationAttention(c[0], c[1], s), bf.Time(f, by)); e > 0.01 {
					t.Errorf("%s: BF16 KV %+v at %v: %.2f%% from its model", from, s, c, 100*e)
				}
				if e := relErr(p.GenerationAttention(c[0], c[1], s8), f8.Time(f, by)); e > 0.01 {
					t.Errorf("%s: FP8 KV %+v at %v: %.2f%% from its model", from, s, c, 100*e)
				}
			}
		}
	}
	check("the rows", ms)
	var buf bytes.Buffer
	if err := WriteCompact(&buf, ms, g, "", 0); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "compact.csv.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	back, err := ReadMeasurements(path)
	if err != nil {
		t.Fatal(err)
	}
	check("the compact re-encoding", back)
}

// TestCalibrateThinFP8KVLeftOut: an FP8-KV attention section of fewer than
// MinFitShapes shapes is left out with a note rather than stopping the
// calibration of the BF16 sections beside it.
func TestCalibrateThinFP8KVLeftOut(t *testing.T) {
	bf := cost.BaseParams{LaunchNs: 9000, FlopsPerNs: 150e3, BytesPerNs: 2000}
	s := cost.AttnShape{Heads: 32, KVHeads: 8, HeadDim: 128}
	ms := &Measurements{}
	for _, b := range pow2s(1, 64) {
		for _, c := range pow2s(64, 8192) {
			f, by := cost.GenerationWork(float64(b), float64(c), float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim))
			ms.Rows = append(ms.Rows, Measurement{Op: cost.OpGenerationAttention, GPU: "h200_sxm", Dtype: "bf16", Batch: b, SeqLen: c,
				Heads: int64(s.Heads), KVHeads: int64(s.KVHeads), HeadDim: int64(s.HeadDim), MeanNs: bf.Time(f, by), Source: "synthetic"})
		}
	}
	for _, c := range []int64{1024, 4096, 8192} {
		ms.Rows = append(ms.Rows, Measurement{Op: cost.OpGenerationAttention, GPU: "h200_sxm", Dtype: "bf16", KVDtype: "fp8", Batch: 8, SeqLen: c,
			Heads: int64(s.Heads), KVHeads: int64(s.KVHeads), HeadDim: int64(s.HeadDim), MeanNs: 50000, Source: "synthetic"})
	}
	ms.Sources = []cost.SourceFile{{Path: "synthetic", Rows: len(ms.Rows)}}
	g, err := cost.LookupGPU("h200_sxm")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := Calibrate(ms, g, CalibrateOptions{Seed: 3})
	if err != nil {
		t.Fatalf("a thin FP8-KV section stops calibration: %v", err)
	}
	if p.Generation == nil || p.GenerationFP8KV != nil || p.MeasuresKVCache(cost.FP8) {
		t.Fatalf("sections: BF16 generation %v, FP8-KV generation %v; want the BF16 one only", p.Generation != nil, p.GenerationFP8KV != nil)
	}
	want := "generation_attention" + fp8KVSuffix + ": 3 measured shape(s) left out"
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, want) }) {
		t.Errorf("notes %q: none says %q", p.Notes, want)
	}
	var buf bytes.Buffer
	if err := WriteCompact(&buf, ms, g, "", 0); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte(",fp8,")) {
		t.Errorf("the compact re-encoding keeps the thin FP8-KV rows")
	}
}
