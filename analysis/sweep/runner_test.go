package sweep

import (
	"context"
	"errors"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

const closedLoopYAML = `
name: closed
simulation: {lod: medium, seed: 3}
model: {name: Llama-3-8B}
hardware: {gpu: A100-80GB-SXM, profile: roofline}
cluster: {replicas: 1, tensor_parallel: 1}
workload:
  closed_loop: {clients: 4, requests: 40, prompt: {kind: fixed, mean: 256}, output: {kind: fixed, mean: 16}}
`

// A closed-loop point must stay reactive through the runner's wrappers:
// its clients send the next request only when the simulator reports a
// completion.
func TestSimulateClosedLoop(t *testing.T) {
	c, err := replay.ParseConfig([]byte(closedLoopYAML))
	if err != nil {
		t.Fatal(err)
	}
	p := &Point{Config: c, RateScale: 1}
	s, err := Simulate(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if s.Completed != 40 {
		t.Errorf("closed loop completed %d of 40 requests", s.Completed)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Simulate(ctx, p); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
}
