package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

// rankState is one TP rank's position in its stage's program for the
// current batch. The program is, per layer, QKV, attention, output
// projection, all-reduce, MLP, all-reduce (the all-reduces only when
// TP > 1), then the LM head on the last stage.
type rankState struct {
	layer int32   // layer in progress
	k     int8    // operation within the layer (index into stage.seq)
	head  bool    // the LM head has been started
	recv  [2]int8 // ring chunks received, by all-reduce parity
	sent  int8    // ring chunks sent in the current all-reduce
	out   int8    // own chunk in transit (a rank's sends go one after another)
	inAR  bool
	ar    int32 // all-reduces entered in this batch
}

// xfer is a transfer on a link. It first sends its bytes, sharing the
// link's bandwidth equally with the other transfers sending at the same
// time (processor sharing): rem is the bandwidth time left at the full
// rate, so with k senders it drains at 1/k. Then it takes the link's
// latency, which is not shared. due is the time of its pending delivery
// event, or -1 while it shares the bandwidth and its end is not yet known.
type xfer struct {
	rem   float64
	lat   int64
	due   Time
	id    uint32
	pp    bool // pipeline activations (else a ring chunk)
	dst   int16
	par   int8
	stage int32
	batch *batch
}

// link is a directed GPU-to-GPU connection (or a shared bus).
type link struct {
	ln     cost.Link
	active []xfer
	last   Time
	nextID uint32
	ver    uint32 // version of the pending rate event
}

// doneEps is the bandwidth time (ns) below which a transfer's bytes count as
// through: float rounding of the shared-rate bookkeeping stays far below.
const doneEps = 1e-6

func (s *Simulator) newLink(l cost.Link) int32 {
	s.links = append(s.links, link{ln: l})
	return int32(len(s.links) - 1)
}

// opAR marks an all-reduce in a stage's per-layer sequence.
const opAR = -1

// layerSeq is the per-layer operation sequence at the given TP degree.
func layerSeq(tp int) []int8 {
	if tp > 1 {
		return []int8{int8(lod.OpQKV), int8(lod.OpAttention), int8(lod.OpOProj), opAR, int8(lod.OpMLP), opAR}
	}
	return []int8{int8(lod.OpQKV), int8(lod.OpAttention), int8(lod.OpOProj), int8(lod.OpMLP)}
}

// startStageHigh copies the step's costs into the stage, so that the
// per-event work reads one small struct, and starts every rank's first
// operation.
func (s *Simulator) startStageHigh(st *stage, b *batch) {
	c := &b.cost[st.idx]
	st.op = c.Op
	st.layers = int32(c.Layers)
	st.head = c.Head
	st.hopLat, st.hopBW = lod.HopParts(c.ARLink, c.ARBytes/float64(len(st.ranks)))
	st.doneRanks = 0
	for r := range st.ranks {
		st.ranks[r] = rankState{}
		s.h.push(s.now+c.Overhead+s.vary(st.op[lod.OpQKV]), evRankCompute, st.gid, int32(r), 0)
	}
}

// advance moves rank r past the operation it just finished.
func (s *Simulator) advance(st *stage, r int) {
	rs := &st.ranks[r]
	rs.k++
	if int(rs.k) == len(st.seq) {
		rs.k = 0
		rs.layer++
	}
	if rs.layer == st.layers {
		if !rs.head && st.head > 0 {
			rs.head = true
			s.h.push(s.now+s.vary(st.head), evRankCompute, st.gid, int32(r), 0)
			return
		}
		s.rankDone(st)
		return
	}
	op := st.seq[rs.k]
	if op == opAR {
		rs.inAR, rs.sent = true, 0
		rs.ar++
		s.ringSend(st, r)
		return
	}
	s.h.push(s.now+s.vary(st.op[op]), evRankCompute, st.gid, int32(r), 0)
}

func (s *Simulator) rankDone(st *stage) {
	st.doneRanks++
	if st.doneRanks == len(st.ranks) {
		s.stageDone(st)
	}
}

// ringSend issues the ring step rank r may send now. Step j of the ring
// (reduce-scatter then all-gather, 2(N-1) steps) forwards the chunk received
// in step j-1, so it needs j chunks received; step 0 needs only the rank's
// own data. A rank sends one chunk at a time, as an NCCL channel does. When
// all 2(N-1) chunks have arrived and been sent on, the rank moves on.
func (s *Simulator) ringSend(st *stage, r int) {
	rs := &st.ranks[r]
	n := len(st.ranks)
	steps := int8(2 * (n - 1))
	par := int8((rs.ar - 1) & 1)
	for rs.sent < steps && rs.sent <= rs.recv[par] && rs.out == 0 {
		rs.sent++
		rs.out++
		s.addTransferNs(st.ringLinks[r], xfer{dst: int16((r + 1) % n), par: par, stage: st.gid}, st.hopLat, st.hopBW)
	}
	if rs.recv[par] == steps && rs.sent == steps {
		rs.recv[par] = 0
		rs.inAR = false
		s.advance(st, r)
	}
}

// addTransfer starts a transfer of the given bytes on link li.
func (s *Simulator) addTransfer(li int32, x xfer, bytes float64) {
	lat, bw := lod.HopParts(s.links[li].ln, bytes)
	s.addTransferNs(li, x, lat, bw)
}

// addTransferNs starts a transfer with latency lat and bandwidth time bw
// (alone on the link it is delivered after lat + bw ns).
func (s *Simulator) addTransferNs(li int32, x xfer, lat, bw int64) {
	l := &s.links[li]
	l.nextID++
	x.id, x.rem, x.lat = l.nextID, float64(bw), lat
	if len(l.active) == 0 {
		// An idle link, the common case (a rank sends one chunk at a
		// time over its own link): delivery after latency + bandwidth.
		x.due = s.now + bw + lat
		l.active = append(l.active, x)
		l.last = s.now
		s.h.push(x.due, evLinkTransfer, li, 0, x.id)
		return
	}
	s.linkSettle(l)
	x.due = -1
	l.active = append(l.active, x)
	s.linkPlan(li)
}

// linkSettle brings the bandwidth time left of l's sending transfers up to
// now. Between two changes the set of senders is fixed, except that a lone
// sender may finish its bytes before now (it had no rate event).
func (s *Simulator) linkSettle(l *link) {
	if s.now > l.last {
		k := 0
		for i := range l.active {
			if l.active[i].rem > doneEps {
				k++
			}
		}
		el := float64(s.now - l.last)
		switch {
		case k == 1:
			for i := range l.active {
				if x := &l.active[i]; x.rem > doneEps {
					x.rem = max(0, x.rem-el)
				}
			}
		case k > 1:
			dec := el / float64(k)
			for i := range l.active {
				if x := &l.active[i]; x.rem > doneEps {
					x.rem -= dec
				}
			}
		}
	}
	l.last = s.now
}

// linkPlan schedules what happens next on li after a change: a lone
// sender's delivery directly, or, while several share the bandwidth, a
// rate event when the first of them gets its bytes through.
func (s *Simulator) linkPlan(li int32) {
	l := &s.links[li]
	k, one := 0, -1
	for i := range l.active {
		x := &l.active[i]
		if x.rem > doneEps {
			k++
			one = i
		} else if x.due < 0 {
			// Bytes through (or none to send: a latency-bound hop):
			// only the latency is left.
			x.rem = 0
			x.due = s.now + x.lat
			s.h.push(x.due, evLinkTransfer, li, 0, x.id)
		}
	}
	l.ver++
	switch {
	case k == 1:
		x := &l.active[one]
		due := s.now + Time(math.Ceil(x.rem-doneEps)) + x.lat
		if due != x.due {
			x.due = due
			s.h.push(due, evLinkTransfer, li, 0, x.id)
		}
	case k > 1:
		m := math.Inf(1)
		for i := range l.active {
			if x := &l.active[i]; x.rem > doneEps {
				x.due = -1 // its pending delivery, if any, is superseded
				m = math.Min(m, x.rem)
			}
		}
		s.h.push(s.now+Time(math.Ceil(m*float64(k)-doneEps)), evLinkRate, li, 0, l.ver)
	}
}

// onLinkRate: the first of several sharing transfers got its bytes
// through; it is delivered after the latency and the rest speed up.
func (s *Simulator) onLinkRate(li int, ver uint32) {
	l := &s.links[li]
	if ver != l.ver {
		s.counts[evLinkRate]--
		s.counts[evLinkStale]++
		return
	}
	s.linkSettle(l)
	s.linkPlan(int32(li))
}

// onLinkDeliver hands transfer id to its receiver, unless its delivery
// was superseded.
func (s *Simulator) onLinkDeliver(li int, id uint32) {
	l := &s.links[li]
	if len(l.active) == 1 && l.active[0].id == id && l.active[0].due == s.now {
		// Alone on the link: nothing else to settle.
		x := l.active[0]
		l.active = l.active[:0]
		l.last = s.now
		s.deliver(x)
		return
	}
	at := -1
	for i := range l.active {
		if l.active[i].id == id {
			at = i
			break
		}
	}
	if at < 0 || l.active[at].due != s.now {
		s.counts[evLinkTransfer]--
		s.counts[evLinkStale]++
		return
	}
	s.linkSettle(l)
	x := l.active[at]
	if len(l.active) == 1 {
		l.active = l.active[:0]
	} else {
		copy(l.active[at:], l.active[at+1:])
		l.active = l.active[:len(l.active)-1]
	}
	// Its bytes were through already, so the senders left are unchanged.
	s.deliver(x)
}

// deliver hands a finished transfer to its receiver.
func (s *Simulator) deliver(x xfer) {
	if x.pp {
		s.arriveStage(s.stages[x.stage], x.batch)
		return
	}
	st := s.stages[x.stage]
	n := len(st.ranks)
	// The sender's link is free for its next chunk.
	p := (int(x.dst) + n - 1) % n
	rp := &st.ranks[p]
	rp.out--
	if rp.inAR {
		s.ringSend(st, p)
	}
	q := int(x.dst)
	rq := &st.ranks[q]
	rq.recv[x.par]++
	if rq.inAR && int8((rq.ar-1)&1) == x.par {
		s.ringSend(st, q)
	}
}
