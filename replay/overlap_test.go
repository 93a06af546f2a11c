package replay

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace/workload"
)

// TestOverlapFormsStepsOneStepEarly: an overlap scheduler forms step n+1
// as the GPU starts step n, so a request reaching a busy replica during
// step n first runs in step n+2 (overlap.go). The tiny model's steps take
// 9002 ns whatever the batch, with no overhead:
//
//   - A (arrives at 0, 3 tokens out) prefills in [0, 9002]; B arrives at
//     1000, during that step. Without overlap B prefills in step 2 and
//     has its first token at 2 x 9002; with it step 2 (formed at 0) is A's
//     decode alone and B's first token comes at 3 x 9002.
//   - If A ends with its first token (1 token out), step 2 would be empty
//     without B: the loop comes round after step 1's results and B runs
//     in step 2 either way (2 x 9002).
//   - A request arriving at an idle replica runs at once either way.
func TestOverlapFormsStepsOneStepEarly(t *testing.T) {
	for _, c := range []struct {
		name       string
		aOut       int32
		bAt        int64
		off, on    Time // B's first token
		onComplete Time // A's completion with the overlap on
	}{
		{"busy", 3, 1000, 2 * tinyStep, 3 * tinyStep, 3 * tinyStep},
		{"empty step", 1, 1000, 2 * tinyStep, 2 * tinyStep, tinyStep},
		{"idle", 1, 20000, 20000 + tinyStep, 20000 + tinyStep, tinyStep},
	} {
		reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: c.aOut},
			{ID: 1, Arrival: c.bAt, PromptTokens: 10, OutputTokens: 2}}
		for _, e := range Engines {
			for _, l := range []string{"high", "medium"} {
				for _, on := range []bool{false, true} {
					cfg := tinyConfig(l, 1)
					cfg.Scheduler.Engine = e
					cfg.Scheduler.OverlapScheduler = &on
					_, rs := runReqs(t, cfg, fixedCost{overheads: cost.Overheads{}}, reqs)
					got := byID(rs)
					want := c.off
					if on {
						want = c.on
					}
					if got[1].FirstToken != want {
						t.Errorf("%s %s %s overlap %v: B's first token at %d, want %d", c.name, e, l, on, got[1].FirstToken, want)
					}
					if on && got[0].Completion != c.onComplete {
						t.Errorf("%s %s %s overlap on: A completes at %d, want %d", c.name, e, l, got[0].Completion, c.onComplete)
					}
				}
			}
		}
	}
}
