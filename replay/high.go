package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile"
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
	inAR  bool
	ar    int32 // all-reduces entered in this batch
}

// xfer is a transfer on a link. rem is the remaining work in nanoseconds
// of the link's undivided bandwidth: while k transfers share the link,
// each progresses at 1/k. due is the time of its pending completion event,
// which carries id; an event whose transfer has since been given another
// due time is stale.
type xfer struct {
	rem   float64
	due   Time
	id    uint32
	pp    bool // pipeline activations (else a ring chunk)
	dst   int16
	par   int8
	stage int32
	batch *batch
}

// link is a directed GPU-to-GPU connection (or a shared bus) that divides
// its bandwidth equally among concurrent transfers (processor sharing).
type link struct {
	ln     hwprofile.Link
	active []xfer
	last   Time
	nextID uint32
	maxDue Time // no active transfer finishes later
}

// doneEps is the remaining work (ns) below which a transfer counts as
// finished: float rounding of the shared-rate bookkeeping stays far below.
const doneEps = 1e-6

func (s *Simulator) newLink(l hwprofile.Link) int32 {
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
	st.hop = lod.HopNs(c.ARLink, c.ARBytes/float64(len(st.ranks)))
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

// ringSend issues every ring step rank r may send now. Step j of the ring
// (reduce-scatter then all-gather, 2(N-1) steps) forwards the chunk received
// in step j-1, so it needs j chunks received; step 0 needs only the rank's
// own data. When all 2(N-1) chunks have arrived the rank moves on.
func (s *Simulator) ringSend(st *stage, r int) {
	rs := &st.ranks[r]
	n := len(st.ranks)
	steps := int8(2 * (n - 1))
	par := int8((rs.ar - 1) & 1)
	for rs.sent < steps && rs.sent <= rs.recv[par] {
		rs.sent++
		s.addTransferNs(st.ringLinks[r], xfer{dst: int16((r + 1) % n), par: par, stage: st.gid}, st.hop)
	}
	if rs.recv[par] == steps && rs.sent == steps {
		rs.recv[par] = 0
		rs.inAR = false
		s.advance(st, r)
	}
}

// addTransfer starts a transfer of the given bytes on link li.
func (s *Simulator) addTransfer(li int32, x xfer, bytes float64) {
	s.addTransferNs(li, x, lod.HopNs(s.links[li].ln, bytes))
}

// addTransferNs starts a transfer that takes d ns on link li alone.
func (s *Simulator) addTransferNs(li int32, x xfer, d int64) {
	l := &s.links[li]
	l.nextID++
	x.id = l.nextID
	x.rem = float64(d)
	if len(l.active) == 0 || l.maxDue <= s.now {
		// The common case, an idle link (or one whose transfers all end
		// now and only await delivery): the transfer has it alone.
		for i := range l.active {
			l.active[i].rem = 0
		}
		x.due = s.now + d
		l.active = append(l.active, x)
		l.last = s.now
		l.maxDue = x.due
		s.h.push(x.due, evLinkTransfer, li, 0, x.id)
		return
	}
	s.linkAdvance(l)
	x.due = -1
	l.active = append(l.active, x)
	s.linkRedistribute(li)
}

// linkAdvance brings the remaining work of l's unfinished transfers up to
// now; they shared the link equally since the last change.
func (s *Simulator) linkAdvance(l *link) {
	if s.now > l.last {
		k := 0
		for i := range l.active {
			if l.active[i].rem > doneEps {
				k++
			}
		}
		if k > 0 {
			dec := float64(s.now-l.last) / float64(k)
			for i := range l.active {
				if l.active[i].rem > doneEps {
					l.active[i].rem -= dec
				}
			}
		}
	}
	l.last = s.now
}

// linkRedistribute gives every unfinished transfer on li its completion
// time at the current share, rescheduling those whose time changed.
func (s *Simulator) linkRedistribute(li int32) {
	l := &s.links[li]
	k := 0
	for i := range l.active {
		if l.active[i].rem > doneEps {
			k++
		}
	}
	for i := range l.active {
		x := &l.active[i]
		if x.rem <= doneEps {
			continue
		}
		due := s.now + Time(math.Ceil(x.rem*float64(k)-doneEps))
		if due > l.maxDue {
			l.maxDue = due
		}
		if due != x.due {
			x.due = due
			s.h.push(due, evLinkTransfer, li, 0, x.id)
		}
	}
}

func (s *Simulator) onLink(li int, id uint32) {
	l := &s.links[li]
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
	x := l.active[at]
	if len(l.active) == 1 {
		l.active = l.active[:0]
		l.last = s.now
		s.deliver(x)
		return
	}
	s.linkAdvance(l)
	copy(l.active[at:], l.active[at+1:])
	l.active = l.active[:len(l.active)-1]
	s.linkRedistribute(int32(li))
	s.deliver(x)
}

// deliver hands a finished transfer to its receiver.
func (s *Simulator) deliver(x xfer) {
	if x.pp {
		s.arriveStage(s.stages[x.stage], x.batch)
		return
	}
	st := s.stages[x.stage]
	q := int(x.dst)
	rq := &st.ranks[q]
	rq.recv[x.par]++
	if rq.inAR && int8((rq.ar-1)&1) == x.par {
		s.ringSend(st, q)
	}
}
