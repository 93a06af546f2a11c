package replay

import (
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
//     and the pipeline hand-off crosses that bus, not the send link.
//
// Without variability and contention both corrections are off and the
// step time is exactly the planner's (the differential tests hold medium
// to high there). Every medium step, single or in a decode run, is timed
// here.

// computeNs is the time of stage cost c's compute on the slowest rank,
// for step lb on stage idx; at adaptive LoD it also carries the step
// class's learned correction of the whole stage time (compute and
// collectives), so that the collective event stays as it is.
func (m *mediumExecutor) computeNs(c *lod.StageCost, idx int, lb *lod.Batch, g *workerPool) int64 {
	t := m.analyticComputeNs(c, g)
	if a := m.adapt; a != nil {
		if f := a.factor(idx, lb); f != 1 {
			coll := m.collectiveNs(c, g)
			t = max(0, int64(float64(t+coll)*f+0.5)-coll)
		}
	}
	return t
}

// analyticComputeNs is computeNs without a learned correction.
func (m *mediumExecutor) analyticComputeNs(c *lod.StageCost, pool *workerPool) int64 {
	g := pool.strag
	if g == nil {
		return c.Compute()
	}
	layer := g.segment(c.Op[lod.OpQKV], c.Op[lod.OpAttention], c.Op[lod.OpOProj]) + g.segment(c.Op[lod.OpMLP])
	t := float64(c.Overhead) + float64(c.Layers)*layer + g.segment(c.Head)
	return int64(t + 0.5)
}

// collectiveNs is the time of stage cost c's collectives: its all-reduces
// and, for expert-parallel MoE layers, the analytical all-to-alls
// (lod.StageCost.MoECommNs, or their form across nodes, epnodes.go),
// which no shared-bus correction touches.
func (m *mediumExecutor) collectiveNs(c *lod.StageCost, g *workerPool) int64 {
	return m.allReduceNs(c, g) + m.moeCommNs(c)
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

// newMedium builds the medium executor with the corrections the config
// calls for: a shared bus carries the pipeline hand-offs on the ring link,
// as the high level of detail's bus does (hopLink); each pool's straggler
// table is its own (workerPool.strag).
func newMedium(s *Simulator) *mediumExecutor {
	return &mediumExecutor{s: s, bus: s.cfg.Cluster.Links.Topology == TopologyShared}
}
