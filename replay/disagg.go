package replay

import "fmt"

// disagg is the request path of a disaggregated cluster
// (cluster.disaggregated):
//
//  1. The prefill pool's router picks a prefill worker; the request queues
//     there with an output of one token and is prefilled (chunked) by the
//     pool's scheduler, as on an aggregated replica.
//  2. The step that samples its first token ends its prefill. It leaves
//     the running queue but keeps its KV blocks on the prefill worker
//     (outbound). The decode pool's router picks a decode worker once
//     every event at that ns is applied (routeFinished), where it queues
//     (pending) for the blocks of its KV.
//  3. A transfer starts once the decode worker's free blocks hold its KV
//     and its running requests and transfers in progress are fewer than
//     its max_num_seqs, in FCFS order per decode worker: the blocks are
//     allocated there first, then the KV moves over the links
//     (kvtransfer.go). With TensorRT-LLM's guaranteed_no_evict (engine
//     trtllm's default) the free blocks must also hold the request's whole
//     sequence beside what the worker's requests may still need
//     (noEvict), so that its decode never evicts.
//  4. When the transfer completes the prefill worker's blocks are
//     released, and the request joins the decode worker's running queue,
//     to decode at its next step, as SGLang's decode server moves a
//     transferred request into its running batch. Holding blocks, it must
//     be running: a waiting request holding blocks could not be preempted,
//     and a worker full of them could deadlock. A decode worker that
//     preempts it recomputes prompt and output there (its waiting queue
//     holds only such requests, admitted by the engine's rule).
//
// Back-pressure: while a decode worker has no room, finished prefills wait
// holding their prefill blocks, so a prefill worker whose cache fills with
// them stops admitting; nothing is dropped. A request whose whole sequence
// cannot fit in a decode worker's cache, or whose prompt cannot fit in a
// prefill worker's, is rejected on arrival (exceeds_kv_capacity), as is
// one whose prompt plus SGLang's decode_reserved_tokens cannot fit in an
// empty decode worker's cache (its transfer could never start).
//
// TTFT: the first token is the one the prefill step sampled, delivered to
// the client when the transfer completes, as SGLang's PD mode (the decode
// server streams every token, the first one after the KV has arrived)
// and NVIDIA Dynamo report it. RequestResult.FirstToken is the transfer's
// end; TransferStart and TransferEnd bracket the transfer, and the time
// from the prefill's end to TransferStart is the wait for decode room.
type disagg struct {
	s               *Simulator
	prefill, decode *workerPool
	xfer            *kvTransfer

	transfers   int64
	bytes       float64
	waited      int64
	pending     int64 // finished prefills waiting for decode room now
	peakPending int64
	roomScans   int64   // sglangRoom readings (tests check their count)
	finished    []int32 // finished prefills routed at this ns's flush (routeFinished)
	samples     []PoolSample
}

func (d *disagg) stats() *DisaggStats {
	lane := d.xfer.lane
	if d.xfer.nodes && d.xfer.link == KVLinkNetwork {
		lane = d.xfer.net
	}
	return &DisaggStats{Prefill: d.prefill.stats(), Decode: d.decode.stats(), KVLink: string(d.xfer.link),
		Transfers: d.transfers, TransferBytes: d.bytes, WaitedForRoom: d.waited, PeakPending: d.peakPending,
		TransferLaneGBs: lane.BytesPerNs, Samples: d.samples}
}

// sample takes one point of the per-pool time series (after the
// cluster's, which settled the decode runs' steps so far).
func (d *disagg) sample() {
	s := d.s
	sm := PoolSample{T: s.now}
	pool := func(p *workerPool, running, waiting *int32) float64 {
		var used, total int64
		for _, rp := range p.replicas {
			*running += int32(len(rp.running))
			*waiting += int32(rp.waiting.n)
			used += s.kvHeld(rp)
			total += int64(rp.kv.total)
			if p.kind == PoolDecode {
				sm.WaitingForRoom += int32(rp.pending.n)
				sm.InTransfer += int32(len(rp.inbound))
			}
		}
		*waiting += p.adpQueued() // waiting for an attention-DP rank
		return float64(used) / float64(total)
	}
	sm.PrefillKVUtil = pool(d.prefill, &sm.PrefillRunning, &sm.PrefillWaiting)
	sm.DecodeKVUtil = pool(d.decode, &sm.DecodeRunning, &sm.DecodeWaiting)
	d.samples = append(d.samples, sm)
}

// newDisagg builds the two pools of cluster.disaggregated, checks that a
// worker of each can hold what one request needs there, and lays out the
// KV transfers.
func newDisagg(s *Simulator) error {
	c := s.cfg
	d := &disagg{s: s}
	pc, dc := c.ForPool(PoolPrefill), c.ForPool(PoolDecode)
	var err error
	if d.prefill, err = newPool(s, PoolPrefill, pc, pc.Router.Policy); err != nil {
		return fmt.Errorf("cluster.disaggregated.prefill: %w", err)
	}
	if d.decode, err = newPool(s, PoolDecode, dc, dc.Router.Policy); err != nil {
		return fmt.Errorf("cluster.disaggregated.decode: %w", err)
	}
	d.decode.base = decodeBase(&c.Cluster)
	bs := c.Scheduler.BlockSize
	if n := c.Scheduler.MaxModelLen; n > 0 {
		// A request of max_model_len tokens must fit whole on a decode
		// worker, and its prompt (all but one token) on a prefill worker.
		if need := int64((n + bs - 1) / bs); need > d.decode.blocks {
			return poolCapacityError(PoolDecode, d.decode.blocks, bs, n, "one request of scheduler.max_model_len")
		}
		if need := int64((n - 1 + bs - 1) / bs); need > d.prefill.blocks {
			return poolCapacityError(PoolPrefill, d.prefill.blocks, bs, n-1, "the prompt of one request of scheduler.max_model_len")
		}
	}
	same := d.prefill.cost.GPU().Key == d.decode.cost.GPU().Key
	d.xfer = newKVTransfer(s.in.Model, &c.Cluster, d.prefill, same)
	s.disagg = d
	s.pools = []*workerPool{d.prefill, d.decode}
	d.prefill.addReplicas(s)
	d.decode.addReplicas(s)
	d.netLinkKind()
	return nil
}

// netLinkKind reports the KV link as network on nodes where some prefill
// worker and decode worker lie on different nodes.
func (d *disagg) netLinkKind() {
	for _, src := range d.prefill.replicas {
		for _, dst := range d.decode.replicas {
			if d.xfer.crosses(d.s, src, dst) {
				d.xfer.link = KVLinkNetwork
				return
			}
		}
	}
}

// tooLongForKV reports whether r's KV could never fit: its prompt in
// prefill replica rep's cache, or its whole sequence in a decode
// replica's, or, under SGLang's pre-allocation reserve
// (scheduler.decode_reserved_tokens), its prompt beside the reserve in
// an empty decode replica's, the most room sglangAllocatable ever gives
// (its transfer would wait forever).
func (d *disagg) tooLongForKV(rep *replica, r *reqState) bool {
	dec := int32(d.decode.blocks)
	if rep.kv.blocksFor(r.prompt) > rep.kv.total || rep.kv.blocksFor(r.prompt+r.output) > dec {
		return true
	}
	res, kv := d.decode.sched.DecodeReservedTokens, &d.decode.replicas[0].kv
	return res != nil && kv.blocksFor(r.prompt)+kv.blocksFor(int32(*res)) > dec
}

// toPrefill readies an admitted arrival for the prefill pool: it runs
// there until it samples its first token.
func (d *disagg) toPrefill(r *reqState) {
	r.want, r.output = r.output, 1
}

// prefilled takes the requests in done, whose prefill finished on
// prefill replica rp, out of its running queue, keeping their blocks, and
// queues them for the decode router (routeFinished), which runs once every
// event at this ns is applied.
func (d *disagg) prefilled(rp *replica, done []int32) {
	s := d.s
	for _, slot := range done {
		s.reqs[slot].done = true
	}
	s.removeRunning(rp)
	for _, slot := range done {
		r := &s.reqs[slot]
		r.done = false
		rp.kv.handOff(r)
		rp.outbound = append(rp.outbound, slot)
		r.output = r.want
		d.finished = append(d.finished, slot)
	}
	s.kick(rp) // flushKicks routes them
}

// routeFinished assigns each finished prefill queued at this ns a decode
// worker, in the order their steps ended (by event, then by their place
// in the batch), and starts the transfers there is room for. It runs
// from flushKicks, before the schedulers, once every event at this ns is
// applied: the decode router sees a decode step or KV transfer that ended
// on the very ns a prefill step did as ended, whichever event was pushed
// first, as onArrival's router does for arrivals, and at every level of
// detail alike (high and medium end steps through different events).
// Equal loads then go to the lowest decode worker (router.route).
func (d *disagg) routeFinished() {
	s := d.s
	for _, slot := range d.finished {
		r := &s.reqs[slot]
		dst := d.decode.router.route(s, d.decode.replicas)
		r.decodeIdx = dst.index
		dst.pending.pushBack(slot)
		dst.pendingBlocks += int64(dst.kv.blocksFor(r.computed))
		d.pending++
		d.startTransfers(dst)
		if r.xferStart < 0 {
			d.waited++
			d.peakPending = max(d.peakPending, d.pending)
		}
	}
	d.finished = d.finished[:0]
}

// startTransfers starts the transfers queued on decode replica dst, in
// order, while its free blocks hold the next one's KV. Blocks a medium
// decode run has yet to settle count as held, as at high LoD, and taking
// blocks cuts the run at its step in progress: its later steps assumed
// them free.
func (d *disagg) startTransfers(dst *replica) {
	s := d.s
	var room sglangRoom // read once a pass: see sglangRoom
	for dst.pending.n > 0 {
		slot := dst.pending.front()
		r := &s.reqs[slot]
		need := dst.kv.need(r, r.computed)
		free := int64(dst.kv.free)
		if dst.run.active {
			free -= s.medium.runExtraBlocks(dst)
		}
		if !d.roomFor(dst, r, need, free, &room) {
			// A medium decode run in progress ends with its step in
			// progress: the next step's end checks again, as at high LoD
			// (SGLang's allocatable room can grow as decodes advance).
			if dst.run.active {
				s.medium.cutRun(dst)
			}
			return
		}
		dst.pending.popFront()
		dst.pendingBlocks -= int64(need)
		d.pending--
		if dst.run.active {
			s.medium.cutRun(dst)
		}
		dst.kv.growTo(r, r.computed)
		// A peak of KV use: blocks held now, the step in progress's
		// included (a medium decode run's unsettled ones too).
		f := float64(s.kvHeld(dst)) / float64(dst.kv.total)
		s.st.PeakKVUtil, dst.grp.peakKV = max(s.st.PeakKVUtil, f), max(dst.grp.peakKV, f)
		dst.inbound = append(dst.inbound, slot)
		r.xferStart = s.now
		src := d.prefill.replicas[r.prefillIdx]
		d.transfers++
		d.bytes += d.xfer.Bytes(r.computed)
		if s.high != nil {
			s.high.startKV(slot, src, dst, d.xfer, r.computed)
		} else {
			s.h.push(s.now+Time(d.xfer.Ns(s, src, dst, r.computed)), evKVTransfer, slot, 0, 0)
		}
	}
}

// roomFor reports whether decode replica dst may take r's transfer of
// need blocks now, with free blocks free: they hold it, max_num_seqs
// allows one more, and so do SGLang's pre-allocation reserve and
// TensorRT-LLM's guaranteed_no_evict where configured. room is the
// pass's reading of dst for SGLang's rule, filled on first use.
func (d *disagg) roomFor(dst *replica, r *reqState, need int32, free int64, room *sglangRoom) bool {
	if int64(need) > free || len(dst.running)+len(dst.inbound) >= dst.grp.sched.MaxNumSeqs {
		return false
	}
	if dst.grp.sched.DecodeReservedTokens != nil {
		if !room.filled {
			*room = d.readRoom(dst)
		}
		if int64(need) > room.sglangAllocatable(dst, r, free) {
			return false
		}
	}
	return !noEvict(dst) || int64(dst.kv.need(r, admitSequence.target(r))) <= d.noEvictRoom(dst)
}

// sglangClipMaxNewTokens is SGLang's SGLANG_CLIP_MAX_NEW_TOKENS_ESTIMATION
// (4096): the most output tokens its decode server's admission counts.
const sglangClipMaxNewTokens = 4096

// sglangRoom is what SGLang's decode pre-allocation rule
// (sglangAllocatable) reads of a decode replica's running and preempted
// requests. startTransfers reads it once a pass (readRoom): while a pass
// starts transfers, the replica's running and waiting requests and a
// medium decode run's steps ended by now stay as they are (a run cut to
// its step in progress keeps them), and only the free blocks and the
// transfers in progress change, which sglangAllocatable takes afresh. A
// pass that starts k transfers thus costs O(running + waiting + k), not
// O(k x (running + waiting)).
type sglangRoom struct {
	filled bool
	// res is R (scheduler.decode_reserved_tokens) in blocks; retractable
	// the running requests' tokens; single the blocks the longest running
	// request needs to finish with the others retracted; waiting the
	// preempted requests' blocks plus R each.
	res, retractable, single, waiting int64
}

// readRoom reads decode replica rp for sglangRoom, in one scan of its
// running and waiting requests (counted in d.roomScans).
func (d *disagg) readRoom(rp *replica) sglangRoom {
	s := d.s
	d.roomScans++
	room := sglangRoom{filled: true, res: int64(rp.kv.blocksFor(int32(*rp.grp.sched.DecodeReservedTokens)))}
	var longest int64
	for _, slot := range rp.running {
		q := &s.reqs[slot]
		room.retractable += int64(q.numTokens())
		longest = max(longest, int64(q.prompt)+int64(min(q.output, sglangClipMaxNewTokens)))
	}
	if rp.run.active {
		// A medium decode run's steps that ended by now gave each of its
		// requests a token it has yet to settle, as at high LoD.
		room.retractable += int64(rp.run.endedBy(s.now)) * int64(len(rp.run.b.slots))
	}
	room.single = int64(rp.kv.blocksFor(int32(max(longest-room.retractable, 0))))
	for i := 0; i < rp.waiting.n; i++ {
		q := &s.reqs[rp.waiting.at(i)]
		room.waiting += int64(rp.kv.blocksFor(q.numTokens())) + room.res
	}
	return room
}

// sglangAllocatable is what SGLang's decode server lets request r
// pre-allocate on decode replica rp (disaggregation/decode.py,
// DecodePreallocQueue.pop_preallocated and _allocatable_tokens), in blocks,
// with R = scheduler.decode_reserved_tokens and free the replica's free
// blocks: free, less R for each request running or in transfer there (or,
// if more, what the longest running request needs to finish with all the
// others retracted), less each preempted request's tokens plus R, less R
// for r itself; r must also fit its prompt and whole output beside the
// running requests' tokens. A decode worker thus stops taking transfers
// before its cache fills, where without the reserve it takes every prompt
// that fits and then preempts its own decodes. O(1) from the pass's
// reading room of rp.
func (room *sglangRoom) sglangAllocatable(rp *replica, r *reqState, free int64) int64 {
	alloc := free - max(room.res*int64(len(rp.running)+len(rp.inbound)), room.single) - room.waiting
	whole := int64(r.prompt) + int64(min(r.output, sglangClipMaxNewTokens)) - room.retractable
	return min(alloc-room.res, alloc-int64(rp.kv.blocksFor(int32(max(whole, 0))))+int64(rp.kv.need(r, r.computed)))
}

// noEvict reports whether decode replica rp takes transfers as
// TensorRT-LLM's guaranteed_no_evict capacity scheduler admits requests
// (engine trtllm, its default capacity policy): only a request whose whole
// sequence, prompt plus output, fits beside what every request running or
// arriving there may still need, so that a decode worker never evicts.
func noEvict(rp *replica) bool {
	sc := rp.grp.sched
	return sc.Engine == EngineTRTLLM && sc.CapacityPolicy != MaxUtilization
}

// noEvictRoom is decode replica rp's free blocks less those its running
// and inbound requests still need to reach their whole sequence. A medium
// decode run's unsettled blocks cancel out: they are missing from the free
// count and from the requests' held blocks alike.
func (d *disagg) noEvictRoom(rp *replica) int64 {
	room := int64(rp.kv.free)
	for _, list := range [2][]int32{rp.running, rp.inbound} {
		for _, slot := range list {
			r := &d.s.reqs[slot]
			room -= int64(max(0, rp.kv.need(r, admitSequence.target(r))))
		}
	}
	return room
}

// arrived: request slot's KV reached its decode worker. The prefill
// worker's blocks are released and the first token is delivered; the
// request waits for the decode worker's next step.
func (d *disagg) arrived(slot int32) {
	s := d.s
	r := &s.reqs[slot]
	src := d.prefill.replicas[r.prefillIdx]
	dst := d.decode.replicas[r.decodeIdx]
	src.kv.releaseHandedOff(r)
	src.outbound = removeSlot(src.outbound, slot)
	dst.inbound = removeSlot(dst.inbound, slot)
	r.xferEnd = s.now
	r.firstToken, r.lastToken = s.now, s.now
	r.replica = dst.id
	if r.generated >= r.output {
		// A one-token request is done with its first token.
		dst.kv.release(r)
		s.ts.done++
		s.record(slot, Completed, s.now)
		d.decodeFreed(dst)
	} else {
		// The batch of a decode run in progress changes at its next step.
		if dst.run.active {
			s.medium.cutRun(dst)
		}
		dst.running = append(dst.running, slot)
		s.kick(dst)
	}
	s.kick(src)
}

// removeSlot removes slot from list, keeping the order of the rest.
func removeSlot(list []int32, slot int32) []int32 {
	for i, x := range list {
		if x == slot {
			copy(list[i:], list[i+1:])
			return list[:len(list)-1]
		}
	}
	panic(fmt.Sprintf("replay: request slot %d not in its transfer list", slot))
}

// decodeFreed: decode replica rp's blocks may have been released; start
// the transfers waiting for them.
func (d *disagg) decodeFreed(rp *replica) {
	if rp.pending.n > 0 {
		d.startTransfers(rp)
	}
}

// finish reports as unfinished, at the end of the run, the requests
// between prefill and decode: each once, from its prefill worker, in the
// order their prefills ended.
func (d *disagg) finish(rp *replica) {
	s := d.s
	if rp.grp.kind == PoolPrefill {
		for _, slot := range rp.outbound {
			s.record(slot, Unfinished, -1)
		}
	}
	rp.outbound, rp.inbound = rp.outbound[:0], rp.inbound[:0]
	for rp.pending.n > 0 {
		rp.pending.popFront()
	}
	rp.pendingBlocks = 0
}

// check verifies the KV blocks of requests between the pools on replica
// rp: an outbound request holds its prompt's blocks on the prefill worker
// (srcBlocks) and, pending, none on the decode worker; an inbound one holds
// them on both. It returns the blocks they hold on rp.
func (d *disagg) check(rp *replica) (int64, error) {
	s := d.s
	var held int64
	for _, slot := range rp.outbound {
		r := &s.reqs[slot]
		if want := rp.kv.blocksFor(r.computed); r.srcBlocks != want {
			return 0, fmt.Errorf("replay: invariant: prefill replica %d holds %d blocks of request %d in transfer, expected %d", rp.id, r.srcBlocks, r.id, want)
		}
		held += int64(r.srcBlocks)
	}
	var pend int64
	for i := 0; i < rp.pending.n; i++ {
		r := &s.reqs[rp.pending.at(i)]
		if r.blocks != 0 {
			return 0, fmt.Errorf("replay: invariant: decode replica %d: request %d waiting for room holds %d blocks", rp.id, r.id, r.blocks)
		}
		pend += int64(rp.kv.blocksFor(r.computed))
	}
	if pend != rp.pendingBlocks {
		return 0, fmt.Errorf("replay: invariant: decode replica %d counts %d blocks pending, recount %d", rp.id, rp.pendingBlocks, pend)
	}
	for _, slot := range rp.inbound {
		r := &s.reqs[slot]
		if want := rp.kv.blocksFor(r.computed); r.blocks != want {
			return 0, fmt.Errorf("replay: invariant: decode replica %d holds %d blocks of request %d in transfer, expected %d", rp.id, r.blocks, r.id, want)
		}
		held += int64(r.blocks)
	}
	return held, nil
}
