package replay

// EventCount is the number of events of one kind a run processed.
type EventCount struct {
	Kind  string `json:"kind"`
	Count uint64 `json:"count"`
}

// Stats is what a run reports besides its per-request results.
type Stats struct {
	LoD          string       `json:"lod"`
	Seed         uint64       `json:"seed"`
	SimEnd       Time         `json:"sim_end_ns"`     // simulated time of the last event
	Events       []EventCount `json:"events"`         // by kind, sorted by kind
	TotalEvents  uint64       `json:"total_events"`   // sum of Events
	Steps        uint64       `json:"steps"`          // batch steps executed, all replicas and stages
	Arrived      int64        `json:"arrived"`        // requests that arrived
	Completed    int64        `json:"completed"`      // requests that produced every token
	Unfinished   int64        `json:"unfinished"`     // still waiting or running at the stop time
	Rejected     int64        `json:"rejected"`       // could never fit in the KV cache
	Preemptions  int64        `json:"preemptions"`    // preemption events (a request may have several)
	PeakInFlight int64        `json:"peak_in_flight"` // most requests arrived and not yet finished at once
	KVBlocks     int64        `json:"kv_blocks"`      // KV blocks per replica
	PeakKVUtil   float64      `json:"peak_kv_util"`   // highest used/total over all replicas
	OutputTokens int64        `json:"output_tokens"`  // tokens generated, all requests
	ITL          Histogram    `json:"itl"`            // inter-token latencies
	Samples      []Sample     `json:"samples"`        // cluster time series
	// Adaptive says which parts of an adaptive run ran at which level
	// of detail; nil at high and medium.
	Adaptive *AdaptiveReport `json:"adaptive,omitempty"`
	// Disaggregated reports each pool and the KV transfers of a
	// disaggregated cluster; nil for an aggregated one.
	Disaggregated *DisaggStats `json:"disaggregated,omitempty"`
}

// DisaggStats is what a disaggregated run reports beside the cluster-wide
// statistics (in which KVBlocks is a prefill worker's).
type DisaggStats struct {
	Prefill         PoolStats `json:"prefill"`
	Decode          PoolStats `json:"decode"`
	KVLink          string    `json:"kv_link"`           // nvlink or network
	Transfers       int64     `json:"transfers"`         // KV transfers started
	TransferBytes   float64   `json:"transfer_bytes"`    // KV bytes they moved, all lanes
	WaitedForRoom   int64     `json:"waited_for_room"`   // transfers that waited for decode blocks
	PeakPending     int64     `json:"peak_pending"`      // most finished prefills waiting for decode room at once
	TransferLaneGBs float64   `json:"transfer_lane_gbs"` // one lane's bandwidth, GB/s
	// Samples is each pool's time series, taken with Stats.Samples.
	Samples []PoolSample `json:"samples"`
}

// PoolSample is one point of a disaggregated cluster's per-pool time
// series: each pool's queues and pooled KV use, the finished prefills
// waiting for decode room and the transfers in flight.
type PoolSample struct {
	T              Time    `json:"t_ns"`
	PrefillRunning int32   `json:"prefill_running"`
	PrefillWaiting int32   `json:"prefill_waiting"`
	PrefillKVUtil  float64 `json:"prefill_kv_util"`
	DecodeRunning  int32   `json:"decode_running"`
	DecodeWaiting  int32   `json:"decode_waiting"`
	DecodeKVUtil   float64 `json:"decode_kv_util"`
	WaitingForRoom int32   `json:"waiting_for_room"` // finished prefills
	InTransfer     int32   `json:"in_transfer"`
}

// PoolStats describes one pool of a disaggregated cluster and its load.
type PoolStats struct {
	// GPU is the pool's GPU when it is not the cluster's (hardware.gpu);
	// "" (and absent from JSON) when it is.
	GPU        string  `json:"gpu,omitempty"`
	Workers    int     `json:"workers"`
	TP         int     `json:"tensor_parallel"`
	PP         int     `json:"pipeline_parallel"`
	KVBlocks   int64   `json:"kv_blocks"`    // per worker
	Steps      uint64  `json:"steps"`        // batch steps, all workers
	PeakKVUtil float64 `json:"peak_kv_util"` // highest used/total of a worker
	// EP, AttentionDP and MoETP are the pool's expert-parallel layout
	// (expert_parallel, attention_data_parallel, and the tensor-parallel
	// degree inside each expert group), set only on a pool with expert
	// or attention data parallelism; 0 (and absent from JSON) otherwise.
	EP          int `json:"expert_parallel,omitempty"`
	AttentionDP int `json:"attention_data_parallel,omitempty"`
	MoETP       int `json:"moe_tensor_parallel,omitempty"`
}

// HasEP reports whether the pool has an expert-parallel layout (EP or
// attention data parallelism above 1).
func (p PoolStats) HasEP() bool { return p.EP > 0 }

// Sink receives each request's result as soon as it is final: at
// completion or rejection, or at the end of the run for unfinished ones.
// Results arrive in the order they become final, which is deterministic.
// The record is only valid during the call: a sink that keeps it copies it.
type Sink interface {
	Record(r *RequestResult) error
}

// Collect is a Sink that keeps every result in memory.
type Collect struct{ Results []RequestResult }

// Record implements Sink.
func (c *Collect) Record(r *RequestResult) error {
	c.Results = append(c.Results, *r)
	return nil
}
