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

// epLayout is the expert-parallel layout of the aggregated cluster or of
// one pool of a disaggregated one, with the field path its settings are
// named by: "cluster" (replicas in cluster.replicas) or
// "cluster.disaggregated.prefill" (replicas in its workers).
type epLayout struct {
	prefix, replicasField string
	replicas, tp          int
	ep, dp, moeTP         int // as written: 0 is unset
}

// layout is the aggregated cluster's expert-parallel layout.
func (k *ClusterConfig) layout() epLayout {
	return epLayout{prefix: "cluster", replicasField: "cluster.replicas", replicas: k.Replicas, tp: k.TensorParallel,
		ep: k.ExpertParallel, dp: k.AttentionDataParallel, moeTP: k.MoETensorParallel}
}

// skewed reports whether the layout exchanges tokens between attention
// data-parallel groups, which cluster.expert_skew skews.
func (l epLayout) skewed() bool { return l.ep > 1 && l.dp > 1 }

// validateExperts checks the expert-parallel settings against each other
// and against the model, reporting every problem: the aggregated cluster's
// or, on a disaggregated cluster, each pool's (cluster.expert_skew is
// shared by the pools).
func (c *Config) validateExperts(p *problems, m lod.Model, haveModel bool) {
	k := &c.Cluster
	if k.ExpertSkew < 0 || k.ExpertSkew > 10 || math.IsNaN(k.ExpertSkew) {
		p.add("cluster.expert_skew: %v, expected a coefficient of variation in [0, 10]", k.ExpertSkew)
	}
	layouts := []epLayout{k.layout()}
	if d := k.Disaggregated; d != nil {
		layouts = []epLayout{d.Prefill.layout("cluster.disaggregated.prefill"), d.Decode.layout("cluster.disaggregated.decode")}
	}
	skewed := false
	for _, l := range layouts {
		validateEPLayout(p, l, m, haveModel)
		skewed = skewed || l.skewed()
	}
	if haveModel && !m.MoE() && k.ExpertSkew > 0 {
		p.add("cluster.expert_skew: %s has no experts: expert_skew applies to MoE models only", m.Name)
	} else if k.ExpertSkew > 0 && !skewed {
		p.add("cluster.expert_skew: %v has nothing to skew: the all-to-all needs expert_parallel > 1 and attention_data_parallel > 1", k.ExpertSkew)
	}
}

// validateEPLayout checks one layout's expert parallelism, attention data
// parallelism and MoE tensor parallelism, each problem named by its field.
func validateEPLayout(p *problems, l epLayout, m lod.Model, haveModel bool) {
	f := l.prefix
	for _, x := range []struct {
		name string
		v    int
	}{{"expert_parallel", l.ep}, {"attention_data_parallel", l.dp}, {"moe_tensor_parallel", l.moeTP}} {
		if x.v < 0 {
			p.add("%s.%s: %d, expected >= 1 (or unset: 1)", f, x.name, x.v)
		}
	}
	if l.ep < 0 || l.dp < 0 || l.moeTP < 0 || l.tp < 1 {
		return
	}
	ep, dp, tp := max(l.ep, 1), max(l.dp, 1), l.tp
	group := tp * dp
	if haveModel && !m.MoE() && (ep > 1 || l.moeTP > 0) {
		p.add("%s.expert_parallel: %s has no experts: expert_parallel and moe_tensor_parallel apply to MoE models only", f, m.Name)
		return
	}
	if group%ep != 0 {
		p.add("%s.expert_parallel: %d does not divide the %d ranks of tensor_parallel %d x attention_data_parallel %d", f, ep, group, tp, dp)
		return
	}
	if haveModel && m.Experts%ep != 0 {
		p.add("%s.expert_parallel: %d does not divide %s's %d experts", f, ep, m.Name, m.Experts)
	}
	if mt := l.moeTP; mt > 0 && mt != group/ep {
		p.add("%s.moe_tensor_parallel: %d, but tensor_parallel %d x attention_data_parallel %d / expert_parallel %d = %d", f, mt, tp, dp, ep, group/ep)
	}
	if dp > 1 && l.replicas%dp != 0 {
		p.add("%s: %d, expected a multiple of attention_data_parallel %d (each attention data-parallel group is a replica)", l.replicasField, l.replicas, dp)
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
