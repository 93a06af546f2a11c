// Package yamlstrict checks a YAML tree against the Go type it decodes
// into, for what the decoder lets through: a number with a fraction in an
// integer field (yaml.v3 truncates replicas: 2.9 to 2), a non-finite
// number in a float field, and, by listing every scalar the YAML sets, an
// explicit 0 that a later default would replace. It walks the type with
// reflection, so every field is covered, including sections added later,
// without a list of fields to keep in step.
package yamlstrict

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Leaf is one scalar the YAML sets: its field path for messages and the
// way to reach its Go value.
type Leaf struct {
	Path string
	idx  []step
}

// step is one move from a value to a part of it: a struct field, or an
// element of a slice.
type step struct {
	field int // struct field index, or -1
	elem  int // slice index when field is -1
}

// Scan is what Walk found: problems judged from the text alone, each with
// its field path, and every scalar the YAML sets.
type Scan struct {
	Problems []string
	Leaves   []Leaf
	visited  int
}

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// Walk scans root (a document or any node) as a value of type t.
func Walk(root *yaml.Node, t reflect.Type) *Scan {
	s := &Scan{}
	if root == nil {
		return s
	}
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return s
		}
		root = root.Content[0]
	}
	s.walk(root, t, "", nil, 0)
	return s
}

// maxDepth and maxNodes bound the walk: aliases can nest, and expanding
// them (a "billion laughs" document) grows exponentially; the decoder
// refuses such a document itself ("excessive aliasing").
const (
	maxDepth = 64
	maxNodes = 1 << 20
)

func (s *Scan) walk(n *yaml.Node, t reflect.Type, path string, idx []step, depth int) {
	s.visited++
	if depth > maxDepth || s.visited > maxNodes {
		return
	}
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
		s.Leaves = append(s.Leaves, Leaf{Path: path, idx: append([]step(nil), idx...)})
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
			f, ok := field(t, key)
			if !ok {
				continue // unknown: the decoder reports it
			}
			s.walk(n.Content[i+1], t.Field(f).Type, join(path, key), append(idx, step{field: f}), depth+1)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, e := range n.Content {
			s.walk(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), append(idx, step{field: -1, elem: i}), depth+1)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// field finds the field of struct type t that YAML key names.
func field(t reflect.Type, key string) (int, bool) {
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
func (s *Scan) scalar(n *yaml.Node, t reflect.Type, path string) {
	if n.ShortTag() != "!!float" {
		return // !!int fits or the decoder reports it; other tags are the decoder's
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
	finite := err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch {
		case !finite:
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %s, expected a whole number", path, n.Value))
		case v != math.Trunc(v):
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %s, expected a whole number (fractions are not rounded)", path, n.Value))
		case math.Abs(v) >= 1<<62:
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %s, expected a whole number below 2^62", path, n.Value))
		}
	case reflect.Float32, reflect.Float64:
		if !finite {
			s.Problems = append(s.Problems, fmt.Sprintf("%s: %s, expected a finite number", path, n.Value))
		}
	}
}

// Value reaches the Go value of l in root (a pointer to the decoded
// value), or false when the path no longer exists (a nil pointer or a
// shorter slice).
func (l Leaf) Value(root any) (reflect.Value, bool) {
	v := reflect.ValueOf(root).Elem()
	for _, st := range l.idx {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if st.field >= 0 {
			if v.Kind() != reflect.Struct || st.field >= v.NumField() {
				return reflect.Value{}, false
			}
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

// IsNumber reports whether v is a number (an integer or float kind,
// including named types such as durations).
func IsNumber(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// Zeros lists the numeric leaves of s that root holds as 0 (call it right
// after decoding, before defaults).
func (s *Scan) Zeros(root any) []Leaf {
	var out []Leaf
	for _, l := range s.Leaves {
		if v, ok := l.Value(root); ok && IsNumber(v) && v.IsZero() {
			out = append(out, l)
		}
	}
	return out
}
