package replay

import (
	"math"
	"math/bits"

	"github.com/lodsim/lodsim/trace/workload"
)

// Status is how a request left the simulation.
type Status uint8

const (
	// Completed requests produced all their output tokens.
	Completed Status = iota
	// Unfinished requests were still waiting or running when the run
	// stopped at max_simulation_time.
	Unfinished
	// Rejected requests can never fit in their replica's KV cache.
	Rejected
)

func (s Status) String() string {
	switch s {
	case Completed:
		return "completed"
	case Unfinished:
		return "unfinished"
	case Rejected:
		return "rejected"
	}
	return "unknown"
}

// Reason says why a request was rejected.
type Reason uint8

const (
	// NotRejected is the reason of every request that was not rejected.
	NotRejected Reason = iota
	// TooLongForKV: prompt plus output tokens need more KV blocks than
	// the replica has, so the request could never run to completion (on a
	// disaggregated cluster also: its prompt plus
	// scheduler.decode_reserved_tokens need more than a decode worker has).
	TooLongForKV
	// TooLongForModel: prompt plus output tokens exceed
	// scheduler.max_model_len.
	TooLongForModel
	// TooLongForBudget: without chunked prefill, the prompt exceeds the
	// step's token budget (max_num_batched_tokens / max_num_tokens), so it
	// could never be prefilled in one step.
	TooLongForBudget
)

func (r Reason) String() string {
	switch r {
	case NotRejected:
		return ""
	case TooLongForKV:
		return "exceeds_kv_capacity"
	case TooLongForModel:
		return "exceeds_max_model_len"
	case TooLongForBudget:
		return "exceeds_token_budget"
	}
	return "unknown"
}

// ParseReason is the inverse of Reason.String.
func ParseReason(s string) (Reason, bool) {
	for r := NotRejected; r <= TooLongForBudget; r++ {
		if r.String() == s {
			return r, true
		}
	}
	return 0, false
}

// RequestResult is the compact per-request record a run produces (88
// bytes). Times are simulated ns; a time that never happened is -1.
//
//	TTFT = FirstToken - Arrival
//	E2E  = Completion - Arrival
//	TPOT = (Completion - FirstToken) / (OutputTokens - 1), for OutputTokens > 1
//	queueing delay = FirstScheduled - Arrival
//
// On a disaggregated cluster (disagg.go, Disaggregated set) Replica is the
// worker the request ended on, across both pools (prefill workers first);
// PrefillWorker and DecodeWorker number the workers within their pools,
// and the KV transfer ran from TransferStart to TransferEnd, which is also
// FirstToken (the first token reaches the client with the KV); each is -1
// for a stage the request did not reach. On an aggregated cluster
// (Disaggregated false) the four are zero and mean nothing.
type RequestResult struct {
	ID             workload.RequestID
	Arrival        Time
	FirstScheduled Time
	FirstToken     Time
	Completion     Time
	PromptTokens   int32
	OutputTokens   int32 // tokens generated (all of them when Completed)
	Replica        int32
	Preemptions    int16
	Status         Status
	Reason         Reason // why it was rejected
	Disaggregated  bool   // ran on a disaggregated cluster
	PrefillWorker  int32
	DecodeWorker   int32
	TransferStart  Time
	TransferEnd    Time
}

// TransferNs is the KV transfer's duration, or -1 when none completed
// (always on an aggregated cluster).
func (r *RequestResult) TransferNs() Time {
	if !r.Disaggregated || r.TransferEnd < 0 || r.TransferStart < 0 {
		return -1
	}
	return r.TransferEnd - r.TransferStart
}

// TTFT is the time to first token, or -1 when there was none.
func (r *RequestResult) TTFT() Time {
	if r.FirstToken < 0 {
		return -1
	}
	return r.FirstToken - r.Arrival
}

// E2E is the end-to-end latency, or -1 when the request did not complete.
func (r *RequestResult) E2E() Time {
	if r.Completion < 0 {
		return -1
	}
	return r.Completion - r.Arrival
}

// TPOT is the mean time per output token after the first, in ns, or -1 when
// the request did not complete or produced a single token.
func (r *RequestResult) TPOT() float64 {
	if r.Completion < 0 || r.OutputTokens < 2 {
		return -1
	}
	return float64(r.Completion-r.FirstToken) / float64(r.OutputTokens-1)
}

// Sample is one point of the cluster-wide time series, taken every
// simulation.sample_interval of simulated time.
type Sample struct {
	T            Time    `json:"t_ns"`
	Running      int32   `json:"running"`       // sequences in running queues
	Waiting      int32   `json:"waiting"`       // sequences in waiting queues (attention-DP groups' included)
	BatchSize    float64 `json:"batch_size"`    // mean sequences per step since the previous sample
	KVUtil       float64 `json:"kv_util"`       // used / total KV blocks
	OutputTokens int64   `json:"output_tokens"` // tokens produced since the previous sample
	Completed    int64   `json:"completed"`     // requests completed since the previous sample
}

// Histogram counts durations in log-linear buckets: values below 1024 ns
// are exact, above that each power of two is split into 256 buckets, so a
// bucket's width is under 0.4% of its value (an HDR histogram with two
// significant decimal digits and a bit). It is the ITL record: exact values
// would cost memory proportional to the tokens generated. Mean and maximum
// are exact; quantiles are a bucket's lower edge.
type Histogram struct {
	Counts []uint64 `json:"counts"`
	Total  uint64   `json:"total"`
	Sum    float64  `json:"sum_ns"`
	Max    int64    `json:"max_ns"`
}

// histBits sub-divides each power of two into 2^histBits buckets.
const (
	histBits = 8
	histSub  = 1 << histBits
)

func histBucket(v int64) int {
	if v < 1024 {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 1 // v in [2^e, 2^(e+1))
	frac := int((uint64(v) >> (e - histBits)) & (histSub - 1))
	return 1024 + (e-10)*histSub + frac
}

func histLower(b int) int64 {
	if b < 1024 {
		return int64(b)
	}
	e := (b-1024)/histSub + 10
	frac := (b - 1024) % histSub
	return int64(1)<<e + int64(frac)<<(e-histBits)
}

// Add records n observations of value v ns.
func (h *Histogram) Add(v int64, n uint64) {
	if n == 0 {
		return
	}
	b := histBucket(v)
	if b >= len(h.Counts) {
		if b < cap(h.Counts) {
			h.Counts = h.Counts[:b+1]
		} else {
			c := make([]uint64, b+1, b+1+256)
			copy(c, h.Counts)
			h.Counts = c
		}
	}
	h.Counts[b] += n
	h.Total += n
	h.Sum += float64(v) * float64(n)
	if v > h.Max {
		h.Max = v
	}
}

// Mean is the mean recorded value, NaN when empty.
func (h *Histogram) Mean() float64 {
	if h.Total == 0 {
		return math.NaN()
	}
	return h.Sum / float64(h.Total)
}

// Quantile returns the lower edge of the bucket holding the q-quantile
// (nearest rank), NaN when empty.
func (h *Histogram) Quantile(q float64) float64 {
	if h.Total == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.Total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for b, c := range h.Counts {
		seen += c
		if seen >= rank {
			return float64(histLower(b))
		}
	}
	return float64(h.Max)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for b, c := range o.Counts {
		if c > 0 {
			h.Add(histLower(b), c)
			h.Sum -= float64(histLower(b)) * float64(c)
		}
	}
	h.Sum += o.Sum
	if o.Max > h.Max {
		h.Max = o.Max
	}
}
