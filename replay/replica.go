package replay

import "github.com/lodsim/lodsim/lod"

// replica is one data-parallel copy of the model: its queues, its KV
// block pool, its scheduler and its pipeline stages.
type replica struct {
	id            int32 // across the cluster
	index         int32 // within its pool
	grp           *workerPool
	waiting       deque
	waitingTokens int64
	running       []int32 // admission order
	kv            kvPool
	sched         scheduler
	inflight      int      // batches in the pipeline
	pool          []*batch // free batches
	stages        []*stage
	run           runState // medium: the decode run in progress
	scratch       []int32

	// Disaggregated pools (disagg.go): on a prefill replica, outbound
	// holds the requests whose prefill finished and whose KV (still held
	// here) waits for or is in transfer; on a decode replica, pending
	// queues the requests assigned to it whose blocks do not fit yet
	// (pendingBlocks of them), inbound those whose KV is in transfer.
	outbound      []int32
	pending       deque
	pendingBlocks int64
	inbound       []int32

	// kickPending: the replica waits in Simulator.kicks for its scheduler
	// to run once every event at the current time is applied.
	kickPending bool

	// chain numbers the replica's current chain of back-to-back steps, in
	// the order the chains began; lastEnd is when its last step ended.
	// after holds the decode runs whose end waits for this replica's step
	// end at the current time (decoderun.go, runPredecessor).
	chain   uint64
	lastEnd Time
	after   []*replica
}

func (s *Simulator) newReplica(p *workerPool, id int32, blocks int32) *replica {
	rp := &replica{id: id, index: int32(len(p.replicas)), grp: p, kv: newKVPool(blocks, int32(p.sched.BlockSize))}
	rp.sched = newScheduler(s, rp)
	for i := 0; i < p.pp; i++ {
		st := &stage{rep: rp, idx: i, gid: int32(len(s.stages))}
		s.stages = append(s.stages, st)
		rp.stages = append(rp.stages, st)
	}
	s.exec.initReplica(rp)
	return rp
}

// outstanding is the number of requests routed to rp and not yet
// finished: running (preempted ones go back to waiting) or waiting.
// On a decode replica it counts the transfers assigned to it.
func (rp *replica) outstanding() int {
	return len(rp.running) + rp.waiting.n + rp.pending.n + len(rp.inbound)
}

// getBatch takes an empty batch from the replica's pool.
func (s *Simulator) getBatch(rp *replica) *batch {
	if n := len(rp.pool); n > 0 {
		b := rp.pool[n-1]
		rp.pool = rp.pool[:n-1]
		b.slots, b.ntok = b.slots[:0], b.ntok[:0]
		b.lb.Reset()
		return b
	}
	b := &batch{rep: rp, cost: make([]lod.StageCost, rp.grp.pp)}
	b.lb.Reset()
	return b
}

// kick asks for rp's scheduler to run at the current time, after every
// event at this time has been applied (flushKicks): as an engine's loop
// sees it, a request that arrived (or whose KV landed) on the very ns a
// step ended is in the next step, whichever of the two events was pushed
// first. Both levels of detail end steps and deliver requests through
// different events, so push order alone made them disagree on such ties.
func (s *Simulator) kick(rp *replica) {
	if !rp.kickPending {
		rp.kickPending = true
		s.kicks = append(s.kicks, rp)
	}
}

// flushKicks runs the scheduler of each replica kicked at the current
// time, in the order they were kicked (a replica kicked again meanwhile
// runs again), then plans the shared buses that changed (busfluid.go).
// The loop calls it once no event at the current time is left.
func flushKicks(s *Simulator) {
	if s.disagg != nil && len(s.disagg.finished) > 0 {
		s.disagg.routeFinished()
	}
	for i := 0; i < len(s.kicks); i++ {
		rp := s.kicks[i]
		rp.kickPending = false
		schedule(s, rp)
	}
	s.kicks = s.kicks[:0]
	fireGroups(s)
	if s.medium != nil {
		s.medium.busFlush()
	}
}

// flushDue runs flushKicks, where a replica was kicked or a shared bus
// changed, once no event at the current time is left (flushAtNow). Small
// enough to inline: the loop calls it after every event.
func flushDue(s *Simulator) {
	if len(s.kicks) > 0 || (s.medium != nil && len(s.medium.busDirty) > 0) {
		flushAtNow(s)
	}
}

// flushAtNow settles the event just handled (eventHeap.take), so that the
// root is the next pending event, and runs flushKicks if that lies after
// the current time.
func flushAtNow(s *Simulator) {
	if s.h.settle(); len(s.h.ev) == 0 || s.h.ev[0].t > s.now {
		flushKicks(s)
	}
}

// schedule starts a step on the replica if its first stage is free, the
// pipeline has room and the scheduler finds work. (A function: Simulator
// is at its method budget, TestPackageShape.)
func schedule(s *Simulator, rp *replica) {
	if rp.run.active {
		s.medium.arrivalDuringRun(rp)
		return
	}
	st0 := rp.stages[0]
	if st0.busy || len(st0.queue) > 0 || rp.inflight >= rp.grp.pp {
		return
	}
	lock := rp.grp.lockstep()
	if lock && rp.grp.dpGroupOf(rp).stepping() {
		return // kicked again at the group's step boundary (dpsync.go)
	}
	b := s.getBatch(rp)
	preempted := rp.sched.formBatch(b)
	if len(b.slots) == 0 {
		rp.pool = append(rp.pool, b)
		return
	}
	s.notePeakKV(rp)
	rp.inflight++
	if rp.chain == 0 || rp.lastEnd != s.now {
		s.chains++
		rp.chain = s.chains
	}
	rp.grp.steps.plan(&b.lb, b.cost)
	if lock {
		holdForGroup(s, rp, b)
		return
	}
	if s.exec.startRun(rp, b, preempted) {
		return
	}
	s.arriveStage(st0, b)
}

// notePeakKV records rp's KV use if it is the highest so far. Blocks are
// allocated when a step is scheduled or a decode run settled, so checking
// there sees every peak.
func (s *Simulator) notePeakKV(rp *replica) { notePeakUse(s, rp, rp.kv.util()) }

// notePeakUse records f, a fraction of rp's KV blocks held, if it is the
// highest so far.
func notePeakUse(s *Simulator, rp *replica, f float64) {
	if f > s.st.PeakKVUtil {
		s.st.PeakKVUtil = f
	}
	if f > rp.grp.peakKV {
		rp.grp.peakKV = f
	}
}

// kvHeld is the blocks rp's requests hold now. Inside a decode run it
// counts the blocks the step in progress holds, as the step-by-step path
// would.
func (s *Simulator) kvHeld(rp *replica) int64 {
	used := int64(rp.kv.used())
	if rp.run.active {
		used += s.medium.runExtraBlocks(rp)
	}
	return used
}
