// Package cost is what the simulator asks about hardware: the CostModel
// interface both levels of detail draw every operation cost from, the GPU
// catalog (datasheet figures, see hwprofile/data/hardware_specs.csv), the
// analytical Roofline, and the compiled calibrated Profile (loaded from its
// versioned YAML and evaluated by interpolating measured grids around a
// fitted roofline).
//
// The package reads no files and imports no table readers (Arrow, Parquet,
// CSV): measurements are read and profiles fitted by package hwprofile,
// which produces Profile values. Every cost model here is pure and safe for
// concurrent use; Profile's cost methods do not allocate.
package cost
