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
// On nodes (cluster.nodes, topology.go) a transfer between workers on one
// node takes the NVLink lanes above, and one between workers on different
// nodes sends every lane over the one NIC link from the prefill node to
// the decode node (cluster.network), which the lanes share with each other
// and with every other transfer between those nodes. Uncontended, the
// lanes drain together under processor sharing: the transfer takes
//
//	max over stages (setup + latency) + sum over lanes of bytes / bandwidth
//
// (each lane's bandwidth time as an integer, lod.HopParts), which medium
// LoD takes analytically and high LoD matches exactly alone on the NIC
// (TestDisaggNodesHighEqualsMedium).
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

// Ns is the uncontended transfer time of tokens of KV: its slowest lane,
// or, between nodes (cross), every lane's bandwidth time on the one NIC
// after the largest latency.
func (t *kvTransfer) Ns(tokens int32, cross bool) int64 {
	var d, sum, lmax int64
	for s := range t.stages {
		lat, bw := t.laneParts(s, tokens, cross)
		d = max(d, lat+bw)
		sum += int64(t.tp) * bw
		lmax = max(lmax, lat)
	}
	if cross {
		return lmax + sum
	}
	return d
}

// crosses reports whether a transfer from prefill replica src to decode
// replica dst goes between nodes, and over which: src's node a, dst's b.
func (t *kvTransfer) crosses(s *Simulator, src, dst *replica) (a, b int, cross bool) {
	if !t.nodes {
		return 0, 0, false
	}
	a, b = nodeOf(s, src.grp, int(src.index), 0), nodeOf(s, dst.grp, int(dst.index), 0)
	return a, b, a != b
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

// kvStream is one request's transfer: its lanes' latency and bandwidth
// time per prefill stage, and how many lanes are still sending.
type kvStream struct {
	slot  int32
	left  int32
	net   int32 // the NIC link every lane takes between nodes, else -1
	src   *replica
	parts [][2]int64 // per stage: latency, bandwidth time
}

// initKVLinks gives each GPU of prefill replica rp its lane: its TP ring
// link where transfers share it with the collectives, else a link of its
// own; on nodes, the NIC links towards the decode workers' nodes are made
// now, so that starting a transfer allocates nothing.
func (e *highExecutor) initKVLinks(rp *replica, t *kvTransfer) {
	if dec := e.s.disagg.decode; t.nodes {
		// The decode workers are made after the prefill workers: place
		// them by index.
		a := nodeOf(e.s, rp.grp, int(rp.index), 0)
		for w := 0; w < dec.cfg.Cluster.Replicas; w++ {
			if b := nodeOf(e.s, dec, w, 0); b != a {
				e.nic(a, b)
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
	k.net = -1
	a, b, cross := t.crosses(e.s, src, dst)
	if cross {
		k.net = e.nic(a, b)
	}
	lanes := e.kvLanes(t, k)
	k.slot, k.src, k.left = slot, src, int32(len(t.stages)*lanes)
	k.parts = k.parts[:0]
	for s := range t.stages {
		lat, bw := t.laneParts(s, tokens, cross)
		k.parts = append(k.parts, [2]int64{lat, bw})
	}
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
	s, r := lane/t.tp, lane%t.tp
	n := e.kvLayers(t, s)
	lat := int64(0)
	if l == n-1 {
		lat = k.parts[s][0]
	}
	li := k.net
	if li < 0 {
		li = k.src.stages[s].kvLinks[r]
	}
	e.addTransferNs(li, xfer{kind: xferKV, src: id, stage: int32(lane), dst: int16(l)}, lat, layerShare(k.parts[s][1], l, n))
}

// kvLanes is the lanes a stage's stream k sends on: every TP rank's, or,
// compressed, one where the lanes do not share links with collectives or
// with each other (a NIC between nodes).
func (e *highExecutor) kvLanes(t *kvTransfer, k *kvStream) int {
	if e.kvWhole && !t.shared && k.net < 0 {
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
