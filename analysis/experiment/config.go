package experiment

import (
	"cmp"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// ScenarioPrefix names an embedded scenario in place of a config path.
const ScenarioPrefix = "scenario:"

// Load reads a config file, or with path "" returns the embedded default
// scenarios; "scenario:NAME" names one embedded scenario. A config without
// a name is named after its file. It checks the YAML only: New reports
// every other problem of the config at once (fields, GPU, profile, trace).
func Load(path string) ([]*replay.Config, error) {
	if path == "" {
		var out []*replay.Config
		for _, name := range replay.DefaultScenarios {
			c, err := replay.Scenario(name)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	if name, ok := strings.CutPrefix(path, ScenarioPrefix); ok {
		c, err := replay.Scenario(name)
		if err != nil {
			return nil, err
		}
		return []*replay.Config{c}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := replay.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if c.Name == "" {
		c.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	c.Dir = filepath.Dir(path)
	if err := c.LoadModelConfig(os.ReadFile); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []*replay.Config{c}, nil
}

// Overrides change a loaded configuration. The zero value changes nothing;
// pointer fields are set only when given.
type Overrides struct {
	// Trace replays this trace (a path, relative to the working directory,
	// or embedded:NAME) instead of the configured workload, read with
	// TraceOptions.
	Trace        string
	TraceOptions trace.Options
	Seed         *uint64
	Variability  *float64
	Topology     string
	LoD          string
	// SLO bounds replace the config's slo section bound by bound.
	SLOTTFT, SLOTPOT, SLOE2E *time.Duration
}

// Apply changes c in place; New validates the result. Trace reading
// options without Trace change the config's trace workload; given for a
// workload that is not a trace they are an error rather than ignored.
func (o Overrides) Apply(c *replay.Config) error {
	if t := o.TraceOptions; o.Trace == "" && (t.Format != "" || t.Columns != "" || t.TimeUnit != "" || t.Sort || t.DropFailed || t.KeepOffset) {
		w := &c.Workload
		if w.Trace == "" {
			return fmt.Errorf("--format, --columns, --time-unit, --sort, --drop-failed and --keep-offset read a trace file, "+
				"but the workload of %s is not one: expected --trace FILE (or workload.trace in the config)", c.Name)
		}
		w.Format, w.Columns, w.TimeUnit = cmp.Or(t.Format, w.Format), cmp.Or(t.Columns, w.Columns), cmp.Or(t.TimeUnit, w.TimeUnit)
		w.Sort, w.DropFailed, w.KeepOffset = w.Sort || t.Sort, w.DropFailed || t.DropFailed, w.KeepOffset || t.KeepOffset
	}
	if p := o.Trace; p != "" {
		if !strings.HasPrefix(p, trace.EmbeddedPrefix) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			p = abs
		}
		t := o.TraceOptions
		c.Workload = replay.WorkloadConfig{Trace: p, Format: t.Format, Columns: t.Columns, TimeUnit: t.TimeUnit,
			Sort: t.Sort, DropFailed: t.DropFailed, KeepOffset: t.KeepOffset}
	}
	if o.Seed != nil {
		c.Simulation.Seed = *o.Seed
	}
	if o.Variability != nil {
		c.Simulation.Variability = *o.Variability
	}
	if o.Topology != "" {
		c.Cluster.Links.Topology = replay.Topology(o.Topology)
	}
	if o.LoD != "" {
		c.Simulation.LoD = replay.LoD(o.LoD)
	}
	for _, b := range []struct {
		v   *time.Duration
		dst *replay.Duration
	}{{o.SLOTTFT, &c.SLO.TTFT}, {o.SLOTPOT, &c.SLO.TPOT}, {o.SLOE2E, &c.SLO.E2E}} {
		if b.v != nil {
			*b.dst = replay.Duration(*b.v)
		}
	}
	return nil
}

// LoadAll is Load followed by Apply on every config.
func LoadAll(path string, o Overrides) ([]*replay.Config, error) {
	cfgs, err := Load(path)
	if err != nil {
		return nil, err
	}
	for _, c := range cfgs {
		if err := o.Apply(c); err != nil {
			return nil, err
		}
	}
	return cfgs, nil
}

// Scenario is one embedded scenario and a line describing it.
type Scenario struct {
	Name, Description string
}

// Scenarios lists the embedded scenarios, by name.
func Scenarios() ([]Scenario, error) {
	var out []Scenario
	for _, name := range replay.ScenarioNames() {
		c, err := replay.Scenario(name)
		if err != nil {
			return nil, err
		}
		out = append(out, Scenario{Name: name, Description: Describe(c)})
	}
	return out, nil
}

// Describe says in one line what c simulates: model, GPU, parallelism,
// engine, workload and level of detail.
func Describe(c *replay.Config) string {
	model := c.Model.Name
	if model == "" {
		model = "custom model"
	}
	if c.Cluster.Disaggregated != nil {
		return fmt.Sprintf("%s on %s (%s), %s, %s, %s LoD", model, c.GPULabel(), c.Layout(), Engine(c), Workload(c), c.Simulation.LoD)
	}
	return fmt.Sprintf("%s on %d x %s TP%d PP%d, %s, %s, %s LoD", model, c.Cluster.Replicas, c.Hardware.GPU,
		c.Cluster.TensorParallel, c.Cluster.PipelineParallel, Engine(c), Workload(c), c.Simulation.LoD)
}

// ParseDuration reads a duration as configs do (replay.Duration): a Go
// duration ("60s", "500ms", "1m30s") or a plain number of seconds, so that
// every flag and config field shares one syntax.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64)/1e9 {
			return 0, fmt.Errorf("%q: expected a finite number of seconds", s)
		}
		return time.Duration(math.Round(f * 1e9)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q: expected a duration such as 60s, 500ms or a number of seconds", s)
	}
	return d, nil
}

// LoadRun loads the one configuration replay runs: the first config at
// path (the last embedded reference scenario when path is ""), with o
// applied (o.LoD, when set, one of replay.LoDs). It returns the experiment and
// every config loaded, for the header.
func LoadRun(path string, o Overrides) (*Experiment, []*replay.Config, error) {
	if path == "" {
		path = ScenarioPrefix + replay.DefaultScenarios[len(replay.DefaultScenarios)-1]
	}
	if o.LoD != "" && !slices.Contains(replay.LoDs, replay.LoD(o.LoD)) {
		return nil, nil, fmt.Errorf("--lod %q: expected high, medium or adaptive", o.LoD)
	}
	cfgs, err := LoadAll(path, o)
	if err != nil {
		return nil, nil, err
	}
	e, err := New(cfgs[0])
	return e, cfgs, err
}

// DefaultRunDir is where a run's outputs go unless told otherwise:
// lodsim-out/NAME-LOD.
func (e *Experiment) DefaultRunDir() string {
	return filepath.Join("lodsim-out", e.Name()+"-"+e.LoD())
}
