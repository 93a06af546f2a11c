package replay

import (
	"math"
	"os"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// The medium level of detail's shared bus with PP > 1 (topology shared):
// the stages' ring all-reduces and the pipeline hand-offs contend for one
// bus per replica, which the high level of detail shares among every
// transfer on it (processor sharing, links.go). Medium follows the same
// sharing in a fluid model of the replica's bus, at the granularity of one
// all-reduce, without events: each step in flight is the program
//
//	off-bus (overhead + QKV, attention, O-proj)
//	for each layer: on-bus (ring), off-bus (Λ + MLP), on-bus (ring), off-bus (Λ + next QKV..O-proj)
//
// with the last off-bus phase Λ + LM head, Λ = 2(N-1) x α the ring's
// latency and each on-bus phase 2(N-1) x b of bandwidth time (b one
// chunk's) for each of the N ranks' flows; a hand-off is one flow of its
// bandwidth time then its latency. While flows of several programs are on
// the bus each of the F flows drains at 1/F of the full rate, so a ring
// alone takes N x 2(N-1) x b + Λ, exactly lod.RingAllReduceNs's shared-bus
// form (mediumcost.go), and two stages' rings that overlap take twice as
// long for the overlap. Whenever a step or a hand-off starts the replica's
// programs are run on, jointly, from their state now to their ends, and
// each one's end event is pushed anew where it moved (the old one goes
// stale). A step's end event is its collective event (there is no compute
// event: the program holds both).
//
// It misses the phase detail inside one all-reduce (a ring hop's latency
// when the other ring's bytes could use the bus) and the per-rank spread of
// variability (a program runs the expected maximum of each segment).

// busFlow is one program on a replica's bus: a stage's step or a hand-off.
type busFlow struct {
	first, mid, gap, last float64 // off-bus phases, ns: the first, inside a layer, between layers, the last
	w, lat                float64 // bandwidth time of one flow in one on-bus phase (ns at the full rate), and the latency after it
	hops                  int32   // on-bus phases per all-reduce (1 for a hand-off)
	phases, k             int32   // 1 + 4 x hops x layers (3 for a hand-off), and the current one
	flows                 int32   // flows while on the bus: the ring's ranks, 1 for a hand-off
	rem                   float64 // left of phase k: ns off the bus, bandwidth ns on it
	end                   float64 // when it ended (k == phases)
	due                   Time    // its end event's time
	ver                   uint32  // and version
	stage                 int32   // the stage gid it ends (a step) or reaches (a hand-off)
	batch                 int32   // a hand-off's batch index, -1 for a step
}

// amount is how much phase k of f takes alone.
func (f *busFlow) amount(k int32) float64 {
	switch {
	case k == f.phases-1:
		return f.last
	case k == 0:
		return f.first
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
	f.k, f.rem, f.due = 0, f.amount(0), -1
	f.next(at)
}

// next moves f past its finished phases at time at.
func (f *busFlow) next(at float64) {
	for f.rem <= doneEps && f.k < f.phases {
		f.k++
		if f.k < f.phases {
			f.rem = f.amount(f.k)
		}
	}
	if f.k == f.phases {
		f.end = at
	}
}

// busRun runs flows jointly from time at to time to (math.Inf(1): until
// every one has ended) and returns the time reached: the F flows on the
// bus each drain at 1/F of the full rate, off-bus phases at 1.
func busRun(flows []busFlow, at, to float64) float64 {
	for at < to {
		var n float64
		for i := range flows {
			if flows[i].onBus() {
				n += float64(flows[i].flows)
			}
		}
		dt, live := to-at, false
		for i := range flows {
			f := &flows[i]
			if f.k >= f.phases {
				continue
			}
			live = true
			if d := f.rem; f.onBus() {
				dt = math.Min(dt, d*n)
			} else {
				dt = math.Min(dt, d)
			}
		}
		if !live {
			break
		}
		at += dt
		for i := range flows {
			f := &flows[i]
			if f.k >= f.phases {
				continue
			}
			if f.onBus() {
				f.rem -= dt / n
			} else {
				f.rem -= dt
			}
			f.next(at)
		}
	}
	return at
}

// busFluid is one replica's bus at medium LoD: its programs in flight, up
// to their end events, with their state at time at.
type busFluid struct {
	flows   []busFlow
	scratch []busFlow
	at      float64
	ver     uint32 // the last end event's version
}

// advance brings the programs' state up to now.
func (bf *busFluid) advance(now Time) {
	busRun(bf.flows, bf.at, float64(now))
	bf.at = float64(now)
}

// busAdd brings rp's bus up to now, adds f and re-plans every end event.
func (m *mediumExecutor) busAdd(rp *replica, f busFlow) {
	s := m.s
	if len(m.fluids) <= int(rp.id) {
		m.fluids = append(m.fluids, make([]busFluid, int(rp.id)+1-len(m.fluids))...)
	}
	bf := &m.fluids[rp.id]
	bf.advance(s.now)
	now := bf.at
	f.begin(now)
	bf.flows = append(bf.flows, f)
	bf.scratch = append(bf.scratch[:0], bf.flows...)
	busRun(bf.scratch, now, math.Inf(1))
	for i := range bf.flows {
		f := &bf.flows[i]
		due := max(s.now, Time(math.Ceil(bf.scratch[i].end-doneEps)))
		if due == f.due || (f.k == f.phases && f.due >= 0) {
			continue // unmoved, or ended with its event pending
		}
		bf.ver++
		f.due, f.ver = due, bf.ver
		if f.batch < 0 {
			s.h.push(due, evStageCollective, f.stage, 0, f.ver)
		} else {
			s.h.push(due, evPPTransfer, f.stage, f.batch, f.ver)
		}
	}
}

// busTake removes rp's program whose end event, of version ver, is due
// now, and reports whether there was one (else the event is stale).
func (m *mediumExecutor) busTake(rp *replica, ver uint32) bool {
	bf := &m.fluids[rp.id]
	for i := range bf.flows {
		if f := &bf.flows[i]; f.ver == ver {
			bf.advance(m.s.now) // with f still on the bus until now
			bf.flows = append(bf.flows[:i], bf.flows[i+1:]...)
			return true
		}
	}
	return false
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
	if os.Getenv("LODSIM_BLOCK") != "" {
		lat, bw, h = h*lat, h*bw, 1
	}
	lam := float64(lat)
	w := float64(bw)
	seg1 := float64(c.Op[lod.OpQKV] + c.Op[lod.OpAttention] + c.Op[lod.OpOProj])
	seg2 := float64(c.Op[lod.OpMLP])
	head := float64(c.Head)
	if sg := g.strag; sg != nil {
		seg1 = sg.segment(c.Op[lod.OpQKV], c.Op[lod.OpAttention], c.Op[lod.OpOProj])
		seg2, head = sg.segment(c.Op[lod.OpMLP]), sg.segment(c.Head)
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
