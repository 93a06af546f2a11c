package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// loadConfigs reads a config file, or with path "" returns the embedded
// default scenarios. A path of the form "scenario:NAME" names one embedded
// scenario.
func loadConfigs(path string) ([]*replay.Config, error) {
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
	if name, ok := strings.CutPrefix(path, "scenario:"); ok {
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
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return []*replay.Config{c}, nil
}

// openWorkload opens the request source a config names.
func openWorkload(c *replay.Config) (trace.Reader, error) {
	w := c.Workload
	switch {
	case w.Trace != "":
		return trace.Open(c.Path(w.Trace), workloadTraceOptions(&w))
	case w.Embedded != "":
		return trace.Embedded(w.Embedded)
	case w.Synthetic != nil:
		s := w.Synthetic
		return trace.NewSynthetic(trace.Synthetic{Arrival: s.Arrival, Rate: s.Rate, CV: s.CV, Prompt: s.Prompt, Output: s.Output,
			Count: s.Count, Duration: int64(s.Duration), Seed: c.Simulation.Seed})
	case w.ClosedLoop != nil:
		s := w.ClosedLoop
		return trace.NewClosedLoop(trace.ClosedLoop{Clients: s.Clients, Requests: s.Requests, Prompt: s.Prompt, Output: s.Output,
			ThinkNs: int64(s.ThinkTime), Seed: c.Simulation.Seed})
	}
	return nil, fmt.Errorf("workload: no source configured")
}

// costModel resolves hardware.gpu and hardware.profile to a cost model.
func costModel(c *replay.Config) (cost.CostModel, error) {
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		return nil, fmt.Errorf("hardware.gpu: %w", err)
	}
	switch p := c.Hardware.Profile; p {
	case "":
		return hwprofile.DefaultCostModel(g), nil
	case "roofline":
		return cost.NewRoofline(g), nil
	default:
		path := c.Path(p)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("hardware.profile: %w", err)
		}
		defer f.Close()
		prof, err := cost.LoadProfile(f, path)
		if err != nil {
			return nil, fmt.Errorf("hardware.profile: %w", err)
		}
		return prof, nil
	}
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// peakRSS is the process's peak resident set size in bytes.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // Linux reports kilobytes
}

// runSim runs one simulation of cfg at the given level of detail and keeps
// every result in memory.
func runSim(cfg *replay.Config, lodName string) (*analysis.Run, error) {
	var col replay.Collect
	st, wall, err := simulate(cfg, lodName, &col)
	if err != nil {
		return nil, err
	}
	return &analysis.Run{Label: cfg.Name, LoD: lodName, WallNs: wall, PeakRSSBytes: peakRSS(), Stats: st, Results: col.Results}, nil
}

// simulate runs cfg at lodName into sink and returns the stats and the wall
// time of the simulation proper.
func simulate(cfg *replay.Config, lodName string, sink replay.Sink) (*replay.Stats, int64, error) {
	c := cfg.Clone()
	if lodName != "" {
		c.Simulation.LoD = replay.LoD(lodName)
	}
	if err := c.Validate(); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", c.Name, err)
	}
	m, err := c.ResolveModel()
	if err != nil {
		return nil, 0, err
	}
	cm, err := costModel(c)
	if err != nil {
		return nil, 0, err
	}
	src, err := openWorkload(c)
	if err != nil {
		return nil, 0, fmt.Errorf("workload: %w", err)
	}
	defer src.Close()
	in := replay.Input{Config: c, Model: m, Cost: cm, Workload: src, Sink: sink}
	label := fmt.Sprintf("%s %s", c.Name, c.Simulation.LoD)
	if isTerminal(os.Stderr) {
		in.Progress = func(now replay.Time, finished int64) {
			fmt.Fprintf(os.Stderr, "\r%s: simulated %.1f s, %d requests finished", label, float64(now)/1e9, finished)
		}
	}
	start := time.Now()
	st, err := replay.Run(in)
	wall := time.Since(start).Nanoseconds()
	if in.Progress != nil {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", label, err)
	}
	return st, wall, nil
}

// workloadTraceOptions are the trace reader's options a workload section names.
func workloadTraceOptions(w *replay.WorkloadConfig) trace.Options {
	return trace.Options{Format: w.Format, Columns: w.Columns, TimeUnit: w.TimeUnit,
		Sort: w.Sort, DropFailed: w.DropFailed, KeepOffset: w.KeepOffset}
}
