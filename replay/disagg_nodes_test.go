package replay

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace/workload"
)

// nodesDisagg is tinyDisagg on nodes of gpn GPUs joined by a 10 GB/s,
// 1 us network: the transfer block's link figures left to the nodes.
func nodesDisagg(l string, prefill, decode PoolConfig, nodes, gpn int) *Config {
	c := tinyDisagg(l, prefill, decode)
	c.Cluster.Disaggregated.Transfer = TransferConfig{}
	c.Cluster.Nodes, c.Cluster.GPUsPerNode = nodes, gpn
	c.Cluster.Network = NetworkConfig{BandwidthGBps: 10, LatencyUs: 1}
	return c
}

// drawDisaggNodes puts a third of drawn disaggregated clusters on nodes
// (drawn after every other field, so the rest of the draw is unchanged),
// keeping the draw only where the pools fit with each worker within a
// node: a TP group spanning nodes may all-reduce by a ring, which medium
// times pessimistically (topology.go), so spanning workers are checked
// where medium is exact (TestDisaggSpanningHighEqualsMedium).
func drawDisaggNodes(r *rand.Rand, c *Config) {
	if r.IntN(3) != 0 {
		return
	}
	d := c.Cluster.Disaggregated
	x := *c
	x.Cluster.Disaggregated = &DisaggConfig{Prefill: d.Prefill, Decode: d.Decode, Transfer: TransferConfig{SetupUs: d.Transfer.SetupUs}}
	x.Cluster.GPUsPerNode = []int{2, 4, 8}[r.IntN(3)]
	x.Cluster.Nodes = (d.Prefill.gpus()+d.Decode.gpus()+x.Cluster.GPUsPerNode-1)/x.Cluster.GPUsPerNode + r.IntN(2)
	x.Cluster.Network = NetworkConfig{BandwidthGBps: float64(5 + r.IntN(100)), LatencyUs: float64(r.IntN(3))}
	x.Cluster.Placement = Placements[r.IntN(len(Placements))]
	if x.Validate() == nil && withinNodes(&x) {
		*c = x
	}
}

// withinNodes reports whether every worker of c's pools lies within one
// node.
func withinNodes(c *Config) bool {
	k := &c.Cluster
	for _, q := range []struct {
		p PoolConfig
		b placeBase
	}{{k.Disaggregated.Prefill, placeBase{}}, {k.Disaggregated.Decode, decodeBase(k)}} {
		for w := 0; w < q.p.Workers; w++ {
			for st := 0; st < q.p.PipelineParallel; st++ {
				if rankNode(k, q.b, q.p.TensorParallel, q.p.PipelineParallel, w, st, q.p.TensorParallel-1) != rankNode(k, q.b, q.p.TensorParallel, q.p.PipelineParallel, w/max(1, q.p.AttentionDataParallel)*max(1, q.p.AttentionDataParallel), 0, 0) {
					return false
				}
			}
		}
	}
	return true
}

// TestDisaggNodesPlacement: the prefill pool's workers fill the nodes
// first, the decode pool's after them; packed keeps them in order, spread
// deals them round-robin, continuing from the prefill pool's pieces.
func TestDisaggNodesPlacement(t *testing.T) {
	for _, tc := range []struct {
		pl       Placement
		prefills int
		want     []int // nodes of the prefill workers, then the decode workers
	}{{PlacementPacked, 2, []int{0, 0, 1, 1}}, {PlacementPacked, 1, []int{0, 0, 1}}, {PlacementSpread, 1, []int{0, 1, 0}}} {
		c := nodesDisagg("high", PoolConfig{Workers: tc.prefills, TensorParallel: 2}, PoolConfig{Workers: 2, TensorParallel: 2}, 2, 4)
		c.Cluster.Placement = tc.pl
		s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, g := range s.pools {
			for _, rp := range g.replicas {
				got = append(got, nodeOf(s, g, int(rp.index), 0))
			}
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%s: worker nodes %v, want %v", tc.pl, got, tc.want)
		}
		if s.disagg.stats().KVLink != "network" {
			t.Errorf("%s: KV link %q, want network", tc.pl, s.disagg.stats().KVLink)
		}
	}
	// On one node the KV stays on NVLink.
	c := nodesDisagg("medium", PoolConfig{Workers: 1}, PoolConfig{Workers: 1}, 1, 8)
	st, _ := runDisagg(t, c, fixedCost{}, []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 2}})
	if st.Disaggregated.KVLink != "nvlink" {
		t.Errorf("one node: KV link %q, want nvlink", st.Disaggregated.KVLink)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDisaggNodesValidated: each problem named by its field.
func TestDisaggNodesValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"pools do not fit", func(c *Config) { c.Cluster.Nodes = 1 }, "cluster.nodes: 1 nodes of 4 GPUs hold 4, expected at least the pools' 6 GPUs"},
		{"TP neither within a node nor over whole nodes", func(c *Config) { c.Cluster.GPUsPerNode, c.Cluster.Nodes = 3, 4 },
			"cluster.disaggregated.prefill.tensor_parallel: 2 with cluster.gpus_per_node 3: expected a TP group within one node"},
		{"spread overflows a node", func(c *Config) {
			c.Cluster.Placement = PlacementSpread
			c.Cluster.Disaggregated.Prefill = PoolConfig{Workers: 1, TensorParallel: 4, PipelineParallel: 1}
			c.Cluster.Disaggregated.Decode.Workers = 4
			c.Cluster.Nodes = 2
		}, "cluster.placement: spread puts 6 GPUs on node 0, expected at most cluster.gpus_per_node 4"},
		{"transfer link set", func(c *Config) { c.Cluster.Disaggregated.Transfer.Link = KVLinkNetwork }, "cluster.disaggregated.transfer.link/bandwidth_gbps/latency_us: set with cluster.nodes"},
		{"no network", func(c *Config) { c.Cluster.Network = NetworkConfig{} }, "cluster.network.bandwidth_gbps: 0"},
		{"pools on two GPU types", func(c *Config) { c.Cluster.Disaggregated.Decode.GPU = "B200-SXM" }, "cluster.disaggregated.decode.gpu: B200"},
	} {
		c := nodesDisagg("medium", PoolConfig{Workers: 2, TensorParallel: 2}, PoolConfig{Workers: 2, TensorParallel: 1}, 2, 4)
		tc.edit(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestDisaggNodesHighEqualsMedium: one request from a TP2 prefill worker
// on node 0 to a decode worker on node 1. Each lane sends 10 tokens x 128
// bytes (half of the 256 bytes a token) = 1280 bytes; both lanes share the
// NIC at 10 bytes/ns: 2 x 128 + 1000 ns = 1256 ns, at both levels of
// detail (the compressed high too), and the same request on one node
// takes the NVLink lanes instead.
func TestDisaggNodesHighEqualsMedium(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 3}}
	var res [3][]RequestResult
	var st [3]*Stats
	for i, l := range []string{"high", "medium", "adaptive"} {
		c := nodesDisagg(l, PoolConfig{Workers: 1, TensorParallel: 2}, PoolConfig{Workers: 1, TensorParallel: 2}, 2, 2)
		st[i], res[i] = runDisagg(t, c, fixedCost{}, reqs)
		if got := res[i][0].TransferNs(); got != 1256 {
			t.Errorf("%s: transfer %d ns, want 2 x 128 + 1000 = 1256", l, got)
		}
	}
	if d := diffOutputs(st[0], st[1], res[0], res[1]); d != "" {
		t.Errorf("high and medium differ: %s", d)
	}
	one := nodesDisagg("medium", PoolConfig{Workers: 1, TensorParallel: 2}, PoolConfig{Workers: 1, TensorParallel: 2}, 1, 4)
	_, r1 := runDisagg(t, one, fixedCost{}, reqs)
	if r1[0].TransferNs() == 1256 {
		t.Errorf("one node: transfer %d ns, expected NVLink's, not the NIC's", r1[0].TransferNs())
	}
}

// TestDisaggSpanningHighEqualsMedium: workers spanning nodes, on nodes
// joined by the 10 GB/s, 1 us network. First, on nodes of one GPU, a
// prefill worker at TP1 x PP2 (stage 0 on node 0, stage 1 on node 1, its
// hand-off over the network) and a decode worker at TP2 over nodes 2 and
// 3 (a hierarchical all-reduce): each prefill stage's lane (one layer of
// the tiny model: 10 tokens x 128 bytes = 1280 bytes) goes from its own
// node to decode rank 0 on node 2, over two NICs at once: 1000 + 128 =
// 1128 ns, where one NIC for both lanes would take 1000 + 2 x 128. Second,
// on nodes of two GPUs, a prefill worker at TP2 on node 0 and a decode
// worker at TP4 over nodes 1 and 2: prefill rank r sends (two layers of
// 10 x 64 bytes, 1280 bytes) to decode rank 2r, rank 0 on node 1 and rank
// 2 on node 2, again over two NICs. Alone on their links high, medium and
// adaptive agree on every output.
func TestDisaggSpanningHighEqualsMedium(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 10, OutputTokens: 4}}
	for _, tc := range []struct {
		prefill, decode PoolConfig
		gpn             int
	}{
		{PoolConfig{Workers: 1, TensorParallel: 1, PipelineParallel: 2}, PoolConfig{Workers: 1, TensorParallel: 2}, 1},
		{PoolConfig{Workers: 1, TensorParallel: 2}, PoolConfig{Workers: 1, TensorParallel: 4}, 2},
	} {
		var res [3][]RequestResult
		var st [3]*Stats
		for i, l := range []string{"high", "medium", "adaptive"} {
			c := nodesDisagg(l, tc.prefill, tc.decode, 4, tc.gpn)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			st[i], res[i] = runDisagg(t, c, fixedCost{}, reqs)
			if got := res[i][0].TransferNs(); got != 1128 {
				t.Errorf("gpus_per_node %d, %s: transfer %d ns, want 1000 + 128 = 1128 (each lane over its own NIC)", tc.gpn, l, got)
			}
			if st[i].Disaggregated.KVLink != "network" {
				t.Errorf("gpus_per_node %d, %s: KV link %q, want network", tc.gpn, l, st[i].Disaggregated.KVLink)
			}
		}
		if d := diffOutputs(st[0], st[1], res[0], res[1]); d != "" {
			t.Errorf("gpus_per_node %d: high and medium differ: %s", tc.gpn, d)
		}
		if res[2][0] != res[0][0] || st[2].SimEnd != st[0].SimEnd {
			t.Errorf("gpus_per_node %d: adaptive %+v, high %+v", tc.gpn, res[2][0], res[0][0])
		}
		if !st[2].Adaptive.Refined {
			t.Errorf("gpus_per_node %d: adaptive did not refine pools that hand off or all-reduce across nodes", tc.gpn)
		}
	}
}

// TestDisaggNodesContendedNIC: two prefill workers on node 0 finish their
// prefills together and send to decode workers on node 1 over the one NIC:
// high shares its bandwidth, so each transfer takes longer than medium's
// analytical, uncontended time; adaptive, refining the contended workers,
// sends every lane over the NIC as high does. At TP1 and TP2 alike a
// 40-token prompt's KV is 40 x 256 bytes, 1024 ns at 10 bytes/ns, over
// one or two lanes. With links.topology: shared the lanes within a node
// are links of their own (not the TP ring's), which adaptive may compress
// to one per stage, but not over a NIC the lanes share.
func TestDisaggNodesContendedNIC(t *testing.T) {
	reqs := []workload.Request{{ID: 1, PromptTokens: 40, OutputTokens: 2}, {ID: 2, PromptTokens: 40, OutputTokens: 2}}
	for _, tc := range []struct {
		tp  int
		top Topology
	}{{1, TopologyNVLink}, {2, TopologyNVLink}, {2, TopologyShared}} {
		tp := tc.tp
		var xfer [3][]Time
		for i, l := range []string{"high", "medium", "adaptive"} {
			c := nodesDisagg(l, PoolConfig{Workers: 2, TensorParallel: tp, Router: RoundRobin}, PoolConfig{Workers: 2, TensorParallel: tp, Router: RoundRobin}, 2, 2*tp)
			c.Cluster.Links.Topology = tc.top
			_, rs := runDisagg(t, c, fixedCost{}, reqs)
			for _, r := range rs {
				xfer[i] = append(xfer[i], r.TransferNs())
			}
		}
		alone := Time(40*256/10 + 1000)
		for j := range xfer[1] {
			if xfer[1][j] != alone {
				t.Errorf("TP%d: medium transfer %d: %d ns, want %d", tp, j, xfer[1][j], alone)
			}
			for i, l := range []string{"high", "adaptive"} {
				if want := Time(2*40*256/10 + 1000); xfer[2*i][j] != want {
					t.Errorf("TP%d: %s transfer %d: %d ns, want %d (half the NIC each)", tp, l, j, xfer[2*i][j], want)
				}
			}
		}
	}
}

// TestKVDestinationStage: a prefill stage's lanes land on the decode stage
// holding its first layer: of 4 layers, prefill PP2's stages (layers 0-1,
// 2-3) on decode PP4's stages 0 and 2; prefill PP4's on decode PP2's
// stages 0, 0, 1, 1.
func TestKVDestinationStage(t *testing.T) {
	m := tinyModel
	m.Layers = 4
	for _, tc := range []struct {
		prefillPP, decodePP int
		want                []int
	}{{2, 4, []int{0, 2}}, {4, 2, []int{0, 0, 1, 1}}, {1, 3, []int{0}}, {3, 1, []int{0, 0, 0}}} {
		k := &ClusterConfig{Disaggregated: &DisaggConfig{Decode: PoolConfig{PipelineParallel: tc.decodePP}}}
		p := &workerPool{tp: 1, pp: tc.prefillPP, cost: fixedCost{}, ring: cost.Link{BytesPerNs: 1}, ppLink: cost.Link{BytesPerNs: 1}}
		if got := newKVTransfer(m, k, p, true).dstStage; !slices.Equal(got, tc.want) {
			t.Errorf("prefill PP%d, decode PP%d: destination stages %v, want %v", tc.prefillPP, tc.decodePP, got, tc.want)
		}
	}
}
