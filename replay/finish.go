package replay

import "sort"

// Finish ends the run at the current simulated time: it settles decode
// runs cut by it, reports every request still waiting or running as
// unfinished and returns the statistics. Run calls it after the last
// event; after Step or RunUntil it stops the run early. Later calls return
// the same statistics.
func (s *Simulator) Finish() (*Stats, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.ended {
		return &s.st, nil
	}
	s.ended = true
	s.over = true
	for _, rp := range s.replicas {
		if rp.run.active {
			// The step in progress at the stop time has its blocks, as
			// in the step-by-step path.
			f := float64(s.kvHeld(rp)) / float64(rp.kv.total)
			s.st.PeakKVUtil = max(s.st.PeakKVUtil, f)
			rp.grp.peakKV = max(rp.grp.peakKV, f)
			s.medium.settleRun(rp, s.now)
		}
	}
	s.st.SimEnd = s.now
	// Unfinished requests in a deterministic order: replica, then running
	// in admission order, then waiting in queue order.
	for _, rp := range s.replicas {
		for _, slot := range rp.running {
			s.record(slot, Unfinished, -1)
		}
		rp.running = rp.running[:0]
		for rp.waiting.n > 0 {
			s.record(rp.waiting.popFront(), Unfinished, -1)
		}
		if s.disagg != nil {
			s.disagg.finish(rp)
		}
	}
	s.pools[0].adpUnfinished(s)
	if s.disagg != nil {
		s.st.Disaggregated = s.disagg.stats()
	}
	s.countEvents()
	if s.adaptive != nil {
		s.adaptive.report()
	}
	if s.err != nil {
		return nil, s.err
	}
	return &s.st, nil
}

// countEvents fills the statistics' event counts, sorted by kind.
func (s *Simulator) countEvents() {
	names := make([]int, 0, numEventKinds)
	for k := range s.counts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return eventKindNames[names[i]] < eventKindNames[names[j]] })
	s.st.Events = s.st.Events[:0]
	s.st.TotalEvents = 0
	for _, k := range names {
		if s.counts[k] == 0 {
			continue
		}
		s.st.Events = append(s.st.Events, EventCount{Kind: eventKindNames[k], Count: s.counts[k]})
		s.st.TotalEvents += s.counts[k]
	}
}
