package hwprofile

import (
	"bytes"
	"embed"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// The shipped profiles, calibrated from the aiconfigurator tables under
// data/aiconfigurator (see TestEmbeddedProfilesRebuild, which rebuilds them
// and checks they match; run it with -update to rewrite them).
//
//go:embed profiles/*.yaml
var embeddedFS embed.FS

var embedded struct {
	sync.Mutex
	byKey map[string]*cost.Profile
}

// EmbeddedKeys lists the GPU keys with a shipped profile, sorted.
func EmbeddedKeys() []string {
	ents, _ := embeddedFS.ReadDir("profiles")
	var out []string
	for _, e := range ents {
		if k, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// EmbeddedProfile returns the shipped calibrated profile of the GPU with the
// given catalog key ("a100_sxm", "h100_sxm", "h200_sxm"), or an error naming
// the keys there are. Each call returns its own copy of the profile's
// top-level fields (the tables are shared and read-only), so a caller may
// change its Overhead.
func EmbeddedProfile(key string) (*cost.Profile, error) {
	embedded.Lock()
	defer embedded.Unlock()
	if p, ok := embedded.byKey[key]; ok {
		cp := *p
		return &cp, nil
	}
	data, err := embeddedFS.ReadFile("profiles/" + key + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("hwprofile: no shipped profile for %q: expected one of %s", key, strings.Join(EmbeddedKeys(), ", "))
	}
	p, err := cost.LoadProfile(bytes.NewReader(data), "embedded:"+key)
	if err != nil {
		panic("hwprofile: shipped profile does not load: " + err.Error())
	}
	if embedded.byKey == nil {
		embedded.byKey = map[string]*cost.Profile{}
	}
	embedded.byKey[key] = p
	cp := *p
	return &cp, nil
}

// DefaultCostModel is the cost model lodsim uses for g when the user gives
// no profile: the shipped calibrated profile of g's key when there is one,
// else the roofline of g's datasheet figures.
func DefaultCostModel(g cost.GPU) cost.CostModel {
	if _, err := embeddedFS.Open("profiles/" + g.Key + ".yaml"); err != nil {
		return cost.NewRoofline(g)
	}
	p, err := EmbeddedProfile(g.Key)
	if err != nil {
		return cost.NewRoofline(g)
	}
	return p
}
