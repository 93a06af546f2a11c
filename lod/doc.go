// Package lod describes model architectures and turns one batch step into
// work at each level of detail (LoD).
//
// A step of a decoder-only transformer decomposes, per layer and per
// tensor-parallel rank, into four compute operations (QKV projection,
// attention over the prefill and decode parts of the batch, output
// projection, MLP) and two all-reduces (after attention and after the MLP),
// plus a transfer of activations between pipeline stages. Planner computes
// those costs once per step from a cost.CostModel, rounded to integer
// nanoseconds, so that the high level of detail (which replays every
// operation on every rank) and the medium level (which sums them into one
// event) start from the same numbers.
package lod
