package replay

import "github.com/lodsim/lodsim/lod"

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
	kvLinks   []int32 // link rank r sends KV caches over (prefill pool)
	ppLink    int32   // link to the next stage
	doneRanks int
	seq       []int8            // per-layer operations (layerSeq)
	op        [lod.NumOps]int64 // the current step's per-layer costs
	layers    int32
	head      int64
	hopLat    int64    // one ring chunk's latency
	hopBW     int64    // and bandwidth time
	ep        *epPhase // expert-parallel MoE layers (alltoall.go), or nil
	// A TP group across nodes (topology.go): the ranks whose ring sends
	// cross the network, and such a chunk's latency and bandwidth time.
	netRank       []bool
	netLat, netBW int64
	hier          hierAR // its hierarchical all-reduce (hierarchical.go)

	// medium level of detail: its all-to-all's node layout (epnodes.go),
	// nil on one node
	epLay *epNodeLayout
}

// arriveStage hands b to st, queueing it if st is busy.
func (s *Simulator) arriveStage(st *stage, b *batch) {
	if st.busy {
		st.queue = append(st.queue, b)
		return
	}
	st.busy, st.cur = true, b
	s.exec.start(st, b)
}

// stageDone moves the finished batch on and starts the next one.
func (s *Simulator) stageDone(st *stage) {
	if holdDone(s, st) {
		return
	}
	b := st.cur
	st.busy, st.cur = false, nil
	rp := st.rep
	pp := rp.grp.pp
	if st.idx < pp-1 {
		s.exec.forward(st, b)
	} else {
		s.finishBatch(b)
	}
	if len(st.queue) > 0 {
		nb := st.queue[0]
		copy(st.queue, st.queue[1:])
		st.queue = st.queue[:len(st.queue)-1]
		s.arriveStage(st, nb)
	}
	if st.idx == 0 || st.idx == pp-1 {
		s.kick(rp)
	}
	if len(rp.after) > 0 && st.idx == pp-1 {
		s.medium.endRunsAfter(rp)
	}
	if rp.grp.lockstep() {
		kickGroup(s, rp)
	}
}
