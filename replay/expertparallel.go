package replay

import (
	"fmt"
	"math"

	"github.com/lodsim/lodsim/lod"
)

// Expert parallelism (EP) spreads each MoE layer's routed experts over
// cluster.expert_parallel ranks. With attention data parallelism
// (cluster.attention_data_parallel > 1) the attention runs on separate
// groups of tensor_parallel ranks, one replica each with its own
// scheduler, and each MoE layer gathers the tokens of those groups: the
// ranks send every token to the ranks holding its experts (dispatch) and
// get the expert outputs back (combine), an all-to-all each way. Inside an
// expert group, moe_tensor_parallel = tensor_parallel x
// attention_data_parallel / expert_parallel ranks split each expert.
//
// A replica is simulated as one of those groups, taking the others to
// carry as many tokens (lod.Planner.SetExpertParallel). At the medium
// level of detail a step's all-to-alls are analytical at that mean load
// (lod.StageCost.MoECommNs); at the high level they are per-rank
// transfers over the modelled links, and each expert-parallel rank's load
// is drawn per layer with cluster.expert_skew (alltoall.go,
// expertload.go).

// ep is the expert-parallel degree (1 when unset).
func (k *ClusterConfig) ep() int { return max(k.ExpertParallel, 1) }

// attentionDP is the attention data-parallel degree (1 when unset).
func (k *ClusterConfig) attentionDP() int { return max(k.AttentionDataParallel, 1) }

// validateExperts checks the expert-parallel settings against each other
// and against the model, reporting every problem.
func (c *Config) validateExperts(p *problems, m lod.Model, haveModel bool) {
	k := &c.Cluster
	for _, f := range []struct {
		name string
		v    int
	}{{"expert_parallel", k.ExpertParallel}, {"attention_data_parallel", k.AttentionDataParallel}, {"moe_tensor_parallel", k.MoETensorParallel}} {
		if f.v < 0 {
			p.add("cluster.%s: %d, expected >= 1 (or unset: 1)", f.name, f.v)
		}
	}
	if k.ExpertSkew < 0 || k.ExpertSkew > 10 || math.IsNaN(k.ExpertSkew) {
		p.add("cluster.expert_skew: %v, expected a coefficient of variation in [0, 10]", k.ExpertSkew)
	}
	if k.ExpertParallel < 0 || k.AttentionDataParallel < 0 || k.MoETensorParallel < 0 || k.TensorParallel < 1 {
		return
	}
	ep, dp, tp := k.ep(), k.attentionDP(), k.TensorParallel
	group := tp * dp
	if haveModel && !m.MoE() && (ep > 1 || k.MoETensorParallel > 0 || k.ExpertSkew > 0) {
		p.add("cluster.expert_parallel: %s has no experts: expert_parallel, moe_tensor_parallel and expert_skew apply to MoE models only", m.Name)
		return
	}
	if group%ep != 0 {
		p.add("cluster.expert_parallel: %d does not divide the %d ranks of tensor_parallel %d x attention_data_parallel %d", ep, group, tp, dp)
		return
	}
	if haveModel && m.Experts%ep != 0 {
		p.add("cluster.expert_parallel: %d does not divide %s's %d experts", ep, m.Name, m.Experts)
	}
	if mt := k.MoETensorParallel; mt > 0 && mt != group/ep {
		p.add("cluster.moe_tensor_parallel: %d, but tensor_parallel %d x attention_data_parallel %d / expert_parallel %d = %d", mt, tp, dp, ep, group/ep)
	}
	if dp > 1 && k.Replicas%dp != 0 {
		p.add("cluster.replicas: %d, expected a multiple of attention_data_parallel %d (each attention data-parallel group is a replica)", k.Replicas, dp)
	}
	if k.ExpertSkew > 0 && (ep == 1 || dp == 1) {
		p.add("cluster.expert_skew: %v has nothing to skew: the all-to-all needs expert_parallel > 1 and attention_data_parallel > 1", k.ExpertSkew)
	}
}

// Parallelism describes the layout for provenance: replicas x TP x PP,
// then the attention data parallelism and expert parallelism when set.
func (k *ClusterConfig) Parallelism() string {
	s := fmt.Sprintf("%d replica(s) x TP%d x PP%d", k.Replicas, k.TensorParallel, k.PipelineParallel)
	if k.ep() > 1 || k.attentionDP() > 1 {
		s += fmt.Sprintf(", attention DP%d, EP%d x MoE TP%d", k.attentionDP(), k.ep(), k.TensorParallel*k.attentionDP()/k.ep())
	}
	return s
}
