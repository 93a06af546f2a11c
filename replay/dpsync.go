package replay

import "fmt"

// vLLM's data-parallel ranks step in lock-step. With
// --data-parallel-size > 1 on an MoE model every rank is an engine core
// of its own (DPEngineCoreProc), but each MoE layer gathers the tokens of
// all of them (lod.Planner.SetDPGather), so no rank can run a forward pass
// alone: before each step the ranks agree on the step's shape over the DP
// group (coordinate_batch_across_dp: every rank's token count and CUDA-graph
// mode), a rank with nothing to run executes a dummy batch while any rank
// has work (execute_dummy_batch), and the step ends when the slowest rank's
// does. When the ranks replay CUDA graphs they pad to the largest token
// count among them (DP padding), else each keeps its own tokens; vLLM
// before 0.17 pads eager steps too whenever CUDA graphs are on
// (EngineDefaults.DPPadEager: allow_dp_padding followed the configured
// cudagraph_mode, not the step's), so a rank's prefill above the largest
// graph makes every rank run that many tokens through its layers and the
// MoE layers compute them once per rank.
//
// lodsim's replicas are those ranks (cluster.attention_data_parallel
// consecutive replicas form a group), each with its own scheduler and KV
// cache. In lock-step a replica forms its batch only when no rank of its
// group is in a step; the formed batches of a group start together once
// every kicked rank has formed its own, each padded to the group's
// longest step (StageCost.Overhead carries the wait), so they end
// together and every rank sees the group's next boundary at once. The
// MoE layers compute the group's tokens as gathered (lod.Batch.MoETokens):
// the padded count on every rank when they pad, else the sum of the
// ranks' tokens with one token for each idle rank's dummy batch. A
// decode run (decoderun.go) would step one rank alone, so lock-step
// replicas step one by one. With pipeline parallelism, and on a
// disaggregated pool, the replicas keep their own clocks (not modelled).

// dpGroup is the lock-step state of one data-parallel group.
type dpGroup struct {
	pool   *workerPool
	first  int      // index in the pool of its first replica
	pend   []*batch // by rank: the batch formed for the next step, or nil
	queued bool     // in Simulator.dpFire
	// The step in progress: which ranks run it, how many of them have
	// finished, and whether their finished stages are being released.
	in        []bool
	running   int
	finished  int
	releasing bool
}

// lockstep reports whether pool p's replicas step with their data-parallel
// group: vLLM's attention data parallelism of an MoE model (whose ranks
// gather each other's tokens, ExchangeRanks > 1) on an aggregated pool of
// one stage. A dense model's data-parallel ranks are independent engines
// (vLLM's run_engine_core: "Non-MoE DP ranks are completely independent,
// so treat like DP=1").
func (p *workerPool) lockstep() bool {
	return p.kind == PoolAggregated && p.pp == 1 && p.sched.Engine == EngineVLLM && p.planner.ExchangeRanks() > 1
}

// dpGroupOf is rp's group state.
func (p *workerPool) dpGroupOf(rp *replica) *dpGroup {
	dp := p.planner.AttentionDP()
	i := int(rp.index) / dp
	for len(p.dps) <= i {
		p.dps = append(p.dps, &dpGroup{pool: p, first: len(p.dps) * dp, pend: make([]*batch, dp), in: make([]bool, dp)})
	}
	return p.dps[i]
}

// stepping reports whether a rank of g is in a step (its batch started
// and not yet finished).
func (g *dpGroup) stepping() bool {
	for j, b := range g.pend {
		if rp := g.pool.replicas[g.first+j]; rp.inflight > 0 && b == nil {
			return true
		}
	}
	return false
}

// holdForGroup parks rp's formed batch b until its group starts the step.
func holdForGroup(s *Simulator, rp *replica, b *batch) {
	g := rp.grp.dpGroupOf(rp)
	g.pend[int(rp.index)-g.first] = b
	if !g.queued {
		g.queued = true
		s.dpFire = append(s.dpFire, g)
	}
}

// kickGroup asks every rank of rp's group to schedule at the step
// boundary rp just reached (a rank idle in a dummy step sees its queue
// then).
func kickGroup(s *Simulator, rp *replica) {
	g := rp.grp.dpGroupOf(rp)
	for j := range g.pend {
		s.kick(g.pool.replicas[g.first+j])
	}
}

// fireGroups starts the step of every group whose ranks have formed their
// batches and none of which is still stepping. flushKicks calls it once
// every kicked replica has scheduled.
func fireGroups(s *Simulator) {
	for _, g := range s.dpFire {
		g.queued = false
		if !g.stepping() {
			g.start(s)
		}
	}
	s.dpFire = s.dpFire[:0]
}

// start runs the group's formed batches as one lock-step step. The
// ranks agree on the step's token count as vLLM's
// coordinate_batch_across_dp does: when the largest rank's tokens fit a
// captured CUDA-graph size every rank replays a graph (a full one for a
// decode-only batch, a piecewise one otherwise) and all pad to that size,
// the idle ranks' dummy batches too; otherwise all run eagerly, padded to
// the largest rank's tokens when the engine pads eager steps
// (stepCost.dpPadEager), else at their own sizes, an idle rank's dummy
// batch one token.
func (g *dpGroup) start(s *Simulator) {
	p := g.pool
	most, sum, idle := 1, 0, 0
	for _, b := range g.pend {
		if b == nil {
			idle++
			continue
		}
		t := b.lb.Tokens()
		most, sum = max(most, t), sum+t
	}
	if sum == 0 {
		// Unreachable: only holdForGroup queues a group, with a batch it
		// formed, and a formed batch holds a token at least. Returning
		// would park the group's formed batches (their ranks in flight,
		// never stepping) and leave its requests unfinished without a
		// word: the run ends with the broken invariant instead.
		s.err = fmt.Errorf("replay: invariant: data-parallel group of replicas %d..%d started with %d of %d ranks' batches formed and no token in them",
			p.replicas[g.first].id, p.replicas[g.first+len(g.pend)-1].id, len(g.pend)-idle, len(g.pend))
		return
	}
	pad := p.steps.graphs.size(most)
	if pad == 0 && p.steps.dpPadEager {
		pad = most
	}
	moe := sum + idle
	if pad > 0 {
		moe = pad * len(g.pend)
	}
	var longest int64
	for _, b := range g.pend {
		if b == nil {
			continue
		}
		b.lb.Graph = pad
		b.lb.MoETokens = moe
		p.steps.replanGroup(&b.lb, b.cost)
		longest = max(longest, b.cost[0].StepNs(p.tp))
	}
	for j, b := range g.pend {
		if b == nil {
			continue
		}
		g.pend[j] = nil
		g.in[j] = true
		g.running++
		b.cost[0].Overhead += longest - b.cost[0].StepNs(p.tp)
		s.arriveStage(p.replicas[g.first+j].stages[0], b)
	}
}

// holdDone holds the finished stage st of a lock-step rank until every
// rank of its group's step has finished (the step ends with the slowest
// rank's; padded steps end on the same ns), then finishes them in rank
// order, so that simultaneous ends are applied in one order at every
// level of detail. It reports whether Simulator.stageDone is to return
// (st is held, or released here).
func holdDone(s *Simulator, st *stage) bool {
	rp := st.rep
	if !rp.grp.lockstep() {
		return false
	}
	g := rp.grp.dpGroupOf(rp)
	if g.releasing {
		return false
	}
	if g.finished++; g.finished < g.running {
		return true
	}
	g.releasing = true
	for j, in := range g.in {
		if in {
			g.in[j] = false
			s.stageDone(g.pool.replicas[g.first+j].stages[0])
		}
	}
	g.releasing, g.running, g.finished = false, 0, 0
	return true
}
