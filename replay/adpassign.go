package replay

// TensorRT-LLM's assignment of new requests to attention-DP ranks
// (ExecutorRequestQueue._fetch_new_requests_attention_dp,
// _schedule_attention_dp_requests and _balance_requests_across_ranks,
// tensorrt_llm/_torch/pyexecutor/executor_request_queue.py). The ranks of
// an attention data-parallel group are one engine behind one request
// queue: every iteration they exchange their active requests' count and
// prompt tokens, the queue hands out as many requests as the group has
// room for (attention DP x max_batch_size less the active ones), and each
// goes to the rank with the fewest active prompt tokens (then the fewest
// requests, then the lowest rank) among those holding fewer than
// max(ceil((active + new) / attention DP), the most any rank holds). A
// request stays on its rank until it finishes; the next request of the
// same client is a new one, assigned afresh.
//
// lodsim assigns each request when it arrives (new = 1) among the ranks of
// the group its router picked; while every rank holds max_num_seqs the
// request waits in the group's queue, and a rank that finishes requests
// takes the queue's front ones. A rank's active requests are those routed
// to it and not finished (replica.outstanding). It applies to the pool
// that takes arrivals; a disaggregated decode pool keeps its router.

// adpAssigns reports whether pool p hands its arrivals to the ranks of an
// attention-DP group by TensorRT-LLM's rule.
func (p *workerPool) adpAssigns(s *Simulator) bool {
	return p == s.pools[0] && p.sched.Engine == EngineTRTLLM && p.planner.AttentionDP() > 1
}

// adpRank is the rank of rp's attention-DP group that takes a new
// request, or nil when every rank holds max_num_seqs.
func (p *workerPool) adpRank(s *Simulator, rp *replica) *replica {
	dp := p.planner.AttentionDP()
	first := int(rp.index) / dp * dp
	ranks := p.replicas[first : first+dp]
	total, most := 0, 0
	for _, o := range ranks {
		total += o.outstanding()
		most = max(most, o.outstanding())
	}
	expected := min(max((total+dp)/dp, most), p.sched.MaxNumSeqs) // (total + 1 + dp - 1) / dp
	var best *replica
	var bestTokens int64
	for _, o := range ranks {
		if o.outstanding() >= expected {
			continue
		}
		tokens := o.waitingTokens
		for _, slot := range o.running {
			tokens += int64(s.reqs[slot].prompt)
		}
		if best == nil || tokens < bestTokens || tokens == bestTokens && o.outstanding() < best.outstanding() {
			best, bestTokens = o, tokens
		}
	}
	return best
}

// enqueue queues request slot, routed to replica rp of pool p, on the
// replica that takes it: rp, or under TensorRT-LLM's attention DP the rank
// of rp's group the engine assigns it to, or the group's queue while no
// rank has room.
func (p *workerPool) enqueue(s *Simulator, rp *replica, slot int32) {
	if p.adpAssigns(s) {
		to := p.adpRank(s, rp)
		if to == nil {
			g := p.adpGroup(rp)
			g.queue.pushBack(slot)
			return
		}
		rp = to
	}
	p.place(s, rp, slot)
}

// place queues request slot on replica rp and has its scheduler run.
func (p *workerPool) place(s *Simulator, rp *replica, slot int32) {
	rs := &s.reqs[slot]
	rs.replica = rp.id
	if s.disagg != nil {
		rs.prefillIdx = rp.index
	}
	rp.waiting.pushBack(slot)
	rp.waitingTokens += int64(rs.prompt)
	s.kick(rp)
}

// adpRefill hands the requests waiting in the queue of rp's attention-DP
// group, front first, to the group's ranks while one has room (after rp
// finished requests).
func (p *workerPool) adpRefill(s *Simulator, rp *replica) {
	if !p.adpAssigns(s) {
		return
	}
	g := p.adpGroup(rp)
	for g.queue.n > 0 {
		to := p.adpRank(s, rp)
		if to == nil {
			return
		}
		p.place(s, to, g.queue.popFront())
	}
}

// adpUnfinished records the requests still in the attention-DP groups'
// queues of pool p as unfinished, group by group in queue order.
func (p *workerPool) adpUnfinished(s *Simulator) {
	for i := range p.adp {
		for q := &p.adp[i].queue; q.n > 0; {
			s.record(q.popFront(), Unfinished, -1)
		}
	}
}
