package replay

import (
	"github.com/lodsim/lodsim/hwprofile/cost"
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
// must lie within one node (Validate says so otherwise): all-reduces stay
// on NVLink. Collectives across nodes (hierarchical, or a ring through the
// NICs) are not modelled.
//
// A hand-off between stages on different nodes goes over the sending
// node's NIC towards the receiving node: one link per ordered node pair,
// with cluster.network's bandwidth (GB/s per direction) and latency,
// shared at high LoD by every hand-off between those nodes, and at medium
// LoD one analytical hop over that link.

// nodeOf is the node of replica rep's stage s (its first rank), or 0 on a
// single node.
func nodeOf(s *Simulator, rep, stage int) int {
	k := s.cfg.Cluster
	if k.Nodes <= 0 {
		return 0
	}
	return ((rep*s.pp + stage) * s.tp) / k.GPUsPerNode
}

// netLink is cluster.network as a link.
func netLink(k ClusterConfig) cost.Link {
	return cost.Link{BytesPerNs: k.Network.BandwidthGBps, LatencyNs: k.Network.LatencyUs * 1e3}
}

// crossesNodes reports whether the hand-off from st to the next stage
// goes over the network.
func crossesNodes(s *Simulator, st *stage) bool {
	return st.idx < s.pp-1 && nodeOf(s, int(st.rep.id), st.idx) != nodeOf(s, int(st.rep.id), st.idx+1)
}

// anyCrossing reports whether some replica hands off across nodes.
func anyCrossing(s *Simulator) bool {
	for r := 0; r < s.cfg.Cluster.Replicas; r++ {
		for st := 0; st < s.pp-1; st++ {
			if nodeOf(s, r, st) != nodeOf(s, r, st+1) {
				return true
			}
		}
	}
	return false
}

// placeOnNodes gives each stage of rp whose hand-off crosses nodes the
// NIC link between them (one per ordered node pair, made on first use).
func (e *highExecutor) placeOnNodes(rp *replica) {
	s := e.s
	if s.cfg.Cluster.Nodes <= 0 {
		return
	}
	if e.nics == nil {
		e.nics = map[[2]int]int32{}
	}
	for _, st := range rp.stages {
		if !crossesNodes(s, st) {
			continue
		}
		pair := [2]int{nodeOf(s, int(rp.id), st.idx), nodeOf(s, int(rp.id), st.idx+1)}
		li, ok := e.nics[pair]
		if !ok {
			li = e.newLink(netLink(s.cfg.Cluster))
			e.nics[pair] = li
		}
		st.ppLink = li
	}
}

// hopLink is the link of medium's analytical hand-off from st.
func (m *mediumExecutor) hopLink(st *stage) cost.Link {
	if crossesNodes(m.s, st) {
		return netLink(m.s.cfg.Cluster)
	}
	return m.ppLink
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
	if k.TensorParallel > 0 && k.GPUsPerNode%k.TensorParallel != 0 {
		p.add("cluster.tensor_parallel: %d does not divide cluster.gpus_per_node %d: a TP group must lie within one node (collectives across nodes are not modelled)", k.TensorParallel, k.GPUsPerNode)
	}
	if !(k.Network.BandwidthGBps > 0) {
		p.add("cluster.network.bandwidth_gbps: %v, expected > 0 (GB/s per direction of a node's NIC)", k.Network.BandwidthGBps)
	}
	if k.Network.LatencyUs < 0 {
		p.add("cluster.network.latency_us: %v, expected >= 0", k.Network.LatencyUs)
	}
}
