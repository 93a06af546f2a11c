package hwprofile

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// mlaModuleHeader is the column order of aiconfigurator's vLLM 0.24.0
// mla_*_module_perf tables.
const mlaModuleHeader = "framework,version,device,op_name,kernel_source,model,architecture,mla_dtype,kv_cache_dtype,gemm_type," +
	"num_heads,batch_size,isl,tp_size,step,latency\n"

// TestReadMLAModule reads a fixture of the vLLM module tables (rows of
// H200 vLLM 0.24.0, as CSV): a prefill of isl tokens (step: the prefix), a
// decode over step tokens of KV, FP8-block projections, and a Kimi row,
// whose other dimensions make it skipped with a note.
func TestReadMLAModule(t *testing.T) {
	dir := t.TempDir()
	ctx := filepath.Join(dir, "mla_context_module_perf.csv")
	gen := filepath.Join(dir, "mla_generation_module_perf.csv")
	write := func(p, rows string) {
		if err := os.WriteFile(p, []byte(mlaModuleHeader+rows), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ctx, "VLLM,0.24.0,NVIDIA H200,mla_context_module,FLASH_ATTN,deepseek-ai/DeepSeek-V3,DeepseekV3ForCausalLM,bfloat16,bfloat16,bfloat16,16,1,4096,1,0,0.7234\n"+
		"VLLM,0.24.0,NVIDIA H200,mla_context_module,FLASH_ATTN,deepseek-ai/DeepSeek-V3,DeepseekV3ForCausalLM,bfloat16,fp8,fp8_block,16,2,1024,1,512,0.5\n")
	write(gen, "VLLM,0.24.0,NVIDIA H200,mla_generation_module,FLASH_ATTN_MLA,deepseek-ai/DeepSeek-V3,DeepseekV3ForCausalLM,bfloat16,bfloat16,bfloat16,16,32,1,1,4096,0.1476\n"+
		"VLLM,0.24.0,NVIDIA H200,mla_generation_module,FLASH_ATTN_MLA,moonshotai/Kimi-K2,KimiK2ForCausalLM,bfloat16,bfloat16,bfloat16,16,32,1,1,4096,0.15\n")
	ms := readOne(t, ctx, gen)
	if len(ms.Rows) != 3 {
		t.Fatalf("read %d rows, expected 3 (the Kimi row skipped)", len(ms.Rows))
	}
	want := []Measurement{
		{Op: cost.OpContextMLAModule, GPU: "h200_sxm", Dtype: "bf16", KVDtype: "bf16", Kernel: "FLASH_ATTN", Quant: cost.BF16,
			Heads: 16, Batch: 1, SeqLen: 4096, MeanNs: 723400},
		{Op: cost.OpContextMLAModule, GPU: "h200_sxm", Dtype: "bf16", KVDtype: "fp8", Kernel: "FLASH_ATTN", Quant: cost.FP8Block,
			Heads: 16, Batch: 2, SeqLen: 1024, Prefix: 512, MeanNs: 500000},
		{Op: cost.OpGenerationMLAModule, GPU: "h200_sxm", Dtype: "bf16", KVDtype: "bf16", Kernel: "FLASH_ATTN_MLA", Quant: cost.BF16,
			Heads: 16, Batch: 32, SeqLen: 4096, MeanNs: 147600},
	}
	for i, w := range want {
		g := ms.Rows[i]
		g.Source, g.Row = "", 0
		g.MeanNs = math.Round(g.MeanNs) // ms to ns in floating point
		if g != w {
			t.Errorf("row %d: %+v\nexpected %+v", i, g, w)
		}
	}
	if len(ms.Notes) != 1 || !strings.Contains(ms.Notes[0], `1 rows of architecture "KimiK2ForCausalLM" skipped`) {
		t.Errorf("notes %q: expected one for the skipped Kimi row", ms.Notes)
	}
	// A projections' precision lodsim does not know is an error naming
	// the cell.
	write(gen, "VLLM,0.24.0,NVIDIA H200,mla_generation_module,FLASH_ATTN_MLA,deepseek-ai/DeepSeek-V3,DeepseekV3ForCausalLM,bfloat16,bfloat16,int3,16,32,1,1,4096,0.1476\n")
	if _, err := ReadMeasurements(gen); err == nil || !strings.Contains(err.Error(), "gemm_type") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("unknown gemm_type: %v, expected an error naming line 2's gemm_type", err)
	}
}

// TestDeriveMLA: module rows built as a known attention time plus
// cost.MLAModule.PartsNs give back that attention time; rows with FP8
// projections and rows the projections' estimate fills are left out,
// each counted in a note.
func TestDeriveMLA(t *testing.T) {
	p, err := EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	attn := func(b, s int64) float64 { return 2000 + 3*float64(b*s) }
	var mods []mlaModPt
	for _, h := range []int64{16, 128} {
		for _, b := range []int64{1, 8, 64} {
			for _, s := range []int64{256, 4096} {
				parts := cost.DeepSeekV3MLAModule.PartsNs(p, true, int(b), int(s), int(h), cost.BF16)
				x := mlaPt{h, int64(cost.BF16), b, s, parts + attn(b, s)}
				if h == 128 && b == 64 && s == 256 {
					x.t = parts * 1.01 // under minAttentionShare left
				}
				mods = append(mods, mlaModPt{x, cost.BF16})
				x.t *= 0.5
				mods = append(mods, mlaModPt{x, cost.FP8Block})
			}
		}
	}
	pts, parts, notes, err := deriveMLA(p, cost.OpGenerationMLA, mods, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 11 || len(parts) != 11 {
		t.Fatalf("%d points, expected 11 (12 shapes, one left out)", len(pts))
	}
	for i, x := range pts {
		// Only float rounding separates parts + attention - parts from
		// attention.
		if math.Abs(x.t-attn(x.b, x.s)) > 1e-6*x.t {
			t.Errorf("heads %d batch %d seq %d: derived %.1f ns, expected %.1f", x.h, x.b, x.s, x.t, attn(x.b, x.s))
		}
		if len(parts[i]) != 1 || math.Abs(parts[i][0].t-parts[i][0].parts-x.t) > 1e-6*x.t {
			t.Errorf("point %d: module rows %+v do not add up to its time", i, parts[i])
		}
	}
	all := strings.Join(notes, "\n")
	for _, w := range []string{"11 points derived from 24 MLA module rows", "12 module rows with fp8_block projections left out",
		"1 module rows left out: the projections' estimate leaves under 2%"} {
		if !strings.Contains(all, w) {
			t.Errorf("notes %q: expected %q", notes, w)
		}
	}
}

// TestMLAModulePrefillParts: the prefill parts taken out of a module row
// charge kv_b_proj as one GEMM over all batch x seq latents, as vLLM's MLA
// prefill runs it (and lod.Planner charges it a step), not one GEMM a
// sequence: at 64 sequences of 32 tokens the per-sequence form costs 64
// launches of a 32-row GEMM and left the vLLM module rows almost nothing
// for attention.
func TestMLAModulePrefillParts(t *testing.T) {
	p, err := EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	d := cost.DeepSeekV3MLAModule
	const h = 128
	n := h * (d.QKNopeDim + d.VHeadDim)
	for _, c := range []struct{ b, s int }{{1, 4096}, {64, 32}, {8, 512}} {
		got := d.PartsNs(p, false, c.b, c.s, h, cost.BF16)
		want := d.Projections(p, c.b*c.s, h, cost.BF16) + p.GEMM(c.b*c.s, n, d.KVLoRARank)
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("batch %d x %d tokens: parts %.0f ns, expected projections and one kv_b_proj of %d rows, %.0f ns", c.b, c.s, got, c.b*c.s, want)
		}
	}
	one, perSeq := p.GEMM(64*32, n, d.KVLoRARank), 64*p.GEMM(32, n, d.KVLoRARank)
	if !(one < perSeq/4) {
		t.Errorf("kv_b_proj of 2048 rows %.0f ns is not well under 64 of 32 rows, %.0f ns", one, perSeq)
	}
}

// TestVLLMDerivedContextMLAFit: the context_mla section derived from the
// H200 vLLM module rows predicts its held-out points within 8 % (21 %
// with kv_b_proj charged a sequence, which also dropped 213 of the 1,943
// rows as leaving under 2 % to attention; now none).
func TestVLLMDerivedContextMLAFit(t *testing.T) {
	if testing.Short() {
		t.Skip("calibrates the H200 vLLM profile")
	}
	for _, sp := range shippedProfiles {
		if sp.key != "h200_sxm" || sp.engine != "vllm" {
			continue
		}
		ms, g := shippedInputs(t, sp)
		p, rep, err := Calibrate(ms, g, sp.opt)
		if err != nil {
			t.Fatal(err)
		}
		for op, ceil := range map[string]float64{"context_mla": 8, "context_mla_module": 4} {
			f, ok := rep.Op(op)
			if !ok {
				t.Fatalf("no %s fit", op)
			}
			if f.MAPE > ceil {
				t.Errorf("%s: held-out MAPE %.2f %%, expected under %.0f %%", op, f.MAPE, ceil)
			}
		}
		for _, n := range p.Notes {
			if strings.Contains(n, "context_mla") && strings.Contains(n, "under 2%") {
				t.Errorf("note %q: expected no context row left out for its attention share", n)
			}
		}
		return
	}
	t.Fatal("no shipped h200_sxm vllm profile")
}
