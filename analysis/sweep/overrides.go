package sweep

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Overrides are a sweep as the command line gives it: an optional spec
// file, a base configuration, and axes, points and settings on top.
type Overrides struct {
	SpecFile string   // spec with a sweep: section; "" for none
	Config   string   // base configuration file or scenario:NAME (the spec's fallback)
	Grid     []string // KEY=V1,V2,...; replaces the spec's axis of the same key
	Points   []string // KEY=V,KEY=V
	Set      []string // KEY=V,... applied to every point
	// SLO bounds (0: keep the configuration's), level of detail and
	// attainment ("" / 0: keep the spec's), and a price table file.
	TTFT, TPOT, E2E time.Duration
	LoD             string
	Attainment      float64
	PricesFile      string
}

// Spec assembles the spec the overrides describe; every error names the
// flag or file it comes from.
func (o *Overrides) Spec() (*Spec, error) {
	base := func() ([]byte, string, error) {
		if o.Config != "" {
			return LoadBase(o.Config)
		}
		return nil, "", errors.New("no base configuration: expected -c FILE (or scenario:NAME) or a spec with one")
	}
	s := &Spec{}
	var err error
	if o.SpecFile != "" {
		data, err := os.ReadFile(o.SpecFile)
		if err != nil {
			return nil, err
		}
		if s, err = ParseSpec(data, o.SpecFile, base); err != nil {
			return nil, err
		}
	} else if s.Base, s.Dir, err = base(); err != nil {
		return nil, err
	}
	for _, g := range o.Grid {
		a, err := ParseAxis(g)
		if err != nil {
			return nil, fmt.Errorf("--grid %w", err)
		}
		s.AddAxis(a)
	}
	for _, p := range o.Points {
		as, err := ParseAssignments(p)
		if err != nil {
			return nil, fmt.Errorf("--point %w", err)
		}
		s.Points = append(s.Points, as)
	}
	for _, p := range o.Set {
		as, err := ParseAssignments(p)
		if err != nil {
			return nil, fmt.Errorf("--set %w", err)
		}
		s.Set = append(s.Set, as...)
	}
	for _, b := range []struct {
		key string
		d   time.Duration
	}{{"slo.ttft", o.TTFT}, {"slo.tpot", o.TPOT}, {"slo.e2e", o.E2E}} {
		if b.d != 0 {
			s.Set = append(s.Set, Assignment{b.key, b.d.String()})
		}
	}
	if o.LoD != "" {
		s.LoD = o.LoD
	}
	if o.Attainment != 0 {
		s.Attainment = o.Attainment
	}
	if o.PricesFile != "" {
		data, err := os.ReadFile(o.PricesFile)
		if err != nil {
			return nil, err
		}
		p, err := ParsePrices(data, o.PricesFile)
		if err != nil {
			return nil, err
		}
		if s.Prices, err = s.Prices.With(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}
