package validation

import (
	"strings"

	"github.com/lodsim/lodsim/replay"
)

// batchWaitRecipe is a deployment setting the dev set's rows do not
// record but their benchmark recipe does: InferenceMAX's TensorRT-LLM
// launch script for Llama-3.1-70B (benchmarks/70b_fp8_h200_trt_slurm.sh)
// turns on batch waiting (batch_wait_max_tokens_ratio 0.9,
// batch_wait_timeout_iters 20, with max_num_tokens 16384) for 1024/1024
// tokens below TP8, "to improve the performance" of that shape. The
// measured rows bear it out on H200 and B200 alike: at 4 clients the
// 1024/1024 TTFT below TP8 is 2-4x that of 1024/8192 at the same TP
// (about 20 decode steps more), and at TP8 it is not.
type batchWaitRecipe struct {
	model              string // lower-case substring of Row.Model
	isl, osl, belowTP  int
	ratio              float64
	iters, budgetFloor int
}

var batchWaitRecipes = []batchWaitRecipe{
	{model: "llama-3.1-70b", isl: 1024, osl: 1024, belowTP: 8, ratio: 0.9, iters: 20, budgetFloor: 16384},
}

// applyRecipes sets the row's recipe's engine settings on sc.
func applyRecipes(row Row, sc *replay.SchedulerConfig) {
	if sc.Engine != replay.EngineTRTLLM {
		return
	}
	for _, r := range batchWaitRecipes {
		if strings.Contains(strings.ToLower(row.Model), r.model) && row.ISL == r.isl && row.OSL == r.osl && row.TP < r.belowTP {
			sc.BatchWaitMaxTokensRatio = r.ratio
			sc.BatchWaitTimeoutIters = r.iters
			sc.MaxNumBatchedTokens = max(sc.MaxNumBatchedTokens, r.budgetFloor)
		}
	}
}
