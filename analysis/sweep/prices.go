package sweep

import (
	"cmp"
	_ "embed"
	"fmt"
	"math"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Prices are on-demand USD per GPU-hour by catalog GPU name.
type Prices map[string]float64

//go:embed prices.yaml
var defaultPrices []byte

// DefaultPrices returns the shipped price table (prices.yaml, where each
// figure's source or assumption is stated).
func DefaultPrices() Prices {
	p, err := ParsePrices(defaultPrices, "prices.yaml")
	if err != nil {
		panic("sweep: embedded prices.yaml: " + err.Error())
	}
	return p
}

// ParsePrices reads a price table: a YAML mapping of GPU name (any name or
// alias cost.LookupGPU accepts) to USD per GPU-hour.
func ParsePrices(data []byte, name string) (Prices, error) {
	var raw map[string]float64
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: expected a mapping of GPU name to USD per GPU-hour: %w", name, err)
	}
	p := Prices{}
	var errs []string
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		g, err := cost.LookupGPU(k)
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case !(v >= 0) || math.IsInf(v, 0):
			errs = append(errs, fmt.Sprintf("%s: %v, expected USD per GPU-hour >= 0", k, v))
		default:
			p[g.Name] = v
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(errs, "; "))
	}
	return p, nil
}

// With returns the prices of p overridden by over (whose names may be
// aliases).
func (p Prices) With(over Prices) (Prices, error) {
	out := Prices{}
	for k, v := range p {
		out[k] = v
	}
	for _, k := range sortedKeys(over) {
		g, err := cost.LookupGPU(k)
		if err != nil {
			return nil, fmt.Errorf("prices: %w", err)
		}
		out[g.Name] = over[k]
	}
	return out, nil
}

// Of returns the price of a GPU by catalog name.
func (p Prices) Of(gpu string) (float64, error) {
	v, ok := p[gpu]
	if !ok {
		return 0, fmt.Errorf("prices: no price for GPU %s: add it with --prices or sweep.prices", gpu)
	}
	return v, nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
