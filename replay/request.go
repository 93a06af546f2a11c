package replay

import (
	"fmt"

	"github.com/lodsim/lodsim/trace/workload"
)

// reqState is the per-request bookkeeping of a request that has arrived
// and not yet left. Slots are recycled through a free list.
type reqState struct {
	id         workload.RequestID
	arrival    Time
	firstSched Time
	firstToken Time
	lastToken  Time
	prompt     int32
	output     int32
	computed   int32 // tokens whose KV is computed
	generated  int32 // output tokens produced
	blocks     int32 // KV blocks held; changed only by the replica's kvPool
	preempt    int16
	credit     int16 // speculative decoding's carried thousandths of a token (speculative.go)
	replica    int32
	// On a disaggregated cluster (disagg.go): the whole output (output is
	// 1 while the request is in the prefill pool), the prefill and decode
	// replicas' indices within their pools, the blocks still held on the
	// prefill replica while the KV is handed over, and when the transfer
	// started and ended (-1: not yet).
	want       int32
	prefillIdx int32
	decodeIdx  int32
	srcBlocks  int32
	xferStart  Time
	xferEnd    Time
	inflight   bool // part of a batch in flight (pipeline parallelism)
	done       bool // produced its last token; leaving the running queue
}

func (r *reqState) numTokens() int32 { return r.prompt + r.generated }

// isDecode reports whether r's next step decodes one token (its prompt
// and every sampled token but the last are computed).
func (r *reqState) isDecode() bool { return r.generated > 0 && r.computed == r.numTokens()-1 }

// allocReq takes a free request slot.
func (s *Simulator) allocReq() int32 {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		return slot
	}
	s.reqs = append(s.reqs, reqState{})
	return int32(len(s.reqs) - 1)
}

// record emits a request's result and frees its slot.
func (s *Simulator) record(slot int32, st Status, completion Time) {
	r := &s.reqs[slot]
	// One reused record: a fresh one per request would escape to the heap
	// through the Sink interface.
	res := &s.res
	*res = RequestResult{
		ID: r.id, Arrival: r.arrival, FirstScheduled: r.firstSched, FirstToken: r.firstToken,
		Completion: completion, PromptTokens: r.prompt, OutputTokens: r.generated,
		Replica: r.replica, Preemptions: r.preempt, Status: st, Reason: s.reject,
		Disaggregated: s.disagg != nil, PrefillWorker: r.prefillIdx, DecodeWorker: r.decodeIdx, TransferStart: r.xferStart, TransferEnd: r.xferEnd,
	}
	switch st {
	case Completed:
		s.st.Completed++
	case Unfinished:
		s.st.Unfinished++
	case Rejected:
		s.st.Rejected++
	}
	s.finished++
	if err := s.in.Sink.Record(res); err != nil && s.err == nil {
		s.err = fmt.Errorf("replay: recording request %d: %w", r.id, err)
	}
	if s.src.reactive != nil && st != Unfinished {
		s.src.reactive.Completed(r.id, int64(s.now))
		if s.src.pending {
			s.pull()
		}
	}
	s.free = append(s.free, slot)
}
