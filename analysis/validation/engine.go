package validation

import (
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// Engine is what lodsim assumes of the benchmarked engine's settings when
// the benchmark file does not record them: the defaults the engine picks
// for the GPU, as its source code computes them. They map onto the
// scheduler and memory fields of replay.Config.
type Engine struct {
	// MaxNumBatchedTokens is the token budget of one step: vLLM's
	// max_num_batched_tokens, SGLang's chunked_prefill_size.
	MaxNumBatchedTokens int
	// MaxNumSeqs caps the sequences in one step: vLLM's max_num_seqs,
	// SGLang's max_running_requests.
	MaxNumSeqs int
	// MemoryUtilization is the fraction of GPU memory for weights and KV
	// cache: vLLM's gpu_memory_utilization, SGLang's mem_fraction_static.
	MemoryUtilization float64
	// ActivationReserveGB is memory taken out of MemoryUtilization before
	// the KV cache (GiB); 0 lets replay estimate activations.
	ActivationReserveGB float64
	// Batching is replay's scheduler.batching: SGLang runs new prefills
	// alone ahead of decodes ("prefill_first"; its mixed-chunk mode is
	// off by default), vLLM mixes them in one step ("mixed").
	Batching string
	// AdmissionReserve is replay's scheduler.admission_reserve: SGLang's
	// init_new_token_ratio (0.7) for its conservative admission; vLLM
	// admits on prompt blocks alone (0).
	AdmissionReserve float64
}

// EngineFor returns the default settings of backend on tp x pp GPUs of g.
//
// SGLang (python/sglang/srt/server_args.py, 0.5.x): chunked_prefill_size
// is 2048 below 35 GiB of GPU memory, 4096 below 60 GiB, 8192 below 90 GiB
// (H100 80 GB) and 16384 above; mem_fraction_static is (memory - reserved)
// / memory with reserved = 512 MiB + 1.5 x max(chunk, 2048) MiB + 2 x
// cuda_graph_max_bs MiB + tp x pp / 8 GiB, and the activations live inside
// that reserve, so only the CUDA context and NCCL buffers (about 1 GiB) are
// taken from the static fraction besides the weights. max_running_requests
// follows the KV pool, so it is left high here and the KV cache limits the
// batch.
//
// vLLM (V1 engine arguments): on GPUs with at least 70 GiB the OpenAI
// server defaults to max_num_batched_tokens 8192 and max_num_seqs 1024,
// else 2048 and 256; gpu_memory_utilization 0.9. Any other backend gets
// the vLLM defaults.
func EngineFor(backend string, g cost.GPU, tp, pp int) Engine {
	memMiB := float64(g.MemoryBytes) / (1 << 20)
	switch strings.ToLower(strings.TrimSpace(backend)) {
	case "sglang":
		chunk := 16384
		switch {
		case memMiB < 35*1024:
			chunk = 2048
		case memMiB < 60*1024:
			chunk = 4096
		case memMiB < 90*1024:
			chunk = 8192
		}
		const cudaGraphMaxBS = 256
		reserved := 512 + 1.5*float64(max(chunk, 2048)) + 2*cudaGraphMaxBS + float64(tp*pp)/8*1024
		return Engine{
			MaxNumBatchedTokens: chunk,
			MaxNumSeqs:          4096,
			MemoryUtilization:   (memMiB - reserved) / memMiB,
			ActivationReserveGB: 1,
			Batching:            "prefill_first",
			AdmissionReserve:    0.7,
		}
	}
	if memMiB >= 70*1024 {
		return Engine{MaxNumBatchedTokens: 8192, MaxNumSeqs: 1024, MemoryUtilization: 0.9, Batching: "mixed"}
	}
	return Engine{MaxNumBatchedTokens: 2048, MaxNumSeqs: 256, MemoryUtilization: 0.9, Batching: "mixed"}
}
