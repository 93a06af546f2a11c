package replay

import "github.com/lodsim/lodsim/lod"

// Expert parallelism across nodes. An attention data-parallel group is dp
// consecutive replicas (the group of replica r starts at dp x floor(r/dp)),
// whose tp x dp GPUs, numbered replica by replica and rank by rank, are
// cut into the EP ranks: EP rank j holds GPUs j x moe_tp ... (j+1) x
// moe_tp - 1, and lies on the node of its first GPU (topology.go's
// placement). When the group spans nodes, an all-to-all transfer between
// EP ranks on different nodes crosses the network:
//
//   - high LoD: it goes over a link with cluster.network's bandwidth and
//     latency from the sender's node to the receiver's, shared by every
//     EP rank of the sending node that sends to that node at the same
//     time. Each replica simulates its group's whole all-to-all
//     (expertparallel.go), so these links are the replica's own: sharing
//     the nodes' NIC links with other replicas would count the all-to-all
//     once per replica of the group.
//   - medium LoD: the all-to-all is bound by the slowest sender or the
//     busiest network link, whichever is longer. Rank i sends its n-1
//     transfers of S/n one after another, l_i of them on its node and
//     r_i over the network; the link from node a to node b carries
//     L_ab transfers in all:
//
//     T_a2a = max( max_i l_i x T_nvlink(S/n) + r_i x T_net(S/n),
//     max_ab L_ab x (S/n)/B_net + alpha_net )
//
//     High LoD lands close to it (TestExpertParallelAcrossNodes): the
//     senders overlap their network transfers unevenly, so neither
//     bound is exact.

// epNodes is the node of each rank of replica rep's stage st that
// exchanges tokens in the MoE layers (lod.Planner.ExchangeRanks: the EP
// ranks, or with vLLM's gather the attention data-parallel ranks, each
// on the node of its first GPU), or nil when the exchange stays on one
// node.
func epNodes(s *Simulator, g *workerPool, rep, st int) []int {
	k := &s.cfg.Cluster
	pl := g.planner
	if k.Nodes <= 0 || pl == nil || pl.ExchangeRanks() <= 1 {
		return nil
	}
	n, dp := pl.ExchangeRanks(), pl.AttentionDP()
	mt := g.tp * dp / n // GPUs of one exchanging rank: moe_tp, or tp when gathering
	r0 := rep / dp * dp
	nodes := make([]int, n)
	spans := false
	for j := range nodes {
		q := j * mt
		nodes[j] = rankNode(k, g.base, g.tp, g.pp, r0+q/g.tp, st, q%g.tp)
		spans = spans || nodes[j] != nodes[0]
	}
	if !spans {
		return nil
	}
	return nodes
}

// epCross gives a stage's all-to-all its network links: to[i x n + j] is
// the link from EP rank i to rank j when they are on different nodes
// (one per ordered node pair, the replica's own), -1 on one node.
func (e *highExecutor) epCross(ep *epPhase, nodes []int) {
	n := len(nodes)
	ep.to = make([]int32, n*n)
	ep.nlat, ep.nbw = make([]int64, n), make([]int64, n)
	pair := map[[2]int]int32{}
	for i := range nodes {
		for j := range nodes {
			a, b := nodes[i], nodes[j]
			if a == b {
				ep.to[i*n+j] = -1
				continue
			}
			li, ok := pair[[2]int{a, b}]
			if !ok {
				li = e.newLink(netLink(e.s.cfg.Cluster))
				pair[[2]int{a, b}] = li
			}
			ep.to[i*n+j] = li
		}
	}
}

// epNodeLayout is what medium needs of the EP ranks' nodes: the distinct
// (on-node, network) transfer counts of the ranks, each once however many
// ranks share it (T_a2a takes their maximum), and the busiest link's
// transfers.
type epNodeLayout struct {
	senders []epSender
	busiest int
}

// epSender is a rank's share of an all-to-all: its transfers to ranks on
// its node and to ranks over the network.
type epSender struct{ local, remote int }

// newEPNodeLayout counts the transfers of the all-to-all of ranks on nodes.
func newEPNodeLayout(nodes []int) *epNodeLayout {
	n := len(nodes)
	lay := &epNodeLayout{}
	load := map[[2]int]int{}
	seen := map[epSender]bool{}
	for i := range nodes {
		var snd epSender
		for k := 1; k < n; k++ {
			a, b := nodes[i], nodes[(i+k)%n]
			if a == b {
				snd.local++
				continue
			}
			snd.remote++
			load[[2]int{a, b}]++
			lay.busiest = max(lay.busiest, load[[2]int{a, b}])
		}
		if !seen[snd] {
			seen[snd] = true
			lay.senders = append(lay.senders, snd)
		}
	}
	return lay
}

// moeCommNs is medium's all-to-all time of stage cost c: T_a2a above per
// dispatch and combine when the stage's EP ranks span nodes (lay, the
// stage's layout), else the planner's.
func (m *mediumExecutor) moeCommNs(c *lod.StageCost, lay *epNodeLayout) int64 {
	if lay == nil || c.A2ARanks <= 1 || !(c.A2ABytes > 0) {
		return c.MoECommNs()
	}
	per := c.A2ABytes / float64(c.A2ARanks)
	nv := lod.HopNs(c.A2ALink, per)
	xl, xb := lod.HopParts(netLink(m.s.cfg.Cluster), per)
	t := int64(lay.busiest)*xb + xl
	for _, snd := range lay.senders {
		t = max(t, int64(snd.local)*nv+int64(snd.remote)*(xl+xb))
	}
	return int64(2*c.MoELayers) * t
}
