package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// kvTransfer is how a request's KV cache moves from its prefill worker to
// its decode worker. Every GPU of the prefill worker sends its own share
// over its own lane (a link per prefill GPU): the KV of its pipeline
// stage's layers, split evenly over the stage's TP ranks (GQA heads are
// sharded; MLA's latent, which every rank holds whole, is sent in equal
// slices, as the transfer engines do). A lane's share of a request of n
// prompt tokens is
//
//	bytes = n x full + min(n, window) x windowed
//
// (full, windowed: the lane's bytes per token over the stage's
// full-attention and sliding-window layers), and uncontended it takes
//
//	lane = setup + latency + bytes / bandwidth
//
// (setup: cluster.disaggregated.transfer.setup_us, 0 by default) with the
// request's transfer done when its slowest lane is (the stage with the
// most layers). The receiving side's ports are not modelled.
//
// Medium LoD takes that time analytically for each request. High LoD
// streams each lane's KV layer by layer, the layers back to back as
// transfers on the lane's link (links.go), so that they share bandwidth
// with the other transfers on it and, over NVLink, with the worker's own
// tensor-parallel collectives; only the last layer pays the latency (the
// stream is pipelined), and the setup with it: a fixed delay that
// concurrent transfers do not share, taken at the end (a lone stream is
// delivered at the same time as with the setup first). Alone on its links
// a lane's layers take exactly the medium time: the layers' bandwidth
// times split the lane's integer total.
// Both start when the prefill step that sampled the first token ends
// (SGLang and vLLM send the KV after the prefill forward pass).
//
// On nodes (cluster.nodes, topology.go) each lane runs from its prefill
// GPU's node to the node of the decode GPU that receives it: the rank
// r x TP_d / TP_p (TP_p, TP_d: the pools' TP) of the decode stage holding
// the first layer of the lane's prefill stage. A lane within one node
// takes its NVLink lane above; a lane between nodes a and b takes the one
// NIC link from a to b (cluster.network), which it shares with the other
// lanes between a and b and with every other transfer between those
// nodes. For workers within one node every lane runs between the same two
// nodes; a worker spanning nodes (TP over whole nodes, stages on
// different nodes) sends over several NICs at once. Uncontended, the
// lanes on one NIC drain together under processor sharing: they take
//
//	max over the NIC's lanes (setup + latency) + sum over its lanes of bytes / bandwidth
//
// (each lane's bandwidth time as an integer, lod.HopParts), and the
// transfer is done when its slowest NIC (or NVLink lane) is, which medium
// LoD takes analytically and high LoD matches exactly alone on the NICs
// (TestDisaggNodesHighEqualsMedium, TestDisaggSpanningHighEqualsMedium).
type kvTransfer struct {
	link   KVLink
	lane   cost.Link
	net    cost.Link // cluster.network, with cluster.nodes
	nodes  bool      // cluster.nodes: lanes between nodes take the NIC
	shared bool      // lanes are the prefill GPUs' TP ring links
	tp     int
	stages []kvStage // of the prefill pool
	window int32
	setup  int64 // ns, each transfer's fixed setup time
	// dstStage is, per prefill stage, the decode stage holding its first
	// layer, where its lanes land (on nodes).
	dstStage []int
	nics     []nicLoad // medium's scratch: the NICs one transfer crosses
}

// nicLoad is the lanes of one transfer on the NIC from node a to node b:
// their largest latency and summed bandwidth time.
type nicLoad struct {
	a, b    int
	lat, bw int64
}

// kvStage is one prefill pipeline stage's lane traffic per token.
type kvStage struct {
	layers         int
	full, windowed float64 // bytes per token per lane
}

// newKVTransfer lays out the transfers from prefill pool p: the link kind
// and its figures (the transfer block's overrides applied), and each
// stage's bytes per token per lane.
func newKVTransfer(m lod.Model, k *ClusterConfig, p *workerPool, sameGPU bool) *kvTransfer {
	d, topology := k.Disaggregated, k.Links.Topology
	o := d.Transfer
	t := &kvTransfer{link: d.kvLink(p.cost.GPU(), sameGPU), tp: p.tp, window: int32(m.SlidingWindow), setup: int64(math.Round(o.SetupUs * 1e3))}
	if k.Nodes > 0 {
		// Within a node NVLink; between nodes the NIC (validatePoolNodes
		// leaves the transfer block's link figures unset).
		t.link, t.nodes, t.net = KVLinkNVLink, true, netLink(*k)
	}
	switch t.link {
	case KVLinkNetwork:
		t.lane = cost.Link{LatencyNs: defaultNICLatencyU * 1e3, BytesPerNs: defaultNICGBps}
	default:
		// A prefill GPU's NVLink port: the ring link it all-reduces over
		// (shared with the collectives), or the point-to-point link at TP1.
		t.lane = p.ppLink
		if p.tp > 1 {
			t.lane = p.ring
			t.shared = topology == TopologyNVLink && o.BandwidthGBps == 0 && o.LatencyUs == 0
		}
	}
	if o.BandwidthGBps > 0 {
		t.lane.BytesPerNs = o.BandwidthGBps
	}
	if o.LatencyUs > 0 {
		t.lane.LatencyNs = o.LatencyUs * 1e3
	}
	perLayer := float64(m.KVLayerBytes(1)) / float64(p.tp)
	if m.MLA() {
		perLayer = float64(m.KVLayerBytes(p.tp)) / float64(p.tp)
	}
	start := 0
	for _, n := range lod.StageLayers(m.Layers, p.pp) {
		st := kvStage{layers: n}
		for i := start; i < start+n; i++ {
			if m.IsWindowLayer(i) {
				st.windowed += perLayer
			} else {
				st.full += perLayer
			}
		}
		t.stages = append(t.stages, st)
		start += n
	}
	// The decode stage of each prefill stage's first layer.
	dl := lod.StageLayers(m.Layers, max(d.Decode.PipelineParallel, 1))
	start = 0
	for _, n := range lod.StageLayers(m.Layers, p.pp) {
		ds, end := 0, dl[0]
		for start >= end && ds < len(dl)-1 {
			ds++
			end += dl[ds]
		}
		t.dstStage = append(t.dstStage, ds)
		start += n
	}
	return t
}

// laneBytes is the bytes one lane of stage s sends for tokens of KV.
func (t *kvTransfer) laneBytes(s int, tokens int32) float64 {
	st := &t.stages[s]
	w := tokens
	if t.window > 0 && w > t.window {
		w = t.window
	}
	return float64(tokens)*st.full + float64(w)*st.windowed
}

// laneParts is the latency (the setup included) and bandwidth time of one
// lane of stage s, over the NIC when cross.
func (t *kvTransfer) laneParts(s int, tokens int32, cross bool) (lat, bw int64) {
	ln := t.lane
	if cross {
		ln = t.net
	}
	lat, bw = lod.HopParts(ln, t.laneBytes(s, tokens))
	return lat + t.setup, bw
}

// Ns is the uncontended transfer time of tokens of KV from prefill
// replica src to decode replica dst: its slowest lane, or on nodes its
// slowest NIC (every bandwidth time of its lanes after their largest
// latency) or NVLink lane.
func (t *kvTransfer) Ns(s *Simulator, src, dst *replica, tokens int32) int64 {
	var d int64
	t.nics = t.nics[:0]
	for lane := 0; lane < len(t.stages)*t.tp; lane++ {
		a, b, cross := t.laneNodes(s, src, dst, lane)
		lat, bw := t.laneParts(lane/t.tp, tokens, cross)
		if !cross {
			d = max(d, lat+bw)
			continue
		}
		i := 0
		for i < len(t.nics) && (t.nics[i].a != a || t.nics[i].b != b) {
			i++
		}
		if i == len(t.nics) {
			t.nics = append(t.nics, nicLoad{a: a, b: b})
		}
		t.nics[i].lat, t.nics[i].bw = max(t.nics[i].lat, lat), t.nics[i].bw+bw
	}
	for _, n := range t.nics {
		d = max(d, n.lat+n.bw)
	}
	return d
}

// laneNodes is where lane (prefill stage x TP + rank) of a transfer from
// prefill replica src to decode replica dst runs on nodes: from its
// prefill GPU's node a to its receiving decode GPU's node b (the rule
// above), and whether that crosses nodes.
func (t *kvTransfer) laneNodes(s *Simulator, src, dst *replica, lane int) (a, b int, cross bool) {
	if !t.nodes {
		return 0, 0, false
	}
	k := &s.cfg.Cluster
	ps, r := lane/t.tp, lane%t.tp
	pg, dg := src.grp, dst.grp
	a = rankNode(k, pg.base, pg.tp, pg.pp, int(src.index), ps, r)
	b = rankNode(k, dg.base, dg.tp, dg.pp, int(dst.index), t.dstStage[ps], r*dg.tp/t.tp)
	return a, b, a != b
}

// crosses reports whether some lane of a transfer from prefill replica
// src to decode replica dst goes between nodes.
func (t *kvTransfer) crosses(s *Simulator, src, dst *replica) bool {
	for lane := 0; t.nodes && lane < len(t.stages)*t.tp; lane++ {
		if _, _, cross := t.laneNodes(s, src, dst, lane); cross {
			return true
		}
	}
	return false
}

// Bytes is the KV one request of tokens prompt tokens moves, all lanes.
func (t *kvTransfer) Bytes(tokens int32) float64 {
	var b float64
	for s := range t.stages {
		b += t.laneBytes(s, tokens) * float64(t.tp)
	}
	return b
}

// layerShare is layer l's part of a lane's integer bandwidth time bw over
// n layers: the shares add up to bw exactly.
func layerShare(bw int64, l, n int) int64 {
	return bw*int64(l+1)/int64(n) - bw*int64(l)/int64(n)
}

// kvStreams are the high LoD's KV transfers in flight: one stream per
// request, one lane per prefill GPU, each lane's layers sent one after
// another on its link.
//
// The adaptive level of detail sends the same streams in an exact
// compressed form (highExecutor.kvWhole): a lane's layers go back to back
// with only the last paying the latency, so under processor sharing they
// drain as one transfer of the lane's whole bandwidth time, which is what
// it sends; and where each lane has a link of its own (not a TP ring link
// that carries collectives too), the TP lanes of a stage carry the same
// streams at the same times, so the stage's first lane stands for all of
// them. TestAdaptiveKVWholeEqualsHigh holds it to the layered streams.
type kvStreams struct {
	st   []kvStream
	free []int32
}

// kvStream is one request's transfer: its lanes' links, latency and
// bandwidth time, and how many lanes are still sending.
type kvStream struct {
	slot  int32
	left  int32
	net   bool // some lane takes a NIC between nodes
	src   *replica
	links []int32    // per lane (stage x TP + rank): its link
	parts [][2]int64 // per lane: latency, bandwidth time
}

// initKVLinks gives each GPU of prefill replica rp its lane: its TP ring
// link where transfers share it with the collectives, else a link of its
// own; on nodes, the NIC links towards the decode workers' nodes are made
// now, so that starting a transfer allocates nothing.
func (e *highExecutor) initKVLinks(rp *replica, t *kvTransfer) {
	if dec := e.s.disagg.decode; t.nodes {
		// The decode workers are made after the prefill workers: their
		// replicas do not exist yet, so place stand-ins by index.
		for w := 0; w < dec.cfg.Cluster.Replicas; w++ {
			dst := &replica{grp: dec, index: int32(w)}
			for lane := 0; lane < len(t.stages)*t.tp; lane++ {
				if a, b, cross := t.laneNodes(e.s, rp, dst, lane); cross {
					e.nic(a, b)
				}
			}
		}
	}
	for _, st := range rp.stages {
		st.kvLinks = make([]int32, len(st.ranks))
		for r := range st.kvLinks {
			if t.shared {
				st.kvLinks[r] = st.ringLinks[r]
			} else {
				st.kvLinks[r] = e.newLink(t.lane)
			}
		}
	}
}

// startKV starts streaming request slot's KV (of tokens tokens) from
// prefill replica src to decode replica dst: every lane sends its stage's
// first layer.
func (e *highExecutor) startKV(slot int32, src, dst *replica, t *kvTransfer, tokens int32) {
	ks := &e.kv
	var id int32
	if n := len(ks.free); n > 0 {
		id = ks.free[n-1]
		ks.free = ks.free[:n-1]
	} else {
		ks.st = append(ks.st, kvStream{})
		id = int32(len(ks.st) - 1)
	}
	k := &ks.st[id]
	k.slot, k.src, k.net = slot, src, false
	k.links, k.parts = k.links[:0], k.parts[:0]
	for lane := 0; lane < len(t.stages)*t.tp; lane++ {
		a, b, cross := t.laneNodes(e.s, src, dst, lane)
		li := src.stages[lane/t.tp].kvLinks[lane%t.tp]
		if cross {
			li, k.net = e.nic(a, b), true
		}
		lat, bw := t.laneParts(lane/t.tp, tokens, cross)
		k.links, k.parts = append(k.links, li), append(k.parts, [2]int64{lat, bw})
	}
	lanes := e.kvLanes(t, k)
	k.left = int32(len(t.stages) * lanes)
	for s := range t.stages {
		for r := 0; r < lanes; r++ {
			e.sendKVLayer(id, s*t.tp+r, 0)
		}
	}
}

// sendKVLayer puts layer l of lane (stage x TP + rank) of stream id on
// the lane's link.
func (e *highExecutor) sendKVLayer(id int32, lane, l int) {
	k := &e.kv.st[id]
	t := e.s.disagg.xfer
	n := e.kvLayers(t, lane/t.tp)
	lat := int64(0)
	if l == n-1 {
		lat = k.parts[lane][0]
	}
	e.addTransferNs(k.links[lane], xfer{kind: xferKV, src: id, stage: int32(lane), dst: int16(l)}, lat, layerShare(k.parts[lane][1], l, n))
}

// kvLanes is the lanes a stage's stream k sends on: every TP rank's, or,
// compressed, one where the lanes do not share links with collectives or
// with each other (a NIC between nodes).
func (e *highExecutor) kvLanes(t *kvTransfer, k *kvStream) int {
	if e.kvWhole && !t.shared && !k.net {
		return 1
	}
	return t.tp
}

// kvLayers is the transfers a lane of stage s sends: one per layer, or,
// compressed, one.
func (e *highExecutor) kvLayers(t *kvTransfer, s int) int {
	if e.kvWhole {
		return 1
	}
	return t.stages[s].layers
}

// kvDelivered: a layer of a lane arrived; the lane sends its next layer,
// or, its last delivered, the stream counts it done, and with every lane
// done the request's KV has arrived.
func (e *highExecutor) kvDelivered(x xfer) {
	id := x.src
	k := &e.kv.st[id]
	t := e.s.disagg.xfer
	lane, l := int(x.stage), int(x.dst)+1
	if l < e.kvLayers(t, lane/t.tp) {
		e.sendKVLayer(id, lane, l)
		return
	}
	k.left--
	if k.left > 0 {
		return
	}
	slot := k.slot
	k.src = nil
	e.kv.free = append(e.kv.free, id)
	e.s.disagg.arrived(slot)
}
