package analysis

import (
	"math/rand/v2"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

const ms = int64(1e6)

// handResults is the fixture the hand-computed expectations refer to:
//
//	id  arrival sched  first  done   prompt out  status      preempt
//	1     0      1     10     110    100    11   completed   0
//	2     5      5     25      65    200     5   completed   0
//	3    10     20     50      50    300     1   completed   0
//	4    20     30     60      -1    400     3   unfinished  2
//	5    30     -1     -1      -1    500     0   rejected    0
//
// (times in ms). TTFT {10, 20, 40}, E2E {110, 60, 40}, TPOT {10, 10},
// queueing {1, 0, 10}.
func handResults() []replay.RequestResult {
	row := func(id, arr, sched, first, done int64, prompt, out int32, st replay.Status, pre int16) replay.RequestResult {
		conv := func(v int64) int64 {
			if v < 0 {
				return -1
			}
			return v * ms
		}
		return replay.RequestResult{ID: trace.RequestID(id), Arrival: replay.Time(arr * ms), FirstScheduled: replay.Time(conv(sched)),
			FirstToken: replay.Time(conv(first)), Completion: replay.Time(conv(done)), PromptTokens: prompt, OutputTokens: out,
			Status: st, Preemptions: pre}
	}
	rs := []replay.RequestResult{
		row(1, 0, 1, 10, 110, 100, 11, replay.Completed, 0),
		row(2, 5, 5, 25, 65, 200, 5, replay.Completed, 0),
		row(3, 10, 20, 50, 50, 300, 1, replay.Completed, 0),
		row(4, 20, 30, 60, -1, 400, 3, replay.Unfinished, 2),
		row(5, 30, -1, -1, -1, 500, 0, replay.Rejected, 0),
	}
	rs[4].Reason = replay.TooLongForKV
	return rs
}

// handStats: ITL {1000, 2000, 2000, 2000} ns (exact histogram buckets),
// batch sizes {1, 3, 2, 4}, KV utilisation {0.1, 0.5, 0.3, 0.2}, samples
// every second.
func handStats() *replay.Stats {
	st := &replay.Stats{LoD: "high", PeakKVUtil: 0.6,
		Events:      []replay.EventCount{{Kind: "arrival", Count: 5}, {Kind: "step", Count: 95}},
		TotalEvents: 100,
	}
	st.ITL.Add(1000, 1)
	st.ITL.Add(2000, 3)
	for i, bs := range []float64{1, 3, 2, 4} {
		st.Samples = append(st.Samples, replay.Sample{T: replay.Time(int64(i+1) * 1e9), Running: int32(bs), Waiting: int32(4 - i),
			BatchSize: bs, KVUtil: []float64{0.1, 0.5, 0.3, 0.2}[i], OutputTokens: int64(100 * (i + 1)), Completed: int64(i)})
	}
	return st
}

// synthResults makes n completed requests with pseudo-random latencies
// (seeded, so every run of a test sees the same data).
func synthResults(n int, seed uint64) []replay.RequestResult {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]replay.RequestResult, n)
	for i := range out {
		arr := int64(i) * 10 * ms
		q := rng.Int64N(5 * ms)
		ttft := q + 20*ms + rng.Int64N(200*ms)
		outTok := int32(1 + rng.IntN(200))
		done := arr + ttft + int64(outTok-1)*(15*ms+rng.Int64N(10*ms))
		out[i] = replay.RequestResult{ID: trace.RequestID(i), Arrival: replay.Time(arr), FirstScheduled: replay.Time(arr + q),
			FirstToken: replay.Time(arr + ttft), Completion: replay.Time(done), PromptTokens: int32(100 + rng.IntN(2000)),
			OutputTokens: outTok, Status: replay.Completed}
	}
	return out
}

// disaggResults are synthResults as a disaggregated cluster of two
// prefill and three decode workers reports them: the KV transfer ends
// with the first token, the last request is rejected before any transfer.
func disaggResults(n int, seed uint64) []replay.RequestResult {
	out := synthResults(n, seed)
	for i := range out {
		r := &out[i]
		r.Disaggregated = true
		r.PrefillWorker, r.DecodeWorker = int32(i%2), int32(i%3)
		r.TransferEnd = r.FirstToken
		r.TransferStart = r.FirstToken - replay.Time(int64(1+i%7)*ms)
	}
	last := &out[n-1]
	last.Status, last.Reason = replay.Rejected, replay.TooLongForKV
	last.FirstScheduled, last.FirstToken, last.Completion, last.OutputTokens = -1, -1, -1, 0
	last.DecodeWorker, last.TransferStart, last.TransferEnd = -1, -1, -1
	return out
}
