package replay

import (
	"fmt"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// PoolKind is the job of a pool of replicas: the one aggregated pool that
// prefills and decodes, or, on a disaggregated cluster
// (cluster.disaggregated), the prefill pool or the decode pool.
type PoolKind uint8

const (
	// PoolAggregated prefills and decodes on the same replicas.
	PoolAggregated PoolKind = iota
	// PoolPrefill computes prompts and the first token, then hands the KV
	// cache to the decode pool.
	PoolPrefill
	// PoolDecode receives KV caches and generates the remaining tokens.
	PoolDecode
)

func (k PoolKind) String() string {
	switch k {
	case PoolPrefill:
		return "prefill"
	case PoolDecode:
		return "decode"
	}
	return "aggregated"
}

// workerPool is what the replicas of one pool share: their own config (the
// pool's TP, PP, scheduler limits and engine defaults), planner, step
// costs, links and router. An aggregated cluster has one pool; a
// disaggregated one a prefill and a decode pool, which may differ in all of
// these.
type workerPool struct {
	kind     PoolKind
	cfg      *Config // the pool's own config (the run's, when aggregated)
	cost     cost.CostModel
	gpu      string // the pool's GPU when not hardware.gpu (PoolStats.GPU), else ""
	sched    *SchedulerConfig
	planner  *lod.Planner
	steps    stepCost
	spec     speculation // speculative decoding (speculative.go)
	tp, pp   int
	strag    *stragglers // medium: per-rank variability at TP > 1, else nil
	ring     cost.Link   // TP ring link
	ppLink   cost.Link   // link between pipeline stages
	router   router
	replicas []*replica
	blocks   int64     // KV blocks per replica
	base     placeBase // where its placement on nodes starts (topology.go)

	stepCount uint64     // steps run by the pool's replicas
	peakKV    float64    // highest KV use of one of them
	adp       []adpGroup // attention-DP balancing, by group (adpbalance.go)
	dps       []*dpGroup // vLLM's lock-step data-parallel groups (dpsync.go)
}

// stats reports the pool's layout and load.
func (p *workerPool) stats() PoolStats {
	st := PoolStats{GPU: p.gpu, Workers: len(p.replicas), TP: p.tp, PP: p.pp, KVBlocks: p.blocks, Steps: p.stepCount, PeakKVUtil: p.peakKV}
	if pl := p.planner; pl.EP() > 1 || pl.AttentionDP() > 1 {
		st.EP, st.AttentionDP, st.MoETP = pl.EP(), pl.AttentionDP(), pl.MoETP()
	}
	return st
}

// newPool builds a pool of c.Cluster.Replicas replicas from c, a pool's
// own config, with the pool's cost model.
func newPool(s *Simulator, kind PoolKind, c *Config, policy RoutingPolicy) (*workerPool, error) {
	k := c.Cluster
	cm := s.in.poolCost(kind)
	gpu, own := s.cfg.PoolGPU(kind)
	if own {
		g, err := cost.LookupGPU(gpu)
		if err == nil && cm.GPU().Key != g.Key {
			err = fmt.Errorf("gpu: %s, but the pool's cost model %s describes %s; expected a profile of %s (replay.Input.%sCost)",
				g.Name, cm.Name(), cm.GPU().Name, g.Name, poolField(kind))
		}
		if err != nil {
			return nil, err
		}
	} else {
		gpu = ""
	}
	pl, err := lod.NewPlanner(s.in.Model, cm, k.TensorParallel, k.PipelineParallel)
	if err != nil {
		return nil, err
	}
	if err := pl.SetExpertParallel(k.ep(), k.attentionDP()); err != nil {
		return nil, err
	}
	// vLLM's data-parallel ranks gather each other's tokens for the MoE
	// layers (lod.Planner.SetDPGather) and step in lock-step (dpsync.go).
	pl.SetDPGather(c.Scheduler.Engine == EngineVLLM)
	p := &workerPool{kind: kind, cfg: c, cost: cm, gpu: gpu, sched: &c.Scheduler, planner: pl,
		tp: k.TensorParallel, pp: k.PipelineParallel, router: router{policy: policy},
		spec: newSpeculation(c.Scheduler.Speculative)}
	if p.steps, err = newStepCost(c, pl); err != nil {
		return nil, err
	}
	if p.ring, p.ppLink, err = links(cm, k.Links, pl); err != nil {
		return nil, err
	}
	if v := c.Simulation.Variability; v > 0 && p.tp > 1 && c.Simulation.LoD != LoDHigh {
		p.strag = newStragglers(p.tp, v) // medium's expected slowest rank (mediumcost.go)
	}
	if p.blocks, err = KVBlocks(c, s.in.Model, cm.GPU(), cm.Overheads().MemoryReserveGB); err != nil {
		return nil, err
	}
	return p, nil
}

// poolField is the Input field of pool kind's cost model: Prefill or
// Decode.
func poolField(kind PoolKind) string {
	if kind == PoolDecode {
		return "Decode"
	}
	return "Prefill"
}

// addReplicas creates the pool's replicas, numbered on from the cluster's
// replicas so far.
func (p *workerPool) addReplicas(s *Simulator) {
	for i := 0; i < p.cfg.Cluster.Replicas; i++ {
		rp := s.newReplica(p, int32(len(s.replicas)), int32(p.blocks))
		p.replicas = append(p.replicas, rp)
		s.replicas = append(s.replicas, rp)
	}
	s.kicks = make([]*replica, 0, len(s.replicas))
}
