package replay

import (
	"embed"
	"fmt"
	"sort"
	"strings"
)

//go:embed scenarios/*.yaml
var scenarioFS embed.FS

// DefaultScenarios are the reference configurations `lodsim compare` runs
// when given no config.
var DefaultScenarios = []string{"reference-tp1", "reference-tp2", "reference-tp4"}

// Scenario returns an embedded configuration by name.
func Scenario(name string) (*Config, error) {
	data, err := scenarioFS.ReadFile("scenarios/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("replay: no embedded scenario %q: expected one of %s", name, strings.Join(ScenarioNames(), ", "))
	}
	c, err := ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	return c, nil
}

// ScenarioNames lists the embedded scenarios, sorted.
func ScenarioNames() []string {
	ents, _ := scenarioFS.ReadDir("scenarios")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// AdaptiveScenarios are the adaptive level of detail's suite
// (BenchmarkAdaptive, `lodsim compare --lods high,medium,adaptive`): the
// embedded scenarios where high and medium LoD differ, or did before
// medium's corrections (variability, a contended bus, skewed expert
// loads, KV transfers sharing their lanes), and the two multi-node
// references (Llama-3.1-405B across two H100 nodes under the Azure
// conversation trace), where medium's hierarchical and pipeline forms
// match high.
var AdaptiveScenarios = []string{"lod-var5-tp4", "lod-var20-tp4", "lod-var5-tp8", "lod-var20-tp8", "lod-shared-bus",
	"lod-moe-skew", "lod-pd-contended", "multinode-405b-tp8pp2", "multinode-405b-tp16"}
