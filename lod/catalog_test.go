package lod

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// sharedDir finds ../shared beside the checkout (or beside the worktree
// folder); "" when absent.
func sharedDir() string {
	for _, d := range []string{filepath.Join("..", "..", "shared"), filepath.Join("..", "..", "..", "shared")} {
		if st, err := os.Stat(filepath.Join(d, "data")); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// TestCatalogEntries: every shipped config gives a valid model or an
// error that wraps ErrUnsupported and names the feature.
func TestCatalogEntries(t *testing.T) {
	ok := 0
	for _, e := range Catalog() {
		if e.Err != nil {
			if !errors.Is(e.Err, ErrUnsupported) || !strings.Contains(e.Err.Error(), "(") {
				t.Errorf("%s: %v: expected an unsupported-feature error naming the config field", e.Repo, e.Err)
			}
			continue
		}
		if errs := e.Model.Validate(); len(errs) > 0 {
			t.Errorf("%s: %v", e.Repo, errs)
		}
		if e.Alias != "" {
			base, err := LookupModel(e.Alias)
			if err != nil || base.Params() != e.Model.Params() || e.Model.Name != e.Name {
				t.Errorf("alias %s: %+v, base %s: %v", e.Repo, e.Model, e.Alias, err)
			}
			continue
		}
		ok++
	}
	// 29 of the shipped configs and the 5 hand entries (a new
	// unsupported feature in a config shows up here first).
	if ok != 34 {
		t.Errorf("%d usable catalog models, want 34", ok)
	}
}

func TestShippedConfigsMatchShared(t *testing.T) {
	d := sharedDir()
	if d == "" {
		t.Skip("../shared not present")
	}
	src := filepath.Join(d, "data", "models", "hf-configs")
	ents, err := os.ReadDir(filepath.Join(hfConfigDir))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if e.Name() == "SOURCE.md" {
			continue
		}
		got, err := os.ReadFile(filepath.Join(hfConfigDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s", e.Name(), src)
		}
		n++
	}
	if n < 100 {
		t.Errorf("only %d shipped files compared", n)
	}
}

func TestLookupNames(t *testing.T) {
	for name, want := range map[string]string{
		"Llama-3.1-70B":                       "Llama-3.1-70B",
		"meta-llama/Llama-3.1-70B":            "Llama-3.1-70B",
		"meta-llama/Meta-Llama-3.1-70B":       "Llama-3.1-70B",
		"META-LLAMA/LLAMA-3.1-70B-INSTRUCT":   "Llama-3.1-70B",
		"meta-llama/Llama-3.1-8B-Instruct":    "Llama-3.1-8B",
		"meta-llama/Meta-Llama-3-8B":          "Llama-3-8B",
		"meta-llama/Meta-Llama-3-8B-Instruct": "Llama-3-8B",
		"Llama-2-7b-hf":                       "Llama-2-7B",
		"meta-llama/Llama-2-7b-chat-hf":       "Llama-2-7B",
		"Mistral-7B-v0.1":                     "Mistral-7B",
		"mistralai/Mistral-7B-Instruct-v0.1":  "Mistral-7B",
		"Qwen/Qwen3-32B":                      "Qwen3-32B",
		"qwen/qwen3-235b-a22b-fp8":            "Qwen3-235B-A22B-FP8",
		"Qwen/Qwen3-235B-A22B-Instruct-2507":  "Qwen3-235B-A22B-Instruct-2507",
		"qwen3-235b-a22b-instruct-2507-fp8":   "Qwen3-235B-A22B-Instruct-2507-FP8",
		"deepseek-ai/DeepSeek-R1-0528":        "DeepSeek-R1-0528",
		"Qwen/Qwen3-235B-A22B-Instruct-2508":  "",
		"deepseek-ai/DeepSeek-R1":             "DeepSeek-R1",
		"deepseek-ai/DeepSeek-V3-Base":        "DeepSeek-V3",
		"openai/gpt-oss-120b":                 "gpt-oss-120b",
		"MiniMaxAI/MiniMax-M2.5":              "MiniMax-M2.5",
		"nvidia/Llama-3.1-70B-Instruct-FP8":   "Llama-3.1-70B-Instruct-FP8",
		"nvidia/Llama-3.1-8B-Instruct-FP8":    "Llama-3.1-8B-Instruct-FP8",
		"moonshotai/Kimi-K2-Instruct":         "Kimi-K2-Instruct",
		"GPT-5":                               "",
	} {
		m, err := LookupModel(name)
		switch {
		case want == "" && err == nil:
			t.Errorf("%q resolved to %s, want an error", name, m.Name)
		case want == "" && !strings.Contains(err.Error(), "unknown model"):
			t.Errorf("%q: %v", name, err)
		case want != "" && err != nil:
			t.Errorf("%q: %v", name, err)
		case want != "" && m.Name != want:
			t.Errorf("%q resolved to %s, want %s", name, m.Name, want)
		}
	}
	// The FP8 alias is the 8B architecture with FP8 weights and KV cache.
	m, _ := LookupModel("nvidia/Llama-3.1-8B-Instruct-FP8")
	base, _ := LookupModel("Llama-3.1-8B")
	if m.Weights != FP8 || m.KVCache != FP8 || m.Layers != base.Layers || m.Params() != base.Params() {
		t.Errorf("nvidia/Llama-3.1-8B-Instruct-FP8: %+v", m)
	}
	// A known model lodsim cannot simulate names the feature.
	_, err := LookupModel("deepseek-ai/DeepSeek-V3.2")
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "index_topk") {
		t.Errorf("DeepSeek-V3.2: %v, want an unsupported-feature error naming index_topk", err)
	}
	if names := ModelNames(); !sort.StringsAreSorted(names) || len(names) != 34 {
		t.Errorf("ModelNames: %d names, sorted %v", len(names), sort.StringsAreSorted(names))
	}
}

// TestConfigFields checks the architectures read from config.json against
// the configs' own numbers and the published parameter counts.
func TestConfigFields(t *testing.T) {
	r1, err := LookupModel("deepseek-ai/DeepSeek-R1")
	if err != nil {
		t.Fatal(err)
	}
	want := Model{Name: "DeepSeek-R1", Layers: 61, Hidden: 7168, Heads: 128, KVHeads: 128, HeadDim: 192, Intermediate: 18432,
		Vocab: 129280, DTypeBytes: 2, Experts: 256, ExpertsPerToken: 8, ExpertIntermediate: 2048, SharedIntermediate: 2048,
		DenseLayers: 3, KVLoRARank: 512, QLoRARank: 1536, QKNopeDim: 128, QKRopeDim: 64, VHeadDim: 128, ContextLen: 163840, Weights: FP8Block,
		MTPLayers: 1} // num_nextn_predict_layers
	if r1 != want {
		t.Errorf("DeepSeek-R1:\n got %+v\nwant %+v", r1, want)
	}
	oss, _ := LookupModel("openai/gpt-oss-120b")
	want = Model{Name: "gpt-oss-120b", Layers: 36, Hidden: 2880, Heads: 64, KVHeads: 8, HeadDim: 64, Intermediate: 2880,
		Vocab: 201088, DTypeBytes: 2, Experts: 128, ExpertsPerToken: 4, ExpertIntermediate: 2880, SlidingWindow: 128,
		SlidingPeriod: 2, ContextLen: 131072, AttentionSinks: true, AttentionBias: true, ExpertBias: true, Weights: MXFP4, AttentionWeights: BF16}
	if oss != want {
		t.Errorf("gpt-oss-120b:\n got %+v\nwant %+v", oss, want)
	}
	if !oss.IsWindowLayer(0) || oss.IsWindowLayer(1) || !oss.IsWindowLayer(34) || oss.IsWindowLayer(35) {
		t.Error("gpt-oss alternates sliding (even layers) and full (odd layers)")
	}
	q, _ := LookupModel("Qwen/Qwen3-235B-A22B-FP8")
	if q.Experts != 128 || q.ExpertsPerToken != 8 || q.ExpertIntermediate != 1536 || q.SharedIntermediate != 0 ||
		q.DenseLayers != 0 || q.Weights != FP8Block || q.KVCache != Unquantized || q.MLA() || q.SlidingWindow != 0 {
		t.Errorf("Qwen3-235B-A22B-FP8: %+v", q)
	}
	mm, _ := LookupModel("nvidia/MiniMax-M2.5-NVFP4")
	if mm.Weights != NVFP4 || mm.AttentionWeights != BF16 || mm.KVCache != FP8 || mm.Experts != 256 {
		t.Errorf("MiniMax-M2.5-NVFP4: %+v", mm)
	}
	// Total and active parameters as published, to 1%: DeepSeek-R1 671B
	// (37B active; the published 37B leaves out the embeddings, 0.9B),
	// gpt-oss-120b 116.8B, Qwen3-235B-A22B 235B (22B active), Mixtral
	// 8x7B 46.7B (12.9B active), Kimi K2 1.03T, MiniMax-M2.5 229B.
	for name, p := range map[string][2]float64{
		"DeepSeek-R1": {671e9, 37.6e9}, "gpt-oss-120b": {116.8e9, 0}, "Qwen3-235B-A22B": {235e9, 22.2e9},
		"Mixtral-8x7B-v0.1": {46.7e9, 12.9e9}, "Kimi-K2-Instruct": {1.03e12, 0}, "MiniMax-M2.5": {229e9, 0},
	} {
		m, err := LookupModel(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(m.Params()); got < 0.99*p[0] || got > 1.01*p[0] {
			t.Errorf("%s: %.4g parameters, want %.4g", name, got, p[0])
		}
		if got := float64(m.ActiveParams()); p[1] > 0 && (got < 0.99*p[1] || got > 1.01*p[1]) {
			t.Errorf("%s: %.4g active parameters, want %.4g", name, got, p[1])
		}
	}
}

// TestSiliconDevModelsResolve: every aggregated row of the development
// set names a model the catalog has (the per-group counts are logged).
func TestSiliconDevModelsResolve(t *testing.T) {
	path := filepath.Join("..", "analysis", "validation", "testdata", "silicon_dev.csv")
	if _, err := os.Stat(path); err != nil {
		d := sharedDir()
		if d == "" {
			t.Skip("silicon_dev.csv not in analysis/validation/testdata and ../shared not present")
		}
		path = filepath.Join(d, "data", "validation", "silicon_dev.csv")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	type group struct{ rows, ok, fit int }
	groups := map[string]*group{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[col["mode"]] != "agg" {
			continue
		}
		name := rec[col["model_path"]]
		key := strings.Join([]string{name, rec[col["system"]], rec[col["backend"]], rec[col["precision"]]}, " ")
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
		}
		g.rows++
		m, err := LookupModel(name)
		if err != nil {
			t.Errorf("%s line %d: %v", path, line, err)
			continue
		}
		g.ok++
		// The weights fit the row's GPUs in the row's precision, with the
		// MoE layers over TP x attention-DP GPUs.
		if q := rec[col["gemm_quant_mode"]]; q != "" {
			p, err := ParsePrecision(q)
			if err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
			m = m.WithPrecision(p, Unquantized)
		}
		if q := rec[col["moe_quant_mode"]]; q != "" && m.MoE() {
			if m.ExpertWeights, err = ParsePrecision(q); err != nil {
				t.Fatalf("line %d: %v", line, err)
			}
		}
		gpu, err := cost.LookupGPU(rec[col["system"]])
		if err != nil {
			t.Fatal(err)
		}
		num := func(c string) int {
			n, _ := strconv.Atoi(rec[col[c]])
			return max(n, 1)
		}
		// MoE TP x EP spans TP x attention DP GPUs; vLLM rows leave
		// attention_dp_size empty and give it by moe_tp_size x moe_ep_size.
		tp, dp := num("tp_size"), num("attention_dp_size")
		if e := num("moe_tp_size") * num("moe_ep_size"); e > tp*dp {
			dp = e / tp
		}
		per := m.RankWeightBytes(tp, num("pp_size"), dp)
		if per < gpu.MemoryBytes*9/10-4<<30 {
			g.fit++
		} else {
			t.Errorf("%s line %d: %s takes %.1f GiB a GPU on %s", path, line, m.Name, float64(per)/(1<<30), rec[col["system"]])
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g := groups[k]
		t.Logf("%-50s %3d agg rows: %3d resolve, %3d fit", k, g.rows, g.ok, g.fit)
	}
	if len(keys) == 0 {
		t.Error("no agg rows")
	}
}
