// Package lod describes model architectures and turns one batch step into
// work at each level of detail (LoD).
//
// Models (model.go) are dense GQA transformers, mixtures of experts (top-k
// routing, shared experts, dense leading layers), multi-head latent
// attention (DeepSeek) and sliding-window attention (gpt-oss), with weights
// and KV cache in BF16, FP8, NVFP4, MXFP4 or INT4 (precision.go). The
// built-in catalog (catalog.go) is read from the Hugging Face config.json
// files shipped in data/hf-configs (hfconfig.go), and names resolve by
// catalog name or Hugging Face repo id, ignoring case and the Instruct or
// base variant. A config with a feature lodsim does not model is an error
// naming it (ErrUnsupported), never an approximation.
//
// A step decomposes, per layer and per tensor-parallel rank, into four
// compute operations (QKV projection, attention over the prefill and
// decode parts of the batch, output projection, MLP or MoE) and two
// all-reduces (after attention and after the MLP), plus a transfer of
// activations between pipeline stages and, for experts spread over
// attention-data-parallel ranks, an all-to-all dispatch and combine per MoE
// layer. Planner (step.go, moe.go) computes those costs once per step from
// a cost.CostModel, rounded to integer nanoseconds, so that the high level
// of detail (which replays every operation on every rank) and the medium
// level (which sums them into one event) start from the same numbers.
package lod
