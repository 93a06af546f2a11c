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
	pc    int32   // operation in progress
	ar    int32   // all-reduces entered in this batch
	recv  [2]int8 // ring chunks received, by all-reduce parity
	sent  int8    // ring chunks sent in the current all-reduce
	inAR  bool
	ready bool // finished the program
}

// xfer is a transfer on a link. rem is the remaining work in nanoseconds
// of the link's undivided bandwidth: while k transfers share the link,
// each progresses at 1/k.
type xfer struct {
	rem   float64
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
	ver    uint32
}

func (s *Simulator) newLink(l hwprofile.Link) int32 {
	s.links = append(s.links, link{ln: l})
	return int32(len(s.links) - 1)
}

const (
	opAR   = -1
	opHead = -2
)

// opAt maps a program counter to an operation: 0..3 a compute op, opAR an
// all-reduce, opHead the LM head.
func (s *Simulator) opAt(st *stage, pc int32) int {
	per := int32(4)
	if s.tp > 1 {
		per = 6
	}
	if pc >= st.progLen {
		return opHead
	}
	k := pc % per
	if s.tp > 1 {
		switch k {
		case 0, 1, 2:
			return int(k)
		case 3, 5:
			return opAR
		case 4:
			return int(lod.OpMLP)
		}
	}
	return int(k)
}

func (s *Simulator) startStageHigh(st *stage, b *batch) {
	c := &b.cost[st.idx]
	per := int32(4)
	if s.tp > 1 {
		per = 6
	}
	st.progLen = int32(c.Layers) * per
	st.doneRanks = 0
	for r := range st.ranks {
		st.ranks[r] = rankState{}
		d := s.vary(c.Op[lod.OpQKV])
		s.h.push(s.now+c.Overhead+d, evRankCompute, st.gid, int32(r), 0)
	}
}

func (s *Simulator) onRankCompute(st *stage, r int) {
	s.advance(st, r)
}

// advance moves rank r past the operation it just finished.
func (s *Simulator) advance(st *stage, r int) {
	rs := &st.ranks[r]
	c := &st.cur.cost[st.idx]
	rs.pc++
	if rs.pc > st.progLen || (rs.pc == st.progLen && c.Head == 0) {
		s.rankDone(st)
		return
	}
	op := s.opAt(st, rs.pc)
	switch op {
	case opAR:
		rs.inAR, rs.sent = true, 0
		rs.ar++
		s.ringSend(st, r)
	case opHead:
		s.h.push(s.now+s.vary(c.Head), evRankCompute, st.gid, int32(r), 0)
	default:
		s.h.push(s.now+s.vary(c.Op[op]), evRankCompute, st.gid, int32(r), 0)
	}
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
	c := &st.cur.cost[st.idx]
	for rs.sent < steps && rs.sent <= rs.recv[par] {
		rs.sent++
		s.addTransfer(st.ringLinks[r], xfer{dst: int16((r + 1) % n), par: par, stage: st.gid}, c.ARBytes/float64(n))
	}
	if rs.recv[par] == steps && rs.sent == steps {
		rs.recv[par] = 0
		rs.inAR = false
		s.advance(st, r)
	}
}

// addTransfer starts a transfer of the given bytes on link li.
func (s *Simulator) addTransfer(li int32, x xfer, bytes float64) {
	l := &s.links[li]
	d := lod.HopNs(l.ln, bytes)
	if len(l.active) == 0 {
		// The common case, an idle link: the transfer has it alone.
		x.rem = float64(d)
		l.active = append(l.active, x)
		l.last = s.now
		l.ver++
		s.h.push(s.now+d, evLinkTransfer, li, 0, l.ver)
		return
	}
	s.linkAdvance(l)
	x.rem = float64(d)
	l.active = append(l.active, x)
	s.linkReschedule(li)
}

// linkAdvance brings the remaining work of l's transfers up to now.
func (s *Simulator) linkAdvance(l *link) {
	if k := len(l.active); k > 0 && s.now > l.last {
		dec := float64(s.now-l.last) / float64(k)
		for i := range l.active {
			l.active[i].rem -= dec
		}
	}
	l.last = s.now
}

// linkReschedule supersedes l's pending event with one at its next
// completion.
func (s *Simulator) linkReschedule(li int32) {
	l := &s.links[li]
	l.ver++
	if len(l.active) == 0 {
		return
	}
	m := l.active[0].rem
	for _, x := range l.active[1:] {
		if x.rem < m {
			m = x.rem
		}
	}
	d := Time(math.Ceil(m*float64(len(l.active)) - 1e-6))
	if d < 0 {
		d = 0
	}
	s.h.push(s.now+d, evLinkTransfer, li, 0, l.ver)
}

func (s *Simulator) onLink(li int, ver uint32) {
	l := &s.links[li]
	if ver != l.ver {
		s.counts[evLinkTransfer]--
		s.counts[evLinkStale]++
		return
	}
	if len(l.active) == 1 {
		// Alone on the link since it started: it is done now.
		x := l.active[0]
		l.active = l.active[:0]
		l.last = s.now
		l.ver++
		s.deliver(x)
		return
	}
	s.linkAdvance(l)
	// Deliver finished transfers in start order; keep the rest.
	var done [8]xfer
	nd := 0
	j := 0
	for _, x := range l.active {
		if x.rem <= 1e-6 && nd < len(done) {
			done[nd] = x
			nd++
			continue
		}
		l.active[j] = x
		j++
	}
	l.active = l.active[:j]
	s.linkReschedule(int32(li))
	for _, x := range done[:nd] {
		s.deliver(x)
	}
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
