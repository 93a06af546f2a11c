// Package analysis turns what a replay run produced into the numbers a design
// review asks for: per-run summaries (latency distributions, throughput,
// goodput against SLOs, batch and KV-cache statistics), comparisons between
// levels of detail of the same workload (event reduction, speed-up, relative
// error of every summary metric, per-request paired differences), accuracy
// tables for calibration and validation, and the series that package plots
// draws. It also reads and writes per-request results as Parquet.
//
// Every function here is pure: it reads its arguments and returns values. It
// never reads the wall clock, files or global state, so the same inputs give
// byte-identical text, CSV and JSON. The one exception is ResultWriter,
// which spills sorted runs to temporary files when a run has more results
// than its sort buffer holds (see RESULTS.md); its output bytes do not
// depend on it.
//
// # Percentiles
//
// All percentiles use the nearest-rank definition: the q-quantile of n sorted
// values x[1] <= ... <= x[n] is x[ceil(q*n)] (x[1] when q*n < 1). It always
// returns an observed value and agrees with replay.Histogram.Quantile, which
// the inter-token latency uses. For example the p50 of {1, 2, 3, 4} is 2 and
// its p90 is 4.
//
// # Units
//
// Latencies in summaries are milliseconds, throughput is per second of
// simulated time, and raw times in results stay integer nanoseconds.
package analysis
