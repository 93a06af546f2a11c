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
// applied (flushKicks). The event being handled is taken, not popped
// (eventHeap.take): ev points at the heap's root, which the handler's
// first push overwrites, so its fields are read before the handler runs
// (as the handler's arguments) and not after.
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
		ev := s.h.take() // not removed: the handler's first push replaces it
		s.now = ev.t
		s.counts[ev.kind]++
		if s.wall != nil {
			s.wall.tick(ev.kind)
		}
		switch ev.kind {
		case evArrival:
			s.onArrival()
		case evSample:
			s.onSample()
		case evRankCompute:
			s.high.advance(s.stages[ev.a], int(ev.b))
		case evLinkTransfer:
			s.high.onLinkDeliver(int(ev.a), ev.ver)
		case evLinkRate:
			s.high.onLinkRate(int(ev.a), ev.ver)
		case evStageCompute:
			s.medium.onStageCompute(s.stages[ev.a])
		case evStageCollective:
			s.medium.onStageCollective(s.stages[ev.a], ev.ver)
		case evPPTransfer:
			s.medium.onPPArrive(int(ev.a), int(ev.b), ev.ver)
		case evDecodeRun:
			s.medium.onRunEnd(s.replicas[ev.a], ev.ver)
		case evExpertCompute:
			s.high.onExpertCompute(s.stages[ev.a], int(ev.b))
		case evKVTransfer:
			s.disagg.arrived(ev.a)
		}
		flushDue(s)
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
