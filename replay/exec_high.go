package replay

import (
	"math"
	"math/rand/v2"

	"github.com/lodsim/lodsim/lod"
)

// highExecutor is the high level of detail: every layer's operations on
// every TP rank's own compute stream, and each all-reduce as a ring of
// 2(N-1) point-to-point transfers per rank over modelled links that share
// bandwidth between concurrent transfers (links.go). Optional per-rank,
// per-operation variability lets a slow rank delay the collective.
type highExecutor struct {
	s        *Simulator
	links    []link
	kv       kvStreams // KV-cache transfers in flight (kvtransfer.go)
	shared   bool      // one bus per replica (topology shared)
	varSigma float64
	rng      *rand.Rand
	load     expertLoad // expert-parallel ranks' loads (alltoall.go)
	// measured, if set, sees each stage finish its program before
	// stageDone (the adaptive level of detail learns from it).
	measured func(st *stage)
	// delivered, if set, sees each pipeline hand-off arrive.
	delivered func(stage int32, b *batch)
	nics      map[[2]int]int32 // network link by (from, to) node (topology.go)
	// kvWhole sends each KV lane as one transfer (adaptive LoD): see
	// kvStreams.
	kvWhole bool
}

// rankState is one TP rank's position in its stage's program for the
// current batch. The program is, per layer, QKV, attention, output
// projection, all-reduce, MLP, all-reduce (the all-reduces only when
// TP > 1), then the LM head on the last stage.
// MaxHighTP is the largest tensor-parallel group the high and adaptive
// levels of detail simulate: a rank counts its ring's 2(TP-1) chunks in
// an int8 (rankState stays 16 bytes; it is touched on every rank event).
// A larger group wrapped the count and its ranks waited forever.
const MaxHighTP = 64

// checkHighTP reports a tensor-parallel group (field f) too large for the
// high level of detail's ring, at the levels that run it.
func checkHighTP(p *problems, l LoD, f string, tp int) {
	if (l == LoDHigh || l == LoDAdaptive) && tp > MaxHighTP {
		p.add("%s: %d at simulation.lod %s, expected at most %d (lod medium simulates larger groups)", f, tp, l, MaxHighTP)
	}
}

type rankState struct {
	layer int32   // layer in progress
	k     int8    // operation within the layer (index into stage.seq)
	head  bool    // the LM head has been started
	recv  [2]int8 // ring chunks received, by all-reduce parity
	sent  int8    // ring chunks sent in the current all-reduce
	out   int8    // own chunk in transit (a rank's sends go one after another)
	inAR  bool
	ar    int32 // all-reduces entered in this batch
}

// initReplica gives each stage its ranks, its ring links and its link to
// the next stage (all one bus with the shared topology).
func (e *highExecutor) initReplica(rp *replica) {
	g := rp.grp
	tp, pp := g.tp, g.pp
	var bus int32 = -1
	if e.shared {
		bus = e.newLink(g.ring)
	}
	for i, st := range rp.stages {
		st.ranks = make([]rankState, tp)
		st.seq = layerSeq(tp)
		st.ringLinks = make([]int32, tp)
		for r := range st.ringLinks {
			if bus >= 0 {
				st.ringLinks[r] = bus
			} else if tp > 1 {
				st.ringLinks[r] = e.newLink(g.ring)
			}
		}
		if bus >= 0 {
			st.ppLink = bus
		} else if i < pp-1 {
			st.ppLink = e.newLink(g.ppLink)
		}
		if n := g.planner.ExchangeRanks(); n > 1 {
			st.ep = e.newEPPhase(n, bus, g.ring)
		}
	}
	e.placeOnNodes(rp)
	if g.kind == PoolPrefill {
		e.initKVLinks(rp, e.s.disagg.xfer)
	}
}

// forward sends the activations over the link to the next stage.
func (e *highExecutor) forward(st *stage, b *batch) {
	e.addTransfer(st.ppLink, xfer{kind: xferPP, stage: st.gid + 1, batch: b}, b.cost[st.idx].PPBytes)
}

// startRun: every step runs op by op at the high level of detail.
func (e *highExecutor) startRun(*replica, *batch, bool) bool { return false }

// opAR marks an all-reduce in a stage's per-layer sequence.
const opAR = -1

// layerSeq is the per-layer operation sequence at the given TP degree.
func layerSeq(tp int) []int8 {
	if tp > 1 {
		return []int8{int8(lod.OpQKV), int8(lod.OpAttention), int8(lod.OpOProj), opAR, int8(lod.OpMLP), opAR}
	}
	return []int8{int8(lod.OpQKV), int8(lod.OpAttention), int8(lod.OpOProj), int8(lod.OpMLP)}
}

// start copies the step's costs into the stage, so that the
// per-event work reads one small struct, and starts every rank's first
// operation.
func (e *highExecutor) start(st *stage, b *batch) {
	s := e.s
	c := &b.cost[st.idx]
	st.op = c.Op
	st.layers = int32(c.Layers)
	st.head = c.Head + c.Draft // the draft passes follow the LM head
	st.hopLat, st.hopBW = lod.HopParts(c.ARLink, c.ARBytes/float64(len(st.ranks)))
	if st.netRank != nil {
		st.netLat, st.netBW = lod.HopParts(netLink(e.s.cfg.Cluster), c.ARBytes/float64(len(st.ranks)))
		st.hier.begin(s, st, c)
	}
	st.doneRanks = 0
	if st.ep != nil {
		st.ep.start(c)
	}
	for r := range st.ranks {
		st.ranks[r] = rankState{}
		s.h.push(s.now+Time(c.Overhead+e.vary(st.op[lod.OpQKV])), evRankCompute, st.gid, int32(r), 0)
	}
}

// advance moves rank r past the operation it just finished.
func (e *highExecutor) advance(st *stage, r int) {
	s := e.s
	rs := &st.ranks[r]
	rs.k++
	if int(rs.k) == len(st.seq) {
		rs.k = 0
		rs.layer++
	}
	if rs.layer == st.layers {
		if !rs.head && st.head > 0 {
			rs.head = true
			s.h.push(s.now+Time(e.vary(st.head)), evRankCompute, st.gid, int32(r), 0)
			return
		}
		e.rankDone(st)
		return
	}
	op := st.seq[rs.k]
	if st.ep.moeLayer(op, rs.layer) {
		e.epArrive(st)
		return
	}
	if op == opAR {
		rs.inAR, rs.sent = true, 0
		rs.ar++
		if st.hier.on {
			e.hierSend(st, r)
			return
		}
		e.ringSend(st, r)
		return
	}
	s.h.push(s.now+Time(e.vary(st.op[op])), evRankCompute, st.gid, int32(r), 0)
}

// rankDone: one more rank finished the stage's program.
func (e *highExecutor) rankDone(st *stage) {
	st.doneRanks++
	if st.doneRanks == len(st.ranks) {
		if e.measured != nil {
			e.measured(st)
		}
		e.s.stageDone(st)
	}
}

// ringSend issues the ring step rank r may send now. Step j of the ring
// (reduce-scatter then all-gather, 2(N-1) steps) forwards the chunk received
// in step j-1, so it needs j chunks received; step 0 needs only the rank's
// own data. A rank sends one chunk at a time, as an NCCL channel does. When
// all 2(N-1) chunks have arrived and been sent on, the rank moves on.
func (e *highExecutor) ringSend(st *stage, r int) {
	rs := &st.ranks[r]
	n := len(st.ranks)
	steps := int8(2 * (n - 1))
	par := int8((rs.ar - 1) & 1)
	for rs.sent < steps && rs.sent <= rs.recv[par] && rs.out == 0 {
		rs.sent++
		rs.out++
		lat, bw := st.hopLat, st.hopBW
		if st.netRank != nil && st.netRank[r] {
			lat, bw = st.netLat, st.netBW
		}
		dst := r + 1 // the next rank on the ring (no division: this runs per event)
		if dst == n {
			dst = 0
		}
		e.addTransferNs(st.ringLinks[r], xfer{dst: int16(dst), par: par, stage: st.gid}, lat, bw)
	}
	if rs.recv[par] == steps && rs.sent == steps {
		rs.recv[par] = 0
		rs.inAR = false
		e.advance(st, r)
	}
}

// vary draws a lognormal factor with mean 1 for one operation on one
// rank and applies it to d.
func (e *highExecutor) vary(d int64) int64 {
	if e.varSigma == 0 {
		return d
	}
	return e.varyDraw(d)
}

func (e *highExecutor) varyDraw(d int64) int64 {
	if d == 0 {
		return 0
	}
	f := math.Exp(e.varSigma*e.rng.NormFloat64() - e.varSigma*e.varSigma/2)
	v := int64(float64(d)*f + 0.5)
	if v < 1 {
		v = 1
	}
	return v
}
