package experiment

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
)

// sweepSetters change one configuration parameter per sweep key.
var sweepSetters = map[string]func(c *replay.Config, v string) error{
	"tp":                     intSetter(func(c *replay.Config) *int { return &c.Cluster.TensorParallel }),
	"pp":                     intSetter(func(c *replay.Config) *int { return &c.Cluster.PipelineParallel }),
	"replicas":               intSetter(func(c *replay.Config) *int { return &c.Cluster.Replicas }),
	"max_num_seqs":           intSetter(func(c *replay.Config) *int { return &c.Scheduler.MaxNumSeqs }),
	"max_num_batched_tokens": intSetter(func(c *replay.Config) *int { return &c.Scheduler.MaxNumBatchedTokens }),
	"gpu": func(c *replay.Config, v string) error {
		g, err := cost.LookupGPU(v)
		if err != nil {
			return err
		}
		// The name keeps its GPU (sweep values become names), and a
		// profile file belongs to the GPU it was calibrated on.
		c.Hardware.GPU, c.Hardware.Profile = g.Name, ""
		return nil
	},
	"rate": func(c *replay.Config, v string) error {
		if c.Workload.Synthetic == nil {
			return fmt.Errorf("config %s has no synthetic workload to set the rate of", c.Name)
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) {
			return fmt.Errorf("value %q: expected a positive number of requests per second", v)
		}
		c.Workload.Synthetic.Rate = r
		return nil
	},
}

func intSetter(field func(c *replay.Config) *int) func(c *replay.Config, v string) error {
	return func(c *replay.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("value %q: expected a positive integer", v)
		}
		*field(c) = n
		return nil
	}
}

// SweepKeys lists the parameters a sweep can vary.
func SweepKeys() []string {
	return []string{"tp", "pp", "replicas", "max_num_seqs", "max_num_batched_tokens", "rate", "gpu"}
}

// Sweep is one parameter and the values it takes.
type Sweep struct {
	Key    string
	Values []string
}

// ParseSweep reads "tp=1,2,4" (the --sweep flag's syntax).
func ParseSweep(s string) (Sweep, error) {
	key, list, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.TrimSpace(list) == "" {
		return Sweep{}, fmt.Errorf("--sweep %q: expected KEY=V1,V2,... with KEY one of %s", s, strings.Join(SweepKeys(), ", "))
	}
	if _, ok := sweepSetters[key]; !ok {
		return Sweep{}, fmt.Errorf("--sweep %q: unknown key %q, expected one of %s", s, key, strings.Join(SweepKeys(), ", "))
	}
	sw := Sweep{Key: key}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return Sweep{}, fmt.Errorf("--sweep %q: empty value in the list", s)
		}
		sw.Values = append(sw.Values, v)
	}
	return sw, nil
}

// Expand returns one config per base config and value, named BASE-KEYVALUE
// with any KEYn suffix the base name already had removed (so the reference
// scenario "tp1" swept over tp=2 becomes "tp2"). Every expanded config is
// validated; all problems are reported at once.
func (s Sweep) Expand(cfgs []*replay.Config) ([]*replay.Config, error) {
	suffix := regexp.MustCompile(`(^|[-_])` + regexp.QuoteMeta(s.Key) + `[0-9.]+$`)
	var out []*replay.Config
	var errs []string
	for _, base := range cfgs {
		stem := suffix.ReplaceAllString(base.Name, "")
		for _, v := range s.Values {
			c := base.Clone()
			if err := sweepSetters[s.Key](c, v); err != nil {
				return nil, fmt.Errorf("--sweep %s: %w", s.Key, err)
			}
			c.Name = s.Key + v
			if stem != "" {
				c.Name = stem + "-" + c.Name
			}
			if err := c.Validate(); err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", c.Name, err))
			}
			out = append(out, c)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("--sweep %s:\n%s", s.Key, strings.Join(errs, "\n"))
	}
	return out, nil
}

// ParseLoDs reads a list of distinct levels of detail, the reference first
// (the --lods flag's syntax).
func ParseLoDs(s string) ([]string, error) {
	var lods []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, ",") {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			return nil, fmt.Errorf("--lods %q: expected distinct levels of detail, e.g. high,medium", s)
		}
		if !slices.Contains(replay.LoDs, replay.LoD(l)) {
			names := make([]string, len(replay.LoDs))
			for i, x := range replay.LoDs {
				names[i] = string(x)
			}
			return nil, fmt.Errorf("--lods %q: unknown level of detail %q, expected one of %s", s, l, strings.Join(names, ", "))
		}
		seen[l] = true
		lods = append(lods, l)
	}
	if len(lods) < 2 {
		return nil, fmt.Errorf("--lods %q: need a reference and at least one other level of detail", s)
	}
	return lods, nil
}

// LoadCompare loads the configs a comparison runs: those at path (with
// path "", the embedded reference scenarios, or with a sweep the first of
// them), expanded over sweep (the --sweep syntax) when it is not "".
func LoadCompare(path, sweep string, o Overrides) ([]*replay.Config, error) {
	if sweep == "" {
		return LoadAll(path, o)
	}
	sw, err := ParseSweep(sweep)
	if err != nil {
		return nil, err
	}
	if path == "" {
		path = ScenarioPrefix + replay.DefaultScenarios[0]
	}
	cfgs, err := LoadAll(path, o)
	if err != nil {
		return nil, err
	}
	return sw.Expand(cfgs)
}
