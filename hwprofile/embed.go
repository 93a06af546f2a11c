package hwprofile

import (
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// The shipped profiles, profiles/<gpu key>.<engine>.yaml.gz, calibrated
// from the tables under data/aiconfigurator (see TestEmbeddedProfilesRebuild,
// which rebuilds them and checks they match; run it with -update to rewrite
// them).
//
//go:embed profiles/*.yaml.gz
var embeddedFS embed.FS

// DefaultEngine is the engine whose profile a GPU gets when none is named.
const DefaultEngine = "vllm"

var embedded struct {
	sync.Mutex
	byName map[string]*cost.Profile
}

// embeddedIndex maps each GPU key to its engines, sorted.
func embeddedIndex() map[string][]string {
	ents, _ := embeddedFS.ReadDir("profiles")
	out := map[string][]string{}
	for _, e := range ents {
		base, ok := strings.CutSuffix(e.Name(), ".yaml.gz")
		if !ok {
			continue
		}
		key, engine, ok := strings.Cut(base, ".")
		if ok {
			out[key] = append(out[key], engine)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

// EmbeddedKeys lists the GPU keys with a shipped profile, sorted.
func EmbeddedKeys() []string {
	var out []string
	for k := range embeddedIndex() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EmbeddedEngines lists the engines with a shipped profile of the GPU key,
// sorted (none for a key without one).
func EmbeddedEngines(key string) []string { return embeddedIndex()[key] }

// defaultEngine is DefaultEngine where key has its profile, else the first
// engine it has.
func defaultEngine(key string) (string, bool) {
	es := embeddedIndex()[key]
	for _, e := range es {
		if e == DefaultEngine {
			return e, true
		}
	}
	if len(es) > 0 {
		return es[0], true
	}
	return "", false
}

// EmbeddedProfile returns the shipped calibrated profile of the GPU with the
// given catalog key ("a100_sxm", "h100_sxm", ...) for its default engine
// (DefaultEngine where shipped), or an error naming the keys there are.
// Each call returns its own copy of the profile's top-level fields (the
// tables are shared and read-only), so a caller may change its Overhead.
func EmbeddedProfile(key string) (*cost.Profile, error) { return EmbeddedProfileFor(key, "") }

// EmbeddedProfileFor is EmbeddedProfile for a named serving engine ("vllm",
// "sglang", "trtllm"; "" for the default), whose kernels the profile was
// calibrated from.
func EmbeddedProfileFor(key, engine string) (*cost.Profile, error) {
	def, ok := defaultEngine(key)
	if !ok {
		return nil, fmt.Errorf("hwprofile: no shipped profile for %q: expected one of %s", key, strings.Join(EmbeddedKeys(), ", "))
	}
	name := "embedded:" + key
	if engine == "" {
		engine = def
	} else if engine != def {
		name += "/" + engine
	}
	embedded.Lock()
	defer embedded.Unlock()
	if p, ok := embedded.byName[name]; ok {
		cp := *p
		return &cp, nil
	}
	data, err := embeddedFS.ReadFile("profiles/" + key + "." + engine + ".yaml.gz")
	if err != nil {
		return nil, fmt.Errorf("hwprofile: no shipped %s profile for %q: expected one of the engines %s", engine, key, strings.Join(EmbeddedEngines(key), ", "))
	}
	yml, err := gunzip(data)
	if err != nil {
		panic("hwprofile: shipped profile does not decompress: " + err.Error())
	}
	p, err := cost.LoadProfile(bytes.NewReader(yml), name)
	if err != nil {
		panic("hwprofile: shipped profile does not load: " + err.Error())
	}
	if embedded.byName == nil {
		embedded.byName = map[string]*cost.Profile{}
	}
	embedded.byName[name] = p
	cp := *p
	return &cp, nil
}

// ShippedProfile is the shipped profile of the GPU named gpu (catalog
// name or key: "H100-SXM" or "h100_sxm") calibrated from engine's kernels
// ("vllm", "sglang", "trtllm", any case or spelling engineOf reads; ""
// for the GPU's default engine). An unknown engine's error lists the
// engines there are; a GPU without a profile for the engine gets an error
// naming both, and the engines shipped for it or the GPUs shipped for the
// engine.
func ShippedProfile(gpu, engine string) (*cost.Profile, error) {
	g, err := cost.LookupGPU(gpu)
	if err != nil {
		return nil, err
	}
	if engine == "" {
		return EmbeddedProfile(g.Key)
	}
	e, err := shippedEngine(embeddedIndex(), g, engine)
	if err != nil {
		return nil, err
	}
	return EmbeddedProfileFor(g.Key, e)
}

// shippedEngine is engine's canonical name where idx (GPU key -> engines)
// has g's profile for it, else an error naming the engines lodsim knows
// or g and the engine.
func shippedEngine(idx map[string][]string, g cost.GPU, engine string) (string, error) {
	e := engineOf(engine)
	if e == "" {
		return "", fmt.Errorf("hwprofile: unknown engine %q: expected one of %s", engine, strings.Join(Engines, ", "))
	}
	if slices.Contains(idx[g.Key], e) {
		return e, nil
	}
	if es := idx[g.Key]; len(es) > 0 {
		return "", fmt.Errorf("hwprofile: no shipped %s profile for %s (%s): shipped engines for it: %s", e, g.Name, g.Key, strings.Join(es, ", "))
	}
	var keys []string
	for k, es := range idx {
		if slices.Contains(es, e) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return "", fmt.Errorf("hwprofile: no shipped %s profile for %s (%s): GPUs with one: %s", e, g.Name, g.Key, strings.Join(keys, ", "))
}

func gunzip(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// DefaultCostModel is the cost model lodsim uses for g when the user gives
// no profile: the shipped calibrated profile of g's key for its default
// engine when there is one, else the roofline of g's datasheet figures.
func DefaultCostModel(g cost.GPU) cost.CostModel {
	p, err := EmbeddedProfile(g.Key)
	if err != nil {
		return cost.NewRoofline(g)
	}
	return p
}

// EngineCostModel is DefaultCostModel for a named engine: the shipped
// profile of g and engine, else an error naming the engines shipped for g
// (the roofline is not a silent substitute for a named engine's kernels).
func EngineCostModel(g cost.GPU, engine string) (cost.CostModel, error) {
	if engine == "" {
		return DefaultCostModel(g), nil
	}
	return EmbeddedProfileFor(g.Key, engine)
}
