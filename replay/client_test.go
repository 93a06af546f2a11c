package replay

import (
	"testing"

	"github.com/lodsim/lodsim/trace"
)

// TestClientRampBreaksLockStep: 8 closed-loop clients with fixed lengths
// that start together stay in lock-step waves: every request is sent at
// the same instant as 7 others and they share one TTFT. Started one after
// another over a ramp (trace.ClosedLoop.RampNs), as a benchmark tool
// starts them, they stay desynchronised: no two requests are sent at the
// same instant and the TTFTs of one wave are no longer all equal.
func TestClientRampBreaksLockStep(t *testing.T) {
	for _, l := range []string{"high", "medium"} {
		for _, ramp := range []int64{0, 80000} {
			src, err := trace.NewClosedLoop(trace.ClosedLoop{Clients: 8, Requests: 64, RampNs: ramp,
				Prompt: trace.LengthDist{Kind: "fixed", Mean: 24}, Output: trace.LengthDist{Kind: "fixed", Mean: 10}})
			if err != nil {
				t.Fatal(err)
			}
			c := tinyConfig(l, 1)
			var col Collect
			if _, err := Run(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: src, Sink: &col, CheckInvariants: true}); err != nil {
				t.Fatal(err)
			}
			sent := map[Time][]Time{} // send instant -> TTFTs
			for _, r := range col.Results {
				sent[r.Arrival] = append(sent[r.Arrival], r.FirstToken-r.Arrival)
			}
			if ramp > 0 {
				if len(sent) != len(col.Results) {
					t.Errorf("%s ramp %d: %d distinct send instants for %d requests, want all distinct", l, ramp, len(sent), len(col.Results))
				}
				continue
			}
			// Started together: requests go in waves sent at one instant,
			// and a wave after the first shares one TTFT (the very first
			// request is admitted alone, ahead of the other 7: warm-up).
			if len(sent) > len(col.Results)/4 {
				t.Errorf("%s: %d send instants for %d requests, want waves of clients sent together", l, len(sent), len(col.Results))
			}
			for at, ttfts := range sent {
				if at == 0 {
					continue
				}
				for _, x := range ttfts {
					if x != ttfts[0] {
						t.Errorf("%s: the wave sent at %d has TTFTs %v, want one", l, at, ttfts)
						break
					}
				}
			}
		}
	}
}
