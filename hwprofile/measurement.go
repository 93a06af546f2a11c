package hwprofile

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Measurement is one measured operation in the canonical form every reader
// produces. Only the shape fields of its Op are set; the others are zero.
//
//   - gemm: M, N, K (an M x K by K x N multiply).
//   - context_attention: Batch sequences of SeqLen new tokens each after
//     Prefix cached tokens, Heads, KVHeads, HeadDim.
//   - generation_attention: Batch sequences with SeqLen tokens of context
//     (the KV length), Heads, KVHeads, HeadDim.
//   - all_reduce, all_gather, reduce_scatter, custom_all_reduce: Bytes (the
//     whole buffer, as nccl-tests reports it) over GPUs ranks.
//   - all_to_all: Bytes sent by each of GPUs ranks.
//   - context_mla, generation_mla: as the attention ops, with Heads the
//     per-rank query heads and KVDtype the latent cache's type.
//   - context_mla_module, generation_mla_module: as context_mla and
//     generation_mla, for DeepSeek-V3's whole attention module
//     (cost.MLAModule), with Quant the projections' weights.
//   - moe: Batch tokens through a layer of Hidden, Inter, Experts, TopK
//     split over MoETP x MoEEP ranks, weights at Quant.
//   - send: Bytes from one GPU to another.
//   - elementwise: Bytes moved (read plus written).
type Measurement struct {
	Op    cost.Op
	GPU   string // catalog key where known (e.g. "h100_sxm"), else the device string
	Dtype string // element type of the computation, normalised: "bf16", "fp16", "fp8", ...
	// KVDtype is the KV-cache element type of attention rows ("" = Dtype).
	KVDtype string
	// Window is the sliding-window size of attention rows, 0 for full
	// attention.
	Window int64
	// Kernel names the implementation measured (kernel_source), when known.
	Kernel string
	// Engine is the serving engine whose kernels were measured ("vllm",
	// "sglang", "trtllm"), "" for engine-independent tables (NCCL) and
	// sources that do not say; Version is its version.
	Engine, Version string
	// Quant is the weights' precision of gemm and moe rows.
	Quant cost.Precision

	M, N, K int64

	Batch, SeqLen, Prefix int64
	Heads, KVHeads        int64
	HeadDim               int64

	// MoE layer shape (moe rows): Batch holds the token count.
	Hidden, Inter, Experts, TopK int64
	MoETP, MoEEP                 int64
	// Distribution is the MoE routing of the measurement ("balanced",
	// "power_law_1.2", ...).
	Distribution string

	Bytes       int64
	GPUs        int
	GPUsPerNode int // 0 when unknown; < GPUs means the ranks span nodes

	Samples  int     // 0 when unknown
	MeanNs   float64 // 0 when unknown
	MedianNs float64 // 0 when unknown
	StdNs    float64 // 0 when unknown

	// Source locates the row: file path relative to the measurement root and
	// the 1-based data row.
	Source string
	Row    int
}

// LatencyNs is the latency calibration uses: the median when the source gives
// one (robust to outliers), else the mean.
func (m *Measurement) LatencyNs() float64 {
	if m.MedianNs > 0 {
		return m.MedianNs
	}
	return m.MeanNs
}

// Measurements is what ReadMeasurements returns: the rows of every table, in
// file order, with where they came from.
type Measurements struct {
	Rows    []Measurement
	Sources []cost.SourceFile
	// SourceCommit and SourceDate come from a COMMIT file ("<sha> <date>
	// <time> <zone>") beside or above the tables, as the copies under
	// hwprofile/data carry; calibration dates a profile by SourceDate so that
	// rebuilding it is byte-identical.
	SourceCommit string
	SourceDate   string
	// Notes are what the reader noticed but did not reject: a reuse.yaml
	// pointing at a version that is not there, a table its
	// collection_meta.yaml does not call complete.
	Notes []string

	dirs map[string]*dirInfo
}

// GPUs lists the distinct GPU labels of the rows, sorted.
func (ms *Measurements) GPUs() []string {
	seen := map[string]bool{}
	for i := range ms.Rows {
		seen[ms.Rows[i].GPU] = true
	}
	out := make([]string, 0, len(seen))
	for g := range seen {
		out = append(out, g)
	}
	sort.Strings(out)
	return out
}

// gpuKeyFromLabel maps a device string or directory name to a catalog key,
// or returns "" when it names no catalog GPU. It recognises catalog names,
// keys and aliases, the aiconfigurator and Vidur directory names
// ("h100_sxm", "a100", "h100_dgx") and the CUDA device names the tables carry
// ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA H200").
func gpuKeyFromLabel(s string) string {
	l := strings.ToLower(strings.TrimSpace(s))
	if g, err := cost.LookupGPU(l); err == nil {
		return g.Key
	}
	for _, suf := range []string{"_dgx", "_pairwise_nvlink"} {
		if t, ok := strings.CutSuffix(l, suf); ok {
			if g, err := cost.LookupGPU(t); err == nil {
				return g.Key
			}
		}
	}
	l = strings.TrimPrefix(l, "nvidia ")
	switch {
	case strings.Contains(l, "h100") && strings.Contains(l, "pcie"):
		return "h100_pcie"
	case strings.Contains(l, "h100") && (strings.Contains(l, "hbm3") || strings.Contains(l, "sxm")):
		return "h100_sxm"
	case strings.Contains(l, "h200"):
		return "h200_sxm"
	case strings.Contains(l, "a100") && strings.Contains(l, "40gb"):
		return "a100_sxm_40gb"
	case strings.Contains(l, "a100") && strings.Contains(l, "sxm"):
		return "a100_sxm"
	case strings.Contains(l, "gb200"):
		return "gb200"
	case strings.Contains(l, "b200"):
		return "b200_sxm"
	case strings.Contains(l, "l40s"):
		return "l40s"
	}
	return ""
}

// normDtype maps the dtype spellings of the tables to short names.
func normDtype(s string) string {
	switch l := strings.ToLower(strings.TrimSpace(s)); l {
	case "bfloat16", "bf16", "torch.bfloat16":
		return "bf16"
	case "half", "float16", "fp16", "torch.float16":
		return "fp16"
	case "float", "float32", "fp32":
		return "fp32"
	default:
		return l
	}
}

// dtypeBytes is the element size of a normalised dtype, 0 when unknown.
func dtypeBytes(d string) int64 {
	switch d {
	case "bf16", "fp16":
		return 2
	case "fp32", "int32":
		return 4
	case "fp8", "int8", "fp8_block", "uint8":
		return 1
	}
	return 0
}

// isHalf reports whether d is a 16-bit float, the precision lodsim models.
func isHalf(d string) bool { return d == "bf16" || d == "fp16" }

// validate checks the shape fields of m for its op and returns a message
// naming the first impossible field, or "".
func (m *Measurement) validate() (field string, found any, want string) {
	pos := func(name string, v int64) bool {
		if v <= 0 {
			field, found, want = name, v, "a positive integer"
			return false
		}
		return true
	}
	switch m.Op {
	case cost.OpGEMM:
		_ = pos("m", m.M) && pos("n", m.N) && pos("k", m.K)
	case cost.OpContextAttention, cost.OpGenerationAttention:
		ok := pos("batch", m.Batch) && pos("seq_len", m.SeqLen) && pos("heads", m.Heads) &&
			pos("kv_heads", m.KVHeads) && pos("head_dim", m.HeadDim)
		if ok && m.Prefix < 0 {
			field, found, want = "prefix", m.Prefix, "zero or more"
		}
		if ok && m.Heads%m.KVHeads != 0 {
			field, found, want = "kv_heads", m.KVHeads, fmt.Sprintf("a divisor of heads (%d)", m.Heads)
		}
	case cost.OpContextMLA, cost.OpGenerationMLA, cost.OpContextMLAModule, cost.OpGenerationMLAModule:
		_ = pos("batch", m.Batch) && pos("seq_len", m.SeqLen) && pos("heads", m.Heads)
	case cost.OpMoE:
		ok := pos("tokens", m.Batch) && pos("hidden", m.Hidden) && pos("inter", m.Inter) && pos("experts", m.Experts) &&
			pos("topk", m.TopK) && pos("moe_tp", m.MoETP) && pos("moe_ep", m.MoEEP)
		if ok && m.TopK > m.Experts {
			field, found, want = "topk", m.TopK, fmt.Sprintf("at most num_experts (%d)", m.Experts)
		}
	case cost.OpAllReduce, cost.OpAllGather, cost.OpReduceScatter, cost.OpCustomAllReduce, cost.OpAllToAll:
		if pos("bytes", m.Bytes) && m.GPUs < 2 {
			field, found, want = "gpus", m.GPUs, "2 or more"
		}
	case cost.OpSend, cost.OpElementwise:
		pos("bytes", m.Bytes)
	}
	if field != "" {
		return
	}
	lat := m.LatencyNs()
	switch {
	case !(lat > 0) || lat > 1e15: // > 11 days: a unit mistake, not a kernel
		field, found, want = "latency", lat, "a positive, finite time"
	case m.StdNs < 0 || m.StdNs != m.StdNs:
		field, found, want = "std", m.StdNs, "zero or more"
	case m.Samples < 0:
		field, found, want = "samples", m.Samples, "zero or more"
	}
	return
}
