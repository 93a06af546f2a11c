package replay

// trtllmScheduler is TensorRT-LLM's in-flight batching (the PyTorch
// backend's capacity scheduler, then its micro-batch scheduler): each
// step continues the running requests in admission order, then admits
// waiting ones in FCFS order, under max_num_tokens
// (scheduler.max_num_batched_tokens) and max_batch_size
// (scheduler.max_num_seqs). Without context chunking, TensorRT-LLM's
// default, a prompt is prefilled whole in one step: it waits until the
// budget left holds it, and one longer than the budget is rejected on
// arrival. The capacity scheduler policy decides admission by KV cache:
//
//   - guaranteed_no_evict (default, rule admitSequence): a request is
//     admitted only if the blocks of its whole sequence, prompt plus output
//     tokens, fit in the free blocks less what every running request may
//     still need to reach its own. Running requests then always find their
//     next blocks and nothing is ever evicted; the room a refused request
//     waits for opens only when a request completes.
//   - max_utilization (rule admitStep): admitted while the blocks of its
//     first step are free, as vLLM does; when a running request's next
//     blocks are missing, the most recently admitted one is evicted
//     (paused: it loses its KV and recomputes it when re-admitted).
//
// The overlap scheduler is a step cost, not a policy: see stepCost.
type trtllmScheduler struct {
	schedCore
	rule admitRule
}

func (t *trtllmScheduler) formBatch(b *batch) (preempted bool) { return t.mixedStep(b, t.rule) }
