package replay

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The YAML decoder is lenient in two ways a simulator must not be: it
// truncates a number with a fraction into an integer field (replicas: 2.9
// runs 2 replicas), and a field given as 0 is indistinguishable from a
// field left out, so ApplyDefaults silently replaces an explicit 0 with
// the default. strictScan walks the YAML tree beside the Go type it
// decodes into, so both checks cover every field, including sections added
// later, without a list of fields to keep in step.

// leaf is one scalar the YAML sets: its field path for messages and the
// way to reach its Go value.
type leaf struct {
	path string
	idx  []step
}

// step is one move from a value to a part of it: a struct field, or an
// element of a slice.
type step struct {
	field int // struct field index, or -1
	elem  int // slice index when field is -1
}

// strictScan holds what the walk found: problems it can judge from the
// text alone, and every scalar the YAML sets.
type strictScan struct {
	problems problems
	leaves   []leaf
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// scanConfigTree walks root (a document or mapping node) as a Config.
func scanConfigTree(root *yaml.Node) *strictScan {
	s := &strictScan{}
	if root == nil {
		return s
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return s
		}
		root = root.Content[0]
	}
	s.walk(root, reflect.TypeOf(Config{}), "", nil)
	return s
}

func (s *strictScan) walk(n *yaml.Node, t reflect.Type, path string, idx []step) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!null" {
			return
		}
		s.leaves = append(s.leaves, leaf{path: path, idx: append([]step(nil), idx...)})
		if !reflect.PointerTo(t).Implements(unmarshalerType) {
			s.scalar(n, t, path)
		}
		return
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return // the type reads its own node
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		for i := 0; i+1 < len(n.Content); i += 2 {
			key := n.Content[i].Value
			f, ok := yamlField(t, key)
			if !ok {
				continue // unknown: the decoder reports it
			}
			s.walk(n.Content[i+1], t.Field(f).Type, join(path, key), append(idx, step{field: f}))
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, e := range n.Content {
			s.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), append(idx, step{field: -1, elem: i}))
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlField finds the field of struct type t that YAML key names.
func yamlField(t reflect.Type, key string) (int, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if name == key {
			return i, true
		}
	}
	return 0, false
}

// scalar checks a number given for a numeric field: a whole number for an
// integer field, a finite number for a float field.
func (s *strictScan) scalar(n *yaml.Node, t reflect.Type, path string) {
	tag := n.ShortTag()
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != "!!float" {
			return // !!int fits or the decoder reports it; other tags are the decoder's
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		switch {
		case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
			s.problems.add("%s: %s, expected a whole number", path, n.Value)
		case v != math.Trunc(v):
			s.problems.add("%s: %s, expected a whole number (fractions are not rounded)", path, n.Value)
		case math.Abs(v) >= 1<<62:
			s.problems.add("%s: %s, expected a whole number below 2^62", path, n.Value)
		}
	case reflect.Float32, reflect.Float64:
		if tag != "!!float" {
			return
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) || err != nil && isNonFinite(n.Value) {
			s.problems.add("%s: %s, expected a finite number", path, n.Value)
		}
	}
}

func isNonFinite(v string) bool {
	switch strings.ToLower(strings.TrimLeft(v, "+-")) {
	case ".nan", ".inf":
		return true
	}
	return false
}

// value reaches the Go value of l in c, or false when the path no longer
// exists (a nil pointer or a shorter slice).
func (l leaf) value(c *Config) (reflect.Value, bool) {
	v := reflect.ValueOf(c).Elem()
	for _, st := range l.idx {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if st.field >= 0 {
			v = v.Field(st.field)
			continue
		}
		if v.Kind() != reflect.Slice || st.elem >= v.Len() {
			return reflect.Value{}, false
		}
		v = v.Index(st.elem)
	}
	return v, true
}

// isNumber reports whether v is a number (integer, float or Duration).
func isNumber(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// explicitZeros lists the numeric leaves c holds as 0 right after
// decoding, before defaults.
func (s *strictScan) explicitZeros(c *Config) []leaf {
	var out []leaf
	for _, l := range s.leaves {
		if v, ok := l.value(c); ok && isNumber(v) && v.IsZero() {
			out = append(out, l)
		}
	}
	return out
}

// replacedZeros reports each explicit 0 that the defaults replaced: 0 is
// not a valid value of such a field (an unset field takes the default),
// and running with the default instead of what was written would be a
// silently different simulation.
func replacedZeros(zeros []leaf, c *Config, p *problems) {
	for _, l := range zeros {
		v, ok := l.value(c)
		if !ok || v.IsZero() {
			continue
		}
		p.add("%s: 0, expected a positive value (0 is not a setting here: leave the field out for the default, %s)", l.path, showValue(v))
	}
}

func showValue(v reflect.Value) string {
	if d, ok := v.Interface().(Duration); ok {
		return time.Duration(d).String()
	}
	return fmt.Sprint(v.Interface())
}

// DecodeConfigNode decodes a configuration tree (as sweeps build them)
// with the checks of ParseConfig that the YAML alone allows: whole
// numbers in integer fields, finite floats, and no explicit 0 replaced by
// a default. Unknown fields are not checked (ParseConfig does).
func DecodeConfigNode(root *yaml.Node) (*Config, error) {
	s := scanConfigTree(root)
	c := &Config{}
	if err := root.Decode(c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s.finish(c)
	return c, nil
}

// finish applies the defaults to the freshly decoded c and keeps the
// problems found on the way for Validate.
func (s *strictScan) finish(c *Config) {
	zeros := s.explicitZeros(c)
	c.ApplyDefaults()
	p := s.problems
	replacedZeros(zeros, c, &p)
	c.inputProblems = p
}
