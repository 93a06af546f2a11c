package validation

import (
	"math"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestAIPerfPhasesMatchWindow: aiperf's concurrency run (BENCHMARKS.md,
// "The benchmark client") drains its warm-up before profiling, so in a
// simulation without cold-start effects its profiling phase is a fresh
// start of every client at once, AIPerfRounds rounds, every request
// measured. The default window (DefaultRequestsPerClient rounds, warm-up
// and cool-down left out) stands for it at under a third of the
// requests: the same with the clients in lock-step, and within 10 % with
// them spread (Qwen3-32B, 2048/128, 32 clients, TP2: 241 against 265 ms
// TTFT; without the warm-up cut 211 ms, without the cool-down cut 220 ms).
// The engine constants are fixed here (TensorRT-LLM's as first fitted at
// stop 21), so that a refit moves the pins, not this comparison.
func TestAIPerfPhasesMatchWindow(t *testing.T) {
	over := &cost.Overheads{PerRequestNs: 55.56e6}
	row := Row{ID: "q", File: "t.csv", Line: 2, Model: "Qwen/Qwen3-32B", GPU: "h100_sxm", Backend: "trtllm",
		Precision: "fp8", GEMMQuant: "fp8", ISL: 2048, OSL: 128, Concurrency: 32, TP: 2, PP: 1,
		TTFTms: 1, TPOTms: 1}
	for _, c := range []struct{ ramp, tol float64 }{{0, 0.01}, {1, 0.10}} {
		ramp := c.ramp
		win, err := Predict(row, Options{Ramp: &ramp, Overheads: over})
		if err != nil || win.Skipped != "" {
			t.Fatalf("ramp %g: window: %v %s", ramp, err, win.Skipped)
		}
		phase, err := Predict(row, Options{Ramp: &ramp, Overheads: over, All: true, RequestsPerClient: AIPerfRounds})
		if err != nil || phase.Skipped != "" {
			t.Fatalf("ramp %g: aiperf phase: %v %s", ramp, err, phase.Skipped)
		}
		w, p := win.Metrics, phase.Metrics
		t.Logf("ramp %g: window TTFT %.1f ms TPOT %.2f ms (%d of %d); aiperf phase TTFT %.1f ms TPOT %.2f ms (%d)",
			ramp, w.TTFTms, w.TPOTms, w.Measured, w.Requests, p.TTFTms, p.TPOTms, p.Measured)
		if p.Measured != AIPerfRounds*row.Concurrency {
			t.Errorf("ramp %g: aiperf phase measured %d requests, want %d", ramp, p.Measured, AIPerfRounds*row.Concurrency)
		}
		if d := math.Abs(w.TTFTms/p.TTFTms - 1); d > c.tol {
			t.Errorf("ramp %g: window TTFT %.1f ms, aiperf phase %.1f ms: %.1f %% apart", ramp, w.TTFTms, p.TTFTms, 100*d)
		}
		if d := math.Abs(w.TPOTms/p.TPOTms - 1); d > c.tol {
			t.Errorf("ramp %g: window TPOT %.2f ms, aiperf phase %.2f ms: %.1f %% apart", ramp, w.TPOTms, p.TPOTms, 100*d)
		}
	}
}

// TestAIPerfRunClient: a TensorRT-LLM row of aiconfigurator's aiperf
// harness (ClientAIPerfRun) is simulated as aiperf's profiling phase runs,
// every one of AIPerfRounds x C requests measured, on aiconfigurator's
// generated budget (32 + 2048 + 1500 -> 3584 tokens: one prompt a step).
func TestAIPerfRunClient(t *testing.T) {
	ramp := 0.0
	row := Row{ID: "q", File: "t.csv", Line: 2, Model: "Qwen/Qwen3-32B", GPU: "h100_sxm", Backend: "trtllm",
		Precision: "fp8", GEMMQuant: "fp8", ISL: 2048, OSL: 128, Concurrency: 32, TP: 2, PP: 1,
		TTFTms: 1, TPOTms: 1, Client: ClientAIPerfRun}
	p, err := Predict(row, Options{Ramp: &ramp, Overheads: &cost.Overheads{PerRequestNs: 55.56e6}})
	if err != nil || p.Skipped != "" {
		t.Fatalf("%v %s", err, p.Skipped)
	}
	sc := p.Config.Scheduler
	if p.Metrics.Measured != AIPerfRounds*row.Concurrency || sc.MaxNumBatchedTokens != 3584 || sc.MaxNumSeqs != 32 {
		t.Errorf("measured %d requests, max_num_batched_tokens %d, max_num_seqs %d; want %d, 3584, 32",
			p.Metrics.Measured, sc.MaxNumBatchedTokens, sc.MaxNumSeqs, AIPerfRounds*row.Concurrency)
	}
}
