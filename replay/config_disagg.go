package replay

import (
	"fmt"
	"math"
	"slices"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// DisaggConfig splits the cluster into a prefill pool and a decode pool
// (cluster.disaggregated), as NVIDIA Dynamo, SGLang's PD mode, vLLM's
// disaggregated prefill and llm-d deploy it:
//
//	cluster:
//	  disaggregated:
//	    prefill: {workers: 2, tensor_parallel: 4, max_num_batched_tokens: 8192}
//	    decode:  {workers: 2, tensor_parallel: 4, router: least_kv}
//	    transfer: {link: network}
//
// Each pool is a set of identical workers (replicas) with its own TP x PP,
// scheduler limits, router and GPU (gpu, default hardware.gpu: prefill on
// H200, decode on H100, say); everything else (model, engine, the
// scheduler block) is shared. The engine's defaults are applied per pool,
// for its own TP and PP. cluster.replicas, tensor_parallel and
// pipeline_parallel are per pool and must be left unset.
type DisaggConfig struct {
	Prefill  PoolConfig     `yaml:"prefill"`
	Decode   PoolConfig     `yaml:"decode"`
	Transfer TransferConfig `yaml:"transfer,omitempty"`

	// The scheduler block and memory fraction as written, before any
	// defaults: each pool applies its engine's defaults for its own TP.
	base             SchedulerConfig
	baseMem, baseAct float64
	saved            bool
}

// PoolConfig is one pool of a disaggregated cluster. Unset limits take the
// scheduler block's value, else the engine's default for the pool.
type PoolConfig struct {
	Workers              int     `yaml:"workers"`
	TensorParallel       int     `yaml:"tensor_parallel,omitempty"`   // default 1
	PipelineParallel     int     `yaml:"pipeline_parallel,omitempty"` // default 1
	GPUMemoryUtilization float64 `yaml:"gpu_memory_utilization,omitempty"`
	ActivationReserveGB  float64 `yaml:"activation_reserve_gb,omitempty"`
	MaxNumSeqs           int     `yaml:"max_num_seqs,omitempty"`
	MaxNumBatchedTokens  int     `yaml:"max_num_batched_tokens,omitempty"`
	KVBlocks             int     `yaml:"kv_blocks,omitempty"`
	// ExpertParallel, AttentionDataParallel and MoETensorParallel are the
	// pool's cluster.expert_parallel, attention_data_parallel and
	// moe_tensor_parallel (expertparallel.go): with attention data
	// parallelism each attention group of tensor_parallel GPUs is a worker,
	// so workers is a multiple of attention_data_parallel. Unset: 1.
	ExpertParallel        int `yaml:"expert_parallel,omitempty"`
	AttentionDataParallel int `yaml:"attention_data_parallel,omitempty"`
	MoETensorParallel     int `yaml:"moe_tensor_parallel,omitempty"`
	// Router picks the pool's worker for each request: round_robin,
	// least_outstanding (least loaded) or least_kv (KV-aware; on the
	// decode pool it counts the transfers waiting for room). Default
	// round_robin.
	Router RoutingPolicy `yaml:"router,omitempty"`
	// GPU is the pool's GPU, a catalog name; unset, hardware.gpu. The
	// pool's step costs come from that GPU's profile for the run's engine
	// (the caller resolves it: Input.PrefillCost, DecodeCost), its KV
	// cache from that GPU's memory, its engine defaults from both. Pools
	// on different GPUs share no NVLink domain: their KV caches go over
	// the network.
	GPU string `yaml:"gpu,omitempty"`
	// Profile is the pool's calibrated profile file (a path relative to
	// the config, as hardware.profile), calibrated on the pool's GPU, or
	// "roofline"; unset, hardware.profile when the pool runs on
	// hardware.gpu, else the shipped profile of the pool's GPU. It lets
	// pools on different GPUs each run on a calibrated profile.
	Profile string `yaml:"profile,omitempty"`
}

// KVLink is the kind of link a KV cache crosses from prefill to decode.
type KVLink string

const (
	// KVLinkNVLink: both pools in one NVLink domain (an HGX node, an NVL72
	// rack); each prefill GPU sends over its NVLink port, the same port its
	// tensor-parallel ring uses, so KV transfers and collectives share it.
	KVLinkNVLink KVLink = "nvlink"
	// KVLinkNetwork: the pools on different nodes; each prefill GPU sends
	// over its own RDMA NIC (InfiniBand or RoCE, one per GPU as in HGX
	// systems), shared by that GPU's transfers.
	KVLinkNetwork KVLink = "network"
)

// KVLinks lists the valid KV transfer links.
var KVLinks = []KVLink{KVLinkNVLink, KVLinkNetwork}

// Default RDMA NIC per GPU: ConnectX-7 at 400 Gb/s (50 GB/s per
// direction), as in DGX/HGX H100 and H200 systems; a few microseconds of
// latency for an RDMA write through one switch plus the transfer engine's
// per-transfer setup (Mooncake, NIXL).
const (
	defaultNICGBps     = 50
	defaultNICLatencyU = 5
)

// TransferConfig is how KV caches move from prefill to decode workers.
type TransferConfig struct {
	// Link is nvlink or network; unset, nvlink when every GPU of both
	// pools fits in the GPU's NVLink domain (cost.GPU.LinkDomain), else
	// network.
	Link KVLink `yaml:"link,omitempty"`
	// BandwidthGBps and LatencyUs override the link's figures (GB/s per
	// direction per GPU, microseconds). Default: the profile's
	// point-to-point (or TP ring) link for nvlink, a 400 Gb/s NIC with 5 us
	// for network.
	BandwidthGBps float64 `yaml:"bandwidth_gbps,omitempty"`
	LatencyUs     float64 `yaml:"latency_us,omitempty"`
	// SetupUs is a fixed setup time of each request's transfer, in
	// microseconds, on top of the link's latency: the transfer engine's
	// handshake before the first byte moves (SGLang PD's bootstrap with
	// Mooncake or NIXL, Dynamo's NIXL metadata exchange). It is a delay,
	// not link occupancy: concurrent transfers do not share it. Default 0.
	SetupUs float64 `yaml:"setup_us,omitempty"`
}

// layout is the pool's expert-parallel layout, its fields under prefix.
func (p PoolConfig) layout(prefix string) epLayout {
	return epLayout{prefix: prefix, replicasField: prefix + ".workers", replicas: p.Workers, tp: p.TensorParallel,
		ep: p.ExpertParallel, dp: p.AttentionDataParallel, moeTP: p.MoETensorParallel}
}

// gpus is the pool's GPU count.
func (p PoolConfig) gpus() int {
	return p.Workers * max(p.TensorParallel, 1) * max(p.PipelineParallel, 1)
}

// saveDisaggBase keeps the scheduler block as written, before defaults,
// so that each pool can apply its engine's defaults for its own TP, then
// writes each pool's resolved limits into its PoolConfig: the config as
// marshalled (a run directory's config.yaml) then reproduces the pools
// exactly, although its scheduler block holds defaults by then.
func (c *Config) saveDisaggBase() {
	d := c.Cluster.Disaggregated
	if d == nil || d.saved {
		return
	}
	d.base = c.Scheduler
	d.base.CUDAGraphSizes = slices.Clone(c.Scheduler.CUDAGraphSizes)
	d.baseMem, d.baseAct = c.Cluster.GPUMemoryUtilization, c.Cluster.ActivationReserveGB
	d.saved = true
	defer func() {
		for _, k := range []PoolKind{PoolPrefill, PoolDecode} {
			x, p := c.ForPool(k), &d.Prefill
			if k == PoolDecode {
				p = &d.Decode
			}
			p.MaxNumSeqs, p.MaxNumBatchedTokens = x.Scheduler.MaxNumSeqs, x.Scheduler.MaxNumBatchedTokens
			p.GPUMemoryUtilization, p.ActivationReserveGB = x.Cluster.GPUMemoryUtilization, x.Cluster.ActivationReserveGB
		}
	}()
	for _, p := range []*PoolConfig{&d.Prefill, &d.Decode} {
		if p.TensorParallel == 0 {
			p.TensorParallel = 1
		}
		if p.PipelineParallel == 0 {
			p.PipelineParallel = 1
		}
		if p.Router == "" {
			p.Router = RoundRobin
		}
	}
}

// ForPool is the whole config of one pool of a disaggregated cluster,
// defaults applied: the shared parts of c with the pool's workers (as
// cluster.replicas), TP, PP and limits. It is nil for an aggregated
// cluster or kind PoolAggregated.
func (c *Config) ForPool(kind PoolKind) *Config {
	d := c.Cluster.Disaggregated
	if d == nil || kind == PoolAggregated {
		return nil
	}
	p := d.Pool(kind)
	x := c.Clone()
	x.Cluster.Disaggregated = nil
	x.Scheduler = d.base.clone()
	if kind == PoolPrefill {
		// A prefill worker hands each request on after its first token
		// and runs no decode step, so it verifies no drafts and loads no
		// draft module: speculation is the decode pool's (SGLang's PD
		// recipes set speculative-algorithm on the decode workers only).
		x.Scheduler.Speculative = nil
	}
	x.Cluster.GPUMemoryUtilization, x.Cluster.ActivationReserveGB = d.baseMem, d.baseAct
	x.Cluster.Replicas = p.Workers
	x.Cluster.TensorParallel, x.Cluster.PipelineParallel = p.TensorParallel, p.PipelineParallel
	x.Cluster.ExpertParallel, x.Cluster.AttentionDataParallel = p.ExpertParallel, p.AttentionDataParallel
	x.Cluster.MoETensorParallel = p.MoETensorParallel
	setIfSet := func(dst *int, v int) {
		if v != 0 {
			*dst = v
		}
	}
	setIfSet(&x.Scheduler.MaxNumSeqs, p.MaxNumSeqs)
	setIfSet(&x.Scheduler.MaxNumBatchedTokens, p.MaxNumBatchedTokens)
	setIfSet(&x.Scheduler.KVBlocks, p.KVBlocks)
	if p.GPUMemoryUtilization != 0 {
		x.Cluster.GPUMemoryUtilization = p.GPUMemoryUtilization
	}
	if p.ActivationReserveGB != 0 {
		x.Cluster.ActivationReserveGB = p.ActivationReserveGB
	}
	x.Router.Policy = p.Router
	if p.GPU != "" {
		x.Hardware.GPU = p.GPU
	}
	x.Hardware.Profile = c.PoolProfile(kind)
	x.ApplyDefaults()
	return x
}

// validateDisagg checks cluster.disaggregated: every problem, each named
// by its field. With a resolved model m (haveModel), also that each pool
// can split it.
func (c *Config) validateDisagg(p *problems, m lod.Model, haveModel bool) {
	d := c.Cluster.Disaggregated
	if d == nil {
		return
	}
	k := c.Cluster
	if k.Replicas > 1 {
		p.add("cluster.replicas: %d with cluster.disaggregated, expected unset: give cluster.disaggregated.prefill.workers and decode.workers", k.Replicas)
	}
	if k.TensorParallel > 1 || k.PipelineParallel > 1 {
		p.add("cluster.tensor_parallel/pipeline_parallel: %d/%d with cluster.disaggregated, expected unset: give them per pool", k.TensorParallel, k.PipelineParallel)
	}
	if k.ExpertParallel > 1 || k.AttentionDataParallel > 1 || k.MoETensorParallel > 0 {
		p.add("cluster.expert_parallel/attention_data_parallel/moe_tensor_parallel: %d/%d/%d with cluster.disaggregated, expected unset: give them per pool (cluster.disaggregated.prefill.expert_parallel, ...)",
			k.ExpertParallel, k.AttentionDataParallel, k.MoETensorParallel)
	}
	validatePool(p, "cluster.disaggregated.prefill", d.Prefill, m, haveModel)
	validatePool(p, "cluster.disaggregated.decode", d.Decode, m, haveModel)
	checkHighTP(p, c.Simulation.LoD, "cluster.disaggregated.prefill.tensor_parallel", d.Prefill.TensorParallel)
	checkHighTP(p, c.Simulation.LoD, "cluster.disaggregated.decode.tensor_parallel", d.Decode.TensorParallel)
	t := d.Transfer
	if t.Link != "" {
		p.enum(checkEnum("cluster.disaggregated.transfer.link", t.Link, KVLinks))
	}
	pg, dg, ok := c.poolGPUs()
	if ok && pg.Key != dg.Key && t.Link == KVLinkNVLink {
		p.add("cluster.disaggregated.transfer.link: nvlink, but the prefill pool runs on %s and the decode pool on %s: different GPUs share no NVLink domain; expected network", pg.Name, dg.Name)
	}
	if t.BandwidthGBps < 0 || math.IsNaN(t.BandwidthGBps) {
		p.add("cluster.disaggregated.transfer.bandwidth_gbps: %v, expected > 0", t.BandwidthGBps)
	}
	if t.LatencyUs < 0 || math.IsNaN(t.LatencyUs) {
		p.add("cluster.disaggregated.transfer.latency_us: %v, expected >= 0", t.LatencyUs)
	}
	if t.SetupUs < 0 || t.SetupUs > 1e9 || math.IsNaN(t.SetupUs) {
		p.add("cluster.disaggregated.transfer.setup_us: %v, expected in [0, 1e9] microseconds", t.SetupUs)
	}
}

// validatePool checks pool q, field f.
func validatePool(p *problems, f string, q PoolConfig, m lod.Model, haveModel bool) {
	if q.Workers < 1 {
		p.add("%s.workers: %d, expected >= 1 (a pool needs a worker)", f, q.Workers)
	}
	if q.TensorParallel < 1 {
		p.add("%s.tensor_parallel: %d, expected >= 1", f, q.TensorParallel)
	}
	if q.PipelineParallel < 1 {
		p.add("%s.pipeline_parallel: %d, expected >= 1", f, q.PipelineParallel)
	}
	if haveModel && q.TensorParallel >= 1 && m.Heads%q.TensorParallel != 0 {
		p.add("%s.tensor_parallel: %d does not divide %s's %d attention heads", f, q.TensorParallel, m.Name, m.Heads)
	}
	if haveModel && q.PipelineParallel > m.Layers {
		p.add("%s.pipeline_parallel: %d exceeds %s's %d layers", f, q.PipelineParallel, m.Name, m.Layers)
	}
	if q.GPUMemoryUtilization < 0 || q.GPUMemoryUtilization > 1 || math.IsNaN(q.GPUMemoryUtilization) {
		p.add("%s.gpu_memory_utilization: %v, expected in (0, 1]", f, q.GPUMemoryUtilization)
	}
	if q.MaxNumSeqs < 0 {
		p.add("%s.max_num_seqs: %d, expected >= 1", f, q.MaxNumSeqs)
	}
	if q.MaxNumBatchedTokens < 0 {
		p.add("%s.max_num_batched_tokens: %d, expected >= 1", f, q.MaxNumBatchedTokens)
	}
	if q.KVBlocks < 0 {
		p.add("%s.kv_blocks: %d, expected >= 0", f, q.KVBlocks)
	}
	if q.ActivationReserveGB < 0 || math.IsNaN(q.ActivationReserveGB) {
		p.add("%s.activation_reserve_gb: %v, expected >= 0", f, q.ActivationReserveGB)
	}
	p.enum(checkEnum(f+".router", q.Router, RoutingPolicies))
	if q.GPU != "" {
		if _, err := cost.LookupGPU(q.GPU); err != nil {
			p.add("%s.gpu: %v", f, err)
		}
	}
}

// poolGPU is the name of pool q's GPU: its own, else hardware.gpu.
func (c *Config) poolGPU(q PoolConfig) string {
	if q.GPU != "" {
		return q.GPU
	}
	return c.Hardware.GPU
}

// poolGPUs looks up the prefill and decode pools' GPUs; ok is false when
// either is not in the catalog (Validate reports it).
func (c *Config) poolGPUs() (prefill, decode cost.GPU, ok bool) {
	d := c.Cluster.Disaggregated
	pg, perr := cost.LookupGPU(c.poolGPU(d.Prefill))
	dg, derr := cost.LookupGPU(c.poolGPU(d.Decode))
	return pg, dg, perr == nil && derr == nil
}

// PoolGPU is the GPU pool kind of a disaggregated cluster runs on, as
// configured (its gpu, else hardware.gpu), and whether it differs from
// hardware.gpu; "", false for an aggregated cluster or pool.
func (c *Config) PoolGPU(kind PoolKind) (name string, own bool) {
	d := c.Cluster.Disaggregated
	if d == nil || kind == PoolAggregated {
		return "", false
	}
	q := d.Pool(kind)
	name = c.poolGPU(q)
	g, err := cost.LookupGPU(name)
	h, herr := cost.LookupGPU(c.Hardware.GPU)
	if err == nil && herr == nil {
		return g.Name, g.Key != h.Key
	}
	return name, name != c.Hardware.GPU
}

// PoolProfile is the profile pool kind of a disaggregated cluster takes
// its costs from, as hardware.profile names one: the pool's profile when
// set; else hardware.profile when the pool runs on hardware.gpu (a file
// calibrated on that GPU, or roofline) or hardware.profile is roofline;
// else "" (the shipped profile of the pool's GPU). "" for an aggregated
// cluster or pool.
func (c *Config) PoolProfile(kind PoolKind) string {
	d := c.Cluster.Disaggregated
	if d == nil || kind == PoolAggregated {
		return ""
	}
	q := d.Pool(kind)
	if q.Profile != "" {
		return q.Profile
	}
	if _, own := c.PoolGPU(kind); !own || c.Hardware.Profile == "roofline" {
		return c.Hardware.Profile
	}
	return ""
}

// GPULabel names the cluster's GPU: hardware.gpu, or for a disaggregated
// cluster whose pools run on different GPUs each pool's, as
// "H200-SXM prefill + H100-SXM decode".
func (c *Config) GPULabel() string {
	if c.Cluster.Disaggregated == nil {
		if g, err := cost.LookupGPU(c.Hardware.GPU); err == nil {
			return g.Name
		}
		return c.Hardware.GPU
	}
	p, _ := c.PoolGPU(PoolPrefill)
	d, _ := c.PoolGPU(PoolDecode)
	if p == d {
		return p
	}
	return p + " prefill + " + d + " decode"
}

// kvLink is the link kind the transfers take: as configured, else nvlink
// when both pools run on GPU g and all their GPUs fit in one NVLink domain
// of g (pools on different GPUs: network).
func (d *DisaggConfig) kvLink(g cost.GPU, sameGPU bool) KVLink {
	if d.Transfer.Link != "" {
		return d.Transfer.Link
	}
	if sameGPU && d.Prefill.gpus()+d.Decode.gpus() <= g.Domain() {
		return KVLinkNVLink
	}
	return KVLinkNetwork
}

// poolCapacityError is the error of a pool whose KV cache cannot hold
// what one request needs there, naming the pool's fields.
func poolCapacityError(kind PoolKind, blocks int64, blockSize, tokens int, what string) error {
	return fmt.Errorf("cluster.disaggregated.%s: a worker's KV cache holds %d tokens (%d blocks of %d), less than %s (%d tokens); raise %s.tensor_parallel, gpu_memory_utilization or kv_blocks",
		kind, blocks*int64(blockSize), blocks, blockSize, what, tokens, kind)
}

// GPUs is the cluster's GPU count: replicas x TP x PP, or the sum over a
// disaggregated cluster's pools.
func (c *Config) GPUs() int {
	if d := c.Cluster.Disaggregated; d != nil {
		return d.Prefill.gpus() + d.Decode.gpus()
	}
	k := c.Cluster
	return k.Replicas * k.TensorParallel * k.PipelineParallel
}

// Layout says how the cluster's GPUs are split into replicas:
// "4 replica(s) x TP1 x PP1", or for a disaggregated cluster
// "2 prefill x TP1 x PP1 + 2 decode x TP1 x PP1", a pool's attention data
// parallelism and expert parallelism following its TP x PP when set
// ("1 prefill x TP8 x PP1 EP8 + ...").
func (c *Config) Layout() string {
	if d := c.Cluster.Disaggregated; d != nil {
		pool := func(kind string, p PoolConfig) string {
			s := fmt.Sprintf("%d %s x TP%d x PP%d", p.Workers, kind, p.TensorParallel, p.PipelineParallel)
			if p.AttentionDataParallel > 1 {
				s += fmt.Sprintf(" DP%d", p.AttentionDataParallel)
			}
			if p.ExpertParallel > 1 {
				s += fmt.Sprintf(" EP%d", p.ExpertParallel)
			}
			return s
		}
		return pool("prefill", d.Prefill) + " + " + pool("decode", d.Decode)
	}
	k := c.Cluster
	return fmt.Sprintf("%d replica(s) x TP%d x PP%d", k.Replicas, k.TensorParallel, k.PipelineParallel)
}

// Pool is the pool config of kind: Decode for PoolDecode, else Prefill.
func (d *DisaggConfig) Pool(kind PoolKind) PoolConfig {
	if kind == PoolDecode {
		return d.Decode
	}
	return d.Prefill
}
