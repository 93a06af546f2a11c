package lod

import (
	"fmt"
	"sort"
	"strings"
)

// Model is a decoder-only transformer architecture. Weights and KV cache are
// stored in elements of DTypeBytes bytes (2 for BF16/FP16).
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
}

// Architectures from each model's published config.json on the Hugging Face
// hub (num_hidden_layers, hidden_size, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, vocab_size).
var models = []Model{
	{Name: "Llama-3-8B", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3.1-8B", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3-70B", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-3.1-70B", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 128256, DTypeBytes: 2},
	{Name: "Llama-2-7B", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 32, HeadDim: 128, Intermediate: 11008, Vocab: 32000, DTypeBytes: 2},
	{Name: "Llama-2-70B", Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 32000, DTypeBytes: 2},
	{Name: "Qwen3-32B", Layers: 64, Hidden: 5120, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 25600, Vocab: 151936, DTypeBytes: 2},
	{Name: "Mistral-7B", Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 32000, DTypeBytes: 2},
}

// LookupModel finds a built-in architecture by name, ignoring case and
// accepting Hugging Face style names such as "meta-llama/Meta-Llama-3-8B" or
// "Qwen/Qwen3-32B".
func LookupModel(name string) (Model, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	n = strings.TrimPrefix(n, "meta-")
	n = strings.TrimSuffix(n, "-hf")
	n = strings.TrimSuffix(n, "-instruct")
	n = strings.TrimSuffix(n, "-v0.1")
	n = strings.ReplaceAll(n, "_", "-")
	for _, m := range models {
		if strings.ToLower(m.Name) == n {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("lod: unknown model %q: expected one of %s (or a full architecture under model:)", name, strings.Join(ModelNames(), ", "))
}

// ModelNames lists the built-in architectures, sorted.
func ModelNames() []string {
	out := make([]string, len(models))
	for i, m := range models {
		out[i] = m.Name
	}
	sort.Strings(out)
	return out
}

// Validate reports every missing or impossible field.
func (m Model) Validate() []string {
	var errs []string
	pos := func(field string, v int) {
		if v <= 0 {
			errs = append(errs, fmt.Sprintf("%s: %d, expected a positive integer", field, v))
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
		errs = append(errs, fmt.Sprintf("heads %d not a multiple of kv_heads %d", m.Heads, m.KVHeads))
	}
	return errs
}

// Params is the number of weights: embeddings, per-layer attention and MLP
// projections and norms, the final norm and (unless tied) the LM head.
func (m Model) Params() int64 {
	h, hd := int64(m.Hidden), int64(m.HeadDim)
	attn := h*int64(m.Heads+2*m.KVHeads)*hd + int64(m.Heads)*hd*h
	mlp := 3 * h * int64(m.Intermediate)
	layer := attn + mlp + 2*h
	p := int64(m.Vocab)*h + int64(m.Layers)*layer + h
	if !m.TiedEmbed {
		p += int64(m.Vocab) * h
	}
	return p
}

// WeightBytes is Params x DTypeBytes.
func (m Model) WeightBytes() int64 { return m.Params() * int64(m.DTypeBytes) }

// KVHeadsPerRank is the number of KV heads one of tp ranks stores: vLLM
// replicates KV heads when tp exceeds their number.
func (m Model) KVHeadsPerRank(tp int) int {
	if tp >= m.KVHeads {
		return 1
	}
	return m.KVHeads / tp
}

// KVBytesPerToken is the KV cache one token takes on one GPU of a tp x pp
// group: K and V for each of the stage's layers and the rank's KV heads.
func (m Model) KVBytesPerToken(tp, pp int) int64 {
	layers := (m.Layers + pp - 1) / pp
	return int64(2 * layers * m.KVHeadsPerRank(tp) * m.HeadDim * m.DTypeBytes)
}
