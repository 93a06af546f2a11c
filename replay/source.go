package replay

import (
	"errors"
	"fmt"
	"io"

	"github.com/lodsim/lodsim/trace/workload"
)

// source is the workload as the simulator reads it: one request ahead, and
// for a reactive (closed-loop) source, whether it waits for a completion.
type source struct {
	r        workload.Reader
	reactive workload.Reactive
	next     workload.Request
	hasNext  bool
	pending  bool // source waits for a completion
}

func newSource(r workload.Reader) source {
	src := source{r: r}
	src.reactive, _ = r.(workload.Reactive)
	return src
}

// pull fetches the next request from the source and schedules its arrival.
func (s *Simulator) pull() {
	src := &s.src
	if src.hasNext || s.err != nil {
		return
	}
	r, err := src.r.Next()
	switch {
	case err == nil:
	case err == io.EOF:
		return
	case errors.Is(err, workload.ErrPending):
		src.pending = true
		return
	default:
		s.err = fmt.Errorf("replay: workload: %w", err)
		return
	}
	src.pending = false
	src.next, src.hasNext = r, true
	// The request becomes schedulable after the engine's per-request
	// overhead (tokenisation, admission); a reactive source may answer
	// late, and nothing is scheduled in the past.
	t := Time(r.Arrival) + Time(s.in.Cost.Overheads().PerRequestNs)
	if t < s.now {
		t = s.now
	}
	s.h.push(t, evArrival, 0, 0, 0)
}

// onArrival routes the request that arrived and queues it, or rejects it
// when it can never run: longer than max_model_len, more KV blocks than
// its replica has (disaggregated: see disagg.tooLongForKV), or a prompt
// over the token budget without chunking.
//
// A request is routed once every other event at its ns is applied (it
// waits behind them, not counted twice): a step that ended on the very ns
// it arrived has ended for the router, whichever event was pushed first.
// The levels of detail end steps through different events (high LoD's
// last transfer or operation is pushed during the step, medium's stage
// event at its start), so push order alone made their routers see
// different loads on such ties.
func (s *Simulator) onArrival() {
	if s.h.busyAt(s.now) {
		s.counts[evArrival]--
		s.h.push(s.now, evArrival, 0, 0, 0)
		return
	}
	r := s.src.next
	s.src.hasNext = false
	s.st.Arrived++
	if n := s.st.Arrived - s.finished; n > s.st.PeakInFlight {
		s.st.PeakInFlight = n
	}
	slot := s.allocReq()
	rs := &s.reqs[slot]
	*rs = reqState{id: r.ID, arrival: Time(r.Arrival), firstSched: -1, firstToken: -1, lastToken: -1,
		prompt: max(r.PromptTokens, 1), output: max(r.OutputTokens, 1)} // the prefill itself yields one token
	p := s.pools[0] // the aggregated or the prefill pool
	rep := p.router.route(s, p.replicas)
	rs.replica = rep.id
	if s.disagg != nil {
		rs.prefillIdx = rep.index
		rs.decodeIdx, rs.xferStart, rs.xferEnd = -1, -1, -1
	}
	reason := NotRejected
	switch {
	case s.maxLen > 0 && rs.prompt+rs.output > s.maxLen:
		reason = TooLongForModel
	case s.disagg == nil && rep.kv.blocksFor(rs.prompt+rs.output) > rep.kv.total,
		s.disagg != nil && s.disagg.tooLongForKV(rep, rs):
		reason = TooLongForKV
	case !*p.sched.ChunkedPrefill && rs.prompt > int32(p.sched.MaxNumBatchedTokens):
		reason = TooLongForBudget
	}
	if reason != NotRejected {
		s.reject = reason
		s.record(slot, Rejected, -1)
		s.reject = NotRejected
		s.pull()
		return
	}
	if s.disagg != nil {
		s.disagg.toPrefill(rs)
	}
	p.enqueue(s, rep, slot)
	s.pull()
}
