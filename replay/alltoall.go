package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// epPhase runs a stage's MoE layers with expert parallelism at the high
// level of detail (expertparallel.go). When the stage's TP ranks reach an
// MoE layer's MLP, its expert-parallel ranks (the replica's group and the
// mirror groups the planner takes to carry as many tokens) do, each with
// its own outgoing link:
//
//   - dispatch: rank i sends rank j the hidden states of i's tokens routed
//     to j's experts, to j = i+1, i+2, ... one after another (a rank sends
//     one transfer at a time, as for the all-reduce ring);
//   - expert compute: once a rank has sent and received all of them, it
//     runs the MoE layer, its routed experts scaled by its load;
//   - combine: it sends each rank the outputs of that rank's tokens, and
//     is done when it has received all of its own tokens' outputs.
//
// The TP ranks move on when every expert-parallel rank is done. Rank j's
// load share s_j (expertload.go) sizes both what every rank sends it and
// what it sends back: bytes x s_j per peer, where bytes is the
// planner's all-to-all buffer per rank (lod.StageCost.A2ABytes). With a
// uniform load and uncontended links every rank sends n-1 hops of
// bytes/n each way, so an MoE layer takes exactly its medium-LoD time,
// 2 x lod.AllToAllNs plus the MLP operation.
type epPhase struct {
	links []int32 // each rank's outgoing link
	ranks []epRank
	w     []float64 // this layer's load weights
	lat   []int64   // latency and bandwidth time of a transfer of rank j's share
	bw    []int64
	work  []int64 // rank j's MoE compute in this layer
	// Across nodes (epnodes.go): the link from rank i to rank j at
	// to[i x n + j] (-1: on one node), and a transfer of rank j's share
	// over the network.
	to        []int32
	nlat, nbw []int64

	on       bool  // this step's MoE layers exchange tokens
	firstMoE int32 // the stage's first MoE layer (the stage's dense layers lead)
	waiting  int   // TP ranks at the current layer's MoE
	done     int   // expert-parallel ranks done with the current layer
	c        *lod.StageCost
	load     *expertLoad
}

// epRank is one expert-parallel rank's progress through a layer.
type epRank struct {
	phase        int8
	out          bool  // its own transfer in transit
	sent         int16 // transfers sent in the current phase
	recvD, recvC int16 // dispatch and combine transfers received
}

// An expert-parallel rank's phases; a transfer carries the phase it
// belongs to (xfer.par of an xferA2A).
const (
	epDispatch int8 = 1 + iota
	epCompute
	epCombine
	epDone
)

// newEPPhase gives a stage n expert-parallel ranks, each with its own
// link, or all on bus when it is not -1.
func (e *highExecutor) newEPPhase(n int, bus int32, ring cost.Link) *epPhase {
	ep := &epPhase{links: make([]int32, n), ranks: make([]epRank, n), w: make([]float64, n),
		lat: make([]int64, n), bw: make([]int64, n), work: make([]int64, n), load: &e.load}
	for j := range ep.links {
		if bus >= 0 {
			ep.links[j] = bus
		} else {
			// A rank sends one transfer at a time: room for it now, so
			// that the first step to use the link does not allocate.
			ep.links[j] = e.newLink(ring)
			e.links[ep.links[j]].active = make([]xfer, 0, 1)
		}
	}
	return ep
}

// epStart reads the step's all-to-all from its costs.
func (ep *epPhase) start(c *lod.StageCost) {
	ep.c = c
	ep.on = c.A2ARanks > 1 && c.A2ABytes > 0
	ep.firstMoE = int32(c.Layers - c.MoELayers)
	ep.waiting, ep.done = 0, 0
}

// moeLayer reports whether a TP rank about to run op in layer belongs in
// the expert-parallel phase.
func (ep *epPhase) moeLayer(op int8, layer int32) bool {
	return ep != nil && ep.on && op == int8(lod.OpMLP) && layer >= ep.firstMoE
}

// epArrive: a TP rank reached an MoE layer's MLP. When all have, the
// expert-parallel ranks draw their loads and start the dispatch.
func (e *highExecutor) epArrive(st *stage) {
	ep := st.ep
	if ep.waiting++; ep.waiting < len(st.ranks) {
		return
	}
	ep.waiting, ep.done = 0, 0
	n := len(ep.ranks)
	c := ep.c
	sum := ep.load.draw(ep.w)
	mlp := c.Op[lod.OpMLP]
	for j := range ep.ranks {
		ep.lat[j], ep.bw[j] = lod.HopParts(c.A2ALink, c.A2ABytes*ep.w[j]/sum)
		if ep.to != nil {
			ep.nlat[j], ep.nbw[j] = lod.HopParts(netLink(e.s.cfg.Cluster), c.A2ABytes*ep.w[j]/sum)
		}
		f := float64(n) * ep.w[j] / sum
		ep.work[j] = max(0, mlp+int64(math.Round((f-1)*float64(c.ExpertNs))))
		ep.ranks[j] = epRank{phase: epDispatch}
	}
	for j := range ep.ranks {
		e.epStep(st, j)
	}
}

// epStep moves expert-parallel rank j on as far as it can go now.
func (e *highExecutor) epStep(st *stage, j int) {
	ep := st.ep
	r := &ep.ranks[j]
	n := len(ep.ranks)
	if r.phase != epDispatch && r.phase != epCombine {
		return
	}
	if r.out {
		return
	}
	if int(r.sent) < n-1 {
		dst := (j + 1 + int(r.sent)) % n
		share := dst // dispatch: what dst's experts take; combine: what j's gave
		if r.phase == epCombine {
			share = j
		}
		r.sent++
		r.out = true
		li, lat, bw := ep.links[j], ep.lat[share], ep.bw[share]
		if ep.to != nil && ep.to[j*n+dst] >= 0 {
			li, lat, bw = ep.to[j*n+dst], ep.nlat[share], ep.nbw[share]
		}
		e.addTransferNs(li, xfer{kind: xferA2A, par: r.phase, src: int32(j), dst: int16(dst), stage: st.gid}, lat, bw)
		return
	}
	s := e.s
	switch {
	case r.phase == epDispatch && int(r.recvD) == n-1:
		r.phase, r.sent = epCompute, 0
		s.h.push(s.now+Time(e.vary(ep.work[j])), evExpertCompute, st.gid, int32(j), 0)
	case r.phase == epCombine && int(r.recvC) == n-1:
		r.phase = epDone
		if ep.done++; ep.done == n {
			for i := range st.ranks {
				e.advance(st, i)
			}
		}
	}
}

// onExpertCompute: rank j finished its experts; it sends the outputs back.
func (e *highExecutor) onExpertCompute(st *stage, j int) {
	st.ep.ranks[j].phase = epCombine
	e.epStep(st, j)
}

// epDeliver: an all-to-all transfer arrived. Its sender may send its next
// one; its receiver counts it.
func (e *highExecutor) epDeliver(x xfer) {
	st := e.s.stages[x.stage]
	ep := st.ep
	ep.ranks[x.src].out = false
	if x.par == epDispatch {
		ep.ranks[x.dst].recvD++
	} else {
		ep.ranks[x.dst].recvC++
	}
	e.epStep(st, int(x.src))
	e.epStep(st, int(x.dst))
}
