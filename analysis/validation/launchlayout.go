package validation

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/lodsim/lodsim/replay"
)

// launchID matches the launch's parallelism in a silicon row id:
// "..._c32_tp8_ep8_922" is a run of InferenceMAX's search-space entry
// {tp: 8, ep: 8} (an "_0" after a figure, as in "tp8_0_ep8_0", is the
// same figure written as a float).
var launchID = regexp.MustCompile(`_tp([0-9]+)(?:_0)?_ep([0-9]+)(?:_0)?(?:_|$)`)

// launchLayout corrects a silicon row that recorded its launch's --ep_size
// as a second tensor-parallel factor. InferenceMAX starts TensorRT-LLM as
// `mpirun -n 1 trtllm-serve --tp_size=TP --ep_size=EP` on one 8-GPU node
// (benchmarks/dsr1_fp8_h200_trt_slurm.sh and gptoss_fp4_h200_trt_slurm.sh;
// .github/configs/nvidia-master.yaml gives dsr1-fp8-h200-trt and
// gptoss-fp4-h200-trt runner h200, multinode: false, "EP=TP"): the world
// is TP GPUs, the experts spread over EP of them with moe_tp_size TP/EP,
// and with enable_attention_dp every one of the TP GPUs is an attention
// replica of TP 1. Some rows (the dev set's source_file 2026-04-06, ids
// ending "_tp8_ep8_N", "_tp4_ep4_N", "_tp2_ep2_N") instead record
// moe_tp_size TP, moe_ep_size EP and tp_size (or, with attention DP,
// attention_dp_size) TP x EP: DeepSeek-R1 "TP 64" on one H200 node. Their
// measurements are those of the same deployments recorded correctly in
// source_file 2026-03-25 (ids "_tp8_0_ep8_0": tp_size 8, moe_tp_size 1,
// moe_ep_size 8; 20 of the 21 DeepSeek-R1 rows have the same TTFT and
// TPOT to 15 significant digits), so the row is set to what ran: TP GPUs,
// moe_tp_size TP/EP, moe_ep_size EP. The clients stay as read (batch_size x the recorded attention_dp_size is the
// row's concurrency either way).
//
// Only an InferenceMAX TensorRT-LLM row (Row.InferenceMAX: these launch
// scripts are InferenceMAX's) whose id, moe_tp_size, moe_ep_size and world all carry the
// signature is changed: its id names TP and EP > 1, moe_tp_size is TP,
// moe_ep_size is EP, TP x EP is tp_size x attention_dp_size, and EP
// divides TP. A row recorded as TensorRT-LLM lays it out (moe_tp_size x
// moe_ep_size = tp_size) is left alone.
func launchLayout(r *Row) {
	if r.Disaggregated() || !r.InferenceMAX || !strings.EqualFold(r.Backend, string(replay.EngineTRTLLM)) {
		return
	}
	m := launchID.FindStringSubmatch(r.ID)
	if m == nil {
		return
	}
	tp, err1 := strconv.Atoi(m[1])
	ep, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || tp < 1 || ep < 2 || tp%ep != 0 {
		return
	}
	dp := max(r.AttentionDP, 1)
	if r.MoETP != tp || r.MoEEP != ep || r.TP*dp != tp*ep {
		return
	}
	r.MoETP = tp / ep
	if dp > 1 {
		r.AttentionDP, r.TP = tp, 1
		return
	}
	r.TP = tp
}
