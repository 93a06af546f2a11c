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

// runExtraBlocks is how many more KV blocks rp's requests hold now than
// the run has settled: the step in progress has allocated blocks for its
// token, as the step-by-step path would have.
func (s *Simulator) runExtraBlocks(rp *replica) int64 {
	run := &rp.run
	j := 0
	for j < run.k && run.ends[j] <= s.now {
		j++
	}
	if j < run.k {
		j++ // the step in progress
	}
	var extra int64
	for _, slot := range run.b.slots {
		r := &s.reqs[slot]
		extra += int64(s.blocksFor(r.computed+int32(j)) - r.blocks)
	}
	return extra
}

// countRunSteps adds the steps of rp's run that ended by now to the
// time-series counters, so that samples see runs as they progress rather
// than in one lump at their end.
func (s *Simulator) countRunSteps(rp *replica) {
	run := &rp.run
	j := run.counted
	for j < run.k && run.ends[j] <= s.now {
		j++
	}
	if n := int64(j - run.counted); n > 0 {
		d := int64(len(run.b.slots))
		s.sampSteps += n
		s.sampSeqs += n * d
		s.sampTokens += n * d
		run.counted = j
	}
}

func (s *Simulator) startStageMedium(st *stage, b *batch) {
	s.h.push(s.now+Time(b.cost[st.idx].Compute()), evStageCompute, st.gid, 0, 0)
}

func (s *Simulator) onStageCompute(st *stage) {
	if s.tp > 1 {
		c := &st.cur.cost[st.idx]
		s.h.push(s.now+Time(c.CollectiveNs(s.tp)), evStageCollective, st.gid, 0, 0)
		return
	}
	s.stageDone(st)
}

// maxRun caps the steps of one run, bounding the step-end buffer.
const maxRun = 1 << 16

// startRun tries to advance a decode-only batch as a run of steps. The run
// ends at the first step that completes a request, before the first step
// whose KV blocks would not fit, or at the stop time; an arrival at the
// replica cuts it short (cutRun). It reports false when a run of at least
// two steps is not possible, and the caller runs a single step.
func (s *Simulator) startRun(rp *replica, b *batch) bool {
	k := maxRun
	for _, slot := range b.slots {
		r := &s.reqs[slot]
		if left := int(r.output - r.generated); left < k {
			k = left
		}
	}
	if k < 2 {
		return false
	}
	// Largest k whose extra blocks fit: step j (0-based) needs
	// blocksFor(computed+j+1) per request; step 0 is already allocated.
	fits := func(k int) bool {
		var need int64
		for _, slot := range b.slots {
			r := &s.reqs[slot]
			need += int64(s.blocksFor(r.computed+int32(k)) - r.blocks)
		}
		return need <= int64(rp.freeBlocks)
	}
	if !fits(k) {
		lo, hi := 1, k // fits(lo) holds: step 0 is allocated
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if fits(mid) {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		k = lo
	}
	if k < 2 {
		return false
	}
	run := &rp.run
	run.ends = run.ends[:0]
	lb := b.lb
	cost := b.cost
	t := s.now
	d := int64(lb.Decodes)
	for j := 0; j < k; j++ {
		if j > 0 {
			lb.DecodeCtx += d
			s.planner.Plan(&lb, cost)
		}
		t += Time(cost[0].Compute() + cost[0].CollectiveNs(s.tp))
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

// cutRun shortens rp's run so that it ends with the step in progress: the
// scheduler must see the new arrival at that step's end.
func (s *Simulator) cutRun(rp *replica) {
	run := &rp.run
	m := 0
	for m < run.k && run.ends[m] < s.now {
		m++
	}
	if m >= run.k-1 {
		return
	}
	run.k = m + 1
	run.ver++
	s.h.push(run.ends[m], evDecodeRun, rp.id, 0, run.ver)
}

func (s *Simulator) onRunEnd(rp *replica, ver uint32) {
	if ver != rp.run.ver || !rp.run.active {
		s.counts[evDecodeRun]--
		s.counts[evRunStale]++
		return
	}
	s.settleRun(rp, s.now, true)
}

// settleRun applies the steps of rp's run that ended by t, exactly as the
// step-by-step path would have: tokens, inter-token latencies, KV blocks,
// and completions at the run's last step.
func (s *Simulator) settleRun(rp *replica, t Time, kick bool) {
	run := &rp.run
	j := 0
	for j < run.k && run.ends[j] <= t {
		j++
	}
	b := run.b
	run.active, run.b = false, nil
	if j == 0 {
		// Not even the first step finished (the stop time came first):
		// undo nothing; the step's blocks stay allocated as in flight.
		for _, slot := range b.slots {
			s.reqs[slot].inflight = false
		}
		rp.inflight--
		rp.pool = append(rp.pool, b)
		return
	}
	d := int64(len(b.slots))
	s.st.Steps += uint64(j)
	s.decayReserve(rp, j)
	if n := int64(j - run.counted); n > 0 {
		s.sampSteps += n
		s.sampSeqs += n * d
		s.sampTokens += n * d
	}
	s.st.OutputTokens += int64(j) * d
	for m := 1; m < j; m++ {
		s.st.ITL.Add(int64(run.ends[m]-run.ends[m-1]), uint64(d))
	}
	last := run.ends[j-1]
	done := rp.scratch[:0]
	for _, slot := range b.slots {
		r := &s.reqs[slot]
		r.inflight = false
		s.st.ITL.Add(int64(run.ends[0]-r.lastToken), 1)
		r.lastToken = last
		r.generated += int32(j)
		r.computed += int32(j)
		nb := s.blocksFor(r.computed)
		rp.freeBlocks -= nb - r.blocks
		r.blocks = nb
		if r.generated >= r.output {
			done = append(done, slot)
		}
	}
	// The last settled step held the most blocks of the run.
	s.notePeakKV(rp)
	rp.inflight--
	rp.pool = append(rp.pool, b)
	s.complete(rp, done, last)
	if kick {
		s.kick(rp)
	}
}
