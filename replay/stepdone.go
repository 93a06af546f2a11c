package replay

// finishBatch applies a step that left the last pipeline stage.
func (s *Simulator) finishBatch(b *batch) {
	s.oneEnd[0] = s.now
	s.stepsDone(b, s.oneEnd[:], 0)
}

// stepsDone is the one bookkeeping path of finished steps: it applies
// len(ends) identical steps of b ending at the given times, the first
// counted of which the time series already holds. A single step comes
// from the pipeline (finishBatch); several come from a settled decode run
// at the medium level of detail, whose steps each decode one token of
// every request in b. It counts the steps, decays the admission reserve,
// advances every request's tokens and KV blocks, records each sampled
// token and its inter-token latency, and completes the requests that
// produced their last token.
func (s *Simulator) stepsDone(b *batch, ends []Time, counted int) {
	rp := b.rep
	n := len(ends)
	rp.inflight--
	rp.lastEnd = ends[n-1]
	s.st.Steps += uint64(n)
	rp.grp.stepCount += uint64(n)
	if b.decodeOnly() {
		rp.sched.decodeStepsDone(n)
	}
	s.ts.addSteps(n-counted, len(b.slots))
	// Steps after the first give every request a token at the same gaps.
	for m := 1; m < n; m++ {
		s.st.ITL.Add(int64(ends[m]-ends[m-1]), uint64(len(b.slots)))
	}
	done := rp.scratch[:0]
	sp := rp.grp.spec
	for i, slot := range b.slots {
		r := &s.reqs[slot]
		r.inflight = false
		sampled := r.computed+b.ntok[i] == r.numTokens()
		// A decode keeps the tokens its steps yield (one each without
		// speculation) and gives back the KV of its rejected drafts.
		e, ec := int32(n), int32(counted)
		if sp.on() && r.isDecode() {
			e, ec = sp.yield(r, n), sp.yield(r, counted)
			sp.advance(r, n)
		}
		r.computed += b.ntok[i] + e - 1
		rp.kv.growTo(r, r.computed)
		if sampled {
			s.tokens(r, ends, e, ec)
			if r.generated >= r.output {
				done = append(done, slot)
			}
		}
	}
	// The last step held the most blocks of a run.
	s.notePeakKV(rp)
	rp.pool = append(rp.pool, b)
	s.complete(rp, done, ends[n-1])
	if s.disagg != nil && rp.grp.kind == PoolDecode {
		s.disagg.decodeFreed(rp)
	}
	if s.in.CheckInvariants {
		if err := s.CheckKV(); err != nil {
			panic(err)
		}
	}
}

// tokens records the e tokens r sampled at the ends of identical steps,
// ec of which the time series already holds. The inter-token latency is
// the gap between steps: a speculative step's tokens arrive together.
func (s *Simulator) tokens(r *reqState, ends []Time, e, ec int32) {
	n := len(ends)
	if r.firstToken < 0 {
		r.firstToken = ends[0]
	} else {
		s.st.ITL.Add(int64(ends[0]-r.lastToken), 1)
	}
	r.generated += e
	r.lastToken = ends[n-1]
	s.st.OutputTokens += int64(e)
	s.ts.tokens += int64(e - ec)
}

// complete releases the KV blocks of the finished requests done (reusing
// rp.scratch), takes them out of the running queue and records them as
// completed at the given time.
//
// On a prefill replica the requests are not complete but prefilled: they
// go on to the decode pool (disagg.prefilled).
func (s *Simulator) complete(rp *replica, done []int32, at Time) {
	if rp.grp.kind == PoolPrefill {
		if len(done) > 0 {
			s.disagg.prefilled(rp, done)
			rp.grp.adpRefill(s, rp)
		}
		rp.scratch = done[:0]
		return
	}
	for _, slot := range done {
		r := &s.reqs[slot]
		rp.kv.release(r)
		r.done = true
	}
	if len(done) > 0 {
		s.removeRunning(rp)
		for _, slot := range done {
			s.ts.done++
			s.record(slot, Completed, at)
		}
		rp.grp.adpRefill(s, rp)
	}
	rp.scratch = done[:0]
}

// removeRunning drops the requests marked done from rp.running, keeping
// the order of the rest.
func (s *Simulator) removeRunning(rp *replica) {
	j := 0
	for _, slot := range rp.running {
		if !s.reqs[slot].done {
			rp.running[j] = slot
			j++
		}
	}
	rp.running = rp.running[:j]
}
