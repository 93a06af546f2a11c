package replay

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHeapOrdersByTimeThenSeq: events come out by time, and events of
// equal time in the order they were pushed.
func TestHeapOrdersByTimeThenSeq(t *testing.T) {
	var h eventHeap
	for i, tm := range []Time{30, 10, 20, 10, 30, 10} {
		h.push(tm, evArrival, int32(i), 0, 0)
	}
	var got []int32
	var times []Time
	for h.Len() > 0 {
		e := h.pop()
		got = append(got, e.a)
		times = append(times, e.t)
	}
	if want := []int32{1, 3, 5, 2, 0, 4}; !slices.Equal(got, want) {
		t.Errorf("pop order %v (times %v), want %v", got, times, want)
	}
}

// TestHeapTiesKeepPushOrder: a thousand events at one time come out in
// push order, also when pushes and pops interleave.
func TestHeapTiesKeepPushOrder(t *testing.T) {
	var h eventHeap
	next, want := int32(0), int32(0)
	for round := 0; round < 100; round++ {
		for i := 0; i < 10; i++ {
			h.push(5, evSample, next, 0, 0)
			next++
		}
		for i := 0; i < 7; i++ {
			if e := h.pop(); e.a != want {
				t.Fatalf("round %d: popped %d, want %d", round, e.a, want)
			}
			want++
		}
	}
	for h.Len() > 0 {
		if e := h.pop(); e.a != want {
			t.Fatalf("drain: popped %d, want %d", e.a, want)
		}
		want++
	}
}

// TestHeapMatchesSortedReference interleaves random pushes (many equal
// times) and pops, as the simulator does (nothing is pushed before the
// last popped time), and checks every pop against a reference kept
// sorted by (time, seq). Seeded; a failure prints the seed.
func TestHeapMatchesSortedReference(t *testing.T) {
	type ref struct {
		t   Time
		seq uint64
		a   int32
	}
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		var h eventHeap
		var want []ref
		var now Time
		var seq uint64
		for op := 0; op < 5000; op++ {
			if len(want) == 0 || rng.IntN(3) > 0 {
				tm := now + Time(rng.IntN(50)) // narrow range: many ties
				seq++
				h.push(tm, evRankCompute, int32(op), int32(seq), uint32(op))
				// seq grows, so a new event goes after every one of
				// its time or earlier.
				i, _ := slices.BinarySearchFunc(want, tm+1, func(x ref, t Time) int { return cmp.Compare(x.t, t) })
				want = slices.Insert(want, i, ref{tm, seq, int32(op)})
				continue
			}
			e := h.pop()
			w := want[0]
			want = want[1:]
			if e.t != w.t || e.a != w.a || e.seq != w.seq || e.ver != uint32(w.a) || e.kind != evRankCompute {
				t.Fatalf("seed %d op %d: popped %+v, want time %d seq %d a %d", seed, op, e, w.t, w.seq, w.a)
			}
			if h.Len() != len(want) {
				t.Fatalf("seed %d op %d: heap holds %d, reference %d", seed, op, h.Len(), len(want))
			}
			now = e.t
		}
	}
}

// TestHeapTakeMatchesSortedReference drives the heap as the loop does:
// take the earliest event, push zero to three events while it is taken
// (the first replaces it at the root), settle, and checks every take and
// the pending count against a reference kept sorted by (time, seq).
// Seeded; a failure prints the seed.
func TestHeapTakeMatchesSortedReference(t *testing.T) {
	type ref struct {
		t   Time
		seq uint64
		a   int32
	}
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 5))
		var h eventHeap
		var want []ref
		var now Time
		var seq uint64
		push := func(a int32) {
			tm := now + Time(rng.IntN(50)) // narrow range: many ties
			seq++
			h.push(tm, evLinkTransfer, a, 0, uint32(a))
			i, _ := slices.BinarySearchFunc(want, tm+1, func(x ref, t Time) int { return cmp.Compare(x.t, t) })
			want = slices.Insert(want, i, ref{tm, seq, a})
		}
		for i := 0; i < 8; i++ {
			push(int32(-i - 1))
		}
		for op := int32(0); op < 5000 && len(want) > 0; op++ {
			e := h.take()
			w := want[0]
			want = want[1:]
			if e.t != w.t || e.a != w.a || e.seq != w.seq || e.ver != uint32(w.a) {
				t.Fatalf("seed %d op %d: took %+v, want time %d seq %d a %d", seed, op, *e, w.t, w.seq, w.a)
			}
			now = e.t
			if h.Len() != len(want) {
				t.Fatalf("seed %d op %d: %d pending while taken, reference %d", seed, op, h.Len(), len(want))
			}
			for k := rng.IntN(4); k > 0 && len(want) < 200; k-- {
				push(op)
			}
			h.settle()
			if h.Len() != len(want) || len(h.ev) != len(want) {
				t.Fatalf("seed %d op %d: heap holds %d (%d slots), reference %d", seed, op, h.Len(), len(h.ev), len(want))
			}
		}
	}
}

// TestHeapBusyAtMatchesScan holds eventHeap.busyAt, which walks only the
// root subtree of events at the earliest time, to a scan of every pending
// event, with and without a taken event of any kind at the root.
func TestHeapBusyAtMatchesScan(t *testing.T) {
	kinds := []eventKind{evArrival, evSample, evStageCompute, evLinkTransfer}
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 9))
		var h eventHeap
		for n := 1 + rng.IntN(40); n > 0; n-- {
			k := kinds[rng.IntN(len(kinds))]
			if rng.IntN(3) > 0 {
				k = kinds[rng.IntN(2)] // mostly arrivals and samples: busy ones are rare
			}
			h.push(Time(rng.IntN(3)), k, 0, 0, 0)
		}
		taken := rng.IntN(2) == 0
		if taken {
			h.take()
		}
		t0 := h.ev[0].t
		want := false
		for i, e := range h.ev {
			if e.t == t0 && !(i == 0 && taken) && e.kind != evArrival && e.kind != evSample {
				want = true
			}
		}
		if got := h.busyAt(t0); got != want {
			t.Fatalf("seed %d (taken %v): busyAt(%d) = %v, a scan of the %d events says %v", seed, taken, t0, got, len(h.ev), want)
		}
	}
}

// pop removes and returns the earliest pending event, as the loop's take
// and settle do when a handler pushes nothing.
func (h *eventHeap) pop() event {
	e := *h.take()
	h.settle()
	return e
}
