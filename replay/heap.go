package replay

// event is one scheduled occurrence. Events are values in a slice-backed
// heap ordered by (t, seq); seq comes from a counter at push time, so equal
// times resolve in push order and the order is total.
type event struct {
	t    Time
	seq  uint64
	ver  uint32 // for events that can be superseded (links, decode runs)
	kind eventKind
	a, b int32 // kind-specific targets
}

type eventKind uint8

const (
	evArrival eventKind = iota
	evSample
	evRankCompute     // high: one operation on one rank finished
	evLinkTransfer    // high: a transfer on a link was delivered
	evLinkRate        // high: a transfer's bytes cleared a shared link; the others speed up
	evLinkStale       // high: a superseded link event (rates changed)
	evStageCompute    // medium: a stage's aggregated compute finished
	evStageCollective // medium: a stage's analytical collectives finished
	evPPTransfer      // medium: activations reached the next stage
	evDecodeRun       // medium: a run of decode steps with an unchanged batch finished
	evRunStale        // medium: a superseded decode-run event (run cut short)
	evExpertCompute   // high: an expert-parallel rank's MoE layer finished (alltoall.go)
	evKVTransfer      // medium: a request's KV cache reached its decode worker
	numEventKinds
)

var eventKindNames = [numEventKinds]string{
	evArrival:         "arrival",
	evSample:          "sample",
	evRankCompute:     "rank_compute",
	evLinkTransfer:    "link_transfer",
	evLinkRate:        "link_rate",
	evLinkStale:       "link_stale",
	evStageCompute:    "stage_compute",
	evStageCollective: "stage_collective",
	evPPTransfer:      "pp_transfer",
	evDecodeRun:       "decode_run",
	evRunStale:        "decode_run_stale",
	evExpertCompute:   "expert_compute",
	evKVTransfer:      "kv_transfer",
}

// eventHeap is a 4-ary min-heap: shallower than a binary heap, and its
// children share cache lines.
//
// The loop takes the earliest event (take) without removing it: most
// handlers push one event, and that push replaces the taken one at the
// root (one sift-down) instead of appending and sifting up while the
// removal sifts the last event down. settle removes a taken event no push
// replaced. Pop order is the total order (t, seq) whatever the heap's
// layout, so results do not depend on which path ran.
type eventHeap struct {
	ev  []event
	seq uint64
	// taken: ev[0] is the event being handled, no longer pending.
	taken bool
}

func (e *event) less(o *event) bool {
	return e.t < o.t || (e.t == o.t && e.seq < o.seq)
}

// Len is the number of pending events.
func (h *eventHeap) Len() int {
	if h.taken {
		return len(h.ev) - 1
	}
	return len(h.ev)
}

func (h *eventHeap) push(t Time, kind eventKind, a, b int32, ver uint32) {
	h.seq++
	x := event{t: t, seq: h.seq, ver: ver, kind: kind, a: a, b: b}
	if h.taken {
		h.taken = false
		h.down(x)
		return
	}
	h.ev = append(h.ev, x)
	ev := h.ev
	i := len(ev) - 1
	for i > 0 {
		p := (i - 1) / 4
		if !x.less(&ev[p]) {
			break
		}
		ev[i] = ev[p]
		i = p
	}
	ev[i] = x
}

// busyAt reports whether an event at time t (the earliest pending time)
// other than an arrival or a sample is pending, the taken one aside.
// Events at t form a subtree at the root: the walk stops at later ones.
func (h *eventHeap) busyAt(t Time) bool { return h.busyFrom(0, t) }

func (h *eventHeap) busyFrom(i int, t Time) bool {
	if i >= len(h.ev) || h.ev[i].t != t {
		return false
	}
	if k := h.ev[i].kind; (i > 0 || !h.taken) && k != evArrival && k != evSample {
		return true
	}
	for c := 4*i + 1; c <= 4*i+4; c++ {
		if h.busyFrom(c, t) {
			return true
		}
	}
	return false
}

// take marks the earliest pending event taken and returns it (the heap
// must hold one and none be taken). Until the next push or settle, ev[0]
// still holds it.
func (h *eventHeap) take() *event {
	h.taken = true
	return &h.ev[0]
}

// settle removes the taken event, if a push did not replace it, so that
// ev[0] is the earliest pending event again.
func (h *eventHeap) settle() {
	if h.taken {
		h.taken = false
		h.removeTop()
	}
}

// removeTop removes ev[0]: the last event moves to the root and sifts
// down.
func (h *eventHeap) removeTop() {
	n := len(h.ev) - 1
	x := h.ev[n]
	h.ev = h.ev[:n]
	if n > 0 {
		h.down(x)
	}
}

// down places x at the root, whose event it replaces, and sifts it down.
func (h *eventHeap) down(x event) {
	ev := h.ev
	n := len(ev)
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if ev[j].less(&ev[m]) {
				m = j
			}
		}
		if !ev[m].less(&x) {
			break
		}
		ev[i] = ev[m]
		i = m
	}
	ev[i] = x
}
