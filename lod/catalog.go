package lod

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The built-in catalog is read from the Hugging Face configs shipped in
// data/hf-configs (see SOURCE.md there), parsed once on first use.
//
//go:embed data/hf-configs/*.json
var hfConfigs embed.FS

const hfConfigDir = "data/hf-configs"

// handModels are built-in architectures without a shipped config.json,
// from each model's published config.json on the Hugging Face hub
// (num_hidden_layers, hidden_size, num_attention_heads,
// num_key_value_heads, head_dim, intermediate_size, vocab_size,
// max_position_embeddings).
var handModels = []struct {
	repo string
	m    Model
}{
	{"meta-llama/Meta-Llama-3-8B", Model{Name: "Llama-3-8B", ContextLen: 8192, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 128256, DTypeBytes: 2}},
	{"meta-llama/Meta-Llama-3-70B", Model{Name: "Llama-3-70B", ContextLen: 8192, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 128256, DTypeBytes: 2}},
	{"meta-llama/Llama-2-7b-hf", Model{Name: "Llama-2-7B", ContextLen: 4096, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 32, HeadDim: 128, Intermediate: 11008, Vocab: 32000, DTypeBytes: 2}},
	{"meta-llama/Llama-2-70b-hf", Model{Name: "Llama-2-70B", ContextLen: 4096, Layers: 80, Hidden: 8192, Heads: 64, KVHeads: 8, HeadDim: 128, Intermediate: 28672, Vocab: 32000, DTypeBytes: 2}},
	{"mistralai/Mistral-7B-v0.1", Model{Name: "Mistral-7B", ContextLen: 32768, Layers: 32, Hidden: 4096, Heads: 32, KVHeads: 8, HeadDim: 128, Intermediate: 14336, Vocab: 32000, DTypeBytes: 2}},
}

// repoAliases are repositories without a shipped config that publish a
// catalog architecture, retrained or in another precision: their configs
// differ from the base's only in context length (context, the
// max_position_embeddings of the alias's config.json where it differs)
// and rope scaling, which lodsim does not model. NVIDIA's Llama FP8 checkpoints are ModelOpt FP8
// with an FP8 KV cache, as nvidia/Llama-3.1-70B-Instruct-FP8's
// hf_quant_config.json says; Qwen's -FP8 ones are FP8 in 128 x 128 blocks
// like Qwen3-235B-A22B-FP8.
var repoAliases = []struct {
	repo, base  string
	weights, kv Precision
	context     int // max_position_embeddings when it differs from the base's
}{
	{"nvidia/Llama-3.1-8B-Instruct-FP8", "Llama-3.1-8B", FP8, FP8, 0},
	{"nvidia/Llama-3.1-405B-Instruct-FP8", "Llama-3.1-405B", FP8, FP8, 0},
	{"meta-llama/Llama-3.3-70B-Instruct", "Llama-3.1-70B", Unquantized, Unquantized, 0},
	{"nvidia/Llama-3.3-70B-Instruct-FP8", "Llama-3.1-70B", FP8, FP8, 0},
	{"deepseek-ai/DeepSeek-R1-0528", "DeepSeek-R1", Unquantized, Unquantized, 0},
	{"deepseek-ai/DeepSeek-V3-0324", "DeepSeek-V3", Unquantized, Unquantized, 0},
	{"deepseek-ai/DeepSeek-V3.1", "DeepSeek-V3", Unquantized, Unquantized, 0},
	{"Qwen/Qwen3-235B-A22B-Instruct-2507", "Qwen3-235B-A22B", Unquantized, Unquantized, 262144},
	{"Qwen/Qwen3-235B-A22B-Thinking-2507", "Qwen3-235B-A22B", Unquantized, Unquantized, 262144},
	{"Qwen/Qwen3-235B-A22B-Instruct-2507-FP8", "Qwen3-235B-A22B-FP8", Unquantized, Unquantized, 262144},
	{"Qwen/Qwen3-235B-A22B-Thinking-2507-FP8", "Qwen3-235B-A22B-FP8", Unquantized, Unquantized, 262144},
	{"Qwen/Qwen3-30B-A3B-Instruct-2507", "Qwen3-30B-A3B", Unquantized, Unquantized, 262144},
}

// CatalogEntry is one built-in model: its name, the Hugging Face
// repository it comes from, and its architecture, or the reason lodsim
// cannot model it.
type CatalogEntry struct {
	Name  string
	Repo  string
	Alias string // the catalog model it publishes again, for an alias
	Model Model
	Err   error // non-nil: an unsupported feature, named
}

type catalog struct {
	entries []CatalogEntry // sorted by Name
	byKey   map[string]int // lower-case name, lower-case repo id and normalized name
}

var (
	catalogOnce sync.Once
	builtin     catalog
)

func theCatalog() *catalog {
	catalogOnce.Do(func() { builtin = buildCatalog(hfConfigs) })
	return &builtin
}

// buildCatalog parses every <org>--<model>_config.json under the config
// directory of fsys (with its _hf_quant_config.json) and adds the hand
// entries. Two entries under one lookup key are a broken catalog.
func buildCatalog(fsys fs.FS) catalog {
	files, err := fs.Glob(fsys, hfConfigDir+"/*_config.json")
	if err != nil {
		panic("lod: " + err.Error())
	}
	var c catalog
	for _, f := range files {
		base := path.Base(f)
		if strings.HasSuffix(base, "_hf_quant_config.json") {
			continue
		}
		stem := strings.TrimSuffix(base, "_config.json")
		org, model, ok := strings.Cut(stem, "--")
		if !ok {
			panic("lod: shipped config " + base + " is not named <org>--<model>_config.json")
		}
		e := CatalogEntry{Name: strings.TrimPrefix(model, "Meta-"), Repo: org + "/" + model}
		cfg, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic("lod: " + err.Error())
		}
		quant, _ := fs.ReadFile(fsys, path.Join(hfConfigDir, stem+"_hf_quant_config.json"))
		e.Model, e.Err = ParseHFConfig(e.Name, cfg, quant)
		c.entries = append(c.entries, e)
	}
	for _, h := range handModels {
		c.entries = append(c.entries, CatalogEntry{Name: h.m.Name, Repo: h.repo, Model: h.m})
	}
	for _, a := range repoAliases {
		i := slices.IndexFunc(c.entries, func(e CatalogEntry) bool { return e.Name == a.base })
		if i < 0 {
			panic("lod: alias " + a.repo + " of unknown model " + a.base)
		}
		e := c.entries[i]
		e.Name, e.Repo, e.Alias = a.repo[strings.IndexByte(a.repo, '/')+1:], a.repo, a.base
		if e.Err == nil {
			e.Model = e.Model.WithPrecision(a.weights, a.kv)
			e.Model.Name = e.Name
			if a.context > 0 {
				e.Model.ContextLen = a.context
			}
		}
		c.entries = append(c.entries, e)
	}
	sort.Slice(c.entries, func(i, j int) bool { return c.entries[i].Name < c.entries[j].Name })
	c.byKey = make(map[string]int)
	for i, e := range c.entries {
		keys := map[string]bool{strings.ToLower(e.Name): true, strings.ToLower(e.Repo): true, normalizeModelName(e.Name): true}
		for k := range keys {
			if j, dup := c.byKey[k]; dup {
				panic(fmt.Sprintf("lod: catalog key %q names both %s and %s", k, c.entries[j].Repo, e.Repo))
			}
			c.byKey[k] = i
		}
	}
	return c
}

// normalizeModelName is the form names are matched in: lower case, without
// the organisation, Meta's "Meta-" prefix, underscores, the Instruct, chat,
// base and -hf variant words and Mistral's trailing version, so that the
// Instruct and base checkpoints of one architecture meet.
func normalizeModelName(s string) string {
	n := strings.ToLower(strings.TrimSpace(s))
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	n = strings.TrimPrefix(n, "meta-")
	n = strings.TrimSuffix(n, "-v0.1")
	n = strings.ReplaceAll(n, "_", "-")
	parts := strings.Split(n, "-")
	out := parts[:0]
	for _, p := range parts {
		switch p {
		case "instruct", "chat", "base", "hf":
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, "-")
}

// lookup finds the catalog entry for a name: an exact name or repo id, then
// the normalized name, ignoring case.
func (c *catalog) lookup(name string) (CatalogEntry, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	if i, ok := c.byKey[n]; ok {
		return c.entries[i], true
	}
	if i, ok := c.byKey[normalizeModelName(n)]; ok {
		return c.entries[i], true
	}
	return CatalogEntry{}, false
}

// LookupModel finds a built-in architecture by name, ignoring case: the
// catalog name ("Llama-3.1-70B", "DeepSeek-R1"), the Hugging Face repo id
// ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-235B-A22B-FP8"), or the
// Instruct or base variant of either. A known model lodsim cannot simulate
// is an error naming the unsupported feature (errors.Is ErrUnsupported).
func LookupModel(name string) (Model, error) {
	e, ok := theCatalog().lookup(name)
	if !ok {
		return Model{}, fmt.Errorf("lod: unknown model %q: expected one of %s (or a full architecture or model.config under model:)", name, strings.Join(ModelNames(), ", "))
	}
	if e.Err != nil {
		return Model{}, fmt.Errorf("lod: model %q (%s): %w", name, e.Repo, e.Err)
	}
	return e.Model, nil
}

// ModelNames lists the built-in architectures lodsim can simulate, sorted
// (aliases left out).
func ModelNames() []string {
	var out []string
	for _, e := range theCatalog().entries {
		if e.Err == nil && e.Alias == "" {
			out = append(out, e.Name)
		}
	}
	return out
}

// Catalog lists every built-in entry, sorted by name, including those
// whose architecture lodsim does not model (Err says why).
func Catalog() []CatalogEntry {
	return append([]CatalogEntry(nil), theCatalog().entries...)
}
