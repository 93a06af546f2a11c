package replay

import (
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// Multi-node placement (cluster.nodes, cluster.gpus_per_node,
// cluster.network, cluster.placement). A TP group either lies within one
// node (TP divides gpus_per_node) or spans whole nodes (gpus_per_node
// divides TP); either way it is cut into pieces of u = min(TP,
// gpus_per_node) ranks, each on one node. The pieces are numbered replica
// by replica, stage by stage, rank by rank,
//
//	piece of (replica r, stage s, rank i) = (r x PP + s) x TP/u + i/u
//
// and cluster.placement puts piece k on
//
//	packed (default): node k x u / gpus_per_node (fill the nodes in order)
//	spread:           node k mod nodes           (deal them round-robin)
//
// Packed keeps a replica on consecutive GPUs: Llama-3.1-405B at TP8 x PP2
// on two 8-GPU nodes puts one stage on each node, and two such replicas on
// four nodes use nodes 0-1 and 2-3. Spread puts consecutive stages (and a
// spanning group's pieces) on consecutive nodes: two TP8 x PP2 replicas on
// two 16-GPU nodes then both hand off from node 0 to node 1 and share
// that NIC, where packed would keep each on its own node.
//
// A hand-off between stages on different nodes goes over the sending
// node's NIC towards the receiving node: one link per ordered node pair,
// with cluster.network's bandwidth (GB/s per direction) and latency,
// shared at high LoD by every hand-off and all-reduce chunk of any
// replica between those nodes, and at medium LoD one analytical hop over
// that link. (Expert-parallel all-to-alls across nodes use network links
// of their own, epnodes.go.)
//
// A TP group spanning M nodes of G GPUs (N = M x G ranks) all-reduces
// S bytes with one of two algorithms, picked per all-reduce size as
// NCCL's tuner picks (its model: per algorithm, the predicted latency
// plus bytes over bus bandwidth; the lowest wins, ties to hierarchical):
//
//   - ring: one ring through every rank, the rank before each node
//     boundary sending its chunks over the NIC, the others over NVLink.
//     Every rank sends 2(N-1) chunks of S/N one after another, so the
//     ring runs at the pace of its slowest hop:
//
//     T_ring = 2(N-1) x max(T_net(S/N), T_nvlink(S/N))
//
//   - hierarchical (NCCL's tree-style intra-node/inter-node split): a
//     reduce-scatter in each node (a ring of G ranks over NVLink, G-1
//     chunks of S/G), then for each local index j an all-reduce of the
//     node's S/G-byte shard between the M ranks with that index (a ring
//     over the NICs, 2(M-1) chunks of S/(G M); the G ranks of a node send
//     theirs at the same time over the node's one NIC, so each takes G
//     times the bandwidth time), then an all-gather in each node (G-1
//     chunks of S/G over NVLink):
//
//     T_hier = 2(G-1) x T_nvlink(S/G) + 2(M-1) x (alpha_net + G x (S/(G M))/B_net)
//
// with T(s) = alpha + s/B per hop (lod.HopParts, in integer ns). The
// bandwidth terms differ by 2(G-1) x S x (1/(N B_net) - 1/(G B_nvlink)):
// bandwidth-bound, hierarchical wins iff B_nvlink >= M x B_net (H100
// NVLink at 450 GB/s against a 50 GB/s NIC: always at M = 2); latency-
// bound it always wins (2(G-1) + 2(M-1) hops against the ring's 2(N-1) at
// the slower latency). The ring is left for nodes whose inner links are
// less than M times as fast as the network (PCIe nodes on a fast fabric).
// With links.topology shared (one bus per replica) lodsim keeps the ring.
//
// At high LoD both algorithms are transfers over the links they cross
// (the ring in exec_high.go, the hierarchical one in hierarchical.go),
// sharing the NICs with the hand-offs and with other replicas' transfers.
// Medium LoD times the chosen algorithm by its formula: the hierarchical
// one exactly as high runs it uncontended (TestNodesHierHighEqualsMedium),
// the ring as a barrier at its slowest hop, pessimistic at high LoD where
// the ranks behind the faster hops leave each all-reduce early and start
// the next layer (TestNodesTPRingAcrossNodes); the adaptive level of
// detail refines such replicas.

// A disaggregated cluster places the prefill pool's workers by the same
// rule, then the decode pool's after them: the decode pool's pieces are
// numbered on from the prefill pool's, and packed fills the nodes from the
// GPU after the prefill pool's last (node (prefill GPUs + k x u) /
// gpus_per_node). Each worker must lie within one node (validatePoolNodes;
// workers spanning nodes are not supported there yet). A KV transfer
// between workers on different nodes goes over the prefill node's NIC
// towards the decode node (kvtransfer.go), the link hand-offs and
// all-reduces between those nodes share.

// placeBase is where a pool's placement starts: the GPUs and pieces of the
// pools placed before it (the prefill pool's, for the decode pool).
type placeBase struct{ gpus, pieces int }

// agg is the pool of an aggregated cluster.
func (s *Simulator) agg() *workerPool { return s.pools[0] }

// nodeOf is the node of pool g's replica rep's stage s (its first rank),
// or 0 on a single node.
func nodeOf(s *Simulator, g *workerPool, rep, stage int) int {
	return rankNode(&s.cfg.Cluster, g.base, g.tp, g.pp, rep, stage, 0)
}

// rankNode is the node of rank i of replica rep's stage st of a pool
// starting at b under cluster.placement (the rule above), or 0 on a single
// node.
func rankNode(k *ClusterConfig, b placeBase, tp, pp, rep, st, i int) int {
	if k.Nodes <= 0 {
		return 0
	}
	u := min(tp, k.GPUsPerNode)
	piece := (rep*pp+st)*(tp/u) + i/u
	if k.Placement == PlacementSpread {
		return (b.pieces + piece) % k.Nodes
	}
	return (b.gpus + piece*u) / k.GPUsPerNode
}

// decodeBase is where the decode pool's placement starts: after the
// prefill pool's GPUs and pieces.
func decodeBase(k *ClusterConfig) placeBase {
	q := k.Disaggregated.Prefill
	if k.Nodes <= 0 || k.GPUsPerNode <= 0 || q.TensorParallel <= 0 {
		return placeBase{}
	}
	u := min(q.TensorParallel, k.GPUsPerNode)
	return placeBase{gpus: q.gpus(), pieces: q.Workers * q.PipelineParallel * (q.TensorParallel / u)}
}

// netLink is cluster.network as a link.
func netLink(k ClusterConfig) cost.Link {
	return cost.Link{BytesPerNs: k.Network.BandwidthGBps, LatencyNs: k.Network.LatencyUs * 1e3}
}

// crossesNodes reports whether the hand-off from st to the next stage
// goes over the network.
func crossesNodes(s *Simulator, st *stage) bool {
	g := st.rep.grp
	return st.idx < g.pp-1 && nodeOf(s, g, int(st.rep.index), st.idx) != nodeOf(s, g, int(st.rep.index), st.idx+1)
}

// anyCrossing reports whether some replica hands off or all-reduces
// across nodes.
func anyCrossing(s *Simulator) bool {
	return spansNodes(s) || handOffCrosses(s)
}

// spansNodes reports whether the TP groups span nodes.
func spansNodes(s *Simulator) bool {
	k := s.cfg.Cluster
	return k.Nodes > 0 && s.agg().tp > k.GPUsPerNode
}

// handOffCrosses reports whether some replica's pipeline hand-off goes
// over the network.
func handOffCrosses(s *Simulator) bool {
	g := s.agg()
	for r := 0; r < s.cfg.Cluster.Replicas; r++ {
		for st := 0; st < g.pp-1; st++ {
			if nodeOf(s, g, r, st) != nodeOf(s, g, r, st+1) {
				return true
			}
		}
	}
	return false
}

// ringStage reports whether stage cost c's all-reduces, by a TP group
// spanning nodes, take the ring: the tuner's pick at their size
// (spanNs), which high runs through the NICs and medium times by a
// barrier at the slowest hop's pace. The hierarchical algorithm's medium
// form is exact (TestNodesHierHighEqualsMedium).
func ringStage(s *Simulator, g *workerPool, c *lod.StageCost) bool {
	ring, hier, ok := spanNs(s, g, c.ARLink, c.ARBytes)
	return ok && ring < hier
}

// nic is the network link from node a to node b (one per ordered node
// pair, made on first use).
func (e *highExecutor) nic(a, b int) int32 {
	if e.nics == nil {
		e.nics = map[[2]int]int32{}
	}
	li, ok := e.nics[[2]int{a, b}]
	if !ok {
		li = e.newLink(netLink(e.s.cfg.Cluster))
		e.nics[[2]int{a, b}] = li
	}
	return li
}

// placeOnNodes gives each stage of rp whose hand-off crosses nodes, and
// each rank whose ring sends do, the NIC link between the two nodes, and
// a stage whose TP group spans nodes its hierarchical all-reduce's links.
func (e *highExecutor) placeOnNodes(rp *replica) {
	s := e.s
	k := &s.cfg.Cluster
	if k.Nodes <= 0 {
		return
	}
	g := rp.grp
	for _, st := range rp.stages {
		if nodes := epNodes(s, g, int(rp.index), st.idx); st.ep != nil && nodes != nil {
			e.epCross(st.ep, nodes)
		}
		if crossesNodes(s, st) {
			st.ppLink = e.nic(nodeOf(s, g, int(rp.index), st.idx), nodeOf(s, g, int(rp.index), st.idx+1))
		}
		if g.tp <= k.GPUsPerNode {
			continue
		}
		e.initHier(st)
		st.netRank = make([]bool, g.tp)
		for r := range st.netRank {
			from, to := rankNode(k, g.base, g.tp, g.pp, int(rp.index), st.idx, r), rankNode(k, g.base, g.tp, g.pp, int(rp.index), st.idx, (r+1)%g.tp)
			if from != to {
				st.netRank[r] = true
				st.ringLinks[r] = e.nic(from, to)
			}
		}
	}
}

// spanNs is the predicted time of one all-reduce of bytes by a TP group
// spanning whole nodes with either algorithm (T_ring and T_hier above);
// ok is false for a group within a node.
func spanNs(s *Simulator, g *workerPool, ar cost.Link, bytes float64) (ring, hier int64, ok bool) {
	k := &s.cfg.Cluster
	if k.Nodes <= 0 || g.tp <= k.GPUsPerNode || bytes <= 0 {
		return 0, 0, false
	}
	n, gn := g.tp, k.GPUsPerNode
	m := n / gn
	net := netLink(*k)
	chunk := bytes / float64(n)
	ring = int64(2*(n-1)) * max(lod.HopNs(net, chunk), lod.HopNs(ar, chunk))
	if k.Links.Topology == TopologyShared {
		return ring, ring + 1, true
	}
	xl, xb := lod.HopParts(net, bytes/float64(n))
	hier = int64(2*(gn-1))*lod.HopNs(ar, bytes/float64(gn)) + int64(2*(m-1))*(xl+int64(gn)*xb)
	return ring, hier, true
}

// spanAllReduceNs is the medium LoD time of one all-reduce of a TP group
// spanning nodes: the algorithm the tuner picks, by its formula.
func spanAllReduceNs(s *Simulator, g *workerPool, ar cost.Link, bytes float64) (ns int64, ok bool) {
	ring, hier, ok := spanNs(s, g, ar, bytes)
	return min(ring, hier), ok
}

// hopLink is the link of medium's analytical hand-off from st.
func (m *mediumExecutor) hopLink(st *stage) cost.Link {
	if crossesNodes(m.s, st) {
		return netLink(m.s.cfg.Cluster)
	}
	if m.bus {
		return st.rep.grp.ring
	}
	return st.rep.grp.ppLink
}

// validateNodes checks the multi-node layout: every GPU placed, a TP group
// within one node, a network to cross.
func (c *Config) validateNodes(p *problems) {
	k := c.Cluster
	if k.Nodes == 0 {
		if k.GPUsPerNode != 0 || k.Network != (NetworkConfig{}) || k.Placement != "" {
			p.add("cluster.gpus_per_node/network/placement: set without cluster.nodes, expected cluster.nodes >= 1 with them")
		}
		return
	}
	if k.Nodes < 0 {
		p.add("cluster.nodes: %d, expected >= 1", k.Nodes)
		return
	}
	if k.GPUsPerNode < 1 {
		p.add("cluster.gpus_per_node: %d, expected >= 1 with cluster.nodes", k.GPUsPerNode)
		return
	}
	if k.Disaggregated != nil {
		c.validateNetwork(p)
		c.validatePlacement(p)
		c.validatePoolNodes(p)
		return
	}
	if need := k.Replicas * k.TensorParallel * k.PipelineParallel; need > k.Nodes*k.GPUsPerNode {
		p.add("cluster.nodes: %d nodes of %d GPUs hold %d, expected at least replicas x TP x PP = %d", k.Nodes, k.GPUsPerNode, k.Nodes*k.GPUsPerNode, need)
	}
	if tp := k.TensorParallel; tp > 0 && k.GPUsPerNode%tp != 0 && tp%k.GPUsPerNode != 0 {
		p.add("cluster.tensor_parallel: %d and cluster.gpus_per_node %d: expected a TP group within one node (TP divides it) or over whole nodes (it divides TP)", tp, k.GPUsPerNode)
	}
	c.validateNetwork(p)
	c.validatePlacement(p)
}

// validateNetwork checks cluster.network.
func (c *Config) validateNetwork(p *problems) {
	k := c.Cluster
	if !(k.Network.BandwidthGBps > 0) {
		p.add("cluster.network.bandwidth_gbps: %v, expected > 0 (GB/s per direction of a node's NIC)", k.Network.BandwidthGBps)
	}
	if k.Network.LatencyUs < 0 {
		p.add("cluster.network.latency_us: %v, expected >= 0", k.Network.LatencyUs)
	}
}

// validatePoolNodes checks a disaggregated cluster's placement: the pools'
// GPUs fit the nodes, each worker (and each attention-DP group of an
// expert-parallel pool) lies within one node, and spread puts no more GPUs
// on a node than it has. The transfer block's link figures are the nodes'
// to decide.
func (c *Config) validatePoolNodes(p *problems) {
	k := &c.Cluster
	d := k.Disaggregated
	if t := d.Transfer; t.Link != "" || t.BandwidthGBps != 0 || t.LatencyUs != 0 {
		p.add("cluster.disaggregated.transfer.link/bandwidth_gbps/latency_us: set with cluster.nodes, expected unset: the nodes decide (NVLink within a node, cluster.network between nodes)")
	}
	for _, kind := range []PoolKind{PoolPrefill, PoolDecode} {
		if name, own := c.PoolGPU(kind); own {
			p.add("cluster.disaggregated.%s.gpu: %s with cluster.nodes, expected the cluster's GPU %s: a node holds one GPU type", kind, name, c.Hardware.GPU)
		}
	}
	if need := d.Prefill.gpus() + d.Decode.gpus(); need > k.Nodes*k.GPUsPerNode {
		p.add("cluster.nodes: %d nodes of %d GPUs hold %d, expected at least the pools' %d GPUs (prefill %d + decode %d)",
			k.Nodes, k.GPUsPerNode, k.Nodes*k.GPUsPerNode, need, d.Prefill.gpus(), d.Decode.gpus())
		return
	}
	used := make([]int, k.Nodes)
	for _, q := range []struct {
		f    string
		pool PoolConfig
		base placeBase
	}{{"cluster.disaggregated.prefill", d.Prefill, placeBase{}}, {"cluster.disaggregated.decode", d.Decode, decodeBase(k)}} {
		if !poolNodesValid(p, k, q.f, q.pool, q.base, used) {
			return
		}
	}
	for n, g := range used {
		if g > k.GPUsPerNode {
			p.add("cluster.placement: %s puts %d GPUs on node %d, expected at most cluster.gpus_per_node %d", k.Placement, g, n, k.GPUsPerNode)
			return
		}
	}
}

// poolNodesValid checks that each worker of pool q (field f), placed from
// b, lies within one node, counting its GPUs per node into used.
func poolNodesValid(p *problems, k *ClusterConfig, f string, q PoolConfig, b placeBase, used []int) bool {
	tp, pp := q.TensorParallel, q.PipelineParallel
	if tp < 1 || pp < 1 || q.Workers < 1 {
		return false // validatePool names it
	}
	if tp > k.GPUsPerNode || k.GPUsPerNode%tp != 0 {
		p.add("%s.tensor_parallel: %d with cluster.gpus_per_node %d: expected a TP group within one node (TP divides gpus_per_node); workers spanning nodes are not supported in a disaggregated cluster yet", f, tp, k.GPUsPerNode)
		return false
	}
	group := max(1, q.AttentionDataParallel) // workers that must share a node
	for w := 0; w < q.Workers; w++ {
		first := rankNode(k, b, tp, pp, w/group*group, 0, 0)
		for st := 0; st < pp; st++ {
			n := rankNode(k, b, tp, pp, w, st, 0)
			if n != first {
				p.add("%s: worker %d lies on nodes %d and %d under cluster.placement %q, expected each worker (and attention-DP group) within one node; workers spanning nodes are not supported in a disaggregated cluster yet", f, w, first, n, k.Placement)
				return false
			}
			used[n] += tp
		}
	}
	return true
}

// validatePlacement checks cluster.placement. Spread needs no room check
// of its own: dealing P pieces of u GPUs round-robin puts ceil(P/nodes)
// on a node, which fits gpus_per_node (a multiple of u) exactly when the
// P x u GPUs fit the nodes, as validateNodes checks.
func (c *Config) validatePlacement(p *problems) {
	if pl := c.Cluster.Placement; pl != "" {
		p.enum(checkEnum("cluster.placement", pl, Placements))
	}
}
