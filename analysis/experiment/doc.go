// Package experiment is the one library path from a configuration to
// results. It loads configurations (files or embedded scenarios), applies
// overrides (trace, seed, variability, topology, SLO, level of detail),
// resolves what the configuration names (model, cost model, workload) and
// runs the simulation into a sink. The CLI, analysis/validation, the
// comparison driver, sweeps and tests all go through it, so they cannot
// drift apart.
//
// The configuration is the single source of truth: an Experiment keeps the
// resolved *replay.Config and derives the model and the GPU from it; only
// the cost model may be supplied from outside (validation fits overheads on
// top of a profile).
//
// An Experiment holds no mutable state once built, and Run opens its own
// workload, so N experiments may run in N goroutines at once; each run is
// single-threaded and deterministic (same configuration and seed give the
// same results, whatever else runs beside it).
//
//	cfgs, _ := experiment.Load("scenario:reference-tp2")
//	_ = experiment.Overrides{LoD: "high"}.Apply(cfgs[0])
//	e, _ := experiment.New(cfgs[0])
//	run, _ := e.Collect(nil) // *analysis.Run with results, stats and summary
package experiment
