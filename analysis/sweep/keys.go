package sweep

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Aliases maps the short sweep keys to the configuration paths they set.
// Any other key is taken as a dotted path into the configuration's YAML
// (scheduler.max_num_seqs, cluster.links.topology), so fields added to the
// configuration later are sweepable as they are.
var Aliases = map[string]string{
	"gpu":                    "hardware.gpu",
	"model":                  "model.name",
	"tp":                     "cluster.tensor_parallel",
	"pp":                     "cluster.pipeline_parallel",
	"replicas":               "cluster.replicas",
	"max_num_seqs":           "scheduler.max_num_seqs",
	"max_num_batched_tokens": "scheduler.max_num_batched_tokens",
	"batching":               "scheduler.batching",
	"router":                 "router.policy",
	"lod":                    "simulation.lod",
	"seed":                   "simulation.seed",
	"rate":                   "workload.synthetic.rate",
}

// RateScaleKey is the one key that is not a configuration path: it
// multiplies the workload's arrival rate (a trace's arrival times are
// divided by it; a synthetic generator's rate is multiplied by it).
const RateScaleKey = "rate_scale"

// KeyNames lists the short keys and RateScaleKey, sorted, for messages.
func KeyNames() []string {
	out := []string{RateScaleKey}
	for k := range Aliases {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// configPath is the dotted configuration path key sets.
func configPath(key string) string {
	if p, ok := Aliases[key]; ok {
		return p
	}
	return key
}

// checkKey reports a key that can name nothing.
func checkKey(key string) error {
	if key == "" {
		return fmt.Errorf("empty key")
	}
	for _, part := range strings.Split(key, ".") {
		if part == "" {
			return fmt.Errorf("key %q: empty path element", key)
		}
	}
	return nil
}

// document returns the mapping at the root of a parsed YAML document,
// creating an empty one for an empty document.
func document(doc *yaml.Node) (*yaml.Node, error) {
	if doc.Kind == 0 {
		doc.Kind = yaml.DocumentNode
	}
	if doc.Kind != yaml.DocumentNode {
		return nil, fmt.Errorf("expected a YAML document")
	}
	if len(doc.Content) == 0 {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping at the top level", root.Line)
	}
	return root, nil
}

// lookup returns the value node under key in mapping m, or nil.
func lookup(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// remove deletes key from mapping m.
func remove(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = slices.Delete(m.Content, i, i+2)
			return
		}
	}
}

// setPath sets the scalar at a dotted path under mapping root, creating
// mappings on the way. The scalar carries no tag, so it is typed by the
// field it lands in when the tree is decoded.
func setPath(root *yaml.Node, path, value string) error {
	parts := strings.Split(path, ".")
	m := root
	for i, p := range parts {
		if m.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a section (line %d)", strings.Join(parts[:i], "."), m.Line)
		}
		v := lookup(m, p)
		if i == len(parts)-1 {
			leaf := &yaml.Node{Kind: yaml.ScalarNode, Value: value}
			if v == nil {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, leaf)
			} else {
				*v = *leaf
			}
			break
		}
		if v == nil {
			v = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, v)
		}
		m = v
	}
	// A calibrated profile file belongs to the GPU it was measured on, so
	// a GPU set by a sweep drops the profile beside it (hardware.profile,
	// a pool's profile; the roofline choice stays). m is the leaf's mapping.
	switch path {
	case "hardware.gpu":
		dropProfile(m)
		// A pool without a GPU of its own runs on hardware.gpu, so its
		// profile file was calibrated on the old one too.
		for _, kind := range []string{"prefill", "decode"} {
			if q := mappingAt(root, "cluster", "disaggregated", kind); q != nil && lookup(q, "gpu") == nil {
				dropProfile(q)
			}
		}
	case "cluster.disaggregated.prefill.gpu", "cluster.disaggregated.decode.gpu":
		dropProfile(m)
	}
	return nil
}

// dropProfile removes mapping m's profile unless it is roofline.
func dropProfile(m *yaml.Node) {
	if p := lookup(m, "profile"); p != nil && p.Value != "roofline" {
		remove(m, "profile")
	}
}

// mappingAt returns the mapping at path under root, or nil.
func mappingAt(root *yaml.Node, path ...string) *yaml.Node {
	m := root
	for _, p := range path {
		if m == nil || m.Kind != yaml.MappingNode {
			return nil
		}
		m = lookup(m, p)
	}
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	return m
}

// scalarAt returns the scalar at a dotted path under root.
func scalarAt(root *yaml.Node, path string) (string, bool) {
	m := root
	for _, p := range strings.Split(path, ".") {
		if m == nil || m.Kind != yaml.MappingNode {
			return "", false
		}
		m = lookup(m, p)
	}
	if m == nil || m.Kind != yaml.ScalarNode {
		return "", false
	}
	return m.Value, true
}

// clone deep-copies a YAML node tree.
func clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, k := range n.Content {
			c.Content[i] = clone(k)
		}
	}
	c.Alias = clone(n.Alias)
	return &c
}
