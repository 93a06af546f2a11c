package validation

import (
	"fmt"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Inputs are what the benchmark commands (validate, calibrate-overheads)
// replay: the simulation options, the base profile (nil when none was
// given) and the benchmark rows with their file's layout.
type Inputs struct {
	Options Options
	Base    *cost.Profile
	Rows    []Row
	Layout  Layout
}

// LoadInputs reads the benchmark file at path and, when profile is not "",
// the base profile at that path, which opt then uses for its GPU. Errors
// name the flags the paths come from.
func LoadInputs(path, profile string, opt Options) (*Inputs, error) {
	if opt.RequestsPerClient < 1 {
		return nil, fmt.Errorf("--requests-per-client: %d, expected >= 1", opt.RequestsPerClient)
	}
	in := &Inputs{Options: opt}
	if profile != "" {
		p, err := experiment.LoadProfile(profile)
		if err != nil {
			return nil, fmt.Errorf("--profile: %w", err)
		}
		in.Base, in.Options.Profiles = p, map[string]*cost.Profile{p.GPU().Key: p}
	}
	var err error
	if in.Rows, in.Layout, err = ReadBenchmarkFile(path); err != nil {
		return nil, fmt.Errorf("--benchmarks: %w", err)
	}
	return in, nil
}

// BaseProfile is the profile calibrate-overheads starts from: the given
// one, else the shipped profile of gpu (by default the first row's GPU).
func (in *Inputs) BaseProfile(gpu string) (*cost.Profile, error) {
	if in.Base != nil {
		if gpu != "" {
			g, err := cost.LookupGPU(gpu)
			if err != nil {
				return nil, fmt.Errorf("--gpu: %w", err)
			}
			if pg := in.Base.GPU(); pg.Key != g.Key {
				return nil, fmt.Errorf("--gpu %s, but the --profile was calibrated on %s; expected the same GPU (or leave --gpu out)", g.Name, pg.Name)
			}
		}
		return in.Base, nil
	}
	if gpu == "" {
		gpu = in.Rows[0].GPU
	}
	p, err := experiment.ShippedProfile(gpu)
	if err != nil {
		return nil, fmt.Errorf("--gpu: %w; pass a base profile with --profile", err)
	}
	return p, nil
}
