package replay

import (
	"math"

	"github.com/lodsim/lodsim/lod"
)

// The medium level of detail's step time: the planner's costs as an
// uncontended, variation-free replica runs them, corrected analytically
// where the high level of detail's extra physics is predictable:
//
//   - per-rank variability (stragglers, straggler.go): each segment of
//     operations between two all-reduces takes the expected maximum of the
//     TP ranks' times instead of their mean;
//   - a shared bus (topology shared): the N ranks of a ring all-reduce send
//     their chunks at the same time over the one bus, so each hop's bytes
//     take N times as long, while its latency is not shared:
//
//     2(N-1) x (alpha + N x (S/N)/B)
//
//     and the pipeline hand-off crosses that bus, not the send link; with
//     PP > 1 the other stages' rings and hand-offs share it too, which a
//     fluid model of the bus follows (busfluid.go);
//   - skewed expert loads (cluster.expert_skew, expertload.go): every
//     expert-parallel rank waits for the one with the most routed tokens,
//     so each MoE layer's expert kernel takes its time at the expected
//     maximum rank load instead of the mean one (skewNs).
//
// Without variability and contention both corrections are off and the
// step time is exactly the planner's (the differential tests hold medium
// to high there). Every medium step, single or in a decode run, is timed
// here.

// computeNs is the time of stage cost c's compute on the slowest rank,
// for step lb on stage st; at adaptive LoD it also carries the step
// class's learned correction of the whole stage time (compute and
// collectives), so that the collective event stays as it is.
func (m *mediumExecutor) computeNs(c *lod.StageCost, st *stage, lb *lod.Batch) int64 {
	g := st.rep.grp
	t := m.analyticComputeNs(c, g)
	if a := m.adapt; a != nil {
		if f := a.factor(g, st.idx, lb, c); f != 1 {
			coll := m.collectiveNs(c, st)
			t = max(0, int64(float64(t+coll)*f+0.5)-coll)
		}
	}
	return t
}

// analyticComputeNs is computeNs without a learned correction.
func (m *mediumExecutor) analyticComputeNs(c *lod.StageCost, pool *workerPool) int64 {
	g := pool.strag
	if g == nil {
		return c.Compute() + m.skewNs(c)
	}
	layer := g.segment(c.Op[lod.OpQKV], c.Op[lod.OpAttention], c.Op[lod.OpOProj]) + g.segment(c.Op[lod.OpMLP])
	t := float64(c.Overhead) + float64(c.Layers)*layer + g.segment(c.Head+c.Draft)
	return int64(t+0.5) + m.skewNs(c)
}

// skewNs is what skewed expert loads add to stage cost c's MoE layers: at
// high LoD rank j of n computes its routed experts at f_j = n w_j / Σw
// times the mean load (alltoall.go), with w_j lognormal of mean 1 and
// coefficient of variation cluster.expert_skew, and sends the outputs of
// f_j times the mean tokens back to each of its n-1 peers one after
// another in the combine; the layer ends with the slowest rank, so each
// layer takes
//
//	(E[max_j w_j] - 1) x (ExpertNs + (n-1) x B)
//
// longer than at the mean load, with B the bandwidth time of a mean
// all-to-all chunk (the dispatch is paced by the senders, whose totals
// stay near the mean). E[max] is g(n, s) of straggler.go; taking Σw/n as
// 1 overstates it slightly (the sum shares the largest weight).
func (m *mediumExecutor) skewNs(c *lod.StageCost) int64 {
	n := c.A2ARanks
	if m.skewSigma == 0 || n <= 1 || c.MoELayers == 0 || c.ExpertNs <= 0 {
		return 0
	}
	if n >= len(m.skewMax) {
		m.skewMax = append(m.skewMax, make([]float64, n+1-len(m.skewMax))...)
	}
	if m.skewMax[n] == 0 {
		m.skewMax[n] = expectedMaxLognormal(n, m.skewSigma)
	}
	_, bw := lod.HopParts(c.A2ALink, c.A2ABytes/float64(n))
	return int64(float64(c.MoELayers)*(m.skewMax[n]-1)*float64(c.ExpertNs+int64(n-1)*bw) + 0.5)
}

// collectiveNs is the time of stage st's collectives at cost c: its
// all-reduces and, for expert-parallel MoE layers, the analytical
// all-to-alls (lod.StageCost.MoECommNs, or their form across nodes over
// the stage's layout, epnodes.go), which no shared-bus correction touches.
func (m *mediumExecutor) collectiveNs(c *lod.StageCost, st *stage) int64 {
	return m.allReduceNs(c, st.rep.grp) + m.moeCommNs(c, st.epLay)
}

// allReduceNs is the time of stage cost c's all-reduces.
func (m *mediumExecutor) allReduceNs(c *lod.StageCost, g *workerPool) int64 {
	tp := g.tp
	if ns, ok := spanAllReduceNs(m.s, g, c.ARLink, c.ARBytes); ok {
		return int64(2*c.Layers) * ns
	}
	if !m.bus || tp <= 1 {
		return c.CollectiveNs(tp)
	}
	lat, bw := lod.HopParts(c.ARLink, c.ARBytes/float64(tp))
	return int64(2*c.Layers) * int64(2*(tp-1)) * (lat + int64(tp)*bw)
}

// busModel reports whether st's steps share a bus with other stages'
// collectives: PP > 1 on a shared bus, at TP > 1 (a ring to share). The
// adaptive level of detail turns it off in a pool it refines, where it
// learns the stage times from high steps instead.
func (m *mediumExecutor) busModel(st *stage) bool {
	g := st.rep.grp
	if !m.bus || g.pp < 2 || g.tp < 2 || crossesNodes(m.s, st) {
		return false
	}
	return m.adapt == nil || !m.adapt.poolOf(g).refine
}

// newMedium builds the medium executor with the corrections the config
// calls for: a shared bus carries the pipeline hand-offs on the ring link,
// as the high level of detail's bus does (hopLink); each pool's straggler
// table is its own (workerPool.strag).
func newMedium(s *Simulator) *mediumExecutor {
	m := &mediumExecutor{s: s, bus: s.cfg.Cluster.Links.Topology == TopologyShared}
	if cv := s.cfg.Cluster.ExpertSkew; cv > 0 {
		m.skewSigma = math.Sqrt(math.Log1p(cv * cv))
	}
	return m
}
