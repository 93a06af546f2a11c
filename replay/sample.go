package replay

// timeSeries accumulates what happened since the last sample.
type timeSeries struct {
	seqs, steps, tokens, done int64
}

// addSteps counts n steps of seqs sequences each.
func (ts *timeSeries) addSteps(n, seqs int) {
	ts.steps += int64(n)
	ts.seqs += int64(n) * int64(seqs)
}

// onSample takes one point of the cluster time series and schedules the
// next.
func (s *Simulator) onSample() {
	var running, waiting int32
	var used, total int64
	for _, rp := range s.replicas {
		if rp.run.active {
			s.medium.countRunSteps(rp)
		}
		running += int32(len(rp.running))
		waiting += int32(rp.waiting.n)
		used += s.kvHeld(rp)
		total += int64(rp.kv.total)
	}
	ts := &s.ts
	sm := Sample{T: s.now, Running: running, Waiting: waiting, OutputTokens: ts.tokens, Completed: ts.done}
	if total > 0 {
		sm.KVUtil = float64(used) / float64(total)
	}
	if ts.steps > 0 {
		sm.BatchSize = float64(ts.seqs) / float64(ts.steps)
	}
	s.st.Samples = append(s.st.Samples, sm)
	if s.disagg != nil {
		s.disagg.sample()
	}
	*ts = timeSeries{}
	// Keep sampling only while something else can still happen.
	if s.h.Len() > 0 || s.src.hasNext {
		s.h.push(s.now+Time(s.cfg.Simulation.SampleInterval), evSample, 0, 0, 0)
	}
}
