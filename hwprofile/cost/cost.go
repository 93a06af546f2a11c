package cost

// AttnShape is the per-rank shape of one attention layer: query heads and KV
// heads already divided by the tensor-parallel degree, and the KV cache's
// element type: BF16 (the zero value, also for FP16) or FP8. A profile
// with FP8-KV attention sections costs an FP8 cache from them (the
// kernels differ: vLLM's H200 tables time FP8-KV context attention 8-25 %
// above BF16-KV, and FP8-KV decode attention at 0.7-0.85 of BF16-KV where
// the cache's bytes dominate, not half); without, every KV type costs as
// BF16 (see Profile.MeasuresKVCache).
type AttnShape struct {
	Heads   int
	KVHeads int
	HeadDim int
	KVCache Precision
}

// MLAShape is the per-rank shape of one multi-head latent attention layer
// (DeepSeek-V2/V3): query heads already divided by the tensor-parallel
// degree, the compressed KV width and the per-head dimensions, and the KV
// cache's precision (BF16 or FP8). DeepSeek-V3 is {Heads: 128/tp,
// KVLoRARank: 512, QKNopeDim: 128, QKRopeDim: 64, VHeadDim: 128}.
type MLAShape struct {
	Heads      int
	KVLoRARank int
	QKNopeDim  int
	QKRopeDim  int
	VHeadDim   int
	KVCache    Precision
}

// MoEShape is one mixture-of-experts layer's expert computation on one
// rank. Tokens is the number of tokens the layer routes in the step across
// the ranks that share its experts (with attention data parallelism, the
// sum over the data-parallel ranks; the aiconfigurator tables' num_tokens).
// Each token goes to TopK of Experts routed experts; the experts are split
// over EP ranks and each expert's intermediate dimension over TP ranks, so a
// rank holds Experts/EP experts of Inter/TP columns and computes about
// Tokens x TopK / EP token-expert pairs (balanced routing). Hidden is the
// model width; Quant the expert weights' precision. Shared experts are not
// included: they are dense GEMMs.
type MoEShape struct {
	Tokens  int
	Hidden  int
	Inter   int
	Experts int
	TopK    int
	TP, EP  int
	Quant   Precision
	// Balanced routes the tokens as the MoE tables were measured: the
	// Tokens x TopK pairs to distinct experts until every expert has one
	// (BalancedMoEWork). The zero value is random routing (MoEWork), which
	// hits fewer experts at the same token count; calibration's held-out
	// check sets Balanced to compare like with like.
	Balanced bool
}

// Link is the per-hop model of a point-to-point transfer: a transfer of S
// bytes takes LatencyNs + S/BytesPerNs nanoseconds when it has the link alone.
type Link struct {
	LatencyNs  float64
	BytesPerNs float64
}

// TransferNs is the uncontended time of an s-byte transfer over l.
func (l Link) TransferNs(s float64) float64 { return l.LatencyNs + s/l.BytesPerNs }

// Overheads are the engine costs outside kernels. A step costs Step +
// PerSeq x sequences in the batch + PerPrefillToken x prefill tokens (ns) on
// top of its kernels; each request pays PerRequest (ns) once, before it can
// be scheduled. MemoryReserveGB is GPU memory (GiB per GPU) the engine keeps
// out of the KV cache beyond weights and activations: CUDA graphs, allocator
// fragmentation, buffers.
type Overheads struct {
	StepNs            float64 `yaml:"step_ns" json:"step_ns"`
	PerSeqNs          float64 `yaml:"per_seq_ns" json:"per_seq_ns"`
	PerPrefillTokenNs float64 `yaml:"per_prefill_token_ns" json:"per_prefill_token_ns"`
	PerRequestNs      float64 `yaml:"per_request_ns" json:"per_request_ns"`
	MemoryReserveGB   float64 `yaml:"memory_reserve_gb,omitempty" json:"memory_reserve_gb,omitempty"`
}

// CostModel gives the time of the operations a model step is built from, on
// one GPU. All times are nanoseconds and must be positive and finite for
// positive shapes. Both levels of detail draw every cost from here.
type CostModel interface {
	// Name says where the costs come from (roofline, or a calibrated profile).
	Name() string
	// GPU is the accelerator the costs describe.
	GPU() GPU
	// GEMM is the time of an (m x k) by (k x n) BF16 matrix multiply.
	GEMM(m, n, k int) float64
	// QuantGEMM is the time of an (m x k) activation by (k x n) weight
	// multiply with the weights (and, for FP8 and NVFP4, the activations)
	// at precision p; QuantGEMM(m, n, k, BF16) = GEMM(m, n, k).
	QuantGEMM(m, n, k int, p Precision) float64
	// ContextAttention is the time of prefill attention for batch sequences
	// of q new tokens each, attending to prefix cached tokens plus themselves
	// (causal).
	ContextAttention(batch, q, prefix int, s AttnShape) float64
	// GenerationAttention is the time of decode attention for batch
	// sequences with a mean context length of ctx tokens.
	GenerationAttention(batch, ctx int, s AttnShape) float64
	// ContextMLA is the time of prefill multi-head latent attention for
	// batch sequences of q new tokens each after prefix cached tokens.
	ContextMLA(batch, q, prefix int, s MLAShape) float64
	// GenerationMLA is the time of decode latent attention (weights
	// absorbed) for batch sequences with a mean context of ctx tokens.
	GenerationMLA(batch, ctx int, s MLAShape) float64
	// MoE is the time of one MoE layer's routed-expert computation (gate/up
	// and down grouped GEMMs with the activation between them) on one rank,
	// without the token dispatch and combine.
	MoE(s MoEShape) float64
	// Elementwise is the time of memory-bound element-wise work (norms,
	// activations, residual adds) that moves the given number of bytes.
	Elementwise(bytes float64) float64
	// RingLink is the effective per-hop link of a ring all-reduce over n
	// GPUs: a ring all-reduce of S bytes costs
	// 2(n-1) x (LatencyNs + (S/n)/BytesPerNs).
	RingLink(n int) Link
	// AllReduceLink is the per-hop link of a ring all-reduce of s bytes
	// over n GPUs: 2(n-1) hops of s/n bytes over it take the measured
	// all-reduce time where a profile has one (NCCL switches algorithms
	// across sizes, which no single alpha-beta pair follows; small
	// messages go through the engine's custom all-reduce where the profile
	// measured it, see Profile.TPAllReduce), else RingLink.
	AllReduceLink(n int, s float64) Link
	// AllGather is the time of an all-gather over n GPUs whose output
	// (the whole gathered buffer, as nccl-tests counts it) is bytes; 0 for
	// n < 2.
	AllGather(bytes float64, n int) float64
	// ReduceScatter is the time of a reduce-scatter over n GPUs of a
	// bytes-sized input; 0 for n < 2.
	ReduceScatter(bytes float64, n int) float64
	// AllToAll is the time of an all-to-all over n GPUs in which each rank
	// sends bytes in total, bytes/n to every rank (MoE token dispatch or
	// combine); 0 for n < 2.
	AllToAll(bytes float64, n int) float64
	// AllToAllLink is the per-peer link of that all-to-all: n-1 transfers
	// of s/n bytes each, one after another, over it take AllToAll(s, n).
	AllToAllLink(n int, s float64) Link
	// SendLink is the link of a point-to-point transfer between two GPUs
	// (pipeline-parallel activations).
	SendLink() Link
	// Overheads are the engine's per-step and per-request costs.
	Overheads() Overheads
}
