package replay

import (
	"fmt"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// KVBlocks is the number of KV-cache blocks one replica holds, derived the
// way vLLM does it: each GPU offers memory x gpu_memory_utilization, minus
// its share of the weights and an activation reserve (with engine trtllm:
// gpu_memory_utilization, TensorRT-LLM's free_gpu_memory_fraction, of the
// memory less weights and reserve); what is left, divided
// by the bytes a token's KV takes on that GPU, in blocks of block_size.
// extraGB is the engine's further memory reserve per GPU
// (cost.Overheads.MemoryReserveGB). With speculative decoding the draft
// modules' weights and their KV cache count too (draftMemory).
func KVBlocks(c *Config, m lod.Model, g cost.GPU, extraGB float64) (int64, error) {
	if c.Scheduler.KVBlocks > 0 {
		return int64(c.Scheduler.KVBlocks), nil
	}
	k := c.Cluster
	gpus := int64(k.TensorParallel * k.PipelineParallel)
	weights := m.WeightBytes() / gpus
	if dp := k.attentionDP(); dp > 1 {
		// The experts spread over all the attention data-parallel
		// groups' GPUs; the rest is held by each group.
		weights = m.RankWeightBytes(k.TensorParallel, k.PipelineParallel, dp)
	}
	draftWeights, draftKV := c.draftMemory(m)
	weights += draftWeights
	reserve := int64(k.ActivationReserveGB * (1 << 30))
	if reserve == 0 {
		// Peak activations of a max_num_batched_tokens forward pass (the
		// MLP's intermediate dominates) plus FP32 logits for max_num_seqs,
		// plus CUDA context, graphs and NCCL buffers.
		t := int64(c.Scheduler.MaxNumBatchedTokens)
		act := t * int64(4*m.Hidden+2*m.Intermediate/k.TensorParallel) * int64(m.DTypeBytes)
		logits := int64(c.Scheduler.MaxNumSeqs) * int64(m.Vocab/k.TensorParallel) * 4
		reserve = act + logits + 1<<30
	}
	reserve += int64(extraGB * (1 << 30))
	// Sliding-window layers hold at most a window of tokens per sequence.
	reserve += int64(c.Scheduler.MaxNumSeqs) * m.KVWindowBytesPerSeq(k.TensorParallel, k.PipelineParallel)
	avail := int64(float64(g.MemoryBytes)*k.GPUMemoryUtilization) - weights - reserve
	if c.Scheduler.Engine == EngineTRTLLM {
		// TensorRT-LLM's free_gpu_memory_fraction is a fraction of the
		// memory left after the weights and a profiling forward pass.
		avail = int64(float64(g.MemoryBytes-weights-reserve) * k.GPUMemoryUtilization)
	}
	perBlock := (m.KVBytesPerToken(k.TensorParallel, k.PipelineParallel) + draftKV) * int64(c.Scheduler.BlockSize)
	if avail < perBlock {
		return 0, fmt.Errorf("replay: %s does not fit on %d x %s: %.1f GiB of weights per GPU and %.1f GiB reserve leave %.2f GiB of %.0f GiB x %.2f for the KV cache; add GPUs (cluster.tensor_parallel/pipeline_parallel) or raise cluster.gpu_memory_utilization",
			m.Name, gpus, g.Name, float64(weights)/(1<<30), float64(reserve)/(1<<30), float64(avail)/(1<<30), float64(g.MemoryBytes)/(1<<30), k.GPUMemoryUtilization)
	}
	return avail / perBlock, nil
}
