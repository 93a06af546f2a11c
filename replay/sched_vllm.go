package replay

// vllmScheduler is vLLM V1's policy (scheduler.batching: mixed): each step
// first continues the running requests in admission order (decodes and
// prefill chunks alike), then, unless that preempted a request, admits
// waiting ones in FCFS order with the budget left.
type vllmScheduler struct{ schedCore }

func (v *vllmScheduler) formBatch(b *batch) (preempted bool) { return v.mixedStep(b, admitStep) }
