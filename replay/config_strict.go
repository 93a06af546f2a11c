package replay

import (
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/internal/yamlstrict"
)

// The YAML decoder is lenient in two ways a simulator must not be: it
// truncates a number with a fraction into an integer field (replicas: 2.9
// runs 2 replicas), and a field given as 0 is indistinguishable from a
// field left out, so ApplyDefaults silently replaces an explicit 0 with
// the default. yamlstrict walks the YAML tree beside the Config type, so
// both checks cover every field, including sections added later.

// strictScan is the walk of one config's YAML.
type strictScan struct{ *yamlstrict.Scan }

// scanConfigTree walks root (a document or mapping node) as a Config.
func scanConfigTree(root *yaml.Node) strictScan {
	return strictScan{yamlstrict.Walk(root, reflect.TypeOf(Config{}))}
}

// replacedZeros reports each explicit 0 that the defaults replaced: 0 is
// not a valid value of such a field (an unset field takes the default),
// and running with the default instead of what was written would be a
// silently different simulation.
func replacedZeros(zeros []yamlstrict.Leaf, c *Config, p *problems) {
	for _, l := range zeros {
		v, ok := l.Value(c)
		if !ok || v.IsZero() {
			continue
		}
		p.add("%s: 0, expected a positive value (0 is not a setting here: leave the field out for the default, %s)", l.Path, showValue(v))
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
func (s strictScan) finish(c *Config) {
	zeros := s.Zeros(c)
	c.ApplyDefaults()
	p := problems(s.Problems)
	replacedZeros(zeros, c, &p)
	c.inputProblems = p
}
