// Package validation holds lodsim to end-to-end serving benchmarks it was
// not built from, and tunes a profile's engine overheads to them.
//
// A benchmark row (ReadBenchmarks; layouts in BENCHMARKS.md) is one
// closed-loop run of a serving engine: Concurrency clients send requests
// of fixed ISL prompt and OSL output tokens to one TP x PP replica and the
// tool reports mean TTFT and TPOT. RowConfig turns a row into a
// replay.Config with the matching model (in the row's GEMM and MoE
// formats), the GPU's calibrated profile, the row's engine and version
// (replay applies that engine's defaults) and a closed-loop workload; Predict replays it at the medium level of detail
// and Measure applies the benchmark tools' metric definitions over the
// steady-state window. Validate tabulates predicted against measured per
// group (model, GPU, TP) with analysis.Accuracy. Rows lodsim cannot
// simulate (disaggregated, unknown engine or model, no profile for the
// GPU, a model that does not fit) are kept with the reason they were
// skipped.
//
// FitOverheads fits cost.Overheads to rows by bounded
// Levenberg-Marquardt on relative errors, re-simulating the rows for each
// Jacobian column; Split makes the seeded calibrate-on-half,
// measure-on-the-other-half division.
//
// Everything is deterministic: the same rows, options and seed give the
// same predictions, whatever the number of workers.
package validation
