// Package trace reads, writes, transforms and generates LLM-serving request
// traces.
//
// Every source is a Reader: a stream of canonical Request records (id,
// arrival in integer nanoseconds since the start of the trace, prompt and
// output tokens, and optional session, model, priority and prefix block
// hashes) in non-decreasing arrival order. Readers never load a whole file;
// Parquet is read column chunk by column chunk, Arrow record batch by record
// batch, CSV and JSONL line by line. The only exception is Options.Sort,
// which must see every row before it can return the first.
//
// Open detects the format from the file's extension and first bytes, and the
// column mapping from its header: the canonical schema (see SCHEMA.md), the
// Azure LLM inference traces 2023 and 2024, BurstGPT, Vidur/Splitwise and
// Mooncake layouts are recognised; anything else is mapped with
// Options.Columns; failing those, common names (arrival_time, timestamp,
// input_tokens, output_tokens, ...) are tried. Every decoding error is an
// *Error naming the file, the row and the column, what was found and what
// was expected.
//
// Files are read through trace/tabular, the reading layer shared with
// hwprofile, which checks every size a file claims before allocating
// (Options.Limits). The reader also bounds what the rows mean: arrivals lie
// within Options.MaxSpan of the first (366 days by default), prompt + output
// within MaxRequestTokens, ids from an id column are unique; rows with 0
// output tokens are kept and counted (Problems.ZeroOutput).
//
// Transforms (Window, Scale, Head, Sample, FilterModel, DropFailed,
// ShiftToZero) wrap a Reader and compose. Synthetic and ClosedLoop generate
// workloads from a seed; ClosedLoopSource is Reactive: its next request
// depends on the simulated completion of earlier ones. The Azure 2023 traces
// and the ShareGPT and arXiv length distributions are embedded in the binary
// (Embedded, EmbeddedLengths).
//
// The package does no simulation and reads no clock; the only randomness is
// the seeded PCG generators of Sample, Synthetic and ClosedLoop.
package trace
