package replay

import "math"

// Run executes the run to its end: every event until none is left or the
// stop time passes, then Finish. It continues a run advanced by Step or
// RunUntil.
func (s *Simulator) Run() (*Stats, error) {
	s.loop(math.MaxInt64, -1)
	return s.Finish()
}

// Step processes the next event. It reports false, processing nothing,
// once the run is over (no event left, or the next lies past
// max_simulation_time) or has failed (the error says why).
func (s *Simulator) Step() (bool, error) {
	s.loop(math.MaxInt64, 1)
	return !s.over && s.err == nil, s.err
}

// RunUntil processes every event at or before t and leaves the simulated
// clock at t, so that the state seen between steps (Now, Replica) is the
// state at t. It reports false once the run is over or has failed.
func (s *Simulator) RunUntil(t Time) (bool, error) {
	s.loop(t, -1)
	if !s.over && s.err == nil && t > s.now {
		s.now = t
	}
	return !s.over && s.err == nil, s.err
}

// Now is the current simulated time.
func (s *Simulator) Now() Time { return s.now }

// loop processes up to n events (all, for n < 0) at or before until. It
// reads as the run's phases: pull the first request, then pop and
// dispatch events, each changing the state of one component (the switch
// is inline: a call per event costs measurably at high LoD). The
// schedulers kicked by events run once every event at their time is
// applied (flushKicks).
func (s *Simulator) loop(until Time, n int) {
	begin(s)
	if s.over {
		return
	}
	stop := stopTime(s)
	limit := min(until, stop)
	processed := s.processed // a local: the loop's hottest counter
	for ; n != 0 && s.err == nil; n-- {
		s.h.settle()
		if len(s.h.ev) == 0 {
			s.over = true
			break
		}
		if t := s.h.ev[0].t; t > limit {
			if t > stop {
				s.now, s.over = stop, true
			}
			break
		}
		// Taken, not popped: the handler's first push replaces it
		// (eventHeap). Its fields are read before any push.
		ev := s.h.take()
		s.now = ev.t
		kind, a, b := ev.kind, ev.a, ev.b
		s.counts[kind]++
		if s.wall != nil {
			s.wall.tick(kind)
		}
		switch kind {
		case evArrival:
			s.onArrival()
		case evSample:
			s.onSample()
		case evRankCompute:
			s.high.advance(s.stages[a], int(b))
		case evLinkTransfer:
			s.high.onLinkDeliver(int(a), ev.ver)
		case evLinkRate:
			s.high.onLinkRate(int(a), ev.ver)
		case evStageCompute:
			s.medium.onStageCompute(s.stages[a])
		case evStageCollective:
			s.medium.onStageCollective(s.stages[a], ev.ver)
		case evPPTransfer:
			s.medium.onPPArrive(int(a), int(b), ev.ver)
		case evDecodeRun:
			s.medium.onRunEnd(s.replicas[a], ev.ver)
		case evExpertCompute:
			s.high.onExpertCompute(s.stages[a], int(b))
		case evKVTransfer:
			s.disagg.arrived(a)
		}
		if len(s.kicks) > 0 || (s.medium != nil && len(s.medium.busDirty) > 0) {
			s.h.settle()
			if len(s.h.ev) == 0 || s.h.ev[0].t > s.now {
				flushKicks(s)
			}
		}
		if processed++; s.in.Progress != nil && processed&0x3ffff == 0 {
			s.in.Progress(s.now, s.finished)
		}
	}
	s.h.settle()
	s.processed = processed
}

// stopTime is the time past which no event is processed: the run's stop
// time, or none.
func stopTime(s *Simulator) Time {
	if s.stop > 0 {
		return s.stop
	}
	return math.MaxInt64
}

// begin pulls the first request and schedules the first sample, once.
// (A function: Simulator's methods are its API, TestPackageShape.)
func begin(s *Simulator) {
	if !s.started {
		s.started = true
		s.pull()
		s.h.push(0, evSample, 0, 0, 0)
	}
}
