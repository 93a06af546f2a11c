package lod

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ErrUnsupported marks an architecture or quantization feature lodsim does
// not model. The error's text names the feature; lodsim never approximates
// one silently.
var ErrUnsupported = errors.New("not modelled by lodsim")

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrUnsupported)
}

// hfConfig holds the config.json fields lodsim reads. Families spell the
// same fact differently (num_local_experts, num_experts, n_routed_experts);
// parseHF maps each to one Model field.
type hfConfig struct {
	ModelType         string   `json:"model_type"`
	Architectures     []string `json:"architectures"`
	NumHiddenLayers   int      `json:"num_hidden_layers"`
	HiddenSize        int      `json:"hidden_size"`
	NumAttentionHeads int      `json:"num_attention_heads"`
	NumKeyValueHeads  *int     `json:"num_key_value_heads"`
	HeadDim           *int     `json:"head_dim"`
	IntermediateSize  int      `json:"intermediate_size"`
	VocabSize         int      `json:"vocab_size"`
	TieWordEmbeddings bool     `json:"tie_word_embeddings"`
	AttentionBias     bool     `json:"attention_bias"`
	MLPBias           bool     `json:"mlp_bias"`

	NumLocalExperts        int   `json:"num_local_experts"`
	NumExperts             int   `json:"num_experts"`
	NRoutedExperts         int   `json:"n_routed_experts"`
	NumExpertsPerTok       int   `json:"num_experts_per_tok"`
	ExpertsPerToken        int   `json:"experts_per_token"`
	MoEIntermediateSize    int   `json:"moe_intermediate_size"`
	NSharedExperts         int   `json:"n_shared_experts"`
	SharedExpertInter      int   `json:"shared_expert_intermediate_size"`
	SharedIntermediateSize int   `json:"shared_intermediate_size"`
	FirstKDenseReplace     int   `json:"first_k_dense_replace"`
	MoELayerFreq           *int  `json:"moe_layer_freq"`
	DecoderSparseStep      *int  `json:"decoder_sparse_step"`
	MLPOnlyLayers          []int `json:"mlp_only_layers"`

	KVLoRARank    *int `json:"kv_lora_rank"`
	QLoRARank     *int `json:"q_lora_rank"`
	QKNopeHeadDim int  `json:"qk_nope_head_dim"`
	QKRopeHeadDim int  `json:"qk_rope_head_dim"`
	VHeadDim      int  `json:"v_head_dim"`

	SlidingWindow    *int     `json:"sliding_window"`
	UseSlidingWindow *bool    `json:"use_sliding_window"`
	LayerTypes       []string `json:"layer_types"`

	MaxPositionEmbeddings int `json:"max_position_embeddings"`
	NumNextnPredictLayers int `json:"num_nextn_predict_layers"`

	UseQKNorm  bool   `json:"use_qk_norm"`
	QKNormType string `json:"qk_norm_type"`
}

// The model families lodsim reads, by config.json model_type.
var hfFamilies = map[string]string{
	"llama": "dense", "mistral": "dense", "qwen2": "dense", "qwen3": "dense", "mimo": "dense",
	"mixtral": "moe", "qwen3_moe": "moe", "minimax_m2": "moe",
	"deepseek_v3": "deepseek", "kimi_k2": "deepseek",
	"gpt_oss": "gpt_oss",
}

// Keys whose presence means a feature lodsim does not model, checked in
// this order; the value names the feature in the error.
var hfUnsupportedKeys = []struct{ key, feature string }{
	{"vision_config", "vision encoder (vision_config)"},
	{"index_topk", "DeepSeek sparse attention (index_topk)"},
	{"hybrid_override_pattern", "Mamba-2 hybrid layers (hybrid_override_pattern)"},
	{"ssm_state_size", "Mamba state-space layers (ssm_state_size)"},
	{"block_configs", "heterogeneous per-layer blocks (block_configs)"},
	{"compress_ratios", "compressed sparse attention (compress_ratios)"},
	{"hybrid_layer_pattern", "hybrid attention layers (hybrid_layer_pattern)"},
	{"sparse_attention_config", "sparse attention (sparse_attention_config)"},
	{"attention_chunk_size", "chunked local attention (attention_chunk_size)"},
	{"o_lora_rank", "low-rank output projection (o_lora_rank)"},
}

// ParseHFConfig reads a Hugging Face config.json, with the checkpoint's
// hf_quant_config.json when quant is not empty, into a Model named name. A
// feature lodsim does not model is an error wrapping ErrUnsupported that
// names it.
func ParseHFConfig(name string, config, quant []byte) (Model, error) {
	// Python's json module writes infinite floats as bare Infinity, which
	// is not JSON; no field lodsim reads is one.
	if bytes.Contains(config, []byte("Infinity")) || bytes.Contains(config, []byte("NaN")) {
		config = pyNonFinite.ReplaceAll(config, []byte("${1}null"))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(config, &raw); err != nil {
		return Model{}, fmt.Errorf("config.json: %w", err)
	}
	if tc, ok := raw["text_config"]; ok && !isNull(tc) {
		// A multimodal wrapper: the language model's fields are nested.
		if v, ok := raw["vision_config"]; ok && !isNull(v) {
			return Model{}, unsupported("config.json: %s", hfUnsupportedKeys[0].feature)
		}
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(tc, &inner); err != nil {
			return Model{}, fmt.Errorf("config.json: text_config: %w", err)
		}
		for k, v := range inner {
			raw[k] = v
		}
		merged, err := json.Marshal(raw)
		if err != nil {
			return Model{}, fmt.Errorf("config.json: text_config: %w", err)
		}
		config = merged
	}
	for _, u := range hfUnsupportedKeys {
		if v, ok := raw[u.key]; ok && !isNull(v) {
			return Model{}, unsupported("config.json: %s", u.feature)
		}
	}
	var c hfConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return Model{}, fmt.Errorf("config.json: %w", err)
	}
	family, ok := hfFamilies[c.ModelType]
	if !ok {
		return Model{}, unsupported("config.json: architecture %v (model_type %q)", c.Architectures, c.ModelType)
	}
	m, err := c.model(name, family)
	if err != nil {
		return Model{}, fmt.Errorf("config.json: %w", err)
	}
	var q quantSpec
	if v, ok := raw["quantization_config"]; ok && !isNull(v) {
		if q, err = parseQuant(v, m.Layers); err != nil {
			return Model{}, fmt.Errorf("config.json: quantization_config: %w", err)
		}
	}
	if len(bytes.TrimSpace(quant)) > 0 {
		var hq struct {
			Quantization json.RawMessage `json:"quantization"`
		}
		if err := json.Unmarshal(quant, &hq); err != nil {
			return Model{}, fmt.Errorf("hf_quant_config.json: %w", err)
		}
		if hq.Quantization == nil {
			return Model{}, fmt.Errorf("hf_quant_config.json: no \"quantization\" section")
		}
		if q, err = parseQuant(hq.Quantization, m.Layers); err != nil {
			return Model{}, fmt.Errorf("hf_quant_config.json: %w", err)
		}
	}
	m.Weights, m.KVCache = q.weights, q.kv
	if q.attnPlain && q.weights != Unquantized {
		m.AttentionWeights = BF16
	}
	if errs := m.Validate(); len(errs) > 0 {
		return Model{}, fmt.Errorf("config.json: %s", strings.Join(errs, "; "))
	}
	return m, nil
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func (c *hfConfig) model(name, family string) (Model, error) {
	m := Model{Name: name, Layers: c.NumHiddenLayers, Hidden: c.HiddenSize, Heads: c.NumAttentionHeads,
		KVHeads: c.NumAttentionHeads, Intermediate: c.IntermediateSize, Vocab: c.VocabSize, DTypeBytes: 2,
		TiedEmbed: c.TieWordEmbeddings, ContextLen: max(c.MaxPositionEmbeddings, 0),
		MTPLayers: max(c.NumNextnPredictLayers, 0)}
	if c.NumKeyValueHeads != nil {
		m.KVHeads = *c.NumKeyValueHeads
	}
	if c.HeadDim != nil && *c.HeadDim > 0 {
		m.HeadDim = *c.HeadDim
	} else if c.NumAttentionHeads > 0 {
		m.HeadDim = c.HiddenSize / c.NumAttentionHeads
	}
	if c.MLPBias {
		return Model{}, unsupported("MLP biases (mlp_bias)")
	}
	if err := c.window(&m); err != nil {
		return Model{}, err
	}
	switch family {
	case "dense":
		m.AttentionBias = c.AttentionBias || c.ModelType == "qwen2" || c.ModelType == "mimo"
	case "moe":
		m.AttentionBias = c.AttentionBias
		m.Experts = c.NumLocalExperts + c.NumExperts
		m.ExpertsPerToken = c.NumExpertsPerTok
		m.ExpertIntermediate = c.MoEIntermediateSize
		if m.ExpertIntermediate == 0 {
			m.ExpertIntermediate = c.IntermediateSize // Mixtral, MiniMax: the experts' size
		}
		m.SharedIntermediate = c.SharedExpertInter + c.SharedIntermediateSize
		// MiniMax-M2's q and k RMSNorms span all heads (qk_norm_type
		// per_layer), not one head as Qwen3's do.
		m.QKNormAllHeads = c.UseQKNorm && c.QKNormType == "per_layer"
		if c.DecoderSparseStep != nil && *c.DecoderSparseStep != 1 {
			return Model{}, unsupported("MoE on every %d-th layer (decoder_sparse_step)", *c.DecoderSparseStep)
		}
		if len(c.MLPOnlyLayers) > 0 {
			return Model{}, unsupported("dense layers between MoE layers (mlp_only_layers %v)", c.MLPOnlyLayers)
		}
	case "deepseek":
		if c.AttentionBias {
			return Model{}, unsupported("attention biases in MLA (attention_bias)")
		}
		m.Experts, m.ExpertsPerToken = c.NRoutedExperts, c.NumExpertsPerTok
		m.ExpertIntermediate = c.MoEIntermediateSize
		m.SharedIntermediate = c.NSharedExperts * c.MoEIntermediateSize
		m.DenseLayers = c.FirstKDenseReplace
		if c.MoELayerFreq != nil && *c.MoELayerFreq != 1 {
			return Model{}, unsupported("MoE on every %d-th layer (moe_layer_freq)", *c.MoELayerFreq)
		}
		if c.KVLoRARank == nil || *c.KVLoRARank <= 0 {
			return Model{}, fmt.Errorf("kv_lora_rank: missing, expected MLA's latent size")
		}
		m.KVLoRARank = *c.KVLoRARank
		if c.QLoRARank != nil {
			m.QLoRARank = *c.QLoRARank
		}
		m.QKNopeDim, m.QKRopeDim, m.VHeadDim = c.QKNopeHeadDim, c.QKRopeHeadDim, c.VHeadDim
		m.HeadDim = c.QKNopeHeadDim + c.QKRopeHeadDim
	case "gpt_oss":
		m.Experts = c.NumLocalExperts
		m.ExpertsPerToken = c.ExpertsPerToken
		if m.ExpertsPerToken == 0 {
			m.ExpertsPerToken = c.NumExpertsPerTok
		}
		m.ExpertIntermediate = c.IntermediateSize
		m.AttentionBias, m.ExpertBias, m.AttentionSinks = c.AttentionBias, true, true
	}
	return m, nil
}

// window reads sliding-window attention: layer_types (gpt-oss) when
// present, else a sliding_window every layer uses (Mistral). Qwen's
// use_sliding_window: false turns the field off.
func (c *hfConfig) window(m *Model) error {
	w := 0
	if c.SlidingWindow != nil {
		w = *c.SlidingWindow
	}
	if c.UseSlidingWindow != nil && !*c.UseSlidingWindow {
		w = 0
	} else if c.UseSlidingWindow != nil && *c.UseSlidingWindow {
		return unsupported("sliding window on the layers above max_window_layers (use_sliding_window)")
	}
	if len(c.LayerTypes) == 0 {
		m.SlidingWindow = w
		return nil
	}
	if len(c.LayerTypes) != c.NumHiddenLayers {
		return fmt.Errorf("layer_types: %d entries, expected num_hidden_layers (%d)", len(c.LayerTypes), c.NumHiddenLayers)
	}
	sliding := make([]bool, len(c.LayerTypes))
	any := false
	for i, t := range c.LayerTypes {
		switch t {
		case "full_attention":
		case "sliding_attention":
			sliding[i], any = true, true
		default:
			return unsupported("layer type %q (layer_types[%d])", t, i)
		}
	}
	if !any {
		return nil
	}
	if w <= 0 {
		return fmt.Errorf("layer_types has sliding_attention layers but sliding_window is %d", w)
	}
	m.SlidingWindow = w
	for p := 0; p <= len(sliding); p++ {
		if p == 1 {
			continue // p = 1 would mean no sliding layer
		}
		probe := Model{SlidingWindow: w, SlidingPeriod: p}
		ok := true
		for i, s := range sliding {
			if probe.IsWindowLayer(i) != s {
				ok = false
				break
			}
		}
		if ok {
			m.SlidingPeriod = p
			return nil
		}
	}
	return unsupported("layer_types pattern %v: only every layer sliding, or groups ending in one full-attention layer", c.LayerTypes)
}

// quantSpec is what a quantization config says about precision.
type quantSpec struct {
	weights   Precision
	kv        Precision
	attnPlain bool // attention projections left unquantized
}

type hfQuant struct {
	QuantMethod         string          `json:"quant_method"`
	QuantAlgo           string          `json:"quant_algo"`
	Bits                int             `json:"bits"`
	WeightBlockSize     []int           `json:"weight_block_size"`
	ModulesToNotConvert []string        `json:"modules_to_not_convert"`
	ExcludeModules      []string        `json:"exclude_modules"`
	Ignore              []string        `json:"ignore"`
	KVCacheQuantAlgo    *string         `json:"kv_cache_quant_algo"`
	KVCacheScheme       json.RawMessage `json:"kv_cache_scheme"`
	ConfigGroups        map[string]struct {
		Weights struct {
			NumBits  int    `json:"num_bits"`
			Type     string `json:"type"`
			Strategy string `json:"strategy"`
		} `json:"weights"`
	} `json:"config_groups"`
}

var pyNonFinite = regexp.MustCompile(`([:\[,]\s*)(-?Infinity|NaN)\b`)

var layerIndex = regexp.MustCompile(`layers\.(\d+)`)

// parseQuant reads a quantization_config (config.json) or the
// "quantization" section of hf_quant_config.json (NVIDIA ModelOpt).
func parseQuant(data json.RawMessage, layers int) (quantSpec, error) {
	var q hfQuant
	if err := json.Unmarshal(data, &q); err != nil {
		return quantSpec{}, err
	}
	var s quantSpec
	var err error
	method := strings.ToLower(q.QuantMethod)
	switch {
	case q.QuantAlgo != "" && (method == "" || method == "modelopt"):
		s.weights, err = modelOptAlgo(q.QuantAlgo)
	case method == "fp8":
		s.weights = FP8
		if len(q.WeightBlockSize) == 2 {
			if q.WeightBlockSize[0] != 128 || q.WeightBlockSize[1] != 128 {
				return s, unsupported("FP8 weight blocks of %v (weight_block_size; 128 x 128 expected)", q.WeightBlockSize)
			}
			s.weights = FP8Block
		}
	case method == "mxfp4":
		s.weights = MXFP4
	case method == "awq" || method == "gptq":
		if q.Bits != 4 {
			return s, unsupported("%s with %d-bit weights (bits; 4 expected)", method, q.Bits)
		}
		s.weights = INT4
	case method == "compressed-tensors":
		s.weights, err = compressedTensors(q)
	default:
		return s, unsupported("quant_method %q", q.QuantMethod)
	}
	if err != nil {
		return s, err
	}
	if q.KVCacheQuantAlgo != nil {
		switch strings.ToUpper(*q.KVCacheQuantAlgo) {
		case "FP8":
			s.kv = FP8
		case "", "NONE":
		default:
			return s, unsupported("kv_cache_quant_algo %q", *q.KVCacheQuantAlgo)
		}
	}
	if len(q.KVCacheScheme) > 0 && !isNull(q.KVCacheScheme) {
		var str string
		var obj struct {
			NumBits int    `json:"num_bits"`
			Type    string `json:"type"`
		}
		switch {
		case json.Unmarshal(q.KVCacheScheme, &str) == nil && strings.EqualFold(str, "FP8"):
			s.kv = FP8
		case json.Unmarshal(q.KVCacheScheme, &obj) == nil && obj.NumBits == 8 && obj.Type == "float":
			s.kv = FP8
		default:
			return s, unsupported("kv_cache_scheme %s", q.KVCacheScheme)
		}
	}
	var excl []string
	excl = append(append(append(excl, q.ModulesToNotConvert...), q.ExcludeModules...), q.Ignore...)
	for _, e := range excl {
		plain, err := classifyExclusion(e, layers)
		if err != nil {
			return s, err
		}
		s.attnPlain = s.attnPlain || plain
	}
	return s, nil
}

func modelOptAlgo(a string) (Precision, error) {
	switch strings.ToUpper(a) {
	case "FP8":
		return FP8, nil
	case "FP8_BLOCK", "FP8_BLOCKWISE":
		return FP8Block, nil
	case "NVFP4":
		return NVFP4, nil
	case "MXFP4":
		return MXFP4, nil
	case "W4A16_AWQ", "W4A8_AWQ", "INT4_AWQ":
		return INT4, nil
	case "MIXED_PRECISION":
		return "", unsupported("mixed-precision quantization (quant_algo MIXED_PRECISION, a format per layer)")
	}
	return "", unsupported("quant_algo %q", a)
}

func compressedTensors(q hfQuant) (Precision, error) {
	var out Precision
	for name, g := range q.ConfigGroups {
		var p Precision
		w := g.Weights
		switch {
		case w.NumBits == 8 && w.Type == "float" && w.Strategy == "block":
			p = FP8Block
		case w.NumBits == 8 && w.Type == "float":
			p = FP8
		case w.NumBits == 4 && w.Type == "float":
			p = NVFP4
		case w.NumBits == 4 && w.Type == "int":
			p = INT4
		default:
			return "", unsupported("compressed-tensors group %s: %d-bit %s weights", name, w.NumBits, w.Type)
		}
		if out != "" && out != p {
			return "", unsupported("compressed-tensors groups of different formats (%s, %s)", out, p)
		}
		out = p
	}
	if out == "" {
		return "", fmt.Errorf("compressed-tensors without config_groups")
	}
	return out, nil
}

// classifyExclusion reads one module pattern a quantization config leaves
// unquantized. Embeddings, the LM head, norms and routers are unquantized
// in lodsim's accounting anyway, and multi-token-prediction layers (past
// the last layer) are not loaded; attention projections make attnPlain.
// Anything else (one layer whole, shared experts, dense MLPs) would need a
// format per part that Model does not have.
func classifyExclusion(e string, layers int) (attnPlain bool, err error) {
	l := strings.ToLower(e)
	if m := layerIndex.FindStringSubmatch(l); m != nil {
		if i, _ := strconv.Atoi(m[1]); i >= layers {
			return false, nil // an MTP layer
		}
	}
	switch {
	case strings.Contains(l, "lm_head"), strings.Contains(l, "embed"), strings.Contains(l, "norm"),
		strings.HasSuffix(l, ".gate"), l == "gate", strings.Contains(l, "router"),
		strings.Contains(l, "e_score_correction_bias"), strings.HasPrefix(l, "mtp"):
		return false, nil
	case strings.Contains(l, "self_attn"), strings.Contains(l, ".attn."):
		return true, nil
	}
	return false, unsupported("unquantized module %q (modules excluded from quantization)", e)
}
