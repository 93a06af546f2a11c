// Package hwprofile turns hardware measurements into calibrated cost
// models. The cost models themselves (the CostModel interface, the GPU
// catalog, the Roofline and the compiled Profile) live in package cost,
// which reads no measurement files, so that the simulator links none of the
// readers here.
//
// Calibration runs one way: ReadMeasurements turns kernel and collective
// tables (aiconfigurator, Vidur, or the canonical schema of MEASUREMENTS.md;
// Parquet, Arrow or CSV) into Measurements; Calibrate fits a cost.Profile of
// one GPU and reports its error on held-out points; Profile.Write and
// cost.LoadProfile keep it as versioned YAML. A profile stores, per
// operation, a roofline fitted with gonum's Nelder-Mead and the measured
// grid relative to it; a cost is the roofline times the interpolated
// efficiency (multilinear in the logs of the shape), which keeps the edge
// efficiency outside the grid. Collectives also get an alpha-beta link per
// GPU count, the per-hop link the simulator builds rings from.
//
// Profiles of the H100 SXM, A100 SXM and H200 built from the aiconfigurator
// tables copied under data/aiconfigurator are embedded in the binary
// (EmbeddedProfile, DefaultCostModel); a test rebuilds them and checks they
// match byte for byte. The package reads files only in ReadMeasurements.
package hwprofile
