package replay

// overlapState is one replica's side of an engine's overlap scheduler
// (TensorRT-LLM's overlap scheduler, vLLM's async scheduling, SGLang's
// overlap schedule). Each engine's loop runs the same pipeline:
//
//	iteration n+1: receive requests, form step n+1, launch it on the GPU;
//	               then wait for step n's results and process them
//
// (SGLang Scheduler.event_loop_overlap: run_batch, then pop_and_process
// of the last batch; TensorRT-LLM PyExecutor._executor_loop_overlap; vLLM
// EngineCore.step_with_batch_queue). Two things follow, and both are
// modelled here:
//
//   - The CPU work of step n+1 (forming and preparing it, processing step
//     n-1's results) runs while the GPU computes step n, so step n+1 waits
//     for its CPU work only where that outlasts step n's GPU time:
//     overhead' = max(0, overhead - GPU time of the step before). After an
//     idle GPU there is no step before: the whole overhead is paid.
//   - Step n+1 is formed as the GPU starts step n, from what the loop had
//     received by then: a request that reaches a busy replica during step
//     n joins step n+2, not n+1. Only when step n+1 would otherwise be
//     empty is a later formation (after step n's results) the one that
//     admits it (the loop finds no batch and comes round again).
//
// A third consequence is not modelled: a request whose last token step n
// sampled is still in step n+1 (its finish is seen while n+1 runs), which
// computes one wasted token for it and holds its KV one step longer.
//
// Pipeline parallelism keeps the earlier stand-in (each step hides its
// overhead behind its own GPU time, nothing lags): SGLang and vLLM turn
// the overlap off with PP, and TensorRT-LLM's stages hand steps on while
// the next one forms.
type overlapState struct {
	on bool
	// lastEnd is when the replica's latest step ended (-1: none yet),
	// lastGPU that step's GPU time and formedAt when it was formed.
	lastEnd  Time
	lastGPU  int64
	formedAt Time
	// cutoff: a request that reached the replica after it waits for a
	// later step (set for each formation); held: the step formed last
	// left such a request out, so it cannot repeat as a decode run.
	cutoff Time
	held   bool
}

func newOverlapState(on bool) overlapState {
	return overlapState{on: on, lastEnd: -1}
}

// backToBack reports whether a step formed now follows the replica's
// latest step on the GPU without a gap.
func (o *overlapState) backToBack(now Time) bool {
	return o.on && o.lastEnd == now
}

// hide is the GPU time a step formed now hides its overhead behind
// (stepcost.go): the step before's when it follows that step without a
// gap, none after an idle GPU, its own with pipeline parallelism, and
// hideNone with the overlap off.
func (o *overlapState) hide(now Time, pp int) int64 {
	switch {
	case !o.on:
		return hideNone
	case pp > 1:
		return hideOwn
	case o.backToBack(now):
		return o.lastGPU
	default:
		return 0
	}
}

// lag is how many steps after the one in progress a request that reaches
// the busy replica now first runs in, less one: 1 with the overlap on.
func (o *overlapState) lag() int {
	if o.on {
		return 1
	}
	return 0
}

// ended records a step of GPU time gpu, formed at formed, ending at end.
func (o *overlapState) ended(end Time, gpu int64, formed Time) {
	o.lastEnd, o.lastGPU, o.formedAt = end, gpu, formed
}

// arrivedLate reports whether r reached the replica after the step being
// formed was, in the engine's loop, formed; it notes that one was left out.
func (o *overlapState) arrivedLate(r *reqState) bool {
	if o.late(r) {
		o.held = true
		return true
	}
	return false
}

// late reports whether r reached the replica after the step being formed
// was formed: the engine's loop has not received it yet.
func (o *overlapState) late(r *reqState) bool { return r.queued > o.cutoff }

// seesWaiting reports whether the engine's loop has received a request of
// rp's waiting queue: its head, the oldest, came before the cutoff.
func seesWaiting(s *Simulator, rp *replica) bool {
	return rp.waiting.n > 0 && !rp.ov.late(&s.reqs[rp.waiting.front()])
}

// formStep forms rp's next step into b as the engine's loop does: with the
// overlap on and the replica busy until now, from the requests that had
// reached it when its step before was formed; and again from all of them
// when that leaves the step empty.
func formStep(s *Simulator, rp *replica, b *batch) (preempted bool) {
	o := &rp.ov
	o.cutoff, o.held = s.now, false
	if o.backToBack(s.now) && rp.grp.pp == 1 {
		o.cutoff = o.formedAt
	}
	preempted = rp.sched.formBatch(b)
	if len(b.slots) == 0 && o.cutoff < s.now {
		o.cutoff = s.now
		preempted = rp.sched.formBatch(b)
	}
	b.formed = s.now
	return preempted
}
