// Package workload is what a request workload is, without any file format:
// the canonical request record, the request-stream interfaces the simulator
// consumes (Reader, Reactive), and the length distributions synthetic and
// closed-loop workloads draw from.
//
// It imports no Arrow, Parquet or CSV code, so the simulator core (replay)
// and the step planner (lod) can depend on it and stay free of file readers.
// Package trace reads and writes traces in those formats and re-exports
// these names.
package workload

// EmbeddedPrefix marks a trace path or length source that names data
// embedded in the binary ("embedded:azure-conv-2023").
const EmbeddedPrefix = "embedded:"

// MaxRequestTokens bounds prompt + output tokens of one request: 2^30,
// far above any model's context and safely below int32 overflow when
// prompt and output are added.
const MaxRequestTokens = 1 << 30

// maxLength bounds one drawn length (prompt or output), so that a prompt
// and an output together stay within MaxRequestTokens.
const maxLength = MaxRequestTokens / 2
