package replay

// vllmScheduler is vLLM V1's policy (scheduler.batching: mixed): each step
// first continues the running requests in admission order (decodes and
// prefill chunks alike), then, unless that preempted a request, admits
// waiting ones in FCFS order with the budget left.
type vllmScheduler struct{ schedCore }

func (v *vllmScheduler) formBatch(b *batch) (preempted bool) {
	budget := int32(v.s.cfg.Scheduler.MaxNumBatchedTokens)
	budget = v.continueRunning(b, budget, false, &preempted)
	if !preempted {
		v.admitWaiting(b, budget, false)
	}
	return preempted
}
