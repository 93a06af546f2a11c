package replay

import "github.com/lodsim/lodsim/lod"

// mediumExecutor is the medium level of detail: one aggregated compute
// event and one analytical collective per step and stage, an analytical
// hop between stages, and, where nothing can change the batch, a whole run
// of decode steps in one event (decoderun.go).
type mediumExecutor struct {
	s          *Simulator
	batchTable []*batch          // batches named by index in pipeline events
	bus        bool              // one shared bus per replica
	adapt      *adaptiveExecutor // adaptive LoD: learned corrections, else nil
	skewSigma  float64           // log-sd of the expert loads (cluster.expert_skew), 0: uniform
	skewMax    []float64         // by expert-parallel ranks n: E[max of n loads], 0: not yet computed
	fluids     []busFluid        // by replica id: its shared bus at PP > 1 (busfluid.go)
	busDirty   []int32           // replicas whose bus changed at this time, to plan
	credits    [1001]int32       // a decode run's speculation credits, cumulative (decoderun.go)
}

// initReplica reads each stage's all-to-all node layout. It is the
// stage's own: the EP ranks of a stage are the same stage of dp
// consecutive replicas, which packed placement puts PP x TP GPUs apart, so
// one stage's group may lie within a node while the next stage's spans
// two, and one attention-DP group may span nodes while another does not.
func (m *mediumExecutor) initReplica(rp *replica) {
	for _, st := range rp.stages {
		if nodes := epNodes(m.s, rp.grp, int(rp.index), st.idx); nodes != nil {
			st.epLay = newEPNodeLayout(nodes)
		}
	}
}

func (m *mediumExecutor) start(st *stage, b *batch) {
	s := m.s
	c := &b.cost[st.idx]
	t := m.computeNs(c, st, &b.lb)
	if m.busModel(st) {
		m.busAdd(st.rep, m.busStepFlow(st, c, t+m.collectiveNs(c, st)))
		return
	}
	s.h.push(s.now+Time(t), evStageCompute, st.gid, 0, 0)
}

// onStageCompute: the stage's compute finished; its collectives follow.
func (m *mediumExecutor) onStageCompute(st *stage) {
	s := m.s
	if g, c := st.rep.grp, &st.cur.cost[st.idx]; g.tp > 1 || c.A2ARanks > 1 {
		s.h.push(s.now+Time(m.collectiveNs(c, st)), evStageCollective, st.gid, 0, 0)
		return
	}
	s.stageDone(st)
}

// onStageCollective: stage st's step ended, unless the end event (of
// version ver, nonzero on a shared bus) was superseded.
func (m *mediumExecutor) onStageCollective(st *stage, ver uint32) {
	if ver != 0 && !m.busTake(st.rep, ver) {
		m.stale(evStageCollective)
		return
	}
	m.s.stageDone(st)
}

// stale recounts a superseded end event of kind k as a stale one.
func (m *mediumExecutor) stale(k eventKind) {
	m.s.counts[k]--
	m.s.counts[evLinkStale]++
}

// forward sends the activations to the next stage in one analytical hop.
func (m *mediumExecutor) forward(st *stage, b *batch) {
	s := m.s
	if m.busModel(st) {
		m.busAdd(st.rep, busHopFlow(st, m.batchRef(b), m.hopLink(st), b.cost[st.idx].PPBytes))
		return
	}
	hop := lod.HopNs(m.hopLink(st), b.cost[st.idx].PPBytes)
	if m.adapt != nil {
		hop = m.adapt.hopNs(st.rep.grp, st.idx, &b.lb, hop)
	}
	s.h.push(s.now+Time(hop), evPPTransfer, st.gid+1, m.batchRef(b), 0)
}

// batchRef registers b so an event can name it by index.
func (m *mediumExecutor) batchRef(b *batch) int32 {
	if b.id == 0 {
		m.batchTable = append(m.batchTable, b)
		b.id = int32(len(m.batchTable))
	}
	return b.id - 1
}

// onPPArrive: a hand-off reached stage stageGID, unless its event (of
// version ver, nonzero on a shared bus) was superseded.
func (m *mediumExecutor) onPPArrive(stageGID, batchIdx int, ver uint32) {
	st := m.s.stages[stageGID]
	if ver != 0 && !m.busTake(st.rep, ver) {
		m.stale(evPPTransfer)
		return
	}
	m.s.arriveStage(st, m.batchTable[batchIdx])
}

// startRun advances a decode-only step as a run when it can repeat
// unchanged: nothing waits, or the waiting queue's head was just refused
// for a reason that a run of decodes cannot lift: max_num_seqs (no request
// finishes inside a run), the token budget (the decodes keep it) or KV
// blocks (decodes only take more). A preemption skips admission, so it
// rules a run out; so does an admission rule that changes per step
// (SGLang's decaying reserve), which can admit mid-run. Pipeline stages
// hand steps on one by one, so runs need PP1. A decode replica with KV
// transfers waiting for its room runs step by step too: each step's end
// offers them the blocks freed since (by a preemption as this step was
// formed, say), as at high LoD.
func (m *mediumExecutor) startRun(rp *replica, b *batch, preempted bool) bool {
	blocked := rp.waiting.n > 0 && rp.sched.headStaysBlocked()
	if rp.grp.pp != 1 || !b.decodeOnly() || preempted || (rp.waiting.n > 0 && !blocked) || !rp.sched.settlesRuns() || rp.pending.n > 0 {
		return false
	}
	rp.run.blocked = blocked
	return m.tryRun(rp, b)
}
