package replay

// runState is a run of decode steps with an unchanged batch, advanced in
// one event at the medium level of detail.
type runState struct {
	active bool
	b      *batch
	k      int    // steps in the run
	ends   []Time // end of each step
	ver    uint32
	// counted is how many of the run's steps the time-series counters
	// already hold (a sample taken mid-run counts the steps done by then).
	counted int
	// blocked: the run started with a waiting head it keeps blocked, so
	// arrivals (which queue behind it) do not cut it.
	blocked bool
}

// maxRun caps the steps of one run, bounding the step-end buffer.
const maxRun = 1 << 16

// endedBy is the number of the run's steps that ended by t.
func (run *runState) endedBy(t Time) int {
	j := 0
	for j < run.k && run.ends[j] <= t {
		j++
	}
	return j
}

// runExtraBlocks is how many more KV blocks rp's requests hold now than
// the run has settled: the step in progress has allocated blocks for its
// token (and drafts), as the step-by-step path would have.
func (m *mediumExecutor) runExtraBlocks(rp *replica) int64 {
	run := &rp.run
	j := run.endedBy(m.s.now) // the step in progress, or all done
	var extra int64
	sp := rp.grp.spec
	for _, slot := range run.b.slots {
		r := &m.s.reqs[slot]
		extra += int64(rp.kv.need(r, sp.runTarget(r, j, run.k)))
	}
	return extra
}

// countRunSteps adds the steps of rp's run that ended by now to the
// time-series counters, so that samples see runs as they progress rather
// than in one lump at their end.
func (m *mediumExecutor) countRunSteps(rp *replica) {
	run := &rp.run
	j := run.counted
	for j < run.k && run.ends[j] <= m.s.now {
		j++
	}
	if n := j - run.counted; n > 0 {
		d := len(run.b.slots)
		m.s.ts.addSteps(n, d)
		if sp := rp.grp.spec; sp.on() {
			for _, slot := range run.b.slots {
				r := &m.s.reqs[slot]
				m.s.ts.tokens += int64(sp.yield(r, j) - sp.yield(r, run.counted))
			}
		} else {
			m.s.ts.tokens += int64(n * d)
		}
		run.counted = j
	}
}

// tryRun tries to advance a decode-only batch as a run of steps. The run
// ends at the first step that completes a request, before the first step
// whose KV blocks would not fit, or at the stop time; an arrival at the
// replica cuts it short (arrivalDuringRun). It reports false when a run of
// at least two steps is not possible, and the caller runs a single step.
func (m *mediumExecutor) tryRun(rp *replica, b *batch) bool {
	k := m.runLength(rp, b)
	if k < 2 {
		return false
	}
	s := m.s
	run := &rp.run
	run.ends = run.ends[:0]
	lb := b.lb
	cost := b.cost
	t := s.now
	d := int64(lb.Decodes)
	grp := rp.grp
	// The steps of a run move the same tokens, so their collectives take
	// the same time; only the attention (in Compute) grows.
	comm := m.collectiveNs(&cost[0], rp.stages[0])
	sp := grp.spec
	q, f := sp.perMille/1000, sp.perMille%1000
	if sp.on() {
		m.creditHistogram(b)
	}
	for j := 0; j < k; j++ {
		if j > 0 {
			// Each decode's context grows by the tokens the step before
			// yielded: q each, and one more for those that carry.
			lb.DecodeCtx += q * d
			if f > 0 {
				lb.DecodeCtx += carries(&m.credits, f, j)
			}
			grp.steps.replan(&lb, cost)
		}
		t += Time(m.computeNs(&cost[0], rp.stages[0], &lb) + comm)
		run.ends = append(run.ends, t)
		if s.stop > 0 && t > s.stop {
			break
		}
	}
	run.active, run.b, run.k, run.counted = true, b, len(run.ends), 0
	run.ver++
	s.h.push(run.ends[run.k-1], evDecodeRun, rp.id, 0, run.ver)
	return true
}

// runLength is the most steps b can repeat: until its first request
// completes, and while the blocks of every step fit.
func (m *mediumExecutor) runLength(rp *replica, b *batch) int {
	k := maxRun
	sp := rp.grp.spec
	for _, slot := range b.slots {
		if left := sp.runSteps(&m.s.reqs[slot]); left < k {
			k = left
		}
	}
	if k < 2 {
		return k
	}
	// Largest k whose extra blocks fit: step j (0-based) needs
	// blocksFor(runTarget(j)) per request (computed+j+1 without
	// speculation); step 0 is already allocated.
	fits := func(k int) bool {
		var need int64
		for _, slot := range b.slots {
			r := &m.s.reqs[slot]
			need += int64(rp.kv.need(r, sp.runTarget(r, k-1, k)))
		}
		return need <= int64(rp.kv.free)
	}
	if fits(k) {
		return k
	}
	lo, hi := 1, k // fits(lo) holds: step 0 is allocated
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// arrivalDuringRun: a request arrived at rp during its run. Unless it
// queues behind a waiting head that the run keeps blocked (FCFS), it
// joins the batch at the next step: the run is cut to end with the step
// in progress, so that the scheduler sees the arrival at that step's end.
func (m *mediumExecutor) arrivalDuringRun(rp *replica) {
	if rp.run.blocked {
		return
	}
	m.cutRun(rp)
}

// cutRun cuts rp's run to end with the step in progress.
func (m *mediumExecutor) cutRun(rp *replica) {
	run := &rp.run
	s := m.s
	j := 0
	for j < run.k && run.ends[j] < s.now {
		j++
	}
	if j >= run.k-1 {
		return
	}
	run.k = j + 1
	run.ver++
	s.h.push(run.ends[j], evDecodeRun, rp.id, 0, run.ver)
}

func (m *mediumExecutor) onRunEnd(rp *replica, ver uint32) {
	if ver != rp.run.ver || !rp.run.active {
		m.s.counts[evDecodeRun]--
		m.s.counts[evRunStale]++
		return
	}
	if p := m.runPredecessor(rp); p != nil {
		// Ends after p's step: keep p.after in chain order.
		i := len(p.after)
		p.after = append(p.after, rp)
		for ; i > 0 && p.after[i-1].chain > rp.chain; i-- {
			p.after[i] = p.after[i-1]
		}
		p.after[i] = rp
		return
	}
	m.endRun(rp)
}

// endRun settles rp's run ending now and kicks its scheduler, then ends
// the runs that waited for it (runPredecessor).
func (m *mediumExecutor) endRun(rp *replica) {
	m.settleRun(rp, m.s.now)
	m.s.kick(rp)
	if len(rp.after) > 0 {
		m.endRunsAfter(rp)
	}
}

// endRunsAfter ends the decode runs that waited for rp's step end.
func (m *mediumExecutor) endRunsAfter(rp *replica) {
	for i, x := range rp.after {
		rp.after[i] = nil
		m.endRun(x)
	}
	rp.after = rp.after[:0]
}

// runPredecessor orders simultaneous step ends on different replicas as
// the step-by-step path does. There, the steps of replicas in phase end
// in the order their schedulers ran at the steps' start (each step's end
// kicks the next), which is the order their chains of back-to-back steps
// began (replica.chain). A run's end event was pushed at its start (or
// its cut), before any step ending with it, so it would end first: it
// waits instead for the last pending step end at this time of a chain
// that began before its own. runPredecessor returns that replica, or nil.
// (Found by TestRandomHighEqualsMedium seed 9902.)
func (m *mediumExecutor) runPredecessor(rp *replica) *replica {
	var best *replica
	var seq uint64
	m.walkStepEnds(0, rp, &best, &seq)
	return best
}

// walkStepEnds visits the pending events at the current time from heap
// index i (they form a subtree at the root) for runPredecessor.
func (m *mediumExecutor) walkStepEnds(i int, rp *replica, best **replica, seq *uint64) {
	s := m.s
	h := &s.h
	if i >= len(h.ev) || h.ev[i].t != s.now {
		return
	}
	if e := &h.ev[i]; i > 0 || !h.taken {
		if p := m.stepEndOf(e); p != nil && p != rp && p.chain < rp.chain && e.seq > *seq {
			*best, *seq = p, e.seq
		}
	}
	for c := 4*i + 1; c <= 4*i+4; c++ {
		m.walkStepEnds(c, rp, best, seq)
	}
}

// stepEndOf is the replica whose step (or run) ends with e, or nil.
func (m *mediumExecutor) stepEndOf(e *event) *replica {
	s := m.s
	switch e.kind {
	case evDecodeRun:
		if p := s.replicas[e.a]; p.run.active && p.run.ver == e.ver {
			return p
		}
	case evStageCollective, evStageCompute:
		st := s.stages[e.a]
		p := st.rep
		if e.ver != 0 || st.idx != p.grp.pp-1 || p.grp.lockstep() || st.cur == nil {
			return nil
		}
		if e.kind == evStageCompute && (p.grp.tp > 1 || st.cur.cost[st.idx].A2ARanks > 1) {
			return nil // its collectives follow
		}
		return p
	}
	return nil
}

// settleRun applies the steps of rp's run that ended by t through the
// step-by-step path's bookkeeping (Simulator.stepsDone), which sees them
// as identical steps ending at the run's step ends.
func (m *mediumExecutor) settleRun(rp *replica, t Time) {
	run := &rp.run
	j := run.endedBy(t)
	b := run.b
	run.active, run.b = false, nil
	if j == 0 {
		// Not even the first step finished (the stop time came first):
		// undo nothing; its requests stay in flight with the step's
		// blocks, as in the step-by-step path (clearing inflight broke
		// the KV invariant for the next replica's settle to find).
		rp.inflight--
		rp.pool = append(rp.pool, b)
		return
	}
	if sp := rp.grp.spec; sp.on() {
		// The last step held its drafts' blocks too, which stepsDone
		// gives back before it notes the peak: note it here.
		var held int64
		for _, slot := range b.slots {
			r := &m.s.reqs[slot]
			held += int64(rp.kv.need(r, sp.runTarget(r, j-1, run.k)))
		}
		notePeakUse(m.s, rp, float64(int64(rp.kv.used())+held)/float64(rp.kv.total))
	}
	m.s.stepsDone(b, run.ends[:j], run.counted)
}

// creditHistogram fills m.credits with the cumulative histogram of the
// speculation credits of b's requests (carries reads it): credits[v] is
// how many hold a credit below v.
func (m *mediumExecutor) creditHistogram(b *batch) {
	c := &m.credits
	*c = [1001]int32{}
	for _, slot := range b.slots {
		c[m.s.reqs[slot].credit+1]++
	}
	for v := 1; v <= 1000; v++ {
		c[v] += c[v-1]
	}
}
