package replay

import (
	"fmt"
	"strings"
)

// LoD is a level of detail: how finely a step is simulated.
type LoD string

const (
	// LoDHigh replays every operation on every rank and each all-reduce as
	// a ring of point-to-point transfers over modelled links.
	LoDHigh LoD = "high"
	// LoDMedium runs one aggregated event per step and stage, with
	// analytical collectives and decode runs advanced in one event.
	LoDMedium LoD = "medium"
	// LoDAdaptive runs medium, refining to high in sampled windows only
	// where high could change the answer (exec_adaptive.go).
	LoDAdaptive LoD = "adaptive"
)

// LoDs lists the valid levels of detail.
var LoDs = []LoD{LoDHigh, LoDMedium, LoDAdaptive}

// RoutingPolicy is how the router picks a replica for each request.
type RoutingPolicy string

const (
	// RoundRobin sends requests to the replicas in turn.
	RoundRobin RoutingPolicy = "round_robin"
	// LeastOutstanding picks the replica with the fewest unfinished
	// requests.
	LeastOutstanding RoutingPolicy = "least_outstanding"
	// LeastKV picks the replica with the least KV pressure (blocks held
	// plus blocks its waiting prompts need).
	LeastKV RoutingPolicy = "least_kv"
)

// RoutingPolicies lists the valid routing policies.
var RoutingPolicies = []RoutingPolicy{RoundRobin, LeastOutstanding, LeastKV}

// Batching is how prefills and decodes share a replica's steps.
type Batching string

const (
	// BatchingMixed is vLLM V1's: decodes and prefill chunks in one step,
	// running requests first.
	BatchingMixed Batching = "mixed"
	// BatchingPrefillFirst is SGLang's: a step is either new prefills,
	// when any waiting request can be admitted, or all running decodes.
	BatchingPrefillFirst Batching = "prefill_first"
)

// BatchingPolicies lists the valid batching policies.
var BatchingPolicies = []Batching{BatchingMixed, BatchingPrefillFirst}

// Engine is the serving engine a replica models: its scheduler and, with
// scheduler.engine_version, its documented defaults (engine.go).
type Engine string

const (
	// EngineVLLM is vLLM's V1 engine: mixed batching under a token budget.
	EngineVLLM Engine = "vllm"
	// EngineSGLang is SGLang: prefill-first batching with conservative
	// admission.
	EngineSGLang Engine = "sglang"
	// EngineTRTLLM is TensorRT-LLM's PyTorch backend: in-flight batching
	// under a capacity scheduler policy.
	EngineTRTLLM Engine = "trtllm"
)

// Engines lists the valid engines.
var Engines = []Engine{EngineVLLM, EngineSGLang, EngineTRTLLM}

// CapacityPolicy is TensorRT-LLM's capacity scheduler policy: how it
// decides whether a waiting request's KV cache fits.
type CapacityPolicy string

const (
	// GuaranteedNoEvict admits a request only if the KV blocks of its
	// whole sequence (prompt + output tokens) fit beside what every
	// running request may still need: no request is ever evicted.
	GuaranteedNoEvict CapacityPolicy = "guaranteed_no_evict"
	// MaxUtilization admits while the blocks of the step fit and evicts
	// (pauses, to recompute later) the most recently admitted request
	// when running requests run out of blocks.
	MaxUtilization CapacityPolicy = "max_utilization"
)

// CapacityPolicies lists the valid capacity scheduler policies.
var CapacityPolicies = []CapacityPolicy{GuaranteedNoEvict, MaxUtilization}

// Topology is how the GPUs of one replica are connected.
type Topology string

const (
	// TopologyNVLink is a dedicated link per direction between each pair
	// of GPUs.
	TopologyNVLink Topology = "nvlink"
	// TopologyShared is one bus (PCIe) that every transfer of a replica
	// shares.
	TopologyShared Topology = "shared"
)

// Topologies lists the valid link topologies.
var Topologies = []Topology{TopologyNVLink, TopologyShared}

// Placement is how replicas, stages and TP ranks are laid on nodes
// (cluster.placement, topology.go).
type Placement string

const (
	// PlacementPacked fills the nodes in order, replica by replica, stage
	// by stage: a replica occupies consecutive GPUs.
	PlacementPacked Placement = "packed"
	// PlacementSpread deals node-sized pieces of the TP groups round-robin
	// over the nodes, so consecutive stages land on different nodes.
	PlacementSpread Placement = "spread"
)

// Placements lists the valid placements.
var Placements = []Placement{PlacementPacked, PlacementSpread}

// checkEnum returns a validation message for field when v is not one of
// valid, naming every valid value; "" when v is valid.
func checkEnum[T ~string](field string, v T, valid []T) string {
	names := make([]string, len(valid))
	for i, x := range valid {
		if x == v {
			return ""
		}
		names[i] = string(x)
	}
	return fmt.Sprintf("%s: %q, expected one of %s", field, string(v), strings.Join(names, ", "))
}
