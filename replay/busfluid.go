package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// The medium level of detail's shared bus with PP > 1 (topology shared):
// the stages' ring all-reduces and the pipeline hand-offs contend for one
// bus per replica, which the high level of detail shares among every
// transfer on it (processor sharing, links.go). Medium follows the same
// sharing in a fluid model of the replica's bus, hop by hop but without
// events: each step in flight is the program
//
//	off-bus (overhead + QKV, attention, O-proj)
//	for each layer, two rings of h = 2(N-1) hops, each hop on-bus (b for
//	each of the N ranks' flows) then off-bus (α), the last hop's α
//	followed by the MLP (first ring) or the next layer's QKV..O-proj
//	(second ring; after the last layer, the LM head)
//
// with b one chunk's bandwidth time and α the link's latency; a hand-off
// is one flow of its bandwidth time then its latency. The hops of a ring
// go in lockstep as high's do without variability (every rank sends its
// chunk at once and waits for the one it receives). While flows of
// several programs are on the bus each of the F flows drains at 1/F of
// the full rate, so a ring alone takes 2(N-1) x (N x b + α), exactly
// lod.RingAllReduceNs's shared-bus form (mediumcost.go), and two stages'
// hops that overlap share the bus for the overlap. Whenever a step or a
// hand-off starts or ends, the replica's programs are run on jointly from
// their state now to the first end, once every event at this time is
// applied, and its event is pushed (superseding the one pending, which
// goes stale). A
// step's end event is its collective event (there is no compute event:
// the program holds both). A program left alone runs to its end in closed
// form (busFlow.left).
//
// Without variability this matches high to the rounding of each transfer
// to whole ns (TestMediumSharedBusPP); with it, a program runs the expected
// maximum of each segment and misses the ranks' spread inside a ring,
// which is what the adaptive level of detail refines.
//
// Each phase run costs about 20 ns: medium on lod-shared-bus takes
// about 15 times the CPU of its first-order bus load (busStep, before),
// still about a sixteenth of high's.

// busFlow is one program on a replica's bus: a stage's step or a hand-off.
type busFlow struct {
	first, mid, gap, last float64 // off-bus phases, ns: the first, inside a layer, between layers, the last
	w, lat                float64 // bandwidth time of one flow in one on-bus phase (ns at the full rate), and the latency after it
	hops                  int32   // on-bus phases per all-reduce (1 for a hand-off)
	hop                   int32   // the current or last on-bus phase's place in its all-reduce
	ring                  bool    // whether that all-reduce is a layer's second
	phases, k             int32   // 1 + 4 x hops x layers (3 for a hand-off), and the current one
	flows                 int32   // flows while on the bus: the ring's ranks, 1 for a hand-off
	rem                   float64 // left of phase k: ns off the bus, bandwidth ns on it
	end                   float64 // when it ended (k == phases)
	due                   Time    // its end event's time
	ver                   uint32  // and version
	stage                 int32   // the stage gid it ends (a step) or reaches (a hand-off)
	batch                 int32   // a hand-off's batch index, -1 for a step
}

// amount is how much phase k of f takes alone: bandwidth time per flow on
// the bus (odd k), ns off it. A program of one phase (a stage without
// layers, busStepFlow) is its first.
func (f *busFlow) amount(k int32) float64 {
	switch {
	case k == 0:
		return f.first
	case k == f.phases-1:
		return f.last
	}
	if k%2 == 1 {
		return f.w
	}
	switch u := k/2 - 1; {
	case u%f.hops < f.hops-1:
		return f.lat // between two hops of a ring
	case (u/f.hops)%2 == 0:
		return f.mid
	}
	return f.gap
}

// onBus reports whether f's current phase sends on the bus.
func (f *busFlow) onBus() bool { return f.k < f.phases && f.k%2 == 1 }

// begin starts f's program at time at, its end event not yet pushed.
func (f *busFlow) begin(at float64) {
	f.k, f.rem, f.due, f.hop, f.ring = 0, f.amount(0), -1, 0, false
	f.next(at)
}

// next moves f past its finished phases at time at. It follows phase k's
// place in its ring (hop, ring) as it goes, which is amount(k) without the
// divisions.
func (f *busFlow) next(at float64) {
	for f.rem <= doneEps && f.k < f.phases {
		f.k++
		switch {
		case f.k == f.phases:
		case f.k == f.phases-1:
			f.rem = f.last
		case f.k%2 == 1:
			f.rem = f.w
		case f.hop < f.hops-1:
			f.rem, f.hop = f.lat, f.hop+1
		default:
			f.rem, f.hop = f.mid, 0
			if f.ring {
				f.rem = f.gap
			}
			f.ring = !f.ring
		}
	}
	if f.k == f.phases {
		f.end = at
	}
}

// pre is how long phases [0, j) of f take alone (1 <= j < f.phases): the
// first, q whole layers of 2h hops (bandwidth, then the latency or the
// segment after it), and r phases of the next.
func (f *busFlow) pre(j int32) float64 {
	h, nw := f.hops, float64(f.flows)*f.w
	q, r := (j-1)/(4*h), (j-1)%(4*h)
	layer := float64(2*h)*nw + float64(2*(h-1))*f.lat + f.mid + f.gap
	t := f.first + float64(q)*layer + float64((r+1)/2)*nw + float64(r/2)*f.lat
	if r > 2*h-1 {
		t += f.mid - f.lat
	}
	return t
}

// left is how long f takes alone from its current state to its end.
func (f *busFlow) left() float64 {
	t := f.rem
	if f.onBus() {
		t *= float64(f.flows)
	}
	if f.k+1 < f.phases {
		t += f.pre(f.phases-1) + f.last - f.pre(f.k+1)
	}
	return t
}

// busRun runs flows jointly from time at to time to (math.Inf(1): until
// every one has ended), or with first until one of them ends, and returns
// the time reached and the flow that ended (-1 if none): the F flows on
// the bus each drain at 1/F of the full rate, off-bus phases at 1. A flow
// left alone runs to its end in one go (left).
func busRun(flows []busFlow, at, to float64, first bool) (float64, int) {
	for at < to {
		var n float64
		live, one := 0, -1
		for i := range flows {
			f := &flows[i]
			if f.k >= f.phases {
				if first {
					return f.end, i
				}
				continue
			}
			live, one = live+1, i
			if f.onBus() {
				n += float64(f.flows)
			}
		}
		if live == 0 {
			break
		}
		if f := &flows[one]; live == 1 && at+f.left() <= to {
			f.k, f.end = f.phases, at+f.left()
			at = f.end
			continue
		}
		at = busStep(flows, at, to, n)
	}
	return at, -1
}

// busStep advances flows, n of them on the bus, to the next phase change
// or to time to, and returns the time reached.
func busStep(flows []busFlow, at, to, n float64) float64 {
	dt := to - at
	for i := range flows {
		if f := &flows[i]; f.onBus() {
			dt = min(dt, f.rem*n)
		} else if f.k < f.phases {
			dt = min(dt, f.rem)
		}
	}
	at += dt
	for i := range flows {
		f := &flows[i]
		if f.onBus() {
			f.rem -= dt / n
		} else if f.k < f.phases {
			f.rem -= dt
		} else {
			continue
		}
		f.next(at)
	}
	return at
}

// busFluid is one replica's bus at medium LoD: its programs in flight, up
// to their end events, with their state at time at, and the plan: the
// programs run on to the first end, which has the one pending end event.
type busFluid struct {
	flows   []busFlow
	plan    []busFlow // flows at planAt, when planned
	at      float64
	planAt  float64
	planned bool
	pend    uint32 // the pending end event's version, 0: none
	ver     uint32 // the last one given
	dirty   bool   // changed at this time, not yet planned
}

// advance brings the programs' state up to now, from the plan when the
// first end has come.
func (bf *busFluid) advance(now Time) {
	if bf.planned && bf.planAt <= float64(now) {
		bf.flows, bf.plan = bf.plan, bf.flows
		bf.at = bf.planAt
	}
	bf.planned = false
	busRun(bf.flows, bf.at, float64(now), false)
	bf.at = float64(now)
}

// busAdd brings rp's bus up to now, adds f and re-plans its end event.
func (m *mediumExecutor) busAdd(rp *replica, f busFlow) {
	if len(m.fluids) <= int(rp.id) {
		m.fluids = append(m.fluids, make([]busFluid, int(rp.id)+1-len(m.fluids))...)
	}
	bf := &m.fluids[rp.id]
	bf.advance(m.s.now)
	f.begin(bf.at)
	bf.flows = append(bf.flows, f)
	m.busChanged(bf, rp.id)
}

// busChanged marks rp's bus to be planned once every event at this time
// is applied (busFlush): a step's end, its hand-off and the next steps
// come at the same ns, and only the last plan counts.
func (m *mediumExecutor) busChanged(bf *busFluid, rp int32) {
	if !bf.dirty {
		bf.dirty = true
		m.busDirty = append(m.busDirty, rp)
	}
}

// busFlush plans every bus that changed, in the order they changed.
func (m *mediumExecutor) busFlush() {
	for _, id := range m.busDirty {
		bf := &m.fluids[id]
		bf.dirty = false
		m.busPlan(bf)
	}
	m.busDirty = m.busDirty[:0]
}

// busPlan runs rp's programs on to the first end and pushes its end event,
// unless it is the one pending (a new one supersedes it).
func (m *mediumExecutor) busPlan(bf *busFluid) {
	s := m.s
	bf.plan = append(bf.plan[:0], bf.flows...)
	end, i := busRun(bf.plan, bf.at, math.Inf(1), true)
	if i < 0 {
		return
	}
	bf.planned, bf.planAt = true, end
	f := &bf.flows[i]
	due := max(s.now, Time(math.Ceil(end-doneEps)))
	if bf.pend != 0 && f.ver == bf.pend && f.due == due {
		return
	}
	if bf.ver++; bf.ver == 0 {
		bf.ver = 1 // 0 marks an end event off the bus (loop.go)
	}
	f.due, f.ver, bf.pend = due, bf.ver, bf.ver
	bf.plan[i].due, bf.plan[i].ver = due, f.ver
	if f.batch < 0 {
		s.h.push(due, evStageCollective, f.stage, 0, f.ver)
	} else {
		s.h.push(due, evPPTransfer, f.stage, f.batch, f.ver)
	}
}

// busTake removes rp's program whose end event, of version ver, is due
// now, and reports whether there was one (else the event is stale).
func (m *mediumExecutor) busTake(rp *replica, ver uint32) bool {
	bf := &m.fluids[rp.id]
	if ver != bf.pend {
		return false
	}
	bf.advance(m.s.now)
	for i := range bf.flows {
		if bf.flows[i].ver == ver {
			bf.flows = append(bf.flows[:i], bf.flows[i+1:]...)
			break
		}
	}
	bf.pend = 0
	m.busChanged(bf, rp.id)
	return true
}

// busStepFlow is the program of stage st's step at cost c, whose compute
// and collectives take t ns alone (computeNs + collectiveNs): the layers'
// segments and rings, and what else t holds (skewed experts, all-to-alls)
// at the end.
func (m *mediumExecutor) busStepFlow(st *stage, c *lod.StageCost, t int64) busFlow {
	g := st.rep.grp
	n := int64(g.tp)
	lat, bw := lod.HopParts(c.ARLink, c.ARBytes/float64(n))
	h := 2 * (n - 1)
	lam := float64(lat)
	w := float64(bw)
	seg1 := float64(c.Op[lod.OpQKV] + c.Op[lod.OpAttention] + c.Op[lod.OpOProj])
	seg2 := float64(c.Op[lod.OpMLP])
	head := float64(c.Head + c.Draft)
	if sg := g.strag; sg != nil {
		seg1 = sg.segment(c.Op[lod.OpQKV], c.Op[lod.OpAttention], c.Op[lod.OpOProj])
		seg2, head = sg.segment(c.Op[lod.OpMLP]), sg.segment(c.Head+c.Draft)
	}
	f := busFlow{w: w, lat: lam, hops: int32(h), flows: int32(n), stage: st.gid, batch: -1, phases: int32(1 + 4*int64(c.Layers)*h)}
	L := float64(c.Layers)
	alone := float64(c.Overhead) + L*(seg1+seg2) + 2*L*float64(h)*(lam+float64(n)*w) + head
	extra := float64(t) - alone
	if c.Layers == 0 {
		f.first = math.Max(0, float64(t))
		return f
	}
	f.first, f.mid, f.gap = float64(c.Overhead)+seg1, lam+seg2, lam+seg1
	f.last = math.Max(0, lam+head+extra)
	return f
}

// busHopFlow is the program of the hand-off of batch index bi from st:
// its bytes on the bus, then the link's latency.
func busHopFlow(st *stage, bi int32, l cost.Link, bytes float64) busFlow {
	lat, bw := lod.HopParts(l, bytes)
	return busFlow{w: float64(bw), last: float64(lat), hops: 1, phases: 3, flows: 1, stage: st.gid + 1, batch: bi}
}
