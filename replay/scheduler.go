package replay

// scheduler decides, for one replica, what each step computes: which
// running requests continue, which waiting ones are admitted, and which
// running request gives up its KV blocks when they run out. It changes
// block counts only through the replica's kvPool. An engine is one
// implementation (vllmScheduler, sglangScheduler, trtllmScheduler); they
// share schedCore's loops and differ in how they order and combine them.
type scheduler interface {
	// formBatch fills the empty b with the replica's next step and reports
	// whether it preempted a request to find KV blocks.
	formBatch(b *batch) (preempted bool)
	// victim is the index in the running queue of the request to preempt,
	// or -1 when none may be.
	victim() int
	// decodeStepsDone tells the scheduler that n decode-only steps
	// finished (SGLang's admission reserve decays with them).
	decodeStepsDone(n int)
	// headStaysBlocked reports whether a waiting request refused for lack
	// of budget, sequences or KV stays refused while the batch repeats
	// unchanged (false when the admission rule itself changes per step).
	headStaysBlocked() bool
	// settlesRuns reports whether the medium level of detail may settle a
	// run of the replica's decode steps in one event (false when another
	// replica's scheduler reads this one's steps as they happen).
	settlesRuns() bool
}

// newScheduler builds the configured policy for rp.
func newScheduler(s *Simulator, rp *replica) scheduler {
	sc0 := rp.grp.sched
	core := schedCore{s: s, rp: rp, sc: sc0, reserve: newAdmissionReserve(sc0.AdmissionReserve)}
	if sc0.Engine == EngineTRTLLM {
		sc := &trtllmScheduler{schedCore: core, rule: admitSequence}
		if sc0.CapacityPolicy == MaxUtilization {
			sc.rule = admitStep
		}
		sc.self = sc
		return sc
	}
	if sc0.Batching == BatchingPrefillFirst {
		sc := &sglangScheduler{schedCore: core}
		sc.self = sc
		return sc
	}
	sc := &vllmScheduler{schedCore: core}
	sc.self = sc
	return sc
}

// schedCore holds what the policies share: the replica, its admission
// reserve and the loops over the running and waiting queues.
type schedCore struct {
	s       *Simulator
	rp      *replica
	sc      *SchedulerConfig // the replica's pool's
	self    scheduler        // the policy, whose victim the loops ask
	reserve admissionReserve
}

func (c *schedCore) decodeStepsDone(n int) { c.reserve.decay(n) }

func (c *schedCore) headStaysBlocked() bool { return !c.reserve.on() }

func (c *schedCore) settlesRuns() bool { return true }

// victim is the most recently admitted running request that is not in
// flight: vLLM's and SGLang's recompute preemption order.
func (c *schedCore) victim() int {
	rp := c.rp
	for i := len(rp.running) - 1; i >= 0; i-- {
		if !c.s.reqs[rp.running[i]].inflight {
			return i
		}
	}
	return -1
}

// continueRunning adds running requests to b in admission order, each
// taking the tokens it still needs (one for a decode, up to the remaining
// budget for a prefill chunk), preempting the policy's victim when KV
// blocks run out. With prefillsOnly it takes only requests whose prefill
// is unfinished. It returns the budget left.
func (c *schedCore) continueRunning(b *batch, budget int32, prefillsOnly bool, preempted *bool) int32 {
	rp, reqs := c.rp, c.s.reqs
	chunked := *c.sc.ChunkedPrefill
	for i := 0; i < len(rp.running) && budget > 0; i++ {
		slot := rp.running[i]
		r := &reqs[slot]
		if r.inflight {
			continue
		}
		n := r.numTokens() - r.computed
		if prefillsOnly && n <= 1 && r.generated > 0 {
			continue
		}
		if n > budget {
			// Without chunking a prompt runs whole; a preempted request's
			// recompute of prompt and output may still be chunked, or one
			// longer than the budget could never resume.
			if !chunked && r.generated == 0 && r.computed < r.numTokens()-1 {
				continue
			}
			n = budget
		}
		kv, used := rp.grp.spec.stepTokens(r, n)
		if !c.makeRoom(i, rp.kv.need(r, r.computed+kv), preempted) {
			break
		}
		rp.kv.growTo(r, r.computed+kv)
		b.add(r, slot, n)
		budget -= min(used, budget)
	}
	return budget
}

// makeRoom preempts victims until need blocks are free for running[i].
// It reports false when they cannot be: nothing left to preempt but
// requests in flight, or running[i] itself was the victim.
//
// running[i] never preempts itself while requests admitted after it are
// in flight: the engine would evict those first (recompute order), and
// they cannot be evicted mid-step, so running[i] waits a step for them to
// land instead. Evicting it would invert the order: under pipeline
// parallelism two requests in alternate micro-batches, neither fitting
// beside the other, would then evict each other forever, each finding the
// other in flight (a livelock: TestRandomHighEqualsMedium's seed 2517).
func (c *schedCore) makeRoom(i int, need int32, preempted *bool) bool {
	for !c.rp.kv.fits(need) {
		v := c.self.victim()
		if v < 0 || (v == i && i < len(c.rp.running)-1) {
			return false
		}
		c.preempt(v)
		*preempted = true
		if v == i {
			return false
		}
	}
	return true
}

// preempt evicts running[i] by recompute: it loses its KV blocks and goes
// back to the front of the waiting queue, to prefill prompt and generated
// tokens again.
func (c *schedCore) preempt(i int) {
	rp, s := c.rp, c.s
	slot := rp.running[i]
	copy(rp.running[i:], rp.running[i+1:])
	rp.running = rp.running[:len(rp.running)-1]
	r := &s.reqs[slot]
	r.preempt++
	s.st.Preemptions++
	c.reserve.reset()
	rp.kv.release(r)
	r.computed = 0
	rp.waiting.pushFront(slot)
	rp.waitingTokens += int64(r.numTokens())
}

// mixedStep forms a mixed step: the running requests continue in
// admission order (decodes and prefill chunks alike), then, unless that
// preempted a request, waiting ones are admitted under rule in FCFS order
// with the budget left.
func (c *schedCore) mixedStep(b *batch, rule admitRule) (preempted bool) {
	budget := int32(c.sc.MaxNumBatchedTokens)
	budget = c.continueRunning(b, budget, false, &preempted)
	if !preempted {
		c.admitWaiting(b, budget, rule)
	}
	return preempted
}

// admitRule is what KV blocks a waiting request needs free, beyond the
// blocks of its first step, to be admitted.
type admitRule uint8

const (
	// admitStep: the blocks of its first step alone (vLLM; TensorRT-LLM's
	// max_utilization).
	admitStep admitRule = iota
	// admitPrompt: its whole remaining prompt, beside the unfinished
	// prefills of the running requests (SGLang).
	admitPrompt
	// admitSequence: its whole sequence, prompt plus output, beside what
	// every running request may still need to reach its own (TensorRT-LLM's
	// guaranteed_no_evict): running requests never run out of blocks.
	admitSequence
)

// target is the tokens of KV r must be able to reach under rule.
func (rule admitRule) target(r *reqState) int32 {
	if rule == admitSequence {
		return r.prompt + r.output
	}
	return r.numTokens()
}

// admitWaiting moves waiting requests into b in FCFS order while the
// token budget, max_num_seqs, free blocks, the admission reserve and rule
// allow.
func (c *schedCore) admitWaiting(b *batch, budget int32, rule admitRule) {
	rp, s := c.rp, c.s
	sc := c.sc
	var room int64 // tokens free beyond the running requests' reserve
	if c.reserve.on() && rp.waiting.n > 0 {
		room = c.reserve.room(int64(rp.kv.free)*int64(rp.kv.blockSize), s.reqs, rp.running)
	}
	var ruleRoom int64 // blocks
	if rule != admitStep && rp.waiting.n > 0 {
		ruleRoom = c.ruleRoom(rule)
	}
	for rp.waiting.n > 0 && budget > 0 && len(rp.running) < sc.MaxNumSeqs {
		slot := rp.waiting.front()
		r := &s.reqs[slot]
		n := r.numTokens() - r.computed
		if n > budget {
			if !*sc.ChunkedPrefill && r.generated == 0 {
				break
			}
			n = budget
		}
		// A waiting request computed nothing, or (on a decode pool) holds
		// the blocks of the KV transferred to it.
		kv, used := rp.grp.spec.stepTokens(r, n)
		if !rp.kv.fits(rp.kv.need(r, r.computed+kv)) || !c.reserve.take(r, &room) {
			break
		}
		if rule != admitStep {
			whole := int64(rp.kv.need(r, rule.target(r)))
			if whole > ruleRoom {
				break
			}
			ruleRoom -= whole
		}
		c.admit(slot, r)
		rp.kv.growTo(r, r.computed+kv)
		b.add(r, slot, n)
		budget -= min(used, budget)
	}
}

// ruleRoom is the free blocks less those the running requests still need
// to reach rule's target: under admitPrompt, the unfinished prefills' whole
// prompts; under admitSequence, every request's whole sequence.
func (c *schedCore) ruleRoom(rule admitRule) int64 {
	rp := c.rp
	room := int64(rp.kv.free)
	for _, slot := range rp.running {
		r := &c.s.reqs[slot]
		if rule == admitSequence || r.generated == 0 || r.computed < r.numTokens()-1 {
			room -= int64(max(0, rp.kv.need(r, rule.target(r))))
		}
	}
	return room
}

// admit moves the waiting queue's head to the running queue.
func (c *schedCore) admit(slot int32, r *reqState) {
	rp := c.rp
	rp.waiting.popFront()
	rp.waitingTokens -= int64(r.numTokens())
	rp.running = append(rp.running, slot)
	if r.firstSched < 0 {
		r.firstSched = c.s.now
	}
}
