package lod

import (
	"fmt"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Model is a decoder-only transformer architecture. Activations and
// unquantized weights are elements of DTypeBytes bytes (2 for BF16/FP16).
//
// Beyond a dense GQA transformer (the first ten fields) it describes:
//
//   - mixture of experts: Experts > 0 routed experts of ExpertIntermediate
//     each, ExpertsPerToken chosen per token (top-k), SharedIntermediate
//     worth of always-active shared experts, and DenseLayers leading layers
//     that keep a dense MLP of Intermediate (DeepSeek's
//     first_k_dense_replace);
//   - multi-head latent attention (MLA, DeepSeek-V2/V3): KVLoRARank > 0. The
//     KV cache holds one latent of KVLoRARank + QKRopeDim elements per
//     token and layer, shared by all heads (and so by all TP ranks);
//   - sliding-window attention: SlidingWindow > 0 tokens. With
//     SlidingPeriod p > 0 the layers come in groups of p whose last layer
//     attends to the full context (gpt-oss alternates, p = 2); with p = 0
//     every layer slides;
//   - attention sinks (gpt-oss: one learned logit per head), biases;
//   - precision: Weights is the format of the linear layers,
//     AttentionWeights and ExpertWeights override it for the attention
//     projections and the routed experts (quantization configs leave
//     attention unquantized in gpt-oss and NVIDIA's NVFP4 MoE checkpoints),
//     KVCache the format of the KV cache. Embeddings, the LM head, norms,
//     biases and routers stay unquantized, as every checkpoint here keeps
//     them.
//
// Left out, each under 0.01% of the weights or the work: per-head q/k norms
// (Qwen3). A q/k norm over all heads (QKNormAllHeads, MiniMax) is costed:
// under tensor parallelism it needs an all-reduce. MTPLayers counts the
// multi-token-prediction modules (DeepSeek's num_nextn_predict_layers): they
// are loaded and run only for speculative decoding (Batch.Draft): their
// weights are left out of Params and WeightBytes, and counted, when the
// engine speculates, by MTPRankBytes.
type Model struct {
	Name         string `yaml:"name" json:"name"`
	Layers       int    `yaml:"layers" json:"layers"`
	Hidden       int    `yaml:"hidden" json:"hidden"`
	Heads        int    `yaml:"heads" json:"heads"`
	KVHeads      int    `yaml:"kv_heads" json:"kv_heads"`
	HeadDim      int    `yaml:"head_dim" json:"head_dim"`
	Intermediate int    `yaml:"intermediate" json:"intermediate"`
	Vocab        int    `yaml:"vocab" json:"vocab"`
	DTypeBytes   int    `yaml:"dtype_bytes" json:"dtype_bytes"`
	TiedEmbed    bool   `yaml:"tied_embeddings" json:"tied_embeddings"`

	Experts            int `yaml:"experts,omitempty" json:"experts,omitempty"`
	ExpertsPerToken    int `yaml:"experts_per_token,omitempty" json:"experts_per_token,omitempty"`
	ExpertIntermediate int `yaml:"expert_intermediate,omitempty" json:"expert_intermediate,omitempty"`
	SharedIntermediate int `yaml:"shared_intermediate,omitempty" json:"shared_intermediate,omitempty"`
	DenseLayers        int `yaml:"dense_layers,omitempty" json:"dense_layers,omitempty"`

	KVLoRARank int `yaml:"kv_lora_rank,omitempty" json:"kv_lora_rank,omitempty"`
	QLoRARank  int `yaml:"q_lora_rank,omitempty" json:"q_lora_rank,omitempty"`
	QKNopeDim  int `yaml:"qk_nope_head_dim,omitempty" json:"qk_nope_head_dim,omitempty"`
	QKRopeDim  int `yaml:"qk_rope_head_dim,omitempty" json:"qk_rope_head_dim,omitempty"`
	VHeadDim   int `yaml:"v_head_dim,omitempty" json:"v_head_dim,omitempty"`

	SlidingWindow int `yaml:"sliding_window,omitempty" json:"sliding_window,omitempty"`
	// MTPLayers is the checkpoint's multi-token-prediction modules
	// (config.json num_nextn_predict_layers): draft modules for
	// speculative decoding (replay's scheduler.speculative method mtp).
	MTPLayers int `yaml:"mtp_layers,omitempty" json:"mtp_layers,omitempty"`
	// ContextLen is the longest sequence (prompt + output tokens) the
	// model was trained for: config.json's max_position_embeddings. It is
	// replay's default scheduler.max_model_len, as it is vLLM's; 0:
	// unknown, no limit.
	ContextLen     int  `yaml:"context_length,omitempty" json:"context_length,omitempty"`
	SlidingPeriod  int  `yaml:"sliding_period,omitempty" json:"sliding_period,omitempty"`
	AttentionSinks bool `yaml:"attention_sinks,omitempty" json:"attention_sinks,omitempty"`
	// QKNormAllHeads: the q and k RMSNorms normalize each token's whole q
	// (all heads) and whole k, not each head (MiniMax-M2, config.json
	// use_qk_norm with qk_norm_type per_layer). Split by head over TP
	// ranks, each rank holds part of the vector, so the engines all-reduce
	// the per-token sums of squares every layer before normalizing (vLLM
	// MiniMaxText01RMSNormTP.forward_qk, one all-reduce of q's and k's
	// since vllm-project/vllm#31493; SGLang's RMSNormTP likewise).
	QKNormAllHeads bool `yaml:"qk_norm_all_heads,omitempty" json:"qk_norm_all_heads,omitempty"`
	AttentionBias  bool `yaml:"attention_bias,omitempty" json:"attention_bias,omitempty"`
	ExpertBias     bool `yaml:"expert_bias,omitempty" json:"expert_bias,omitempty"`

	Weights          Precision `yaml:"weights,omitempty" json:"weights,omitempty"`
	AttentionWeights Precision `yaml:"attention_weights,omitempty" json:"attention_weights,omitempty"`
	ExpertWeights    Precision `yaml:"expert_weights,omitempty" json:"expert_weights,omitempty"`
	KVCache          Precision `yaml:"kv_cache,omitempty" json:"kv_cache,omitempty"`

	// Config is a Hugging Face config.json to read the architecture from
	// (replay's model.config); a resolved Model has it empty.
	Config string `yaml:"config,omitempty" json:"-"`
}

// Validate reports every missing or impossible field.
func (m Model) Validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	pos := func(field string, v int) {
		if v <= 0 {
			add("%s: %d, expected a positive integer", field, v)
		}
	}
	nonneg := func(field string, v int) {
		if v < 0 {
			add("%s: %d, expected >= 0", field, v)
		}
	}
	pos("layers", m.Layers)
	pos("hidden", m.Hidden)
	pos("heads", m.Heads)
	pos("kv_heads", m.KVHeads)
	pos("head_dim", m.HeadDim)
	pos("intermediate", m.Intermediate)
	pos("vocab", m.Vocab)
	pos("dtype_bytes", m.DTypeBytes)
	if m.KVHeads > 0 && m.Heads > 0 && m.Heads%m.KVHeads != 0 {
		add("heads %d not a multiple of kv_heads %d", m.Heads, m.KVHeads)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"experts", m.Experts}, {"experts_per_token", m.ExpertsPerToken}, {"expert_intermediate", m.ExpertIntermediate},
		{"shared_intermediate", m.SharedIntermediate}, {"dense_layers", m.DenseLayers}, {"kv_lora_rank", m.KVLoRARank},
		{"q_lora_rank", m.QLoRARank}, {"qk_nope_head_dim", m.QKNopeDim}, {"qk_rope_head_dim", m.QKRopeDim},
		{"v_head_dim", m.VHeadDim}, {"sliding_window", m.SlidingWindow}, {"context_length", m.ContextLen}, {"sliding_period", m.SlidingPeriod}} {
		nonneg(f.name, f.v)
	}
	if m.Experts > 0 {
		if m.ExpertsPerToken < 1 || m.ExpertsPerToken > m.Experts {
			add("experts_per_token: %d, expected 1..experts (%d)", m.ExpertsPerToken, m.Experts)
		}
		pos("expert_intermediate", m.ExpertIntermediate)
		if m.DenseLayers >= m.Layers && m.Layers > 0 {
			add("dense_layers: %d, expected fewer than layers (%d)", m.DenseLayers, m.Layers)
		}
	} else if m.ExpertsPerToken > 0 || m.ExpertIntermediate > 0 || m.SharedIntermediate > 0 || m.DenseLayers > 0 {
		add("experts_per_token, expert_intermediate, shared_intermediate and dense_layers need experts > 0")
	}
	if m.KVLoRARank > 0 {
		pos("qk_nope_head_dim", m.QKNopeDim)
		pos("qk_rope_head_dim", m.QKRopeDim)
		pos("v_head_dim", m.VHeadDim)
	}
	if m.SlidingPeriod > 0 && m.SlidingWindow == 0 {
		add("sliding_period: %d needs sliding_window > 0", m.SlidingPeriod)
	}
	for _, p := range []struct {
		name string
		v    Precision
	}{{"weights", m.Weights}, {"attention_weights", m.AttentionWeights}, {"expert_weights", m.ExpertWeights}} {
		if !p.v.valid() {
			_, err := ParsePrecision(string(p.v))
			add("%s: %v", p.name, err)
		}
	}
	switch m.KVCache {
	case Unquantized, BF16, FP16, FP8:
	default:
		add("kv_cache: %q, expected bf16, fp16 or fp8", m.KVCache)
	}
	return errs
}

// MoE reports whether m has routed experts.
func (m Model) MoE() bool { return m.Experts > 0 }

// MLA reports whether m uses multi-head latent attention.
func (m Model) MLA() bool { return m.KVLoRARank > 0 }

// IsMoELayer reports whether layer i (from 0) has routed experts.
func (m Model) IsMoELayer(i int) bool { return m.Experts > 0 && i >= m.DenseLayers }

// IsWindowLayer reports whether layer i (from 0) attends to a sliding
// window rather than the full context.
func (m Model) IsWindowLayer(i int) bool {
	if m.SlidingWindow <= 0 {
		return false
	}
	return m.SlidingPeriod <= 0 || i%m.SlidingPeriod != m.SlidingPeriod-1
}

// paramSplit is the model's weights by storage format.
type paramSplit struct {
	plain   int64 // embeddings, LM head, norms, biases, sinks, routers: DTypeBytes
	attn    int64 // attention projections: AttentionWeights
	dense   int64 // dense MLPs and shared experts: Weights
	experts int64 // routed experts: ExpertWeights
}

func (s paramSplit) total() int64 { return s.plain + s.attn + s.dense + s.experts }

// attnParams is one layer's attention: projection weights, and the small
// unquantized rest (norms inside MLA, biases, sinks).
func (m Model) attnParams() (proj, small int64) {
	h, H := int64(m.Hidden), int64(m.Heads)
	if m.MLA() {
		qk := int64(m.QKNopeDim + m.QKRopeDim)
		if m.QLoRARank > 0 {
			q := int64(m.QLoRARank)
			proj += h*q + q*H*qk
			small += q
		} else {
			proj += h * H * qk
		}
		kv := int64(m.KVLoRARank)
		proj += h*(kv+int64(m.QKRopeDim)) + kv*H*int64(m.QKNopeDim+m.VHeadDim) + H*int64(m.VHeadDim)*h
		small += kv
	} else {
		hd, kv := int64(m.HeadDim), int64(m.KVHeads)
		proj = h*(H+2*kv)*hd + H*hd*h
		if m.AttentionBias {
			small += (H+2*kv)*hd + h
		}
	}
	if m.AttentionSinks {
		small += H
	}
	return proj, small
}

func (m Model) params() paramSplit {
	h := int64(m.Hidden)
	var s paramSplit
	s.plain = int64(m.Vocab)*h + h
	if !m.TiedEmbed {
		s.plain += int64(m.Vocab) * h
	}
	proj, small := m.attnParams()
	L := int64(m.Layers)
	s.attn = L * proj
	s.plain += L * (small + 2*h)
	moe := int64(0)
	if m.MoE() {
		moe = int64(m.Layers - m.DenseLayers)
	}
	s.dense = (L - moe) * 3 * h * int64(m.Intermediate)
	if moe > 0 {
		E, ie := int64(m.Experts), int64(m.ExpertIntermediate)
		s.experts = moe * E * 3 * h * ie
		s.dense += moe * 3 * h * int64(m.SharedIntermediate)
		s.plain += moe * h * E // router
		if m.ExpertBias {
			s.plain += moe * (E + E*(2*ie+h)) // router bias, gate/up and down biases
		}
	}
	return s
}

// Params is the number of weights: embeddings, per-layer attention and MLP
// (or router, experts and shared experts) projections and norms, the final
// norm and (unless tied) the LM head.
func (m Model) Params() int64 { return m.params().total() }

// ActiveParams is the weights one token passes through: the routed experts
// count ExpertsPerToken of Experts.
func (m Model) ActiveParams() int64 {
	s := m.params()
	if m.MoE() {
		s.experts = s.experts / int64(m.Experts) * int64(m.ExpertsPerToken)
	}
	return s.total()
}

func (m Model) attnPrecision() Precision {
	if m.AttentionWeights != Unquantized {
		return m.AttentionWeights
	}
	return m.Weights
}

// ExpertKernel is the precision a cost model prices the routed experts'
// kernels at (cost.MoEShape.Quant).
func (m Model) ExpertKernel() cost.Precision { return m.expertPrecision().Kernel() }

func (m Model) expertPrecision() Precision {
	if m.ExpertWeights != Unquantized {
		return m.ExpertWeights
	}
	return m.Weights
}

// WeightBytes is the size of the weights, each part in its format with its
// scales (Params x DTypeBytes for an unquantized model).
func (m Model) WeightBytes() int64 {
	s := m.params()
	d := m.DTypeBytes
	return Unquantized.bytes(s.plain, d) + m.attnPrecision().bytes(s.attn, d) +
		m.Weights.bytes(s.dense, d) + m.expertPrecision().bytes(s.experts, d)
}

// WithPrecision returns m with its linear layers in weights (all of them:
// the attention and expert overrides are cleared) and its KV cache in kv;
// an Unquantized argument leaves that part as it is.
func (m Model) WithPrecision(weights, kv Precision) Model {
	if weights != Unquantized {
		m.Weights, m.AttentionWeights, m.ExpertWeights = weights, Unquantized, Unquantized
	}
	if kv != Unquantized {
		m.KVCache = kv
	}
	return m
}

// KVHeadsPerRank is the number of KV heads one of tp ranks stores: vLLM
// replicates KV heads when tp exceeds their number.
func (m Model) KVHeadsPerRank(tp int) int {
	if tp >= m.KVHeads {
		return 1
	}
	return m.KVHeads / tp
}

// kvElemBytes is the size of one KV-cache element.
func (m Model) kvElemBytes() int {
	switch m.KVCache {
	case FP8:
		return 1
	case BF16, FP16:
		return 2
	}
	return m.DTypeBytes
}

// KVLayerBytes is the KV cache one token takes in one layer on one of tp
// ranks: K and V of the rank's KV heads, or MLA's latent (KVLoRARank +
// QKRopeDim elements), which every rank holds whole.
func (m Model) KVLayerBytes(tp int) int64 {
	if m.MLA() {
		return int64((m.KVLoRARank + m.QKRopeDim) * m.kvElemBytes())
	}
	return int64(2 * m.KVHeadsPerRank(tp) * m.HeadDim * m.kvElemBytes())
}

// stageWindowLayers counts the sliding-window and full-attention layers of
// each pipeline stage's worst case: the most full layers, and the most
// window layers, any stage holds.
func (m Model) stageWindowLayers(pp int) (full, window int) {
	start := 0
	for _, n := range StageLayers(m.Layers, pp) {
		f, w := 0, 0
		for i := start; i < start+n; i++ {
			if m.IsWindowLayer(i) {
				w++
			} else {
				f++
			}
		}
		full, window = max(full, f), max(window, w)
		start += n
	}
	return full, window
}

// KVBytesPerToken is the KV cache one token of context takes on one GPU of
// a tp x pp group: the growing part, over the stage's full-attention
// layers. Sliding-window layers hold at most SlidingWindow tokens a
// sequence, counted by KVWindowBytesPerSeq instead.
func (m Model) KVBytesPerToken(tp, pp int) int64 {
	if m.SlidingWindow <= 0 {
		layers := (m.Layers + pp - 1) / pp
		return int64(layers) * m.KVLayerBytes(tp)
	}
	full, _ := m.stageWindowLayers(pp)
	return int64(full) * m.KVLayerBytes(tp)
}

// KVWindowBytesPerSeq is the most KV cache one sequence holds in the
// sliding-window layers on one GPU of a tp x pp group: SlidingWindow tokens
// in each of the stage's window layers (0 without windows).
func (m Model) KVWindowBytesPerSeq(tp, pp int) int64 {
	if m.SlidingWindow <= 0 {
		return 0
	}
	_, window := m.stageWindowLayers(pp)
	return int64(window) * int64(m.SlidingWindow) * m.KVLayerBytes(tp)
}

// RankWeightBytes is the most weight bytes one GPU holds when the model
// runs on tp x pp GPUs per attention-data-parallel group and attentionDP
// such groups, its MoE layers spread over all tp x attentionDP GPUs of a
// stage (expert parallelism times expert tensor parallelism, in any mix).
// As vLLM and SGLang shard:
//
//   - embeddings and the LM head split by vocabulary over tp, on the first
//     and the last pipeline stage;
//   - attention projections by head over tp, K and V replicated where tp
//     exceeds the KV heads (KVHeadsPerRank); MLA's q_a_proj and
//     kv_a_proj_with_mqa replicated;
//   - dense MLPs and shared experts over tp; routed experts over tp x
//     attentionDP; norms, routers and sinks replicated.
//
// With attentionDP 1 and no replicated part, it is WeightBytes / (tp x
// pp) up to the stages' uneven split.
func (m Model) RankWeightBytes(tp, pp, attentionDP int) int64 {
	tp, pp, attentionDP = max(tp, 1), max(pp, 1), max(attentionDP, 1)
	d := m.DTypeBytes
	h := int64(m.Hidden)
	layer := m.rankLayerBytes(tp, attentionDP)
	vocab := Unquantized.bytes(int64(m.Vocab)*h/int64(tp), d)
	var most int64
	start := 0
	for s, n := range StageLayers(m.Layers, pp) {
		b := int64(n) * (layer.plain + layer.attn)
		for i := start; i < start+n; i++ {
			if m.IsMoELayer(i) {
				b += layer.moe
			} else {
				b += layer.dense
			}
		}
		if s == 0 {
			b += vocab // embeddings
		}
		if s == pp-1 {
			b += Unquantized.bytes(h, d) // final norm
			if !m.TiedEmbed || pp > 1 {
				b += vocab // LM head: a tied one is the embeddings, unless on another stage
			}
		}
		most = max(most, b)
		start += n
	}
	return most
}

// rankLayer is one decoder layer's weight bytes on one GPU (RankWeightBytes'
// sharding): its norms and attention's small unquantized rest, its
// attention projections, and its MLP as a dense layer or as a MoE layer.
type rankLayer struct{ plain, attn, dense, moe int64 }

func (m Model) rankLayerBytes(tp, attentionDP int) rankLayer {
	d := m.DTypeBytes
	h, H := int64(m.Hidden), int64(m.Heads)
	aw, ew := m.attnPrecision(), m.expertPrecision()
	heads := H / int64(tp)
	var attn, attnRep int64
	if m.MLA() {
		qk := int64(m.QKNopeDim + m.QKRopeDim)
		kv, v := int64(m.KVLoRARank), int64(m.VHeadDim)
		if m.QLoRARank > 0 {
			q := int64(m.QLoRARank)
			attnRep += h * q
			attn += q * heads * qk
		} else {
			attn += h * heads * qk
		}
		attnRep += h * (kv + int64(m.QKRopeDim))
		attn += kv*heads*int64(m.QKNopeDim+m.VHeadDim) + heads*v*h
	} else {
		hd := int64(m.HeadDim)
		attn = h*hd*(heads+2*int64(m.KVHeadsPerRank(tp))) + heads*hd*h
	}
	_, small := m.attnParams()
	l := rankLayer{plain: Unquantized.bytes(small+2*h, d), attn: aw.bytes(attn+attnRep, d),
		dense: m.Weights.bytes(3*h*int64(m.Intermediate/tp), d)}
	if m.MoE() {
		E := int64(m.Experts)
		g := int64(tp * attentionDP)
		l.moe = ew.bytes(E*3*h*int64(m.ExpertIntermediate)/g, d) + m.Weights.bytes(3*h*int64(m.SharedIntermediate/tp), d)
		router := h * E
		if m.ExpertBias {
			router += E + E*(2*int64(m.ExpertIntermediate)+h)/g
		}
		l.moe += Unquantized.bytes(router, d)
	}
	return l
}

// MTPRankBytes is the weight bytes one GPU holds of the model's
// multi-token-prediction modules (MTPLayers), which the engines load only
// for speculative decoding: each module is one decoder layer as the
// model's last (a MoE layer in a MoE model, sharded as RankWeightBytes
// shards it), plus DeepSeek's enorm and hnorm, eh_proj (2 x hidden to
// hidden) and shared_head's norm, all unquantized and replicated (an
// nn.Linear in vLLM's deepseek_mtp.py and SGLang's deepseek_nextn.py; the
// FP8 checkpoint keeps eh_proj in BF16). The module's embedding and
// shared_head.head are the model's own embeddings and LM head, shared, not
// loaded again (vLLM's EagleProposer.load_model, SGLang's
// set_embed_and_head, TensorRT-LLM's MTP weight sharing).
func (m Model) MTPRankBytes(tp, attentionDP int) int64 {
	if m.MTPLayers <= 0 {
		return 0
	}
	tp, attentionDP = max(tp, 1), max(attentionDP, 1)
	h := int64(m.Hidden)
	l := m.rankLayerBytes(tp, attentionDP)
	mlp := l.dense
	if m.MoE() {
		mlp = l.moe
	}
	module := l.plain + l.attn + mlp + Unquantized.bytes(2*h*h+3*h, m.DTypeBytes)
	return int64(m.MTPLayers) * module
}
