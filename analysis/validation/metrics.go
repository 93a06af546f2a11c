package validation

import (
	"errors"
	"fmt"
	"slices"

	"github.com/lodsim/lodsim/replay"
)

// Metrics are the benchmark-tool figures of one simulated closed-loop run,
// computed over the requests of its steady-state window.
//
// The definitions are those of SGLang's bench_serving, vLLM's
// benchmark_serving and genai-perf:
//
//	TTFT = first token - request sent          (queueing included)
//	TPOT = (E2E - TTFT) / (output tokens - 1)  (requests with > 1 token)
//	E2E  = last token - request sent
//
// each averaged over requests (a mean of per-request values, not a ratio of
// sums). Simulated requests are "sent" at their arrival, so a per-request
// engine overhead (cost.Overheads.PerRequestNs) counts in TTFT and
// E2E, as client-side and API-server time does in the tools.
type Metrics struct {
	Requests int     // completed requests in the run
	Measured int     // requests in the steady-state window
	TTFTms   float64 // mean TTFT of the measured requests
	TPOTms   float64 // mean TPOT of the measured requests with > 1 output token
	E2Ems    float64 // mean E2E of the measured requests
	// WarmupEndNs and CooldownStartNs bound the window: requests sent
	// before WarmupEndNs or finishing after CooldownStartNs are left out.
	WarmupEndNs     int64
	CooldownStartNs int64
}

// ErrNoSteadyState is returned when a run is too short to leave any request
// inside its steady-state window.
var ErrNoSteadyState = errors.New("validation: no request inside the steady-state window")

// Measure computes the benchmark metrics of a closed-loop run of clients
// clients from its per-request results.
//
// Warm-up: every client sends its first request at time 0, so the first
// batch meets an empty engine and all prompts at once, which a running
// service never sees. Requests sent before the clients-th completion (the
// engine has turned its whole population over once) are left out.
//
// Cool-down: once the last request has been sent, a finishing client is no
// longer replaced and concurrency drains; requests that finish after the
// last request was sent ran partly at lower load and are left out.
//
// This is the steady-state window genai-perf measures in concurrency mode
// and what bench_serving approaches with warm-up requests and a large
// --num-prompts. With all set, every completed request counts (plain
// bench_serving without warm-up).
func Measure(results []replay.RequestResult, clients int, all bool) (Metrics, error) {
	var done []replay.RequestResult
	for _, r := range results {
		if r.Status == replay.Completed {
			done = append(done, r)
		}
	}
	m := Metrics{Requests: len(done)}
	if len(done) == 0 {
		return m, fmt.Errorf("%w: no request completed", ErrNoSteadyState)
	}
	comp := make([]int64, len(done))
	var lastSent int64
	for i, r := range done {
		comp[i] = int64(r.Completion)
		lastSent = max(lastSent, int64(r.Arrival))
	}
	slices.Sort(comp)
	m.WarmupEndNs = comp[min(clients, len(comp))-1]
	m.CooldownStartNs = lastSent
	if all {
		m.WarmupEndNs, m.CooldownStartNs = 0, comp[len(comp)-1]
	}
	var ttft, tpot, e2e float64
	var nTPOT int
	for i := range done {
		r := &done[i]
		if int64(r.Arrival) < m.WarmupEndNs || int64(r.Completion) > m.CooldownStartNs {
			continue
		}
		m.Measured++
		ttft += float64(r.TTFT())
		e2e += float64(r.E2E())
		if r.OutputTokens > 1 {
			// (E2E - TTFT) / (output - 1), which replay.RequestResult.TPOT
			// computes from the same timestamps.
			tpot += float64(r.E2E()-r.TTFT()) / float64(r.OutputTokens-1)
			nTPOT++
		}
	}
	if m.Measured == 0 {
		return m, fmt.Errorf("%w: %d requests completed, warm-up ends at %.3f s and cool-down starts at %.3f s; send more requests per client",
			ErrNoSteadyState, len(done), float64(m.WarmupEndNs)/1e9, float64(m.CooldownStartNs)/1e9)
	}
	m.TTFTms = ttft / float64(m.Measured) / 1e6
	m.E2Ems = e2e / float64(m.Measured) / 1e6
	if nTPOT > 0 {
		m.TPOTms = tpot / float64(nTPOT) / 1e6
	}
	return m, nil
}
