package hwprofile

import (
	"path/filepath"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

const nsPerMs = 1e6

var aicMeta = []string{"framework", "version", "device", "op_name", "kernel_source"}

func aicGPU(t *table, i int) string {
	if d := t.str(i, "device"); d != "" {
		if k := gpuKeyFromLabel(d); k != "" {
			return k
		}
		return d
	}
	return ""
}

// aiconfigurator gemm_perf: m, n, k, gemm_dtype, latency (ms).
var aicGEMM = &layout{
	name:     "aiconfigurator gemm_perf",
	required: []string{"m", "n", "k", "latency"},
	optional: append([]string{"gemm_dtype"}, aicMeta...),
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var m Measurement
		var err error
		m.Op = cost.OpGEMM
		if m.M, err = t.int(i, "m", true); err != nil {
			return err
		}
		if m.N, err = t.int(i, "n", true); err != nil {
			return err
		}
		if m.K, err = t.int(i, "k", true); err != nil {
			return err
		}
		if m.MeanNs, err = aicLatency(t, i); err != nil {
			return err
		}
		if skipSmoothQuant(t, i, "gemm_dtype", c) {
			return nil
		}
		if m.Quant, err = aicQuant(t, i, "gemm_dtype"); err != nil {
			return err
		}
		m.Dtype = normDtype(t.str(i, "gemm_dtype"))
		m.Kernel = t.str(i, "kernel_source")
		m.GPU = aicGPU(t, i)
		*out = append(*out, m)
		return nil
	},
}

// smoothQuantMode is the quant mode of TensorRT-LLM's SmoothQuant INT8
// GEMMs (W8A8 with per-channel smoothing), which lodsim has no precision
// for: their rows are skipped and counted (readContext.skipped), not an
// error, since every older trtllm GEMM table has them beside the modelled
// modes.
const smoothQuantMode = "sq"

// skipSmoothQuant reports whether row i's col holds the SmoothQuant mode,
// counting it in c.
func skipSmoothQuant(t *table, i int, col string, c *readContext) bool {
	if strings.ToLower(strings.TrimSpace(t.str(i, col))) != smoothQuantMode {
		return false
	}
	c.skipped[smoothQuantMode]++
	return true
}

// aicQuant reads a quant-mode column; an empty cell is BF16 and an unknown
// mode is an error naming the cell.
func aicQuant(t *table, i int, col string) (cost.Precision, error) {
	v := t.str(i, col)
	if v == "" {
		return cost.BF16, nil
	}
	p, err := cost.ParsePrecision(v)
	if err != nil {
		return 0, t.errAt(i, col, "%v", err)
	}
	return p, nil
}

func aicLatency(t *table, i int) (float64, error) {
	v, ok, err := t.float(i, "latency")
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, t.errAt(i, "latency", "found an empty cell, expected a latency in milliseconds")
	}
	return v * nsPerMs, nil
}

// aiconfigurator {context,generation}_attention_perf: batch_size, isl,
// num_heads, num_key_value_heads, head_dim, attn_dtype, kv_cache_dtype, step,
// window_size, latency (ms). A context row is a prefill of isl tokens with no
// prefix; a generation row is one decode step at a KV length of isl + step.
var aicAttention = &layout{
	name:     "aiconfigurator attention_perf",
	required: []string{"batch_size", "isl", "num_heads", "num_key_value_heads", "head_dim", "latency"},
	optional: append([]string{"beam_width", "attn_dtype", "kv_cache_dtype", "step", "window_size"}, aicMeta...),
	fields: map[string]string{"batch": "batch_size", "seq_len": "isl", "heads": "num_heads",
		"kv_heads": "num_key_value_heads"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var m Measurement
		var err error
		switch op := t.str(i, "op_name"); {
		case op == "context_attention":
			m.Op = cost.OpContextAttention
		case op == "generation_attention":
			m.Op = cost.OpGenerationAttention
		case op == "" && strings.HasPrefix(filepath.Base(c.path), "context"):
			m.Op = cost.OpContextAttention
		case op == "" && strings.HasPrefix(filepath.Base(c.path), "generation"):
			m.Op = cost.OpGenerationAttention
		default:
			return t.errAt(i, "op_name", "found %q, expected context_attention or generation_attention", op)
		}
		if bw, err := t.int(i, "beam_width", false); err != nil {
			return err
		} else if bw > 1 {
			return nil // beam search is not modelled
		}
		for _, f := range []struct {
			dst *int64
			col string
		}{{&m.Batch, "batch_size"}, {&m.SeqLen, "isl"}, {&m.Heads, "num_heads"},
			{&m.KVHeads, "num_key_value_heads"}, {&m.HeadDim, "head_dim"}} {
			if *f.dst, err = t.int(i, f.col, true); err != nil {
				return err
			}
		}
		step, err := t.int(i, "step", false)
		if err != nil {
			return err
		}
		if step < 0 {
			return t.errAt(i, "step", "found %d, expected zero or more", step)
		}
		if m.Op == cost.OpGenerationAttention {
			m.SeqLen += step
		}
		if m.Window, err = t.int(i, "window_size", false); err != nil {
			return err
		}
		if m.Window < 0 {
			return t.errAt(i, "window_size", "found %d, expected zero or more", m.Window)
		}
		return appendAttention(t, i, m, "attn_dtype", out)
	},
}

// aiconfigurator nccl_perf: op_name, nccl_dtype, num_gpus, message_size (in
// elements of nccl_dtype), latency (ms). The 2.23 tables put the columns in
// another order and have no framework/version/device; columns are found by
// name, so both read the same.
var aicNCCL = &layout{
	name:     "aiconfigurator nccl_perf",
	required: []string{"nccl_dtype", "num_gpus", "message_size", "op_name", "latency"},
	optional: aicMeta,
	fields:   map[string]string{"bytes": "message_size", "gpus": "num_gpus"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var m Measurement
		switch op := t.str(i, "op_name"); op {
		case "all_reduce":
			m.Op = cost.OpAllReduce
		case "all_gather":
			m.Op = cost.OpAllGather
		case "reduce_scatter":
			m.Op = cost.OpReduceScatter
		case "alltoall":
			m.Op = cost.OpAllToAll
		default:
			return t.errAt(i, "op_name", "found %q, expected all_reduce, all_gather, reduce_scatter or alltoall", op)
		}
		return aicComm(t, i, "nccl_dtype", m, out)
	},
}

// aiconfigurator custom_allreduce_perf (vLLM's custom all-reduce):
// allreduce_dtype, num_gpus, message_size (elements), backend, latency (ms).
var aicCustomAllReduce = &layout{
	name:     "aiconfigurator custom_allreduce_perf",
	required: []string{"allreduce_dtype", "num_gpus", "message_size", "latency"},
	optional: append([]string{"backend", "implementation"}, aicMeta...),
	fields:   map[string]string{"bytes": "message_size", "gpus": "num_gpus"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		return aicComm(t, i, "allreduce_dtype", Measurement{Op: cost.OpCustomAllReduce}, out)
	},
}

func aicComm(t *table, i int, dtypeCol string, m Measurement, out *[]Measurement) error {
	m.Dtype = normDtype(t.str(i, dtypeCol))
	size := dtypeBytes(m.Dtype)
	if size == 0 {
		return t.errAt(i, dtypeCol, "found %q, expected a known element type (half, bfloat16, float, int8, ...)", t.str(i, dtypeCol))
	}
	elems, err := t.int(i, "message_size", true)
	if err != nil {
		return err
	}
	if elems <= 0 {
		return t.errAt(i, "message_size", "found %d, expected a positive element count", elems)
	}
	m.Bytes = elems * size
	g, err := t.int(i, "num_gpus", true)
	if err != nil {
		return err
	}
	m.GPUs = int(g)
	if m.MeanNs, err = aicLatency(t, i); err != nil {
		return err
	}
	m.Kernel = t.str(i, "kernel_source")
	m.GPU = aicGPU(t, i)
	*out = append(*out, m)
	return nil
}

// aiconfigurator {context,generation}_mla_perf: DeepSeek latent attention
// kernels by per-rank num_heads (tp_size records the split), batch_size,
// isl, step, mla_dtype, kv_cache_dtype, latency (ms). As for attention, a
// generation row's KV length is isl + step.
var aicMLA = &layout{
	name:     "aiconfigurator mla_perf",
	required: []string{"mla_dtype", "kv_cache_dtype", "num_heads", "batch_size", "isl", "latency"},
	optional: append([]string{"tp_size", "step"}, aicMeta...),
	fields:   map[string]string{"batch": "batch_size", "seq_len": "isl", "heads": "num_heads"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var m Measurement
		switch op := t.str(i, "op_name"); {
		case op == "mla_context" || op == "context_mla" || (op == "" && strings.HasPrefix(filepath.Base(c.path), "context")):
			m.Op = cost.OpContextMLA
		case op == "mla_generation" || op == "generation_mla" || (op == "" && strings.HasPrefix(filepath.Base(c.path), "generation")):
			m.Op = cost.OpGenerationMLA
		default:
			return t.errAt(i, "op_name", "found %q, expected mla_context or mla_generation (context_mla, generation_mla)", op)
		}
		step, err := mlaShape(t, i, &m, false)
		if err != nil {
			return err
		}
		if m.Op == cost.OpGenerationMLA {
			m.SeqLen += step
		}
		return appendMLA(t, i, m, out)
	},
}

// mlaShape reads an MLA row's batch, prompt length and heads into m and
// returns its step column (zero or more; required when stepRequired).
func mlaShape(t *table, i int, m *Measurement, stepRequired bool) (int64, error) {
	for _, f := range []struct {
		dst *int64
		col string
	}{{&m.Batch, "batch_size"}, {&m.SeqLen, "isl"}, {&m.Heads, "num_heads"}} {
		v, err := t.int(i, f.col, true)
		if err != nil {
			return 0, err
		}
		*f.dst = v
	}
	step, err := t.int(i, "step", stepRequired)
	if err != nil {
		return 0, err
	}
	if step < 0 {
		return 0, t.errAt(i, "step", "found %d, expected zero or more", step)
	}
	return step, nil
}

// appendMLA checks an MLA row's dtypes and appends it (appendAttention).
func appendMLA(t *table, i int, m Measurement, out *[]Measurement) error {
	for _, col := range []string{"mla_dtype", "kv_cache_dtype"} {
		if _, err := aicQuant(t, i, col); err != nil {
			return err
		}
	}
	return appendAttention(t, i, m, "mla_dtype", out)
}

// appendAttention reads an attention or MLA row's latency, its compute
// dtype (column dtypeCol) and KV-cache dtype, kernel and GPU into m and
// appends it: the tail every attention table shares.
func appendAttention(t *table, i int, m Measurement, dtypeCol string, out *[]Measurement) error {
	var err error
	if m.MeanNs, err = aicLatency(t, i); err != nil {
		return err
	}
	m.Dtype = normDtype(t.str(i, dtypeCol))
	m.KVDtype = normDtype(t.str(i, "kv_cache_dtype"))
	m.Kernel = t.str(i, "kernel_source")
	m.GPU = aicGPU(t, i)
	*out = append(*out, m)
	return nil
}

// aiconfigurator moe_perf: the routed experts of one MoE layer on one rank,
// by num_tokens, hidden_size, inter_size, topk, num_experts, moe_tp_size,
// moe_ep_size, the weights' quant mode moe_dtype and the routing
// distribution; latency (ms).
var aicMoE = &layout{
	name: "aiconfigurator moe_perf",
	required: []string{"moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts",
		"moe_tp_size", "moe_ep_size", "latency"},
	optional: append([]string{"distribution"}, aicMeta...),
	fields: map[string]string{"tokens": "num_tokens", "hidden": "hidden_size", "inter": "inter_size",
		"experts": "num_experts", "moe_tp": "moe_tp_size", "moe_ep": "moe_ep_size"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		m := Measurement{Op: cost.OpMoE}
		var err error
		for _, f := range []struct {
			dst *int64
			col string
		}{{&m.Batch, "num_tokens"}, {&m.Hidden, "hidden_size"}, {&m.Inter, "inter_size"}, {&m.TopK, "topk"},
			{&m.Experts, "num_experts"}, {&m.MoETP, "moe_tp_size"}, {&m.MoEEP, "moe_ep_size"}} {
			if *f.dst, err = t.int(i, f.col, true); err != nil {
				return err
			}
		}
		if m.Quant, err = aicQuant(t, i, "moe_dtype"); err != nil {
			return err
		}
		if m.MeanNs, err = aicLatency(t, i); err != nil {
			return err
		}
		m.Distribution = t.str(i, "distribution")
		m.Dtype = "bf16" // activations; the weights are Quant
		m.Kernel = t.str(i, "kernel_source")
		m.GPU = aicGPU(t, i)
		*out = append(*out, m)
		return nil
	},
}

// mlaModuleArch is the architecture whose attention module the module
// rows must time: cost.DeepSeekV3MLAModule's dimensions.
const mlaModuleArch = "DeepseekV3ForCausalLM"

// aiconfigurator mla_{context,generation}_module_perf: DeepSeek-V3's whole
// attention module (cost.MLAModule) by per-rank num_heads, batch_size,
// isl (context: the prefill length), step (context: the prefix, only 0 is
// read; generation: the KV length, the new token included), the
// projections' gemm_type, mla_dtype, kv_cache_dtype; latency (ms). Rows of
// other architectures are skipped with a note (their dimensions differ).
var aicMLAModule = &layout{
	name:     "aiconfigurator mla_module_perf",
	required: []string{"model", "architecture", "mla_dtype", "kv_cache_dtype", "gemm_type", "num_heads", "batch_size", "isl", "latency"},
	optional: append([]string{"tp_size", "step"}, aicMeta...),
	fields:   map[string]string{"batch": "batch_size", "seq_len": "isl", "heads": "num_heads"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		m := Measurement{Op: cost.OpContextMLAModule}
		switch op := t.str(i, "op_name"); {
		case op == "mla_context_module" || (op == "" && strings.Contains(filepath.Base(c.path), "context")):
		case op == "mla_generation_module" || (op == "" && strings.Contains(filepath.Base(c.path), "generation")):
			m.Op = cost.OpGenerationMLAModule
		default:
			return t.errAt(i, "op_name", "found %q, expected mla_context_module or mla_generation_module", op)
		}
		if a := t.str(i, "architecture"); a != mlaModuleArch {
			c.skipped["architecture "+a]++
			return nil
		}
		step, err := mlaShape(t, i, &m, m.Op == cost.OpGenerationMLAModule)
		if err != nil {
			return err
		}
		if m.Op == cost.OpGenerationMLAModule {
			m.SeqLen = step
		} else {
			m.Prefix = step
		}
		if m.Quant, err = aicQuant(t, i, "gemm_type"); err != nil {
			return err
		}
		return appendMLA(t, i, m, out)
	},
}

// Tables aiconfigurator ships that lodsim recognises but does not
// calibrate from: the absorbed-weight MLA BMMs (lodsim costs them as GEMMs
// beside the MLA kernel), and DeepSeek-V4 fused MegaMoE modules. They are
// read, checked for their key columns and recorded as sources with no
// rows, so that a directory of an engine's tables reads whole.
var aicUnused = []*layout{
	{name: "aiconfigurator mla_bmm_perf (not used)", required: []string{"bmm_dtype", "num_tokens", "num_heads", "latency"}, anyOther: true},
	{name: "aiconfigurator dsv4_megamoe_module_perf (not used)", required: []string{"phase", "kernel_dtype", "global_num_tokens",
		"moe_dtype", "num_tokens", "hidden_size", "inter_size", "topk", "num_experts", "moe_tp_size", "moe_ep_size", "latency"},
		anyOther: true, unused: megaMoEUnused},
}

// megaMoEUnused is why the fused MegaMoE module rows are not MoE
// measurements for lodsim: each times the token dispatch to the expert
// ranks, the experts and the combine in one kernel across the EP group,
// where lodsim's moe op is the routed experts of one rank alone and the
// dispatch and combine are its all-to-all collectives (taking the module
// as the experts would count the all-to-all twice).
const megaMoEUnused = "fused MegaMoE modules (dispatch, routed experts and combine in one kernel across the EP ranks) " +
	"are not lodsim's moe op (the routed experts of one rank, with the all-to-all modelled apart); no MoE fit comes from them"

// vidurStats reads time_stats.<name>.{mean,median,std} (ms).
func vidurStats(t *table, i int, name string, m *Measurement) (ok bool, err error) {
	pre := "time_stats." + name + "."
	for _, f := range []struct {
		dst *float64
		col string
	}{{&m.MeanNs, "mean"}, {&m.MedianNs, "median"}, {&m.StdNs, "std"}} {
		v, has, err := t.float(i, pre+f.col)
		if err != nil {
			return false, err
		}
		if has {
			*f.dst = v * nsPerMs
			ok = true
		}
	}
	return ok, nil
}

// Vidur network profiles (all_reduce.csv, send_recv.csv): size in bytes,
// num_workers, collective, devices_per_node, time_stats.<collective>.* (ms).
var vidurNetwork = &layout{
	name:     "vidur network",
	required: []string{"size", "num_workers", "collective"},
	optional: []string{"index", "rank", "devices_per_node", "max_devices_per_node"},
	prefixes: []string{"time_stats.all_reduce.", "time_stats.send_recv."},
	fields:   map[string]string{"bytes": "size", "gpus": "num_workers"},
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		m := Measurement{Dtype: "fp16"}
		coll := t.str(i, "collective")
		switch coll {
		case "all_reduce":
			m.Op = cost.OpAllReduce
		case "send_recv":
			m.Op = cost.OpSend
		default:
			return t.errAt(i, "collective", "found %q, expected all_reduce or send_recv", coll)
		}
		var err error
		if m.Bytes, err = t.int(i, "size", true); err != nil {
			return err
		}
		g, err := t.int(i, "num_workers", true)
		if err != nil {
			return err
		}
		m.GPUs = int(g)
		dpn, err := t.int(i, "devices_per_node", false)
		if err != nil {
			return err
		}
		m.GPUsPerNode = int(dpn)
		ok, err := vidurStats(t, i, coll, &m)
		if err != nil {
			return err
		}
		if !ok {
			return t.errAt(i, "time_stats."+coll+".median", "found no timing, expected time_stats.%s.mean or .median in milliseconds", coll)
		}
		if m.Op == cost.OpSend && m.GPUs != 2 {
			return t.errAt(i, "num_workers", "found %d, expected 2 for send_recv", m.GPUs)
		}
		*out = append(*out, m)
		return nil
	},
}

// vidurComputeOps are the operations of Vidur's mlp.csv. The four
// projections become GEMMs; the norms, residual add and activation become
// element-wise traffic; the embedding lookup and rotary embedding are read
// but not used.
var vidurComputeOps = []string{"emb", "input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj",
	"post_attention_layernorm", "mlp_up_proj", "mlp_act", "mlp_down_proj", "add"}

// Vidur compute profiles (mlp.csv): per-operation time_stats.<op>.* (ms) by
// num_tokens and num_tensor_parallel_workers for one model (n_head,
// n_kv_head, n_embd, n_expanded_embd, use_gated_mlp). Each row yields one
// GEMM per projection, with the shapes Vidur's tensor-parallel layers run:
//
//	attn_pre_proj  m=tokens n=(n_head+2 n_kv_head) hd/tp k=n_embd
//	attn_post_proj m=tokens n=n_embd                    k=n_head hd/tp
//	mlp_up_proj    m=tokens n=(2 if gated) n_exp/tp     k=n_embd
//	mlp_down_proj  m=tokens n=n_embd                    k=n_exp/tp
//
// and element-wise rows for the norms (read+write tokens x n_embd), the
// residual add (two reads, one write) and the gated activation.
var vidurCompute = &layout{
	name:     "vidur compute",
	required: []string{"num_tokens", "num_tensor_parallel_workers", "n_head", "n_embd"},
	optional: []string{"index", "n_kv_head", "n_expanded_embd", "vocab_size", "use_gated_mlp"},
	prefixes: prefixed("time_stats.", vidurComputeOps),
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var v [6]int64
		for j, col := range []string{"num_tokens", "num_tensor_parallel_workers", "n_head", "n_kv_head", "n_embd", "n_expanded_embd"} {
			x, err := t.int(i, col, col != "n_kv_head" && col != "n_expanded_embd")
			if err != nil {
				return err
			}
			if x < 0 || (x == 0 && j != 3 && j != 5) {
				return t.errAt(i, col, "found %d, expected a positive integer", x)
			}
			v[j] = x
		}
		tok, tp, nh, nkv, emb, exp := v[0], v[1], v[2], v[3], v[4], v[5]
		if nkv == 0 {
			nkv = nh
		}
		if exp == 0 {
			exp = 4 * emb
		}
		if emb%nh != 0 {
			return t.errAt(i, "n_embd", "found %d, expected a multiple of n_head (%d)", emb, nh)
		}
		hd := emb / nh
		gated := int64(1)
		switch g := strings.ToLower(t.str(i, "use_gated_mlp")); g {
		case "true", "1":
			gated = 2
		case "", "false", "0":
		default:
			return t.errAt(i, "use_gated_mlp", "found %q, expected True or False", g)
		}
		rows := []struct {
			op string
			m  Measurement
		}{
			{"attn_pre_proj", Measurement{Op: cost.OpGEMM, M: tok, N: (nh + 2*nkv) * hd / tp, K: emb}},
			{"attn_post_proj", Measurement{Op: cost.OpGEMM, M: tok, N: emb, K: nh * hd / tp}},
			{"mlp_up_proj", Measurement{Op: cost.OpGEMM, M: tok, N: gated * exp / tp, K: emb}},
			{"mlp_down_proj", Measurement{Op: cost.OpGEMM, M: tok, N: emb, K: exp / tp}},
			{"input_layernorm", Measurement{Op: cost.OpElementwise, Bytes: 2 * 2 * tok * emb}},
			{"post_attention_layernorm", Measurement{Op: cost.OpElementwise, Bytes: 2 * 2 * tok * emb}},
			{"add", Measurement{Op: cost.OpElementwise, Bytes: 3 * 2 * tok * emb}},
			{"mlp_act", Measurement{Op: cost.OpElementwise, Bytes: (gated + 1) * 2 * tok * exp / tp}},
		}
		for _, r := range rows {
			m := r.m
			ok, err := vidurStats(t, i, r.op, &m)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			m.Dtype, m.Kernel = "fp16", "vidur:"+r.op
			*out = append(*out, m)
		}
		return nil
	},
}

func prefixed(pre string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = pre + n + "."
	}
	return out
}

// latencyUnits are the unit suffixes the canonical schema accepts, in ns.
var latencyUnits = []struct {
	suffix string
	ns     float64
}{{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}}

func canonicalLatencyCols() []string {
	var out []string
	for _, stat := range []string{"mean", "median", "std"} {
		for _, u := range latencyUnits {
			out = append(out, stat+"_"+u.suffix)
		}
	}
	return out
}

// canonicalLayout is lodsim's own schema, documented in MEASUREMENTS.md.
var canonicalLayout = &layout{
	name:     "lodsim canonical",
	required: []string{"op"},
	optional: append([]string{"gpu", "engine", "quant", "dtype", "kv_dtype", "kernel", "m", "n", "k", "batch", "seq_len", "prefix",
		"heads", "kv_heads", "head_dim", "window", "tokens", "hidden", "inter", "experts", "topk", "moe_tp", "moe_ep",
		"distribution", "bytes", "gpus", "gpus_per_node", "samples"}, canonicalLatencyCols()...),
	read: func(t *table, i int, c *readContext, out *[]Measurement) error {
		var m Measurement
		op, ok := cost.ParseOp(t.str(i, "op"))
		if !ok {
			ops := cost.Ops()
			names := make([]string, len(ops))
			for j, o := range ops {
				names[j] = string(o)
			}
			return t.errAt(i, "op", "found %q, expected one of %s", t.str(i, "op"), strings.Join(names, ", "))
		}
		if op == cost.OpQuantGEMM {
			op = cost.OpGEMM // quant_gemm is gemm with its quant column
		}
		m.Op = op
		ints := []struct {
			dst *int64
			col string
		}{{&m.M, "m"}, {&m.N, "n"}, {&m.K, "k"}, {&m.Batch, "batch"}, {&m.SeqLen, "seq_len"},
			{&m.Prefix, "prefix"}, {&m.Heads, "heads"}, {&m.KVHeads, "kv_heads"}, {&m.HeadDim, "head_dim"},
			{&m.Window, "window"}, {&m.Bytes, "bytes"}, {&m.Hidden, "hidden"}, {&m.Inter, "inter"},
			{&m.Experts, "experts"}, {&m.TopK, "topk"}, {&m.MoETP, "moe_tp"}, {&m.MoEEP, "moe_ep"}}
		var err error
		for _, f := range ints {
			if *f.dst, err = t.int(i, f.col, false); err != nil {
				return err
			}
		}
		var g, gpn, samples int64
		if g, err = t.int(i, "gpus", false); err != nil {
			return err
		}
		if gpn, err = t.int(i, "gpus_per_node", false); err != nil {
			return err
		}
		if samples, err = t.int(i, "samples", false); err != nil {
			return err
		}
		m.GPUs, m.GPUsPerNode, m.Samples = int(g), int(gpn), int(samples)
		if op == cost.OpMoE {
			if m.Batch, err = t.int(i, "tokens", true); err != nil {
				return err
			}
		}
		if m.Quant, err = aicQuant(t, i, "quant"); err != nil {
			return err
		}
		if e := t.str(i, "engine"); e != "" {
			if m.Engine = engineOf(e); m.Engine == "" {
				return t.errAt(i, "engine", "found %q, expected vllm, sglang, trtllm or empty", e)
			}
		}
		m.Distribution = t.str(i, "distribution")
		for _, stat := range []struct {
			dst  *float64
			name string
		}{{&m.MeanNs, "mean"}, {&m.MedianNs, "median"}, {&m.StdNs, "std"}} {
			for _, u := range latencyUnits {
				col := stat.name + "_" + u.suffix
				v, has, err := t.float(i, col)
				if err != nil {
					return err
				}
				if !has {
					continue
				}
				if *stat.dst != 0 {
					return t.errAt(i, col, "found a second %s latency column, expected one unit per statistic", stat.name)
				}
				if v < 0 {
					return t.errAt(i, col, "found %v, expected zero or more", v)
				}
				*stat.dst = v * u.ns
			}
		}
		if m.MeanNs == 0 && m.MedianNs == 0 {
			return t.errAt(i, "median_*", "found no latency, expected mean_<unit> or median_<unit> (unit ns, us, ms or s)")
		}
		m.Dtype = normDtype(t.str(i, "dtype"))
		if m.Dtype == "" {
			m.Dtype = "bf16"
		}
		m.KVDtype = normDtype(t.str(i, "kv_dtype"))
		m.Kernel = t.str(i, "kernel")
		if gpu := t.str(i, "gpu"); gpu != "" {
			if k := gpuKeyFromLabel(gpu); k != "" {
				m.GPU = k
			} else {
				m.GPU = gpu
			}
		}
		*out = append(*out, m)
		return nil
	},
}
