package sweep

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/replay"
)

// Axis is one swept key and the values it takes, in order.
type Axis struct {
	Key    string   `yaml:"key"`
	Values []string `yaml:"values"`
}

// Assignment sets one key to one value.
type Assignment struct {
	Key   string `yaml:"key"`
	Value string `yaml:"value"`
}

// DefaultAttainment is the fraction of requests that must meet every SLO
// bound for a point to count as meeting the SLO.
const DefaultAttainment = 0.99

// Spec is a whole sweep: the base configuration, what varies, and how rows
// are judged and priced.
type Spec struct {
	// Base is the base configuration as YAML and Dir the directory its
	// relative paths resolve against.
	Base []byte
	Dir  string
	// LoD is the level of detail every point runs at (default medium);
	// sweeping the lod key overrides it per point.
	LoD string
	// Set are overrides applied to every point before its own.
	Set []Assignment
	// Grid is the Cartesian product of its axes, the first key varying
	// slowest; Points are explicit points run after the grid.
	Grid   []Axis
	Points [][]Assignment
	// Attainment is the fraction of requests that must meet every SLO
	// bound (slo.ttft, slo.tpot, slo.e2e of each point's configuration).
	Attainment float64
	// Prices are USD per GPU-hour by catalog GPU name, over the defaults.
	Prices Prices
}

// specFile is the YAML form of a spec: a `sweep:` section, beside either
// the base configuration's own fields or a `base:` naming one.
type specFile struct {
	Base       string            `yaml:"base,omitempty"` // config file (relative to the spec) or scenario:NAME
	Dir        string            `yaml:"dir,omitempty"`  // where the inline base's relative paths resolve
	LoD        string            `yaml:"lod,omitempty"`
	Set        yaml.Node         `yaml:"set,omitempty"`
	Grid       yaml.Node         `yaml:"grid,omitempty"`
	Points     []yaml.Node       `yaml:"points,omitempty"`
	Attainment float64           `yaml:"attainment,omitempty"`
	Prices     map[string]string `yaml:"prices,omitempty"`
}

// ParseSpec reads a spec file: a YAML document with a `sweep:` section.
// The rest of the document is the base configuration, or, when there is no
// rest, `sweep.base` names it (a config file relative to the spec, or
// scenario:NAME); with neither, base is the fallback base configuration
// (nil: none).
func ParseSpec(data []byte, name string, fallback func() ([]byte, string, error)) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	root, err := document(&doc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sec := lookup(root, "sweep")
	if sec == nil {
		return nil, fmt.Errorf("%s: no sweep: section, expected one (see docs/sweep/README.md)", name)
	}
	var f specFile
	dec, err := yaml.Marshal(sec)
	if err != nil {
		return nil, fmt.Errorf("%s: sweep: %w", name, err)
	}
	d := yaml.NewDecoder(bytes.NewReader(dec))
	d.KnownFields(true)
	if err := d.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: sweep (section at line %d): %w", name, sec.Line, err)
	}
	remove(root, "sweep")
	s := &Spec{LoD: f.LoD, Attainment: f.Attainment, Dir: filepath.Dir(name)}
	if f.Dir != "" {
		s.Dir = f.Dir
		if !filepath.IsAbs(f.Dir) {
			s.Dir = filepath.Join(filepath.Dir(name), f.Dir)
		}
	}
	switch {
	case len(root.Content) > 0 && f.Base != "":
		return nil, fmt.Errorf("%s: sweep.base %q and an inline base configuration: expected one", name, f.Base)
	case len(root.Content) > 0:
		if s.Base, err = yaml.Marshal(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	case f.Base != "":
		p := f.Base
		if !filepath.IsAbs(p) && !strings.HasPrefix(p, "scenario:") {
			p = filepath.Join(filepath.Dir(name), p)
		}
		s.Base, s.Dir, err = LoadBase(p)
	case fallback != nil:
		s.Base, s.Dir, err = fallback()
	default:
		err = fmt.Errorf("no base configuration: expected sweep.base, an inline configuration, or -c")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if s.Set, err = assignments(&f.Set, name+": sweep.set"); err != nil {
		return nil, err
	}
	if s.Grid, err = axes(&f.Grid, name+": sweep.grid"); err != nil {
		return nil, err
	}
	for i := range f.Points {
		p, err := assignments(&f.Points[i], fmt.Sprintf("%s: sweep.points[%d]", name, i))
		if err != nil {
			return nil, err
		}
		s.Points = append(s.Points, p)
	}
	if len(f.Prices) > 0 {
		s.Prices = Prices{}
		for gpu, v := range f.Prices {
			p, err := strconv.ParseFloat(v, 64)
			if err != nil || !(p >= 0) || math.IsInf(p, 0) {
				return nil, fmt.Errorf("%s: sweep.prices.%s: %q, expected USD per GPU-hour >= 0", name, gpu, v)
			}
			s.Prices[gpu] = p
		}
	}
	return s, nil
}

// LoadBase reads a base configuration: a YAML file, or scenario:NAME for
// an embedded one. dir is where its relative paths resolve.
func LoadBase(path string) (base []byte, dir string, err error) {
	if name, ok := strings.CutPrefix(path, "scenario:"); ok {
		return ScenarioBase(name)
	}
	base, err = os.ReadFile(path)
	return base, filepath.Dir(path), err
}

// ScenarioBase returns an embedded scenario as a base configuration.
func ScenarioBase(name string) ([]byte, string, error) {
	c, err := replay.Scenario(name)
	if err != nil {
		return nil, "", err
	}
	b, err := c.Marshal()
	return b, "", err
}

// assignments decodes a mapping of key: value in document order.
func assignments(n *yaml.Node, where string) ([]Assignment, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s (line %d): expected a mapping of key: value", where, n.Line)
	}
	var out []Assignment
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("%s.%s (line %d): expected one value", where, k.Value, v.Line)
		}
		out = append(out, Assignment{k.Value, v.Value})
	}
	return out, nil
}

// axes decodes a mapping of key: [values] (or key: value) in document order.
func axes(n *yaml.Node, where string) ([]Axis, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s (line %d): expected a mapping of key: [values]", where, n.Line)
	}
	var out []Axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		a := Axis{Key: k.Value}
		switch v.Kind {
		case yaml.ScalarNode:
			a.Values = []string{v.Value}
		case yaml.SequenceNode:
			for _, e := range v.Content {
				if e.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("%s.%s (line %d): expected scalar values", where, k.Value, e.Line)
				}
				a.Values = append(a.Values, e.Value)
			}
		default:
			return nil, fmt.Errorf("%s.%s (line %d): expected a list of values", where, k.Value, v.Line)
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseAxis parses a command-line axis, KEY=V1,V2,...
func ParseAxis(s string) (Axis, error) {
	key, list, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.TrimSpace(list) == "" {
		return Axis{}, fmt.Errorf("%q: expected KEY=V1,V2,... with KEY a dotted config path or one of %s", s, strings.Join(KeyNames(), ", "))
	}
	a := Axis{Key: key}
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			return Axis{}, fmt.Errorf("%q: empty value", s)
		}
		a.Values = append(a.Values, v)
	}
	return a, nil
}

// ParseAssignments parses KEY=V,KEY=V (one explicit point, or fixed
// overrides).
func ParseAssignments(s string) ([]Assignment, error) {
	var out []Assignment
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: expected KEY=VALUE,KEY=VALUE,...", s)
		}
		out = append(out, Assignment{k, v})
	}
	return out, nil
}

// AddAxis adds a to the grid, replacing an axis of the same key.
func (s *Spec) AddAxis(a Axis) {
	for i := range s.Grid {
		if s.Grid[i].Key == a.Key {
			s.Grid[i] = a
			return
		}
	}
	s.Grid = append(s.Grid, a)
}

// Marshal writes s as a self-contained spec file: the `sweep:` section
// beside the base configuration, with Dir made absolute so the file can be
// read from anywhere (emitted cluster jobs read it).
func (s *Spec) Marshal() ([]byte, error) {
	doc, root, err := s.baseTree()
	if err != nil {
		return nil, err
	}
	sec := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(m *yaml.Node, k string, v *yaml.Node) {
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} } // plain where that round-trips, else quoted
	if s.Dir != "" {
		dir, err := filepath.Abs(s.Dir)
		if err != nil {
			return nil, err
		}
		add(sec, "dir", str(dir))
	}
	if s.LoD != "" {
		add(sec, "lod", str(s.LoD))
	}
	if s.Attainment != 0 {
		add(sec, "attainment", str(strconv.FormatFloat(s.Attainment, 'g', -1, 64)))
	}
	kvs := func(as []Assignment) *yaml.Node {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		for _, a := range as {
			add(m, a.Key, str(a.Value))
		}
		return m
	}
	if len(s.Set) > 0 {
		add(sec, "set", kvs(s.Set))
	}
	if len(s.Grid) > 0 {
		g := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, a := range s.Grid {
			seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
			for _, v := range a.Values {
				seq.Content = append(seq.Content, str(v))
			}
			add(g, a.Key, seq)
		}
		add(sec, "grid", g)
	}
	if len(s.Points) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, p := range s.Points {
			seq.Content = append(seq.Content, kvs(p))
		}
		add(sec, "points", seq)
	}
	if len(s.Prices) > 0 {
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, g := range sortedKeys(s.Prices) {
			add(m, g, str(strconv.FormatFloat(s.Prices[g], 'g', -1, 64)))
		}
		add(sec, "prices", m)
	}
	root.Content = append([]*yaml.Node{{Kind: yaml.ScalarNode, Value: "sweep"}, sec}, root.Content...)
	return yaml.Marshal(doc)
}

// baseTree parses the base configuration into a YAML document and its
// top-level mapping.
func (s *Spec) baseTree() (doc, root *yaml.Node, err error) {
	doc = &yaml.Node{}
	if err := yaml.Unmarshal(s.Base, doc); err != nil {
		return nil, nil, fmt.Errorf("base configuration: %w", err)
	}
	if root, err = document(doc); err != nil {
		return nil, nil, fmt.Errorf("base configuration: %w", err)
	}
	return doc, root, nil
}
