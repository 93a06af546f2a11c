package replay

import (
	"fmt"
	"math"

	"github.com/lodsim/lodsim/lod"
)

// deque is a ring buffer of request slots: the waiting queue, which takes
// arrivals at the back and preempted requests at the front.
type deque struct {
	buf  []int32
	head int
	n    int
}

func (d *deque) grow() {
	nb := make([]int32, 2*len(d.buf)+16)
	for i := 0; i < d.n; i++ {
		nb[i] = d.buf[(d.head+i)%len(d.buf)]
	}
	d.buf, d.head = nb, 0
}

func (d *deque) pushBack(v int32) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.buf[(d.head+d.n)%len(d.buf)] = v
	d.n++
}

func (d *deque) pushFront(v int32) {
	if d.n == len(d.buf) {
		d.grow()
	}
	d.head = (d.head - 1 + len(d.buf)) % len(d.buf)
	d.buf[d.head] = v
	d.n++
}

func (d *deque) front() int32 { return d.buf[d.head] }

func (d *deque) popFront() int32 {
	v := d.buf[d.head]
	d.head = (d.head + 1) % len(d.buf)
	d.n--
	return v
}

func (d *deque) at(i int) int32 { return d.buf[(d.head+i)%len(d.buf)] }

// batch is one step's work as it moves through the pipeline stages.
type batch struct {
	id    int32
	rep   *replica
	slots []int32 // requests in the step
	ntok  []int32 // tokens each computes
	lb    lod.Batch
	cost  []lod.StageCost
}

// replica is one data-parallel copy of the model with its scheduler and KV
// cache.
type replica struct {
	id            int32
	waiting       deque
	waitingTokens int64
	running       []int32 // admission order
	freeBlocks    int32
	totalBlocks   int32
	inflight      int      // batches in the pipeline
	pool          []*batch // free batches
	stages        []*stage
	run           runState
	scratch       []int32
	// ratio is the current admission reserve ratio (AdmissionReserve > 0).
	ratio float64
}

// SGLang's decay of the admission reserve ratio: to minReserve over
// reserveDecaySteps decode steps.
const (
	minReserve        = 0.1
	reserveDecaySteps = 600
)

// decayReserve applies n decode steps of decay to rp's admission ratio.
func (s *Simulator) decayReserve(rp *replica, n int) {
	init := s.cfg.Scheduler.AdmissionReserve
	if init <= minReserve {
		return
	}
	rp.ratio -= float64(n) * (init - minReserve) / reserveDecaySteps
	if rp.ratio < minReserve {
		rp.ratio = minReserve
	}
}

// reservedTokens is the KV the running requests may still need, at the
// current admission ratio.
func (s *Simulator) reservedTokens(rp *replica) int64 {
	var t float64
	for _, slot := range rp.running {
		r := &s.reqs[slot]
		t += rp.ratio * float64(r.output-r.generated)
	}
	return int64(math.Ceil(t))
}

// outstanding is the number of requests routed to rp and not yet
// finished: running (preempted ones go back to waiting) or waiting.
func (rp *replica) outstanding() int { return len(rp.running) + rp.waiting.n }

// notePeakKV records rp's KV use if it is the highest so far. Blocks are
// allocated when a step is scheduled, so checking there sees every peak.
func (s *Simulator) notePeakKV(rp *replica) {
	if f := float64(rp.totalBlocks-rp.freeBlocks) / float64(rp.totalBlocks); f > s.st.PeakKVUtil {
		s.st.PeakKVUtil = f
	}
}

// kvLoad is the router's view of KV pressure: blocks held plus blocks the
// waiting prompts will need, over capacity. Inside a decode run it counts
// the blocks the step in progress holds, as the step-by-step path would.
func (s *Simulator) kvLoad(rp *replica) float64 {
	used := int64(rp.totalBlocks-rp.freeBlocks) + rp.waitingTokens/int64(s.bs)
	if rp.run.active {
		used += s.runExtraBlocks(rp)
	}
	return float64(used) / float64(rp.totalBlocks)
}

// stage is one pipeline stage of a replica: TP ranks that run a slice of
// the layers for one batch at a time, FIFO.
type stage struct {
	rep   *replica
	idx   int
	gid   int32
	busy  bool
	cur   *batch
	queue []*batch

	// high level of detail
	ranks     []rankState
	ringLinks []int32 // link used by rank r to send to rank r+1
	ppLink    int32   // link to the next stage
	doneRanks int
	seq       []int8            // per-layer operations (layerSeq)
	op        [lod.NumOps]int64 // the current step's per-layer costs
	layers    int32
	head      int64
	hopLat    int64 // one ring chunk's latency
	hopBW     int64 // and bandwidth time
}

func (s *Simulator) newReplica(id int32, blocks int32) *replica {
	rp := &replica{id: id, freeBlocks: blocks, totalBlocks: blocks, ratio: s.cfg.Scheduler.AdmissionReserve}
	var bus int32 = -1
	if s.shared && s.high {
		bus = s.newLink(s.ringLink)
	}
	for i := 0; i < s.pp; i++ {
		st := &stage{rep: rp, idx: i, gid: int32(len(s.stages))}
		if s.high {
			st.ranks = make([]rankState, s.tp)
			st.seq = layerSeq(s.tp)
			st.ringLinks = make([]int32, s.tp)
			for r := range st.ringLinks {
				if bus >= 0 {
					st.ringLinks[r] = bus
				} else if s.tp > 1 {
					st.ringLinks[r] = s.newLink(s.ringLink)
				}
			}
			if bus >= 0 {
				st.ppLink = bus
			} else if i < s.pp-1 {
				st.ppLink = s.newLink(s.ppLink)
			}
		}
		s.stages = append(s.stages, st)
		rp.stages = append(rp.stages, st)
	}
	return rp
}

// getBatch takes a batch from the replica's pool.
func (s *Simulator) getBatch(rp *replica) *batch {
	if n := len(rp.pool); n > 0 {
		b := rp.pool[n-1]
		rp.pool = rp.pool[:n-1]
		return b
	}
	return &batch{rep: rp, cost: make([]lod.StageCost, s.pp)}
}

// kick starts a step on the replica if its first stage is free, the
// pipeline has room and the scheduler finds work.
func (s *Simulator) kick(rp *replica) {
	if rp.run.active {
		// A new arrival joins the batch at the next step, unless it queues
		// behind a waiting head that the run keeps blocked (FCFS).
		if !rp.run.blocked {
			s.cutRun(rp)
		}
		return
	}
	st0 := rp.stages[0]
	if st0.busy || len(st0.queue) > 0 || rp.inflight >= s.pp {
		return
	}
	b, preempted := s.schedule(rp)
	if b == nil {
		return
	}
	s.notePeakKV(rp)
	rp.inflight++
	s.planner.Plan(&b.lb, b.cost)
	// A decode-only step can repeat unchanged when nothing waits, or when
	// the waiting queue's head was just refused for a reason that a run of
	// decodes cannot lift: max_num_seqs (no request finishes inside a run),
	// the token budget (the decodes keep it) or KV blocks (decodes only take
	// more). A preemption skips admission, so it rules a run out; so does
	// SGLang's decaying admission reserve, which can admit mid-run.
	blocked := rp.waiting.n > 0 && s.cfg.Scheduler.AdmissionReserve == 0
	if !s.high && s.pp == 1 && len(b.lb.Chunks) == 0 && !preempted && (rp.waiting.n == 0 || blocked) {
		rp.run.blocked = blocked
		if s.startRun(rp, b) {
			return
		}
	}
	s.arriveStage(st0, b)
}

// schedule forms the next step by the configured batching policy.
func (s *Simulator) schedule(rp *replica) (*batch, bool) {
	b := s.getBatch(rp)
	b.slots, b.ntok = b.slots[:0], b.ntok[:0]
	b.lb.Reset()
	budget := int32(s.cfg.Scheduler.MaxNumBatchedTokens)
	var preempted bool
	if s.cfg.Scheduler.Batching == BatchingPrefillFirst {
		// SGLang: new prefills run alone, ahead of decodes, whenever one
		// can be admitted (a partly prefilled request continues first).
		budget = s.scheduleRunning(rp, b, budget, true, &preempted)
		s.admitWaiting(rp, b, budget)
		if len(b.slots) == 0 {
			s.scheduleRunning(rp, b, int32(s.cfg.Scheduler.MaxNumBatchedTokens), false, &preempted)
		}
	} else {
		// vLLM: running requests first, then waiting ones, in one step.
		budget = s.scheduleRunning(rp, b, budget, false, &preempted)
		if !preempted {
			s.admitWaiting(rp, b, budget)
		}
	}
	if len(b.slots) == 0 {
		rp.pool = append(rp.pool, b)
		return nil, preempted
	}
	return b, preempted
}

// scheduleRunning adds running requests to b in admission order, each
// taking the tokens it still needs (one for a decode, up to the remaining
// budget for a prefill chunk), preempting the most recently admitted
// running request by recompute when KV blocks run out. With prefillsOnly
// it takes only requests whose prefill is unfinished. It returns the budget
// left.
func (s *Simulator) scheduleRunning(rp *replica, b *batch, budget int32, prefillsOnly bool, preempted *bool) int32 {
	chunked := *s.cfg.Scheduler.ChunkedPrefill
	for i := 0; i < len(rp.running) && budget > 0; i++ {
		slot := rp.running[i]
		r := &s.reqs[slot]
		if r.inflight {
			continue
		}
		n := r.numTokens() - r.computed
		if prefillsOnly && n <= 1 && r.generated > 0 {
			continue
		}
		if n > budget {
			if !chunked && r.computed < r.numTokens()-1 {
				continue
			}
			n = budget
		}
		need := s.blocksFor(r.computed+n) - r.blocks
		self := false
		for need > rp.freeBlocks {
			v := s.victim(rp)
			if v < 0 {
				self = true // nothing left to preempt but in-flight requests
				break
			}
			s.preempt(rp, v)
			*preempted = true
			if v == i {
				self = true
				break
			}
		}
		if self {
			break
		}
		rp.freeBlocks -= need
		r.blocks += need
		s.addToBatch(b, slot, n)
		budget -= n
	}
	return budget
}

// admitWaiting moves waiting requests into b in FCFS order while the
// token budget, max_num_seqs and free blocks allow.
func (s *Simulator) admitWaiting(rp *replica, b *batch, budget int32) {
	sc := &s.cfg.Scheduler
	conservative := sc.AdmissionReserve > 0
	var room int64 // tokens free beyond the running requests' reserve
	if conservative && rp.waiting.n > 0 {
		room = int64(rp.freeBlocks)*int64(s.bs) - s.reservedTokens(rp)
	}
	// Prefill-first admits a request only if its whole remaining prompt
	// fits beside the unfinished prefills of the running requests, as
	// SGLang does: admitting on the first chunk alone lets a long prompt
	// be preempted by its own next chunk and re-admitted forever, since
	// no decode step runs in between to finish anything.
	wholePrompt := sc.Batching == BatchingPrefillFirst
	var promptRoom int64 // blocks
	if wholePrompt && rp.waiting.n > 0 {
		promptRoom = int64(rp.freeBlocks)
		for _, slot := range rp.running {
			r := &s.reqs[slot]
			if r.generated == 0 || r.computed < r.numTokens()-1 {
				promptRoom -= int64(max(0, s.blocksFor(r.numTokens())-r.blocks))
			}
		}
	}
	for rp.waiting.n > 0 && budget > 0 && len(rp.running) < sc.MaxNumSeqs {
		slot := rp.waiting.front()
		r := &s.reqs[slot]
		n := r.numTokens() - r.computed
		if n > budget {
			if !*sc.ChunkedPrefill {
				break
			}
			n = budget
		}
		need := s.blocksFor(n)
		if need > rp.freeBlocks {
			break
		}
		if conservative {
			whole := int64(r.numTokens()-r.computed) + int64(r.output-r.generated)
			if whole > room {
				break
			}
			room -= whole
		}
		if wholePrompt {
			whole := int64(s.blocksFor(r.numTokens()))
			if whole > promptRoom {
				break
			}
			promptRoom -= whole
		}
		rp.waiting.popFront()
		rp.waitingTokens -= int64(r.numTokens())
		rp.running = append(rp.running, slot)
		if r.firstSched < 0 {
			r.firstSched = s.now
		}
		rp.freeBlocks -= need
		r.blocks += need
		s.addToBatch(b, slot, n)
		budget -= n
	}
}

func (s *Simulator) addToBatch(b *batch, slot int32, n int32) {
	r := &s.reqs[slot]
	r.inflight = true
	b.slots = append(b.slots, slot)
	b.ntok = append(b.ntok, n)
	if r.generated > 0 && r.computed == r.numTokens()-1 {
		b.lb.Decodes++
		b.lb.DecodeCtx += int64(r.computed + 1)
	} else {
		b.lb.Chunks = append(b.lb.Chunks, lod.Chunk{Q: n, Prefix: r.computed})
	}
	if r.computed+n == r.numTokens() {
		b.lb.Sampled++
	}
}

// victim is the index in running of the request to preempt: the most
// recently admitted one that is not in flight, or -1.
func (s *Simulator) victim(rp *replica) int {
	for i := len(rp.running) - 1; i >= 0; i-- {
		if !s.reqs[rp.running[i]].inflight {
			return i
		}
	}
	return -1
}

// preempt evicts running[i] by recompute: it loses its KV blocks and goes
// back to the front of the waiting queue, to prefill prompt and generated
// tokens again.
func (s *Simulator) preempt(rp *replica, i int) {
	slot := rp.running[i]
	copy(rp.running[i:], rp.running[i+1:])
	rp.running = rp.running[:len(rp.running)-1]
	r := &s.reqs[slot]
	r.preempt++
	s.st.Preemptions++
	rp.ratio = s.cfg.Scheduler.AdmissionReserve
	rp.freeBlocks += r.blocks
	r.blocks, r.computed = 0, 0
	rp.waiting.pushFront(slot)
	rp.waitingTokens += int64(r.numTokens())
}

// arriveStage hands b to st, queueing it if st is busy.
func (s *Simulator) arriveStage(st *stage, b *batch) {
	if st.busy {
		st.queue = append(st.queue, b)
		return
	}
	st.busy, st.cur = true, b
	if s.high {
		s.startStageHigh(st, b)
	} else {
		s.startStageMedium(st, b)
	}
}

// stageDone moves the finished batch on and starts the next one.
func (s *Simulator) stageDone(st *stage) {
	b := st.cur
	st.busy, st.cur = false, nil
	rp := st.rep
	if st.idx < s.pp-1 {
		bytes := b.cost[st.idx].PPBytes
		if s.high {
			s.addTransfer(st.ppLink, xfer{pp: true, stage: st.gid + 1, batch: b}, bytes)
		} else {
			s.h.push(s.now+Time(lod.HopNs(s.ppLink, bytes)), evPPTransfer, st.gid+1, s.batchRef(b), 0)
		}
	} else {
		s.finishBatch(b)
	}
	if len(st.queue) > 0 {
		nb := st.queue[0]
		copy(st.queue, st.queue[1:])
		st.queue = st.queue[:len(st.queue)-1]
		s.arriveStage(st, nb)
	}
	if st.idx == 0 || st.idx == s.pp-1 {
		s.kick(rp)
	}
}

// batchRef registers b so an event can name it by index.
func (s *Simulator) batchRef(b *batch) int32 {
	if b.id == 0 {
		s.batchTable = append(s.batchTable, b)
		b.id = int32(len(s.batchTable))
	}
	return b.id - 1
}

func (s *Simulator) onPPArrive(stageGID, batchIdx int) {
	s.arriveStage(s.stages[stageGID], s.batchTable[batchIdx])
}

// finishBatch applies a completed step: tokens computed, tokens sampled,
// requests completed.
func (s *Simulator) finishBatch(b *batch) {
	rp := b.rep
	rp.inflight--
	s.st.Steps++
	if len(b.lb.Chunks) == 0 {
		s.decayReserve(rp, 1)
	}
	s.sampSteps++
	s.sampSeqs += int64(len(b.slots))
	done := rp.scratch[:0]
	for i, slot := range b.slots {
		r := &s.reqs[slot]
		r.inflight = false
		r.computed += b.ntok[i]
		if r.computed == r.numTokens() {
			s.token(r, s.now)
			if r.generated >= r.output {
				done = append(done, slot)
			}
		}
	}
	rp.pool = append(rp.pool, b)
	s.complete(rp, done, s.now)
	if s.in.CheckInvariants {
		if err := s.CheckKV(); err != nil {
			panic(err)
		}
	}
}

// complete releases the KV blocks of the finished requests done (reusing
// rp.scratch), takes them out of the
// running queue and records them as completed at the given time.
func (s *Simulator) complete(rp *replica, done []int32, at Time) {
	for _, slot := range done {
		r := &s.reqs[slot]
		rp.freeBlocks += r.blocks
		r.blocks = 0
		r.done = true
	}
	if len(done) > 0 {
		s.removeRunning(rp)
		for _, slot := range done {
			s.sampDone++
			s.record(slot, Completed, at)
		}
	}
	rp.scratch = done[:0]
}

// token records one sampled token of r at time t.
func (s *Simulator) token(r *reqState, t Time) {
	r.generated++
	if r.firstToken < 0 {
		r.firstToken = t
	} else {
		s.st.ITL.Add(int64(t-r.lastToken), 1)
	}
	r.lastToken = t
	s.st.OutputTokens++
	s.sampTokens++
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

// CheckKV verifies the KV accounting of every replica from scratch: blocks
// held by running requests plus free blocks equal capacity, each running
// request holds exactly the blocks its computed (or in-flight) tokens need,
// and waiting requests hold none.
func (s *Simulator) CheckKV() error {
	for _, rp := range s.replicas {
		if rp.run.active {
			continue // blocks are settled lazily inside a decode run
		}
		var held int64
		for _, slot := range rp.running {
			r := &s.reqs[slot]
			held += int64(r.blocks)
			want := s.blocksFor(r.computed)
			if r.inflight {
				continue
			}
			if r.blocks != want {
				return fmt.Errorf("replay: invariant: replica %d request %d holds %d blocks for %d tokens, expected %d", rp.id, r.id, r.blocks, r.computed, want)
			}
		}
		for i := 0; i < rp.waiting.n; i++ {
			if b := s.reqs[rp.waiting.at(i)].blocks; b != 0 {
				return fmt.Errorf("replay: invariant: replica %d waiting request holds %d blocks", rp.id, b)
			}
		}
		if held+int64(rp.freeBlocks) != int64(rp.totalBlocks) {
			return fmt.Errorf("replay: invariant: replica %d used %d + free %d != capacity %d", rp.id, held, rp.freeBlocks, rp.totalBlocks)
		}
		if rp.freeBlocks < 0 {
			return fmt.Errorf("replay: invariant: replica %d has %d free blocks", rp.id, rp.freeBlocks)
		}
	}
	return nil
}
