// Package replay is lodsim's deterministic discrete-event engine and the
// serving system it simulates: a router in front of data-parallel replicas,
// each a TP x PP group of GPUs joined by links, running a vLLM-style
// continuous-batching scheduler over a paged KV cache with preemption by
// recompute.
//
// The core reads no files, clock or global randomness: the caller passes a
// Config, a model, a cost model, a request source and a result sink, and
// Run returns the same Stats and the same sequence of results for the same
// inputs and seed. Simulated time is an integer count of nanoseconds; events
// are ordered by (time, sequence number) in a typed heap of value structs.
//
// Two levels of detail share everything but the step execution:
//
//   - high replays every layer's operations on every TP rank's own compute
//     stream and each all-reduce as a ring of 2(N-1) point-to-point transfers
//     per rank over modelled links that share bandwidth between concurrent
//     transfers; optional per-rank, per-operation variability lets a slow
//     rank delay the collective.
//   - medium runs one aggregated compute event and one analytical collective
//     per step and stage, and, where nothing can change the batch (no
//     arrival, completion, KV block shortage or waiting request), advances a
//     whole run of decode steps in one event.
//
// Without variability and contention both levels produce identical
// per-request times.
package replay
