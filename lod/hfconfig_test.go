package lod

import (
	"errors"
	"strings"
	"testing"
)

const llamaJSON = `{"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2,
 "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
 "vocab_size": 100, "tie_word_embeddings": true %s}`

func TestParseHFConfig(t *testing.T) {
	m, err := ParseHFConfig("tiny", []byte(strings.Replace(llamaJSON, "%s", "", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Model{Name: "tiny", Layers: 2, Hidden: 64, Heads: 4, KVHeads: 2, HeadDim: 16, Intermediate: 128, Vocab: 100,
		DTypeBytes: 2, TiedEmbed: true}
	if m != want {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
	for _, c := range []struct {
		extra, quant string
		want         Model
	}{
		{`, "quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}`, "", Model{Weights: FP8Block}},
		{`, "quantization_config": {"quant_method": "fp8"}`, "", Model{Weights: FP8}},
		{`, "quantization_config": {"quant_method": "awq", "bits": 4}`, "", Model{Weights: INT4}},
		{`, "quantization_config": {"quant_method": "compressed-tensors", "config_groups": {"g": {"weights": {"num_bits": 4, "type": "int"}}}, "kv_cache_scheme": {"num_bits": 8, "type": "float"}}`, "",
			Model{Weights: INT4, KVCache: FP8}},
		{"", `{"quantization": {"quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "exclude_modules": ["lm_head", "model.layers.*.self_attn*"]}}`,
			Model{Weights: NVFP4, KVCache: FP8, AttentionWeights: BF16}},
		{`, "sliding_window": 4096`, "", Model{SlidingWindow: 4096}},
		{`, "sliding_window": 4096, "use_sliding_window": false`, "", Model{}},
		{`, "sliding_window": 64, "layer_types": ["sliding_attention", "full_attention"]`, "", Model{SlidingWindow: 64, SlidingPeriod: 2}},
		{`, "rope_scaling": {"factor": Infinity}`, "", Model{}},
	} {
		m, err := ParseHFConfig("tiny", []byte(strings.Replace(llamaJSON, "%s", c.extra, 1)), []byte(c.quant))
		if err != nil {
			t.Errorf("%s %s: %v", c.extra, c.quant, err)
			continue
		}
		got := Model{Weights: m.Weights, KVCache: m.KVCache, AttentionWeights: m.AttentionWeights, SlidingWindow: m.SlidingWindow, SlidingPeriod: m.SlidingPeriod}
		if got != c.want {
			t.Errorf("%s %s: %+v, want %+v", c.extra, c.quant, got, c.want)
		}
	}
}

// TestParseHFConfigUnsupported: each feature lodsim does not model is an
// error that names it.
func TestParseHFConfigUnsupported(t *testing.T) {
	for _, c := range []struct{ extra, quant, feature string }{
		{`, "model_type": "mamba"`, "", `model_type "mamba"`},
		{`, "mlp_bias": true`, "", "mlp_bias"},
		{`, "vision_config": {}`, "", "vision_config"},
		{`, "index_topk": 2048`, "", "index_topk"},
		{`, "sliding_window": 64, "layer_types": ["linear_attention", "full_attention"]`, "", `"linear_attention"`},
		{`, "sliding_window": 64, "layer_types": ["full_attention", "sliding_attention"]`, "", "layer_types pattern"},
		{`, "use_sliding_window": true, "sliding_window": 64`, "", "use_sliding_window"},
		{`, "quantization_config": {"quant_method": "bitsandbytes"}`, "", `quant_method "bitsandbytes"`},
		{`, "quantization_config": {"quant_method": "gptq", "bits": 3}`, "", "bits"},
		{`, "quantization_config": {"quant_method": "fp8", "weight_block_size": [1, 128]}`, "", "weight_block_size"},
		{"", `{"quantization": {"quant_algo": "MIXED_PRECISION"}}`, "MIXED_PRECISION"},
		{"", `{"quantization": {"quant_algo": "W8A8_SQ"}}`, `quant_algo "W8A8_SQ"`},
		{"", `{"quantization": {"quant_algo": "FP8", "kv_cache_quant_algo": "INT8"}}`, "kv_cache_quant_algo"},
		{"", `{"quantization": {"quant_algo": "FP8", "exclude_modules": ["model.layers.0.mlp"]}}`, "model.layers.0.mlp"},
	} {
		cfg := strings.Replace(llamaJSON, "%s", c.extra, 1)
		_, err := ParseHFConfig("tiny", []byte(cfg), []byte(c.quant))
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), c.feature) {
			t.Errorf("%s %s: %v, want an unsupported-feature error naming %s", c.extra, c.quant, err, c.feature)
		}
	}
	// Malformed input is an error too, but not an unsupported feature.
	for _, c := range []struct{ cfg, quant string }{
		{`{"model_type": "llama"`, ""},
		{strings.Replace(llamaJSON, "%s", "", 1), `{"producer": {}}`},
		{strings.Replace(llamaJSON, "%s", `, "num_hidden_layers": 0`, 1), ""},
	} {
		if _, err := ParseHFConfig("tiny", []byte(c.cfg), []byte(c.quant)); err == nil || errors.Is(err, ErrUnsupported) {
			t.Errorf("%.40s %s: %v, want a malformed-config error", c.cfg, c.quant, err)
		}
	}
}
