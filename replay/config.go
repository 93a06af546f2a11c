package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// Duration is a YAML duration: a Go duration string ("20s", "100ms") or a
// number of seconds.
type Duration int64

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("line %d: duration %q: expected a finite number of seconds", n.Line, s)
		}
		*d = Duration(math.Round(v * 1e9))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: expected e.g. 20s, 150ms or a number of seconds", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// Config is a whole simulation: what runs, on what, under which load.
type Config struct {
	// Dir is the directory relative trace and profile paths resolve
	// against: the config file's, when it was read from one.
	Dir        string           `yaml:"-"`
	Name       string           `yaml:"name,omitempty"`
	Simulation SimulationConfig `yaml:"simulation"`
	Model      lod.Model        `yaml:"model"` // a built-in name, or a whole architecture
	Hardware   HardwareConfig   `yaml:"hardware"`
	Cluster    ClusterConfig    `yaml:"cluster"`
	Scheduler  SchedulerConfig  `yaml:"scheduler"`
	Router     RouterConfig     `yaml:"router"`
	Workload   WorkloadConfig   `yaml:"workload"`
	SLO        SLOConfig        `yaml:"slo,omitempty"`

	// inputProblems are what ParseConfig found in the YAML itself
	// (config_strict.go); Validate reports them with the rest.
	inputProblems []string
}

// SLOConfig holds the latency objectives goodput is measured against; an
// unset bound does not constrain. A request meets the SLO when it completes
// within every set bound.
type SLOConfig struct {
	TTFT Duration `yaml:"ttft,omitempty"` // time to first token
	TPOT Duration `yaml:"tpot,omitempty"` // time per output token after the first
	E2E  Duration `yaml:"e2e,omitempty"`  // end-to-end latency
}

// SimulationConfig controls the run itself.
type SimulationConfig struct {
	MaxSimulationTime Duration `yaml:"max_simulation_time"` // 0: run until every request is done
	LoD               LoD      `yaml:"lod"`                 // high | medium | adaptive
	Seed              uint64   `yaml:"seed"`
	SampleInterval    Duration `yaml:"sample_interval"` // time-series resolution; default 100ms
	// Variability is the coefficient of variation of each operation's time
	// on each rank (lognormal, mean 1) at the high level of detail; 0 turns
	// it off. Medium and adaptive take its expected effect on TP ranks
	// that wait for their slowest member (straggler.go).
	Variability float64 `yaml:"variability"`
	// ErrorBudget is the adaptive level of detail's tolerance: the
	// relative error of a step class's learned correction, at 95%
	// confidence, that ends its sampling at high. ApplyDefaults sets
	// DefaultErrorBudget (0.01) for an adaptive run that gives none.
	ErrorBudget float64 `yaml:"error_budget,omitempty"`
}

// HardwareConfig picks the GPU and where its costs come from.
type HardwareConfig struct {
	GPU string `yaml:"gpu"`
	// Profile is a calibrated profile file; empty uses the embedded profile
	// for the GPU when one exists, "roofline" forces the roofline model.
	Profile string `yaml:"profile,omitempty"`
}

// LinksConfig describes how the GPUs of one replica are connected.
type LinksConfig struct {
	// Topology "nvlink": a dedicated link per direction between each pair of
	// GPUs; "shared": every transfer in a replica shares one bus (PCIe).
	Topology Topology `yaml:"topology"`
	// BandwidthGBps and LatencyUs override the profile's per-hop link
	// (bytes/s per direction in GB/s, and microseconds).
	BandwidthGBps float64 `yaml:"bandwidth_gbps,omitempty"`
	LatencyUs     float64 `yaml:"latency_us,omitempty"`
}

// ClusterConfig is the layout of GPUs.
type ClusterConfig struct {
	Replicas         int `yaml:"replicas"`
	TensorParallel   int `yaml:"tensor_parallel"`
	PipelineParallel int `yaml:"pipeline_parallel"`
	// GPUMemoryUtilization is the fraction of GPU memory for weights and
	// KV cache (vLLM's gpu_memory_utilization, SGLang's
	// mem_fraction_static); with engine trtllm, TensorRT-LLM's
	// free_gpu_memory_fraction: the fraction of what weights and
	// activations leave that goes to the KV cache.
	GPUMemoryUtilization float64     `yaml:"gpu_memory_utilization"`
	ActivationReserveGB  float64     `yaml:"activation_reserve_gb,omitempty"` // 0: estimated
	Links                LinksConfig `yaml:"links"`
	// Expert parallelism of an MoE model (expertparallel.go): 0 is unset.
	// ExpertParallel is the benchmark rows' moe_ep_size,
	// AttentionDataParallel their attention_dp_size (replicas that share
	// the MoE layers), MoETensorParallel their moe_tp_size (derived; when
	// set it must agree), ExpertSkew the coefficient of variation of the
	// expert-parallel ranks' loads at high LoD (0: uniform). With
	// scheduler.engine vllm the attention data-parallel replicas are
	// vLLM's --data-parallel-size ranks: they gather each other's tokens
	// for the MoE layers (all-gather, reduce-scatter) and, on an
	// aggregated cluster of one pipeline stage, step in lock-step
	// (dpsync.go).
	ExpertParallel        int     `yaml:"expert_parallel,omitempty"`
	AttentionDataParallel int     `yaml:"attention_data_parallel,omitempty"`
	MoETensorParallel     int     `yaml:"moe_tensor_parallel,omitempty"`
	ExpertSkew            float64 `yaml:"expert_skew,omitempty"`
	// Disaggregated, when set, splits the cluster into a prefill and a
	// decode pool (config_disagg.go).
	Disaggregated *DisaggConfig `yaml:"disaggregated,omitempty"`
	// Nodes, GPUsPerNode and Network place the GPUs on nodes joined by a
	// network (topology.go); 0 nodes: one node holding every GPU.
	Nodes       int           `yaml:"nodes,omitempty"`
	GPUsPerNode int           `yaml:"gpus_per_node,omitempty"`
	Network     NetworkConfig `yaml:"network,omitempty"`
	// Placement lays replicas, stages and TP ranks on the nodes
	// (topology.go): packed (the default) or spread.
	Placement Placement `yaml:"placement,omitempty"`
}

// NetworkConfig is the link between two nodes: each node's NIC, per
// direction, shared by every transfer from one node to another.
type NetworkConfig struct {
	BandwidthGBps float64 `yaml:"bandwidth_gbps,omitempty"`
	LatencyUs     float64 `yaml:"latency_us,omitempty"`
}

// SchedulerConfig mirrors vLLM's engine arguments of the same names.
type SchedulerConfig struct {
	MaxNumSeqs          int   `yaml:"max_num_seqs"`
	MaxNumBatchedTokens int   `yaml:"max_num_batched_tokens"`
	BlockSize           int   `yaml:"block_size"`
	ChunkedPrefill      *bool `yaml:"chunked_prefill,omitempty"`
	MaxModelLen         int   `yaml:"max_model_len,omitempty"`
	// KVBlocks, when set, overrides the capacity derived from GPU memory
	// (useful for small scenarios and tests).
	KVBlocks int `yaml:"kv_blocks,omitempty"`
	// Batching is how prefills and decodes share steps: "mixed" (vLLM:
	// decodes and prefill chunks in one step, running requests first) or
	// "prefill_first" (SGLang's default: a step is either new prefills,
	// when any waiting request can be admitted, or all running decodes).
	Batching Batching `yaml:"batching,omitempty"`
	// AdmissionReserve > 0 turns on SGLang's conservative admission: a
	// waiting request is admitted only if the free KV cache, less
	// AdmissionReserve x the tokens each running request may still
	// generate, holds its prompt and all its output tokens. The ratio decays
	// linearly to 0.1 over 600 decode steps and returns to its initial value
	// after a preemption (SGLang's init_new_token_ratio, 0.7 by default).
	// 0 admits on prompt blocks alone, as vLLM does.
	AdmissionReserve float64 `yaml:"admission_reserve,omitempty"`
	// DecodeReservedTokens is SGLang's num_reserved_decode_tokens
	// (SGLANG_NUM_RESERVED_DECODE_TOKENS; engine sglang, disaggregated
	// decode pool only): set, a finished prefill's KV transfer starts only
	// if the decode worker's free KV, less this many tokens for each
	// request running, in transfer or preempted there (or, if more, what
	// the longest running request needs to finish with the others
	// retracted), and less each preempted one's tokens, holds the prompt
	// plus this many tokens more, and the prompt and output fit beside the
	// running requests' tokens (sglangRoom.sglangAllocatable). A request
	// whose prompt plus this many tokens needs more blocks than a decode
	// worker has could never move and is rejected on arrival
	// (exceeds_kv_capacity). 0 is SGLang's rule with no per-request
	// reserve, as SGLANG_NUM_RESERVED_DECODE_TOKENS=0 is there: the
	// longest-request and whole-output checks still hold. SGLang's own
	// default is 512; unset, lodsim's default, the rule is off and a
	// transfer starts once the prompt's blocks are free (BENCHMARKS.md,
	// "Decode pre-allocation reserve", says why).
	DecodeReservedTokens *int `yaml:"decode_reserved_tokens,omitempty"`

	// Engine is the serving engine modelled (engine.go): vllm, sglang or
	// trtllm. Set, it fills every field left unset with that engine's
	// documented defaults for EngineVersion (empty: the newest known) on
	// the configured GPU and TP, and picks its scheduler; explicit values
	// win. Unset, the scheduler is chosen by Batching and unset fields take
	// lodsim's historical defaults (vLLM-like, no CUDA graphs).
	Engine        Engine `yaml:"engine,omitempty"`
	EngineVersion string `yaml:"engine_version,omitempty"`
	// CUDAGraphSizes are the decode batch sizes captured as CUDA graphs: a
	// decode-only step of at most the largest size costs the compute of
	// the next size up (cudagraph.go). Empty: the engine's defaults.
	CUDAGraphSizes []int `yaml:"cuda_graph_sizes,omitempty"`
	// EnforceEager turns CUDA graphs off (vLLM's enforce_eager).
	EnforceEager bool `yaml:"enforce_eager,omitempty"`
	// CapacityPolicy is TensorRT-LLM's capacity scheduler policy
	// (engine trtllm only).
	CapacityPolicy CapacityPolicy `yaml:"capacity_policy,omitempty"`
	// OverlapScheduler is TensorRT-LLM's overlap scheduler (on unless
	// disabled, off with pipeline parallelism, where its PyExecutor runs
	// its pipeline loop instead), vLLM's async scheduling
	// (--async-scheduling, on by default from 0.14.0 without pipeline
	// parallelism) or SGLang's overlap schedule (on in SGLang unless
	// --disable-overlap-schedule, off with pipeline parallelism; off by
	// default in lodsim, whose SGLang engine costs are the time it leaves
	// exposed: engine.go sglangDefaults): the CPU work of a step hides
	// behind the GPU work of the step before. true with pipeline
	// parallelism is an error for every engine (engine.go checkAsyncPP).
	OverlapScheduler *bool `yaml:"overlap_scheduler,omitempty"`
	// Speculative is speculative decoding with draft modules (DeepSeek's
	// multi-token prediction, speculative.go): {method: mtp, draft_tokens:
	// k, acceptance_rate: a}. Nil: off.
	Speculative *SpeculativeConfig `yaml:"speculative,omitempty"`
	// BatchWaitTimeoutIters and BatchWaitMaxTokensRatio are TensorRT-LLM's
	// batch waiting (engine trtllm only; both 0, the default, turn it
	// off): while requests decode, newly scheduled prompts are held back
	// until the step's tokens (prompts plus decodes) reach
	// BatchWaitMaxTokensRatio x max_num_batched_tokens or
	// BatchWaitTimeoutIters steps have run without them.
	BatchWaitTimeoutIters   int     `yaml:"batch_wait_timeout_iters,omitempty"`
	BatchWaitMaxTokensRatio float64 `yaml:"batch_wait_max_tokens_ratio,omitempty"`
	// AttentionDPBalance, AttentionDPTimeoutIters and
	// AttentionDPBatchingWaitIters are TensorRT-LLM's attention-DP
	// balancing (attention_dp_config: enable_balance, timeout_iters,
	// batching_wait_iters; engine trtllm only, and only with
	// cluster.attention_data_parallel > 1): an attention data-parallel
	// rank holds its prompts back until every rank of its group has a
	// prompt to run, or until AttentionDPTimeoutIters steps have passed
	// without that (sched_trtllm.go, balanceHolds).
	AttentionDPBalance           bool `yaml:"attention_dp_balance,omitempty"`
	AttentionDPTimeoutIters      int  `yaml:"attention_dp_timeout_iters,omitempty"`
	AttentionDPBatchingWaitIters int  `yaml:"attention_dp_batching_wait_iters,omitempty"`
}

// RouterConfig picks the replica for each arriving request.
type RouterConfig struct {
	Policy RoutingPolicy `yaml:"policy"` // round_robin | least_outstanding | least_kv
}

// WorkloadConfig is either a trace, an embedded trace, a synthetic open-loop
// generator or a closed-loop client population.
type WorkloadConfig struct {
	Trace      string `yaml:"trace,omitempty"`
	Format     string `yaml:"format,omitempty"`
	Columns    string `yaml:"columns,omitempty"`
	TimeUnit   string `yaml:"time_unit,omitempty"`
	Sort       bool   `yaml:"sort,omitempty"`        // sort out-of-order arrivals instead of failing
	DropFailed bool   `yaml:"drop_failed,omitempty"` // drop rows with no output tokens
	KeepOffset bool   `yaml:"keep_offset,omitempty"` // keep arrival times as found`
	Embedded   string `yaml:"embedded,omitempty"`    // e.g. azure-conv-2023

	Synthetic  *SyntheticConfig  `yaml:"synthetic,omitempty"`
	ClosedLoop *ClosedLoopConfig `yaml:"closed_loop,omitempty"`
}

// SyntheticConfig is an open-loop generator.
type SyntheticConfig struct {
	Arrival  string              `yaml:"arrival"` // poisson | gamma
	Rate     float64             `yaml:"rate"`    // requests per second
	CV       float64             `yaml:"cv,omitempty"`
	Prompt   workload.LengthDist `yaml:"prompt"`
	Output   workload.LengthDist `yaml:"output"`
	Count    int64               `yaml:"count,omitempty"`
	Duration Duration            `yaml:"duration,omitempty"`
}

// ClosedLoopConfig is a population of clients that each send the next
// request when the previous one completes.
type ClosedLoopConfig struct {
	Clients   int                 `yaml:"clients"`
	Requests  int64               `yaml:"requests"`
	Prompt    workload.LengthDist `yaml:"prompt"`
	Output    workload.LengthDist `yaml:"output"`
	ThinkTime Duration            `yaml:"think_time,omitempty"`
	// Ramp spreads the clients' first requests evenly over this time
	// (trace.ClosedLoop.RampNs); 0 starts every client at once.
	Ramp Duration `yaml:"ramp,omitempty"`
}

// ParseConfig decodes YAML, rejecting unknown fields, and applies defaults.
// It does not validate: call Validate.
func ParseConfig(data []byte) (*Config, error) {
	c := &Config{}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	s := scanConfigTree(&root)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if len(s.Problems) > 0 {
			return nil, fmt.Errorf("config: %w\n  %s", err, strings.Join(s.Problems, "\n  "))
		}
		return nil, fmt.Errorf("config: %w", err)
	}
	s.finish(c)
	return c, nil
}

// Marshal encodes c as YAML.
func (c *Config) Marshal() ([]byte, error) { return yaml.Marshal(c) }

// Path resolves a path named in the config against Dir.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || c.Dir == "" || strings.HasPrefix(p, workload.EmbeddedPrefix) {
		return p
	}
	return filepath.Join(c.Dir, p)
}

// Clone returns a deep copy of c.
// clone is a deep copy of the scheduler settings: nothing it holds by
// pointer or slice is shared with s (Config.Clone, Config.ForPool).
func (s SchedulerConfig) clone() SchedulerConfig {
	d := s
	d.ChunkedPrefill = clonePtr(s.ChunkedPrefill)
	d.OverlapScheduler = clonePtr(s.OverlapScheduler)
	d.DecodeReservedTokens = clonePtr(s.DecodeReservedTokens)
	d.CUDAGraphSizes = slices.Clone(s.CUDAGraphSizes)
	if s.Speculative != nil {
		sp := *s.Speculative
		sp.AcceptanceRate = clonePtr(sp.AcceptanceRate)
		sp.AcceptanceRates = slices.Clone(sp.AcceptanceRates)
		d.Speculative = &sp
	}
	return d
}

// clonePtr is a pointer to a copy of *p, or nil.
func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

func (c *Config) Clone() *Config {
	d := *c
	d.Scheduler = c.Scheduler.clone()
	if c.Cluster.Disaggregated != nil {
		v := *c.Cluster.Disaggregated
		d.Cluster.Disaggregated = &v
	}
	if c.Workload.Synthetic != nil {
		s := *c.Workload.Synthetic
		d.Workload.Synthetic = &s
	}
	if c.Workload.ClosedLoop != nil {
		s := *c.Workload.ClosedLoop
		d.Workload.ClosedLoop = &s
	}
	return &d
}

// ApplyDefaults fills unset fields: with the engine's defaults when
// scheduler.engine is set (applyEngineDefaults), else with vLLM's where one
// exists.
func (c *Config) ApplyDefaults() {
	c.saveDisaggBase()
	s := &c.Simulation
	if s.LoD == "" {
		s.LoD = LoDMedium
	}
	if s.LoD == LoDAdaptive && s.ErrorBudget == 0 {
		s.ErrorBudget = DefaultErrorBudget
	}
	if s.SampleInterval == 0 {
		s.SampleInterval = Duration(100 * time.Millisecond)
	}
	k := &c.Cluster
	if k.Replicas == 0 {
		k.Replicas = 1
	}
	if k.TensorParallel == 0 {
		k.TensorParallel = 1
	}
	if k.PipelineParallel == 0 {
		k.PipelineParallel = 1
	}
	c.applyEngineDefaults()
	if k.GPUMemoryUtilization == 0 {
		k.GPUMemoryUtilization = 0.9
	}
	if k.Links.Topology == "" {
		k.Links.Topology = TopologyNVLink
	}
	sc := &c.Scheduler
	if sc.MaxNumSeqs == 0 {
		sc.MaxNumSeqs = 256
	}
	if sc.MaxNumBatchedTokens == 0 {
		sc.MaxNumBatchedTokens = 2048
	}
	if sc.BlockSize == 0 {
		sc.BlockSize = 16
	}
	if sc.Batching == "" {
		sc.Batching = BatchingMixed
	}
	if sc.ChunkedPrefill == nil {
		t := true
		sc.ChunkedPrefill = &t
	}
	if c.Router.Policy == "" {
		c.Router.Policy = RoundRobin
	}
}

// ResolveModel returns the architecture the config names, spells out or
// reads from model.config (after LoadModelConfig), with model.weights and
// model.kv_cache applied to a named one.
func (c *Config) ResolveModel() (lod.Model, error) {
	if c.Model.Layers > 0 {
		m := c.Model
		if m.Name == "" {
			m.Name = "custom"
		}
		if m.DTypeBytes == 0 {
			m.DTypeBytes = 2
		}
		m.Config = ""
		if errs := m.Validate(); len(errs) > 0 {
			return lod.Model{}, fmt.Errorf("model: %s", strings.Join(errs, "; "))
		}
		return m, nil
	}
	if c.Model.Config != "" {
		return lod.Model{}, fmt.Errorf("model.config %s: not read (LoadModelConfig)", c.Model.Config)
	}
	probe := c.Model
	probe.Name, probe.Weights, probe.KVCache = "", "", ""
	if probe != (lod.Model{}) {
		return lod.Model{}, fmt.Errorf("model: architecture fields without layers: give name (or config) with only weights and kv_cache, or spell out the whole architecture")
	}
	m, err := lod.LookupModel(c.Model.Name)
	if err != nil {
		return lod.Model{}, err
	}
	w, kv, err := c.modelPrecision()
	if err != nil {
		return lod.Model{}, err
	}
	return m.WithPrecision(w, kv), nil
}

// modelPrecision reads model.weights and model.kv_cache.
func (c *Config) modelPrecision() (w, kv lod.Precision, err error) {
	if c.Model.Weights != "" {
		if w, err = lod.ParsePrecision(string(c.Model.Weights)); err != nil {
			return "", "", fmt.Errorf("weights: %w", err)
		}
	}
	if c.Model.KVCache != "" {
		if kv, err = lod.ParsePrecision(string(c.Model.KVCache)); err != nil {
			return "", "", fmt.Errorf("kv_cache: %w", err)
		}
	}
	return w, kv, nil
}

// LoadModelConfig reads model.config, a Hugging Face config.json (and the
// hf_quant_config.json beside it, when read finds one), resolved against
// Dir, into the model's architecture; model.weights and model.kv_cache
// override its precision. read is the file reader (os.ReadFile); a config
// without model.config is left as it is.
func (c *Config) LoadModelConfig(read func(path string) ([]byte, error)) error {
	if c.Model.Config == "" || c.Model.Layers > 0 {
		return nil
	}
	path := c.Path(c.Model.Config)
	data, err := read(path)
	if err != nil {
		return fmt.Errorf("model.config: %w", err)
	}
	qpath := filepath.Join(filepath.Dir(path), strings.TrimSuffix(filepath.Base(path), "config.json")+"hf_quant_config.json")
	quant, err := read(qpath)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("model.config: %w", err)
	}
	name := c.Model.Name
	if name == "" {
		name = filepath.Base(filepath.Dir(path))
	}
	m, err := lod.ParseHFConfig(name, data, quant)
	if err != nil {
		return fmt.Errorf("model.config %s: %w", path, err)
	}
	w, kv, err := c.modelPrecision()
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	m = m.WithPrecision(w, kv)
	m.Config = c.Model.Config
	c.Model = m
	return nil
}

// Limits on the size of a simulation, checked by Validate so that a typo
// fails at once with the limit named instead of exhausting memory.
const (
	// MaxReplicas bounds cluster.replicas: each replica holds its own
	// queues, KV pool and executor state.
	MaxReplicas = 4096
	// MaxBlockSize bounds scheduler.block_size (tokens per KV block).
	MaxBlockSize = 1024
	// MaxTokens bounds the token and sequence counts of the scheduler
	// (max_num_seqs, max_num_batched_tokens, max_model_len, kv_blocks):
	// the engine counts them in 32 bits, and prompt + output is at most
	// 2^30 tokens (workload.MaxRequestTokens).
	MaxTokens = 1 << 30
)

// MaxModelLenFor is the longest request (prompt + output tokens) the
// configuration serves with model m: scheduler.max_model_len when set,
// else m's context length, as vLLM defaults it (0: no limit). A longer
// request is rejected on arrival (TooLongForModel).
func (c *Config) MaxModelLenFor(m lod.Model) int {
	if c.Scheduler.MaxModelLen > 0 {
		return c.Scheduler.MaxModelLen
	}
	return m.ContextLen
}

// problems collects validation messages, each with its field path.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

// enum adds msg, a checkEnum result, unless it is empty.
func (p *problems) enum(msg string) {
	if msg != "" {
		*p = append(*p, msg)
	}
}

// Validate reports every problem in c at once, each with its field path.
func (c *Config) Validate() error {
	p := problems(slices.Clone(c.inputProblems))
	c.validateSimulation(&p)
	m, merr := c.ResolveModel()
	if merr != nil {
		p.add("model: %v", merr)
	}
	if c.Hardware.GPU == "" {
		p.add("hardware.gpu: missing, expected a GPU name from the catalog")
	}
	c.validateCluster(&p, m, merr == nil)
	c.validateExperts(&p, m, merr == nil)
	c.validateDisagg(&p, m, merr == nil)
	c.validateScheduler(&p)
	c.validateSpeculative(&p, m, merr == nil)
	for _, b := range []struct {
		name string
		v    Duration
	}{{"slo.ttft", c.SLO.TTFT}, {"slo.tpot", c.SLO.TPOT}, {"slo.e2e", c.SLO.E2E}} {
		if b.v < 0 {
			p.add("%s: %v, expected a positive duration", b.name, time.Duration(b.v))
		}
	}
	p.enum(checkEnum("router.policy", c.Router.Policy, RoutingPolicies))
	c.validateWorkload(&p)
	if len(p) > 0 {
		return fmt.Errorf("invalid config:\n  %s", strings.Join(p, "\n  "))
	}
	return nil
}

func (c *Config) validateSimulation(p *problems) {
	p.enum(checkEnum("simulation.lod", c.Simulation.LoD, LoDs))
	if c.Simulation.MaxSimulationTime < 0 {
		p.add("simulation.max_simulation_time: %v, expected >= 0", time.Duration(c.Simulation.MaxSimulationTime))
	}
	if c.Simulation.SampleInterval < MinSampleInterval {
		p.add("simulation.sample_interval: %v, expected at least %v (the time series is bounded at %d points)",
			time.Duration(c.Simulation.SampleInterval), time.Duration(MinSampleInterval), MaxSamples)
	}
	if c.Simulation.Variability < 0 || c.Simulation.Variability > 10 || math.IsNaN(c.Simulation.Variability) {
		p.add("simulation.variability: %v, expected a coefficient of variation in [0, 10]", c.Simulation.Variability)
	}
	if b := c.Simulation.ErrorBudget; !(b >= 0 && b <= 0.5) {
		p.add("simulation.error_budget: %v, expected a relative error in [0, 0.5] (0: the default 0.01)", b)
	}
}

// validateCluster checks the layout; with a resolved model m (haveModel),
// also that it can be split as asked.
func (c *Config) validateCluster(p *problems, m lod.Model, haveModel bool) {
	k := c.Cluster
	if k.Replicas < 1 || k.Replicas > MaxReplicas {
		p.add("cluster.replicas: %d, expected 1 to %d", k.Replicas, MaxReplicas)
	}
	if k.TensorParallel < 1 {
		p.add("cluster.tensor_parallel: %d, expected >= 1", k.TensorParallel)
	}
	if k.PipelineParallel < 1 {
		p.add("cluster.pipeline_parallel: %d, expected >= 1", k.PipelineParallel)
	}
	if haveModel && k.TensorParallel >= 1 && m.Heads%k.TensorParallel != 0 {
		p.add("cluster.tensor_parallel: %d does not divide %s's %d attention heads", k.TensorParallel, m.Name, m.Heads)
	}
	checkHighTP(p, c.Simulation.LoD, "cluster.tensor_parallel", k.TensorParallel)
	if haveModel && m.ContextLen > 0 && c.Scheduler.MaxModelLen > m.ContextLen {
		p.add("scheduler.max_model_len: %d exceeds %s's context length of %d tokens (max_position_embeddings), expected at most that",
			c.Scheduler.MaxModelLen, m.Name, m.ContextLen)
	}
	if haveModel && k.PipelineParallel > m.Layers {
		p.add("cluster.pipeline_parallel: %d exceeds %s's %d layers", k.PipelineParallel, m.Name, m.Layers)
	}
	if !(k.GPUMemoryUtilization > 0 && k.GPUMemoryUtilization <= 1) {
		p.add("cluster.gpu_memory_utilization: %v, expected in (0, 1]", k.GPUMemoryUtilization)
	}
	if k.ActivationReserveGB < 0 {
		p.add("cluster.activation_reserve_gb: %v, expected >= 0", k.ActivationReserveGB)
	}
	p.enum(checkEnum("cluster.links.topology", k.Links.Topology, Topologies))
	if k.Links.BandwidthGBps < 0 {
		p.add("cluster.links.bandwidth_gbps: %v, expected > 0", k.Links.BandwidthGBps)
	}
	if k.Links.LatencyUs < 0 {
		p.add("cluster.links.latency_us: %v, expected >= 0", k.Links.LatencyUs)
	}
	c.validateNodes(p)
}

func (c *Config) validateScheduler(p *problems) {
	s := c.Scheduler
	if s.MaxNumSeqs < 1 || s.MaxNumSeqs > MaxTokens {
		p.add("scheduler.max_num_seqs: %d, expected 1 to %d", s.MaxNumSeqs, MaxTokens)
	}
	if s.MaxNumBatchedTokens < 1 || s.MaxNumBatchedTokens > MaxTokens {
		p.add("scheduler.max_num_batched_tokens: %d, expected 1 to %d", s.MaxNumBatchedTokens, MaxTokens)
	}
	if s.BlockSize < 1 || s.BlockSize > MaxBlockSize {
		p.add("scheduler.block_size: %d, expected 1 to %d tokens per KV block (engines use 1 to 256)", s.BlockSize, MaxBlockSize)
	}
	if s.MaxModelLen < 0 || s.MaxModelLen > MaxTokens {
		p.add("scheduler.max_model_len: %d, expected 1 to %d tokens (or leave it out for the model's context length)", s.MaxModelLen, MaxTokens)
	}
	if s.AdmissionReserve < 0 || s.AdmissionReserve > 1 || math.IsNaN(s.AdmissionReserve) {
		p.add("scheduler.admission_reserve: %v, expected a ratio in [0, 1]", s.AdmissionReserve)
	}
	p.enum(checkEnum("scheduler.batching", s.Batching, BatchingPolicies))
	if s.KVBlocks < 0 || s.KVBlocks > MaxTokens {
		p.add("scheduler.kv_blocks: %d, expected 1 to %d (or leave it out to derive it from GPU memory)", s.KVBlocks, MaxTokens)
	}
	c.validateEngine(p)
}

func (c *Config) validateWorkload(p *problems) {
	w := c.Workload
	n := 0
	if w.Trace != "" {
		n++
	}
	if w.Embedded != "" {
		n++
	}
	if w.Synthetic != nil {
		n++
		if !(w.Synthetic.Rate > 0) {
			p.add("workload.synthetic.rate: %v, expected > 0 requests/s", w.Synthetic.Rate)
		}
		sy := w.Synthetic
		if sy.Count < 0 {
			p.add("workload.synthetic.count: %d, expected a positive number of requests", sy.Count)
		}
		if sy.Duration < 0 {
			p.add("workload.synthetic.duration: %v, expected a positive duration", time.Duration(sy.Duration))
		}
		if sy.Count == 0 && sy.Duration == 0 {
			p.add("workload.synthetic: neither count nor duration set, expected at least one")
		}
		switch {
		case sy.CV < 0 || math.IsNaN(sy.CV) || math.IsInf(sy.CV, 0):
			p.add("workload.synthetic.cv: %v, expected a positive coefficient of variation", sy.CV)
		case sy.CV != 0 && sy.Arrival != "gamma":
			p.add("workload.synthetic.cv: %v with arrival %q, expected arrival: gamma (poisson arrivals have cv 1)", sy.CV, sy.Arrival)
		}
	}
	if w.ClosedLoop != nil {
		n++
		if w.ClosedLoop.Clients < 1 {
			p.add("workload.closed_loop.clients: %d, expected >= 1", w.ClosedLoop.Clients)
		}
		if w.ClosedLoop.Requests < 1 {
			p.add("workload.closed_loop.requests: %d, expected >= 1", w.ClosedLoop.Requests)
		}
		if w.ClosedLoop.ThinkTime < 0 {
			p.add("workload.closed_loop.think_time: %v, expected >= 0", time.Duration(w.ClosedLoop.ThinkTime))
		}
		if w.ClosedLoop.Ramp < 0 {
			p.add("workload.closed_loop.ramp: %v, expected >= 0", time.Duration(w.ClosedLoop.Ramp))
		}
	}
	if n != 1 {
		p.add("workload: %d sources set, expected exactly one of trace, embedded, synthetic, closed_loop", n)
	}
}
