package validation

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/replay"
)

// DisaggLayout is a disaggregated row's pools, from the silicon layout's
// prefill_* and decode_* columns; 0 where the row leaves a column blank.
type DisaggLayout struct {
	PrefillWorkers, PrefillTP, PrefillPP, PrefillAttentionDP, PrefillMoEEP, PrefillMoETP int
	DecodeWorkers, DecodeTP, DecodePP, DecodeAttentionDP, DecodeMoEEP, DecodeMoETP       int
}

// String is the pools' layout as "p=1x8 d=2x4": each pool's workers (1
// where blank) x TP, with its PP, attention DP and expert parallelism
// after when above 1 ("p=1x8/ep8 d=1x8/dp8/ep8").
func (d DisaggLayout) String() string {
	pool := func(workers, tp, pp, dp, ep int) string {
		s := fmt.Sprintf("%dx%d", max(workers, 1), tp)
		for _, x := range []struct {
			name string
			n    int
		}{{"pp", pp}, {"dp", dp}, {"ep", ep}} {
			if x.n > 1 {
				s += fmt.Sprintf("/%s%d", x.name, x.n)
			}
		}
		return s
	}
	return "p=" + pool(d.PrefillWorkers, d.PrefillTP, d.PrefillPP, d.PrefillAttentionDP, d.PrefillMoEEP) +
		" d=" + pool(d.DecodeWorkers, d.DecodeTP, d.DecodePP, d.DecodeAttentionDP, d.DecodeMoEEP)
}

// disaggColumns are the silicon layout's columns of disaggregated rows.
// They follow mode, so a disaggregated row's blank batch_size is known
// when silicon_data_source is read.
func disaggColumns() []column {
	f := func(dst func(*DisaggLayout) *int) func(*Row, string) error {
		return intField(func(r *Row) *int { return dst(&r.Disagg) }, 1)
	}
	return []column{
		{names: []string{"prefill_num_workers"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillWorkers })},
		{names: []string{"prefill_tp_size"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillTP })},
		{names: []string{"prefill_pp_size"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillPP })},
		{names: []string{"prefill_attention_dp_size"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillAttentionDP })},
		{names: []string{"prefill_moe_tp_size"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillMoETP })},
		{names: []string{"prefill_moe_ep_size"}, set: f(func(d *DisaggLayout) *int { return &d.PrefillMoEEP })},
		{names: []string{"decode_num_workers"}, set: f(func(d *DisaggLayout) *int { return &d.DecodeWorkers })},
		{names: []string{"decode_tp_size"}, set: f(func(d *DisaggLayout) *int { return &d.DecodeTP })},
		{names: []string{"decode_pp_size"}, set: f(func(d *DisaggLayout) *int { return &d.DecodePP })},
		{names: []string{"decode_attention_dp_size"}, set: f(func(d *DisaggLayout) *int { return &d.DecodeAttentionDP })},
		{names: []string{"decode_moe_tp_size"}, set: f(func(d *DisaggLayout) *int { return &d.DecodeMoETP })},
		{names: []string{"decode_moe_ep_size"}, set: f(func(d *DisaggLayout) *int { return &d.DecodeMoEEP })},
		{names: []string{"silicon_data_source"}, set: func(r *Row, v string) error {
			r.InferenceMAX = fromInferenceMAX(v)
			r.Client = sourceClient(r)
			return sourceConcurrency(r, v)
		}},
	}
}

// sourceConcurrency reads silicon_concurrency=N from silicon_data_source
// ("source_file=...; model=...; silicon_concurrency=1024; ..."), where
// the upstream files put a disaggregated row's client count (its
// batch_size, read before, is blank). Aggregated rows ignore it.
func sourceConcurrency(r *Row, v string) error {
	if !r.Disaggregated() || r.Concurrency > 0 {
		return nil
	}
	for _, kv := range strings.Split(v, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || k != "silicon_concurrency" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil || n < 1 {
			return fmt.Errorf("silicon_concurrency: found %q, expected a positive integer", val)
		}
		r.Concurrency = n
	}
	return nil
}

// disaggRowConfig builds the simulation of a disaggregated row: a
// prefill pool and a decode pool of the row's workers (its recipe's where
// the row leaves them blank and disaggLayout knows it, else 1), TP
// and PP, the engine's defaults per pool, KV moved over NVLink when both
// pools fit in one node of the row's GPU, else over the network
// (replay's default link choice), SGLang's decode pre-allocation reserve
// on an SGLang decode pool (decodeReserve), and the closed-loop workload
// of the row's client (InferenceMAX's rows: benchmark_serving, sourceClient)
// with the row's concurrency (batch_size, else the data source's
// silicon_concurrency).
//
// Each pool's attention_dp_size, moe_ep_size and moe_tp_size map onto its
// attention_data_parallel, expert_parallel and moe_tensor_parallel, as
// RowConfig maps an aggregated row's: each of a worker's attention_dp_size
// groups of TP GPUs is a replica, so a pool has num_workers x
// attention_dp_size of them. A moe_tp_size that disagrees with TP x
// attention DP / EP fails validation and skips the row.
func disaggRowConfig(row Row, opt Options) (*experiment.Experiment, error) {
	d := disaggLayout(row)
	clients := row.Concurrency
	if clients < 1 {
		return nil, skipf("disaggregated row without a concurrency (batch_size or silicon_data_source's silicon_concurrency)")
	}
	if d.PrefillTP < 1 || d.DecodeTP < 1 {
		return nil, skipf("disaggregated row without prefill_tp_size and decode_tp_size")
	}
	r, err := resolveRow(row, opt)
	if err != nil {
		return nil, err
	}
	m, engine, version, g, cp := r.model, r.engine, r.version, r.gpu, r.profile
	lodName := opt.LoD
	if lodName == "" {
		lodName = "medium"
	}
	pool := func(workers, tp, pp, dp, ep, moeTP int) replay.PoolConfig {
		return replay.PoolConfig{Workers: max(workers, 1) * max(dp, 1), TensorParallel: tp, PipelineParallel: max(pp, 1),
			AttentionDataParallel: attentionDP(dp), ExpertParallel: expertParallel(ep), MoETensorParallel: max(moeTP, 0)}
	}
	cfg := &replay.Config{
		Name:       row.ID,
		Simulation: replay.SimulationConfig{LoD: replay.LoD(lodName), Seed: opt.Seed},
		Model:      m,
		Hardware:   replay.HardwareConfig{GPU: g.Name},
		Cluster: replay.ClusterConfig{Disaggregated: &replay.DisaggConfig{
			Prefill: pool(d.PrefillWorkers, d.PrefillTP, d.PrefillPP, d.PrefillAttentionDP, d.PrefillMoEEP, d.PrefillMoETP),
			Decode:  pool(d.DecodeWorkers, d.DecodeTP, d.DecodePP, d.DecodeAttentionDP, d.DecodeMoEEP, d.DecodeMoETP)}},
		Scheduler: replay.SchedulerConfig{Engine: engine, EngineVersion: version, DecodeReservedTokens: decodeReserve(engine)},
		Workload: replay.WorkloadConfig{ClosedLoop: &replay.ClosedLoopConfig{
			Clients:  clients,
			Requests: row.Client.requests(clients, opt),
			Prompt:   row.Client.lengths(row.ISL),
			Output:   row.Client.lengths(row.OSL),
		}},
	}
	if rc := disaggRecipeFor(row); rc != nil {
		cd := cfg.Cluster.Disaggregated
		rc.prefill.apply(&cd.Prefill, d.PrefillAttentionDP)
		rc.decode.apply(&cd.Decode, d.DecodeAttentionDP)
		// An MTP entry's decode pool speculates. replay's PoolConfig has
		// no speculative setting of its own: the scheduler block's reaches
		// both pools (ForPool), and the prefill pool, whose requests leave
		// it after their first token, never runs a decode step with it.
		cfg.Scheduler.Speculative = rc.speculative()
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, skipf("%v", err)
	}
	for _, k := range []replay.PoolKind{replay.PoolPrefill, replay.PoolDecode} {
		pc := cfg.ForPool(k)
		blocks, err := replay.KVBlocks(pc, m, g, cp.Overhead.MemoryReserveGB)
		if err != nil {
			return nil, skipf("%s pool does not fit: %v", k, err)
		}
		if need := int64(row.ISL+row.OSL+pc.Scheduler.BlockSize-1) / int64(pc.Scheduler.BlockSize); need > blocks {
			return nil, skipf("KV cache of %d tokens per %s worker cannot hold one request of %d tokens", blocks*int64(pc.Scheduler.BlockSize), k, row.ISL+row.OSL)
		}
	}
	x, err := experiment.New(cfg, experiment.WithCost(&cp, analysis.ProfileID{Name: cp.Name(), GPU: g.Name, Generator: cp.Generator}))
	if err != nil {
		return nil, skipf("%v", err)
	}
	return x, nil
}

// sglangDecodeReservedTokens is SGLang's num_reserved_decode_tokens
// (SGLANG_NUM_RESERVED_DECODE_TOKENS, default 512), which its decode
// server keeps free for every request it holds before it pre-allocates
// another transfer (replay's scheduler.decode_reserved_tokens,
// BENCHMARKS.md "Decode pre-allocation reserve of disaggregated rows").
// None of the dev set's recipes sets the variable.
const sglangDecodeReservedTokens = 512

// decodeReserve is the decode pool's pre-allocation reserve of engine e:
// SGLang's default, unset for the others (the setting is SGLang's).
func decodeReserve(e replay.Engine) *int {
	if e == replay.EngineSGLang {
		n := sglangDecodeReservedTokens
		return &n
	}
	return nil
}
