package replay

import (
	"math"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
)

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
	stage int32 // the stage it serves; a KV transfer's lane
	src   int32 // an all-to-all's sender (alltoall.go); a KV transfer's stream (kvtransfer.go)
	dst   int16
	par   int8     // a ring chunk's all-reduce parity; an all-to-all's phase
	kind  xferKind // what the receiver does with it (deliver)
	batch *batch
}

// xferKind says what a transfer carries. xfer stays 48 bytes (one kind
// instead of a flag per kind): the high level of detail copies it on every
// link event.
type xferKind int8

const (
	xferRing xferKind = iota // a TP ring all-reduce chunk
	xferPP                   // pipeline activations to the next stage
	xferA2A                  // an expert-parallel all-to-all transfer (alltoall.go)
	xferKV                   // a layer of a KV-cache transfer (kvtransfer.go)
	xferHier                 // a hierarchical all-reduce chunk (hierarchical.go)
)

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

func (e *highExecutor) newLink(l cost.Link) int32 {
	e.links = append(e.links, link{ln: l})
	return int32(len(e.links) - 1)
}

// addTransfer starts a transfer of the given bytes on link li.
func (e *highExecutor) addTransfer(li int32, x xfer, bytes float64) {
	lat, bw := lod.HopParts(e.links[li].ln, bytes)
	e.addTransferNs(li, x, lat, bw)
}

// addTransferNs starts a transfer with latency lat and bandwidth time bw
// (alone on the link it is delivered after lat + bw ns).
func (e *highExecutor) addTransferNs(li int32, x xfer, lat, bw int64) {
	s := e.s
	l := &e.links[li]
	l.nextID++
	x.id, x.rem, x.lat = l.nextID, float64(bw), lat
	if len(l.active) == 0 {
		// An idle link, the common case (a rank sends one chunk at a
		// time over its own link): delivery after latency + bandwidth.
		x.due = s.now + Time(bw+lat)
		l.active = append(l.active, x)
		l.last = s.now
		s.h.push(x.due, evLinkTransfer, li, 0, x.id)
		return
	}
	e.linkSettle(l)
	x.due = -1
	l.active = append(l.active, x)
	e.linkPlan(li)
}

// linkSettle brings the bandwidth time left of l's sending transfers up to
// now. Between two changes the set of senders is fixed, except that a lone
// sender may finish its bytes before now (it had no rate event).
func (e *highExecutor) linkSettle(l *link) {
	s := e.s
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
func (e *highExecutor) linkPlan(li int32) {
	s := e.s
	l := &e.links[li]
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
			x.due = s.now + Time(x.lat)
			s.h.push(x.due, evLinkTransfer, li, 0, x.id)
		}
	}
	l.ver++
	switch {
	case k == 1:
		x := &l.active[one]
		due := s.now + Time(math.Ceil(x.rem-doneEps)) + Time(x.lat)
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
func (e *highExecutor) onLinkRate(li int, ver uint32) {
	s := e.s
	l := &e.links[li]
	if ver != l.ver {
		s.counts[evLinkRate]--
		s.counts[evLinkStale]++
		return
	}
	e.linkSettle(l)
	e.linkPlan(int32(li))
}

// onLinkDeliver hands transfer id to its receiver, unless its delivery
// was superseded.
func (e *highExecutor) onLinkDeliver(li int, id uint32) {
	s := e.s
	l := &e.links[li]
	if len(l.active) == 1 && l.active[0].id == id && l.active[0].due == s.now {
		// Alone on the link: nothing else to settle.
		x := l.active[0]
		l.active = l.active[:0]
		l.last = s.now
		e.deliver(x)
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
	e.linkSettle(l)
	x := l.active[at]
	if len(l.active) == 1 {
		l.active = l.active[:0]
	} else {
		copy(l.active[at:], l.active[at+1:])
		l.active = l.active[:len(l.active)-1]
	}
	// Its bytes were through already, so the senders left are unchanged.
	e.deliver(x)
}

// deliver hands a finished transfer to its receiver.
func (e *highExecutor) deliver(x xfer) {
	s := e.s
	switch x.kind {
	case xferKV:
		e.kvDelivered(x)
		return
	case xferPP:
		if e.delivered != nil {
			e.delivered(x.stage, x.batch)
		}
		s.arriveStage(s.stages[x.stage], x.batch)
		return
	case xferA2A:
		e.epDeliver(x)
		return
	case xferHier:
		e.hierDeliver(x)
		return
	}
	st := s.stages[x.stage]
	n := len(st.ranks)
	// The sender's link is free for its next chunk.
	p := int(x.dst) - 1 // the ring's previous rank, without a division
	if p < 0 {
		p = n - 1
	}
	rp := &st.ranks[p]
	rp.out--
	if rp.inAR {
		e.ringSend(st, p)
	}
	q := int(x.dst)
	rq := &st.ranks[q]
	rq.recv[x.par]++
	if rq.inAR && int8((rq.ar-1)&1) == x.par {
		e.ringSend(st, q)
	}
}
