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
type eventHeap struct {
	ev  []event
	seq uint64
}

func (e *event) less(o *event) bool {
	return e.t < o.t || (e.t == o.t && e.seq < o.seq)
}

func (h *eventHeap) Len() int { return len(h.ev) }

func (h *eventHeap) push(t Time, kind eventKind, a, b int32, ver uint32) {
	h.seq++
	h.ev = append(h.ev, event{t: t, seq: h.seq, ver: ver, kind: kind, a: a, b: b})
	ev := h.ev
	i := len(ev) - 1
	x := ev[i]
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

func (h *eventHeap) pop() event {
	ev := h.ev
	top := ev[0]
	n := len(ev) - 1
	x := ev[n]
	h.ev = ev[:n]
	ev = ev[:n]
	if n == 0 {
		return top
	}
	i := 0
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := c + 4
		if end > n {
			end = n
		}
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
	return top
}
