package replay

import (
	"math"
	"testing"
)

// TestBusRunSharing checks the fluid bus's processor sharing by hand.
//
// A step of one layer with 2 ring flows (10 ns off the bus, 20 ns of
// bandwidth per flow, 5 ns off, 20 ns, nothing after) and a hand-off of
// 30 ns then 7 ns of latency start at 0. Until 10 the hand-off is alone
// (20 ns left); then 3 flows share the bus, so the ring's 20 ns and the
// hand-off's 20 ns both take 60: the hand-off ends at 70 + 7 = 77, the
// ring's second all-reduce starts at 75 and has the bus alone (2 flows:
// 40 ns), so the step ends at 115 (95 alone, plus 20 for the overlap).
//
// A 4-flow and a 1-flow hand-off (10 and 50 ns of bandwidth, 0 and 3 ns
// of latency): 5 flows share, the first is through at 50, by when the
// other has sent 10; its 40 left take 40 alone: 90, +3 = 93.
func TestBusRunSharing(t *testing.T) {
	cases := []struct {
		flows []busFlow
		ends  []float64
	}{
		{[]busFlow{
			{first: 10, w: 20, mid: 5, last: 0, hops: 1, phases: 5, flows: 2},
			{w: 30, last: 7, hops: 1, phases: 3, flows: 1},
		}, []float64{115, 77}},
		{[]busFlow{
			{w: 10, hops: 1, phases: 3, flows: 4},
			{w: 50, last: 3, hops: 1, phases: 3, flows: 1},
		}, []float64{50, 93}},
	}
	for ci, c := range cases {
		for i := range c.flows {
			c.flows[i].begin(0)
		}
		busRun(c.flows, 0, math.Inf(1), false)
		for i, f := range c.flows {
			if math.Abs(f.end-c.ends[i]) > 1e-6 {
				t.Errorf("case %d flow %d ends at %v, want %v", ci, i, f.end, c.ends[i])
			}
		}
	}
}

// TestBusRunSplit: running the bus to an intermediate time and on from
// there gives the same ends as one run (busAdd and busTake advance the
// state to every change).
func TestBusRunSplit(t *testing.T) {
	mk := func() []busFlow {
		fs := []busFlow{
			{first: 3, w: 17, mid: 4, gap: 6, last: 2, hops: 1, phases: 9, flows: 4},
			{first: 1, w: 9, mid: 2, gap: 8, last: 5, hops: 1, phases: 13, flows: 4},
			{w: 40, last: 5, hops: 1, phases: 3, flows: 1},
		}
		for i := range fs {
			fs[i].begin(0)
		}
		return fs
	}
	one, two := mk(), mk()
	busRun(one, 0, math.Inf(1), false)
	at, _ := busRun(two, 0, 77.5, false)
	busRun(two, at, math.Inf(1), false)
	for i := range one {
		if math.Abs(one[i].end-two[i].end) > 1e-6 {
			t.Errorf("flow %d ends at %v in one run, %v when split at %v", i, one[i].end, two[i].end, at)
		}
	}
}

// TestBusFlowLeft: the closed form of a lone program's time to its end
// equals the sum of its phases, from every phase of programs of 1 and 3
// hops per all-reduce.
func TestBusFlowLeft(t *testing.T) {
	for _, f := range []busFlow{
		{first: 3, w: 17, lat: 2, mid: 4, gap: 6, last: 2, hops: 1, phases: 9, flows: 4},
		{first: 1, w: 9, lat: 5, mid: 7, gap: 8, last: 5, hops: 3, phases: 25, flows: 4},
		{w: 40, last: 5, hops: 1, phases: 3, flows: 1},
	} {
		for k := int32(0); k < f.phases; k++ {
			var want float64
			for j := k; j < f.phases; j++ {
				a := f.amount(j)
				if j%2 == 1 {
					a *= float64(f.flows)
				}
				want += a
			}
			g := f
			g.begin(0)
			for g.k < k { // through next, which tracks the ring
				g.rem = 0
				g.next(0)
			}
			if g.k > k {
				continue // a phase of length 0, which begin skips
			}
			if g.rem != g.amount(k) {
				t.Errorf("%d hops: next reached phase %d with %v to run, amount %v", f.hops, k, g.rem, g.amount(k))
			}
			if got := g.left(); math.Abs(got-want) > 1e-9 {
				t.Errorf("%d hops, phase %d of %d: left %v, want %v", f.hops, k, f.phases, got, want)
			}
		}
	}
}

// BenchmarkBusRun runs two TP4 stage programs of 16 layers (6 hops a ring)
// that overlap throughout, as lod-shared-bus's decode steps do.
func BenchmarkBusRun(b *testing.B) {
	mk := func(w, first float64) []busFlow {
		fs := []busFlow{
			{first: first, w: w, lat: 5000, mid: 5000 + 30000, gap: 5000 + 25000, last: 5000 + 90000, hops: 6, phases: 1 + 4*6*16, flows: 4},
			{first: 1, w: w * 1.3, lat: 5000, mid: 5000 + 31000, gap: 5000 + 24000, last: 5000 + 80000, hops: 6, phases: 1 + 4*6*16, flows: 4},
		}
		for i := range fs {
			fs[i].begin(0)
		}
		return fs
	}
	base := mk(4000, 7000)
	fs := make([]busFlow, len(base))
	b.ReportAllocs()
	for b.Loop() {
		copy(fs, base)
		busRun(fs, 0, math.Inf(1), false)
	}
}

// TestBusFlowOnePhase: a program of one off-bus phase (busStepFlow's for
// a stage without layers: phases 1, its time in first) takes that time,
// alone and beside a hand-off; it ended at once (amount(0) read last).
func TestBusFlowOnePhase(t *testing.T) {
	fs := []busFlow{{first: 25, hops: 1, phases: 1, flows: 1}, {w: 30, last: 7, hops: 1, phases: 3, flows: 1}}
	for i := range fs {
		fs[i].begin(0)
	}
	if got := fs[0].left(); got != 25 {
		t.Errorf("left %v, want 25", got)
	}
	busRun(fs, 0, math.Inf(1), false)
	if fs[0].end != 25 || fs[1].end != 37 {
		t.Errorf("ends %v and %v, want 25 and 37", fs[0].end, fs[1].end)
	}
}

// TestBusPlanVersionWraps: a bus's end-event versions skip 0 when the
// counter wraps, since an end event of version 0 is one off the bus,
// which the loop would apply without taking the program off the bus.
func TestBusPlanVersionWraps(t *testing.T) {
	m := &mediumExecutor{s: &Simulator{}}
	bf := &busFluid{ver: math.MaxUint32, flows: []busFlow{{w: 30, last: 7, hops: 1, phases: 3, flows: 1, stage: 1, batch: 0}}}
	bf.flows[0].begin(0)
	m.busPlan(bf)
	if len(m.s.h.ev) != 1 || m.s.h.ev[0].ver == 0 || bf.pend == 0 || bf.flows[0].ver != bf.pend {
		t.Fatalf("after the wrap: events %+v, pending %d, program's %d: want one event of a nonzero version, pending", m.s.h.ev, bf.pend, bf.flows[0].ver)
	}
}
