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
//
// Batch waiting (scheduler.batch_wait_timeout_iters,
// batch_wait_max_tokens_ratio; PyExecutor._waiting_requests): while
// requests decode, the prompts the step would admit are held back until
// the step's tokens (those prompts plus one per decode) reach the ratio x
// max_num_tokens or the timeout's count of steps has run without them;
// then they run and the count restarts. With no decode running nothing
// waits.
//
// Attention-DP balancing (scheduler.attention_dp_balance, adpbalance.go)
// holds an attention data-parallel rank's prompts until every rank of its
// group has one.
type trtllmScheduler struct {
	schedCore
	rule   admitRule
	waited int // steps the waiting prompts have been held back
	adp    adpRank
}

func (t *trtllmScheduler) formBatch(b *batch) (preempted bool) {
	budget := int32(t.sc.MaxNumBatchedTokens)
	budget = t.continueRunning(b, budget, false, &preempted)
	balanced := t.balanceHolds() // every step, as the engine counts them
	t.adp.admitted = false
	if preempted || balanced || t.holdPrompts(b, budget) {
		return preempted
	}
	n := len(b.slots)
	t.admitWaiting(b, budget, t.rule)
	t.adp.admitted = len(b.slots) > n
	return false
}

// headStaysBlocked: with batch waiting or attention-DP balancing a held
// prompt runs once its steps have passed, so a run of decodes cannot
// stand for those steps.
func (t *trtllmScheduler) headStaysBlocked() bool {
	return !t.batchWaits() && !t.balancing() && t.schedCore.headStaysBlocked()
}

// settlesRuns: attention-DP balancing counts every step of the group as
// it happens, which a settled run would count only at its end.
func (t *trtllmScheduler) settlesRuns() bool { return !t.balancing() }

func (t *trtllmScheduler) batchWaits() bool {
	return t.sc.BatchWaitTimeoutIters != 0 || t.sc.BatchWaitMaxTokensRatio != 0
}

// holdPrompts reports whether batch waiting holds the waiting prompts out
// of step b, whose running requests left budget tokens. It takes O(1) per
// step while the held prompts all fit the step (the common case: a few
// prompts gathering): b is a fresh batch, so its tokens are what the
// running requests took of the budget, and the prompts are the waiting
// queue's running total (replica.waitingTokens).
func (t *trtllmScheduler) holdPrompts(b *batch, budget int32) bool {
	sc := t.sc
	if !t.batchWaits() || len(b.slots) == 0 {
		return false
	}
	prompts := t.stepPrompts(budget)
	if prompts == 0 {
		return false
	}
	stepTokens := int64(sc.MaxNumBatchedTokens) - int64(budget)
	full := float64(prompts+stepTokens) >= sc.BatchWaitMaxTokensRatio*float64(sc.MaxNumBatchedTokens)
	if t.waited >= sc.BatchWaitTimeoutIters || full {
		t.waited = 0
		return false
	}
	t.waited++
	return true
}

// stepPrompts is the prompt tokens a step with budget tokens left would
// admit: the waiting requests in FCFS order while the budget and
// max_num_seqs hold them. Waiting requests have no KV computed (an
// arrival, or a preempted request that recomputes), so when they all fit,
// that is the queue's running total.
func (t *trtllmScheduler) stepPrompts(budget int32) int64 {
	rp, seats := t.rp, t.sc.MaxNumSeqs-len(t.rp.running)
	if rp.waiting.n <= seats && rp.waitingTokens <= int64(budget) {
		return rp.waitingTokens
	}
	var prompts int64
	for i, room := 0, budget; i < rp.waiting.n && i < seats; i++ {
		r := &t.s.reqs[rp.waiting.at(i)]
		n := r.numTokens() - r.computed
		if n > room {
			break
		}
		room -= n
		prompts += int64(n)
	}
	return prompts
}
