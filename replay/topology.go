package replay

import (
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// Multi-node placement (cluster.nodes, cluster.gpus_per_node,
// cluster.network). GPUs are numbered replica by replica, stage by stage,
// rank by rank, and fill the nodes in order:
//
//	GPU of (replica r, stage s, rank i) = (r x PP + s) x TP + i
//	node = GPU / gpus_per_node
//
// so a replica occupies consecutive GPUs and a pipeline stage boundary
// that falls on a node boundary crosses the network: Llama-3.1-405B at
// TP8 x PP2 on two 8-GPU nodes puts one stage on each node. A TP group
// either lies within one node or spans whole nodes (TP16 on two 8-GPU
// nodes); then its all-reduce is one ring through the nodes, as NCCL's
// ring algorithm runs it: the rank before each node boundary sends its
// chunks over the network link to the next node, the others over NVLink.
// (NCCL may pick a tree or hierarchical algorithm instead; lodsim models
// the ring.) Medium times it as a barrier at the pace of its slowest hop: a
// rank sends one chunk at a time, so the slowest sender needs
//
//	2(N-1) x max(T_net, T_nvlink)
//
// with T the time of one chunk of S/N bytes over the link. At high LoD the
// ranks behind the faster hops leave each all-reduce early and start the
// next layer's compute, so consecutive layers overlap and the step is
// shorter: medium is pessimistic here (TestNodesTPRingAcrossNodes
// measures it) and the adaptive level of detail refines such replicas.
//
// A hand-off between stages on different nodes goes over the sending
// node's NIC towards the receiving node: one link per ordered node pair,
// with cluster.network's bandwidth (GB/s per direction) and latency,
// shared at high LoD by every hand-off between those nodes, and at medium
// LoD one analytical hop over that link.

// agg is the pool of an aggregated cluster: multi-node placement and the
// adaptive level of detail are for aggregated clusters (validateNodes and
// validateDisagg refuse them with cluster.disaggregated).
func (s *Simulator) agg() *workerPool { return s.pools[0] }

// nodeOf is the node of replica rep's stage s (its first rank), or 0 on a
// single node.
func nodeOf(s *Simulator, rep, stage int) int {
	k := s.cfg.Cluster
	if k.Nodes <= 0 {
		return 0
	}
	g := s.agg()
	return ((rep*g.pp + stage) * g.tp) / k.GPUsPerNode
}

// netLink is cluster.network as a link.
func netLink(k ClusterConfig) cost.Link {
	return cost.Link{BytesPerNs: k.Network.BandwidthGBps, LatencyNs: k.Network.LatencyUs * 1e3}
}

// crossesNodes reports whether the hand-off from st to the next stage
// goes over the network.
func crossesNodes(s *Simulator, st *stage) bool {
	return st.idx < st.rep.grp.pp-1 && nodeOf(s, int(st.rep.id), st.idx) != nodeOf(s, int(st.rep.id), st.idx+1)
}

// anyCrossing reports whether some replica hands off or all-reduces
// across nodes.
func anyCrossing(s *Simulator) bool {
	g := s.agg()
	if k := s.cfg.Cluster; k.Nodes > 0 && g.tp > k.GPUsPerNode {
		return true
	}
	for r := 0; r < s.cfg.Cluster.Replicas; r++ {
		for st := 0; st < g.pp-1; st++ {
			if nodeOf(s, r, st) != nodeOf(s, r, st+1) {
				return true
			}
		}
	}
	return false
}

// placeOnNodes gives each stage of rp whose hand-off crosses nodes, and
// each rank whose ring sends do, the NIC link between the two nodes (one
// per ordered node pair, made on first use).
func (e *highExecutor) placeOnNodes(rp *replica) {
	s := e.s
	k := s.cfg.Cluster
	if k.Nodes <= 0 {
		return
	}
	if e.nics == nil {
		e.nics = map[[2]int]int32{}
	}
	nic := func(from, to int) int32 {
		li, ok := e.nics[[2]int{from, to}]
		if !ok {
			li = e.newLink(netLink(k))
			e.nics[[2]int{from, to}] = li
		}
		return li
	}
	for _, st := range rp.stages {
		if crossesNodes(s, st) {
			st.ppLink = nic(nodeOf(s, int(rp.id), st.idx), nodeOf(s, int(rp.id), st.idx+1))
		}
		g := rp.grp
		if g.tp <= k.GPUsPerNode {
			continue
		}
		base := (int(rp.id)*g.pp + st.idx) * g.tp
		st.netRank = make([]bool, g.tp)
		for r := range st.netRank {
			from, to := (base+r)/k.GPUsPerNode, (base+(r+1)%g.tp)/k.GPUsPerNode
			if from != to {
				st.netRank[r] = true
				st.ringLinks[r] = nic(from, to)
			}
		}
	}
}

// netRingNs is one ring all-reduce of s bytes of a TP group spanning
// whole nodes, as the comment above derives it; ok is false for a group
// within a node.
func netRingNs(s *Simulator, g *workerPool, ar cost.Link, bytes float64) (ns int64, ok bool) {
	k := s.cfg.Cluster
	if k.Nodes <= 0 || g.tp <= k.GPUsPerNode || bytes <= 0 {
		return 0, false
	}
	n := g.tp
	chunk := bytes / float64(n)
	return int64(2*(n-1)) * max(lod.HopNs(netLink(k), chunk), lod.HopNs(ar, chunk)), true
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
		if k.GPUsPerNode != 0 || k.Network != (NetworkConfig{}) {
			p.add("cluster.gpus_per_node/network: set without cluster.nodes, expected cluster.nodes >= 1 with them")
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
	if need := k.Replicas * k.TensorParallel * k.PipelineParallel; need > k.Nodes*k.GPUsPerNode {
		p.add("cluster.nodes: %d nodes of %d GPUs hold %d, expected at least replicas x TP x PP = %d", k.Nodes, k.GPUsPerNode, k.Nodes*k.GPUsPerNode, need)
	}
	if tp := k.TensorParallel; tp > 0 && k.GPUsPerNode%tp != 0 && tp%k.GPUsPerNode != 0 {
		p.add("cluster.tensor_parallel: %d and cluster.gpus_per_node %d: expected a TP group within one node (TP divides it) or over whole nodes (it divides TP)", tp, k.GPUsPerNode)
	}
	if !(k.Network.BandwidthGBps > 0) {
		p.add("cluster.network.bandwidth_gbps: %v, expected > 0 (GB/s per direction of a node's NIC)", k.Network.BandwidthGBps)
	}
	if k.Network.LatencyUs < 0 {
		p.add("cluster.network.latency_us: %v, expected >= 0", k.Network.LatencyUs)
	}
}
