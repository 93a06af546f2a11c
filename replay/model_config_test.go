package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// copyConfig copies a shipped Hugging Face config (and its quant config,
// when it has one) into dir as config.json and hf_quant_config.json.
func copyConfig(t *testing.T, dir, stem string) {
	t.Helper()
	src := filepath.Join("..", "lod", "data", "hf-configs", stem)
	for from, to := range map[string]string{"_config.json": "config.json", "_hf_quant_config.json": "hf_quant_config.json"} {
		data, err := os.ReadFile(src + from)
		if os.IsNotExist(err) && to != "config.json" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const modelConfigYAML = `
simulation: {lod: medium, seed: 1}
hardware: {gpu: H200}
cluster: {replicas: 1, tensor_parallel: 1}
scheduler: {max_num_batched_tokens: 2048}
workload:
  synthetic: {arrival: poisson, rate: 1, count: 10, prompt: {kind: fixed, mean: 100}, output: {kind: fixed, mean: 10}}
`

func TestModelConfigFile(t *testing.T) {
	dir := t.TempDir()
	copyConfig(t, filepath.Join(dir), "nvidia--Llama-3.1-70B-Instruct-FP8")
	c, err := ParseConfig([]byte(modelConfigYAML + "model: {config: config.json}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c.Dir = dir
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "model.config") {
		t.Errorf("validation before reading model.config: %v", err)
	}
	if err := c.LoadModelConfig(os.ReadFile); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	// hf_quant_config.json beside it: ModelOpt FP8 weights and KV cache.
	if m.Layers != 80 || m.Weights != lod.FP8 || m.KVCache != lod.FP8 || m.Name != filepath.Base(dir) || m.Config != "" {
		t.Errorf("model from config.json: %+v", m)
	}

	// model.weights and model.kv_cache override the config's precision.
	c, _ = ParseConfig([]byte(modelConfigYAML + "model: {config: config.json, name: mine, weights: nvfp4, kv_cache: bf16}\n"))
	c.Dir = dir
	if err := c.LoadModelConfig(os.ReadFile); err != nil {
		t.Fatal(err)
	}
	if m, _ := c.ResolveModel(); m.Weights != lod.NVFP4 || m.KVCache != lod.BF16 || m.Name != "mine" {
		t.Errorf("overridden precision: %+v", m)
	}

	// An unsupported architecture is an error naming its feature.
	copyConfig(t, dir, "deepseek-ai--DeepSeek-V3.2")
	c, _ = ParseConfig([]byte(modelConfigYAML + "model: {config: config.json}\n"))
	c.Dir = dir
	if err := c.LoadModelConfig(os.ReadFile); err == nil || !strings.Contains(err.Error(), "index_topk") {
		t.Errorf("DeepSeek-V3.2 config: %v", err)
	}
	c, _ = ParseConfig([]byte(modelConfigYAML + "model: {config: missing/config.json}\n"))
	c.Dir = dir
	if err := c.LoadModelConfig(os.ReadFile); err == nil || !strings.Contains(err.Error(), "model.config") {
		t.Errorf("missing config: %v", err)
	}
}

func TestModelPrecisionFields(t *testing.T) {
	c, err := ParseConfig([]byte(modelConfigYAML + "model: {name: meta-llama/Llama-3.1-70B-Instruct, weights: FP8, kv_cache: fp8}\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.ResolveModel()
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "Llama-3.1-70B" || m.Weights != lod.FP8 || m.KVCache != lod.FP8 {
		t.Errorf("%+v", m)
	}
	c, _ = ParseConfig([]byte(modelConfigYAML + "model: {name: Llama-3.1-70B, experts: 8}\n"))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "without layers") {
		t.Errorf("a named model with an architecture field: %v", err)
	}
	c, _ = ParseConfig([]byte(modelConfigYAML + "model: {name: Llama-3.1-70B, weights: fp6}\n"))
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "model: weights: precision \"fp6\"") {
		t.Errorf("weights fp6: %v", err)
	}
}

// TestKVBlocksSlidingWindow: sliding-window layers reserve a window of KV
// per schedulable sequence; the full-attention layers share the rest.
func TestKVBlocksSlidingWindow(t *testing.T) {
	m, err := lod.LookupModel("openai/gpt-oss-120b")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cost.LookupGPU("H200")
	c, _ := ParseConfig([]byte(modelConfigYAML + "model: {name: openai/gpt-oss-120b}\n"))
	c.Cluster.ActivationReserveGB = 4
	c.Scheduler.MaxNumSeqs = 256
	got, err := KVBlocks(c, m, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 0.9 x 141 GiB - 65.2 GB of weights - 4 GiB - 256 sequences x 128
	// tokens x 18 window layers x 2048 bytes, in blocks of 16 tokens of
	// 36864 bytes (18 full layers).
	avail := int64(float64(g.MemoryBytes)*0.9) - m.WeightBytes() - 4<<30 - 256*128*18*2048
	if want := avail / (16 * 36864); got != want {
		t.Errorf("%d KV blocks, want %d", got, want)
	}
}
