package replay

import "github.com/lodsim/lodsim/lod"

// hierAR is the hierarchical all-reduce of a stage whose TP group spans
// nodes, at the high level of detail (topology.go derives it and the
// rule that picks it over the ring). Rank r = p x G + j is local rank j
// of the piece on node p. Per all-reduce every rank runs three rings one
// after another, each a ring as exec_high.go's (step k forwards the chunk
// received in step k-1, one chunk in transit per rank):
//
//	phase 0: reduce-scatter among its node's G ranks, G-1 chunks of S/G
//	         to rank p x G + (j+1) mod G over NVLink;
//	phase 1: all-reduce among the M ranks with local rank j, 2(M-1)
//	         chunks of S/(G M) to rank ((p+1) mod M) x G + j over the NIC
//	         from its node to the next, shared with the node's other
//	         ranks, hand-offs and other replicas' transfers;
//	phase 2: all-gather among its node's ranks, as phase 0.
//
// A chunk carries its phase and the all-reduce's parity (xfer.par =
// parity | phase<<1), so that a chunk arriving ahead of its receiver (a
// neighbour already in a later phase or the next all-reduce) is counted
// where it belongs (hierRank.recv).
type hierAR struct {
	ranks        []hierRank
	on           bool     // this step's all-reduces are hierarchical
	g, m         int      // ranks per node, nodes
	steps        [3]int8  // chunks per rank in each phase
	intra, inter []int32  // rank r's link to its next rank on its node, and to its peer on the next node
	lat, bw      [2]int64 // a chunk's latency and bandwidth time: [0] NVLink phases, [1] network phase
}

// hierRank is a rank's progress through a hierarchical all-reduce, beside
// its rankState (which stays 16 bytes for the ring's sake): the phase in
// progress and the chunks received, by parity and phase.
type hierRank struct {
	phase int8
	recv  [2][3]int8
}

// initHier gives a stage whose TP group spans nodes the links of its
// hierarchical all-reduce: the ring links to the next rank on the node
// (exec_high.go made them; the last rank of a node gets its own link back
// to the first) and the NICs between consecutive nodes.
func (e *highExecutor) initHier(st *stage) {
	k := &e.s.cfg.Cluster
	g := st.rep.grp
	h := &st.hier
	h.g = k.GPUsPerNode
	h.m = g.tp / h.g
	h.steps = [3]int8{int8(h.g - 1), int8(2 * (h.m - 1)), int8(h.g - 1)}
	h.intra, h.inter, h.ranks = make([]int32, g.tp), make([]int32, g.tp), make([]hierRank, g.tp)
	node := func(r int) int { return rankNode(k, g.base, g.tp, g.pp, int(st.rep.index), st.idx, r) }
	for r := range h.intra {
		p, j := r/h.g, r%h.g
		switch {
		case j < h.g-1 || e.shared:
			h.intra[r] = st.ringLinks[r]
		default:
			h.intra[r] = e.newLink(g.ring)
		}
		h.inter[r] = e.nic(node(r), node(((p+1)%h.m)*h.g+j))
	}
}

// begin picks this step's algorithm for the stage (topology.go's rule at
// the step's all-reduce size) and sizes its chunks.
func (h *hierAR) begin(s *Simulator, st *stage, c *lod.StageCost) {
	ring, hier, ok := spanNs(s, st.rep.grp, c.ARLink, c.ARBytes)
	h.on = ok && hier <= ring
	if !h.on {
		return
	}
	clear(h.ranks)
	h.lat[0], h.bw[0] = lod.HopParts(c.ARLink, c.ARBytes/float64(h.g))
	h.lat[1], h.bw[1] = lod.HopParts(netLink(s.cfg.Cluster), c.ARBytes/float64(h.g*h.m))
}

// hierSend issues the chunks rank r may send now and moves it through
// the phases; when the all-gather is done the rank moves on.
func (e *highExecutor) hierSend(st *stage, r int) {
	h := &st.hier
	rs, hr := &st.ranks[r], &h.ranks[r]
	par := int8((rs.ar - 1) & 1)
	for {
		steps, got := h.steps[hr.phase], hr.recv[par][hr.phase]
		for rs.sent < steps && rs.sent <= got && rs.out == 0 {
			rs.sent++
			rs.out++
			e.hierChunk(st, r, hr.phase, par)
		}
		if rs.sent < steps || got < steps {
			return
		}
		hr.recv[par][hr.phase], rs.sent = 0, 0
		if hr.phase++; hr.phase < 3 {
			continue
		}
		hr.phase, rs.inAR = 0, false
		e.advance(st, r)
		return
	}
}

// hierChunk sends rank r's next chunk of phase ph.
func (e *highExecutor) hierChunk(st *stage, r int, ph, par int8) {
	h := &st.hier
	p, j := r/h.g, r%h.g
	x := xfer{kind: xferHier, src: int32(r), par: par | ph<<1, stage: st.gid}
	if ph == 1 {
		x.dst = int16(((p+1)%h.m)*h.g + j)
		e.addTransferNs(h.inter[r], x, h.lat[1], h.bw[1])
		return
	}
	x.dst = int16(p*h.g + (j+1)%h.g)
	e.addTransferNs(h.intra[r], x, h.lat[0], h.bw[0])
}

// hierDeliver: a hierarchical all-reduce chunk arrived. Its sender may
// send its next one; its receiver counts it under its phase and parity.
func (e *highExecutor) hierDeliver(x xfer) {
	st := e.s.stages[x.stage]
	src := &st.ranks[x.src]
	src.out--
	if src.inAR {
		e.hierSend(st, int(x.src))
	}
	q, hq := &st.ranks[x.dst], &st.hier.ranks[x.dst]
	par, ph := x.par&1, x.par>>1
	hq.recv[par][ph]++
	if q.inAR && int8((q.ar-1)&1) == par && hq.phase == ph {
		e.hierSend(st, int(x.dst))
	}
}
