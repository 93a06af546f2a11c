package replay

import (
	"fmt"
	"time"
)

// MaxSamples bounds the cluster time series (Stats.Samples, 48 bytes a
// point: about 400 MB at the bound). Idle time is not sampled, so this is
// busy simulated time: 9.7 days at the default 100 ms interval. A run
// that needs more stops with an error asking for a coarser
// simulation.sample_interval rather than growing without bound.
const MaxSamples = 1 << 23

// MinSampleInterval is the finest simulation.sample_interval accepted.
const MinSampleInterval = Duration(1_000_000) // 1 ms

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
	if len(s.st.Samples) >= MaxSamples {
		s.err = fmt.Errorf("replay: simulation.sample_interval %v: the time series reached %d points at %.1f s of simulated time, "+
			"expected at most %d (raise sample_interval)", time.Duration(s.cfg.Simulation.SampleInterval), MaxSamples, float64(s.now)/1e9, MaxSamples)
		return
	}
	s.st.Samples = append(s.st.Samples, sm)
	if s.disagg != nil {
		s.disagg.sample()
	}
	*ts = timeSeries{}
	// Keep sampling only while something else can still happen. (This
	// sample event is taken, not yet removed: settle it to read the
	// earliest pending event below.)
	s.h.settle()
	if s.h.Len() == 0 && !s.src.hasNext {
		return
	}
	iv := Time(s.cfg.Simulation.SampleInterval)
	next := s.now + iv
	// Idle (nothing queued or running, and the next arrival the only
	// event): skip to the last sample time at or before the arrival, on
	// the same grid, so that a gap in the trace costs two zero samples,
	// not one per interval. Rates divide by the time since the previous
	// sample (analysis.Series), so they stay right across the gap.
	if running == 0 && waiting == 0 && s.h.Len() == 1 && s.src.hasNext {
		if t := s.h.ev[0].t; t-s.now > iv {
			next = s.now + (t-s.now)/iv*iv
		}
	}
	s.h.push(next, evSample, 0, 0, 0)
}
