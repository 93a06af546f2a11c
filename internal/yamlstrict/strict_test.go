package yamlstrict

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type inner struct {
	N  int     `yaml:"n"`
	F  float64 `yaml:"f"`
	Xs []int   `yaml:"xs"`
}

type outer struct {
	A  int     `yaml:"a"`
	In *inner  `yaml:"in"`
	L  []inner `yaml:"l"`
}

func walk(t *testing.T, doc string) (*Scan, *outer) {
	t.Helper()
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	var o outer
	_ = root.Decode(&o)
	return Walk(&root, reflect.TypeOf(outer{})), &o
}

// TestWalk: fractions in integer fields and non-finite floats are named by
// path, wherever they sit; whole floats and unknown keys pass.
func TestWalk(t *testing.T) {
	s, _ := walk(t, "a: 2.9\nin: {n: 1e3, f: .nan, xs: [1, 2.5]}\nl: [{n: 0.5}, {f: -.inf}]\nunknown: 1.5\n")
	got := strings.Join(s.Problems, "\n")
	for _, want := range []string{"a: 2.9, expected a whole number", "in.f: .nan, expected a finite number",
		"in.xs[1]: 2.5, expected a whole number", "l[0].n: 0.5, expected a whole number", "l[1].f: -.inf, expected a finite number"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if len(s.Problems) != 5 {
		t.Errorf("%d problems, want 5:\n%s", len(s.Problems), got)
	}
}

// TestZeros: explicit zeros are found by path after decoding; a path that
// no longer exists is skipped.
func TestZeros(t *testing.T) {
	s, o := walk(t, "a: 0\nin: {n: 0, f: 1}\nl: [{n: 0}]\n")
	var paths []string
	for _, l := range s.Zeros(o) {
		paths = append(paths, l.Path)
	}
	if got := strings.Join(paths, ","); got != "a,in.n,l[0].n" {
		t.Errorf("zeros %s, want a,in.n,l[0].n", got)
	}
	o.In, o.L = nil, nil
	if z := s.Zeros(o); len(z) != 1 {
		t.Errorf("after clearing: %d zeros, want only a", len(z))
	}
}

// TestWalkBounded: a self-referencing alias does not recurse without end.
func TestWalkBounded(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte("l: []\n"), &root); err != nil {
		t.Fatal(err)
	}
	// Make the mapping its own list element twice over, {l: [*m, *m]}: the
	// walk must stop at its bounds instead of recursing for ever.
	m := root.Content[0]
	seq := m.Content[1]
	seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.AliasNode, Alias: m}, &yaml.Node{Kind: yaml.AliasNode, Alias: m})
	type rec struct {
		L []rec `yaml:"l"`
	}
	s := Walk(&root, reflect.TypeOf(rec{}))
	if s.visited == 0 || s.visited > 2*maxNodes {
		t.Fatalf("visited %d nodes, want the walk cut off near %d", s.visited, maxNodes)
	}
}
