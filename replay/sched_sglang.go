package replay

// sglangScheduler is SGLang's policy (scheduler.batching: prefill_first):
// new prefills run alone, ahead of decodes, whenever one can be admitted;
// a partly prefilled request continues first. A request is admitted only
// if its whole remaining prompt fits beside the unfinished prefills of the
// running requests: admitting on the first chunk alone lets a long prompt
// be preempted by its own next chunk and re-admitted forever, since no
// decode step runs in between to finish anything. When nothing can be
// admitted the step decodes every running request.
type sglangScheduler struct{ schedCore }

func (g *sglangScheduler) formBatch(b *batch) (preempted bool) {
	full := int32(g.sc.MaxNumBatchedTokens)
	budget := g.continueRunning(b, full, true, &preempted)
	g.admitWaiting(b, budget, admitPrompt)
	if len(b.slots) == 0 {
		g.continueRunning(b, full, false, &preempted)
	}
	return preempted
}
