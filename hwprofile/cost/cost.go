package cost

// AttnShape is the per-rank shape of one attention layer: query heads and KV
// heads already divided by the tensor-parallel degree.
type AttnShape struct {
	Heads   int
	KVHeads int
	HeadDim int
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
	// ContextAttention is the time of prefill attention for batch sequences
	// of q new tokens each, attending to prefix cached tokens plus themselves
	// (causal).
	ContextAttention(batch, q, prefix int, s AttnShape) float64
	// GenerationAttention is the time of decode attention for batch
	// sequences with a mean context length of ctx tokens.
	GenerationAttention(batch, ctx int, s AttnShape) float64
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
	// across sizes, which no single alpha-beta pair follows), else RingLink.
	AllReduceLink(n int, s float64) Link
	// SendLink is the link of a point-to-point transfer between two GPUs
	// (pipeline-parallel activations).
	SendLink() Link
	// Overheads are the engine's per-step and per-request costs.
	Overheads() Overheads
}
