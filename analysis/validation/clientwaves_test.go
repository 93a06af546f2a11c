package validation

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/replay"
)

// sendPattern summarises when the requests of a run's steady state (sent
// after the warm-up and before the cool-down, Measure) were sent: how many distinct instants, and the largest gap
// between consecutive sends over the mean gap (1 for evenly spaced
// clients; about the number of clients per wave and more when they
// bunch: a wave is sent at once and then nothing until the next).
type sendPattern struct {
	requests, instants int
	maxGapRatio        float64
	ttftMs, tpotMs     float64
}

func runSendPattern(t *testing.T, cfg *replay.Config) sendPattern {
	t.Helper()
	x, err := experiment.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var col replay.Collect
	if _, _, err := x.Run(&col, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Measure(col.Results, cfg.Workload.ClosedLoop.Clients, false)
	if err != nil {
		t.Fatal(err)
	}
	var sends []int64
	for _, r := range col.Results {
		if r.Status == replay.Completed && int64(r.Arrival) >= m.WarmupEndNs && int64(r.Arrival) <= m.CooldownStartNs {
			sends = append(sends, int64(r.Arrival))
		}
	}
	slices.Sort(sends)
	p := sendPattern{requests: len(sends), ttftMs: m.TTFTms, tpotMs: m.TPOTms}
	if len(sends) < 2 {
		t.Fatalf("%d requests in the window", len(sends))
	}
	var maxGap int64
	p.instants = 1
	for i := 1; i < len(sends); i++ {
		g := sends[i] - sends[i-1]
		maxGap = max(maxGap, g)
		if g > 0 {
			p.instants++
		}
	}
	mean := float64(sends[len(sends)-1]-sends[0]) / float64(len(sends)-1)
	p.maxGapRatio = float64(maxGap) / mean
	return p
}

// TestClientWavesScenario runs the client-ramp-llama70b-h200 scenario (16
// clients with exact lengths, all starting at once) as it is, with its
// clients spread over one unloaded request (the first pass of the
// validation client) and with the client validation models (spread again
// over the loaded cycle, which is over RespreadAbove times longer here):
// the lock-step waves of the first (several requests per send instant,
// then a long silence) are gone in the last (every request sent at its own
// instant, no gap far above the mean), and the bunching the unloaded
// spread leaves (a silence of 4 mean gaps per cycle) with them. The figures are golden (testdata/client_waves.golden;
// -update rewrites them).
func TestClientWavesScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates a 70B model's closed loop three times")
	}
	sc, err := replay.Scenario("client-ramp-llama70b-h200")
	if err != nil {
		t.Fatal(err)
	}
	cl := sc.Workload.ClosedLoop
	row := Row{ID: sc.Name, Model: sc.Model.Name, GPU: "h200_sxm", Backend: string(sc.Scheduler.Engine),
		ISL: int(cl.Prompt.Mean), OSL: int(cl.Output.Mean), Concurrency: cl.Clients, TP: sc.Cluster.TensorParallel, PP: 1,
		TTFTms: 1, TPOTms: 1}
	opt := Options{RequestsPerClient: int(cl.Requests) / cl.Clients, Seed: sc.Simulation.Seed}
	first, spread, err := rowConfig(row, opt)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := Predict(row, opt)
	if err != nil || !pred.Simulated() {
		t.Fatalf("predict: %v %s", err, pred.Skipped)
	}
	if pred.Config.Workload.ClosedLoop.Ramp == first.Config().Workload.ClosedLoop.Ramp {
		t.Fatalf("the modelled client kept the unloaded ramp %v: loaded E2E %.0f ms, unloaded %.0f ms", first.Config().Workload.ClosedLoop.Ramp,
			pred.Metrics.E2Ems, float64(spread.UnloadedNs)/1e6)
	}
	var out bytes.Buffer
	var pats []sendPattern
	for _, v := range []struct {
		name string
		cfg  *replay.Config
	}{{"together", sc}, {"spread over one unloaded request", first.Config()}, {"spread over the loaded cycle", pred.Config}} {
		p := runSendPattern(t, v.cfg)
		pats = append(pats, p)
		fmt.Fprintf(&out, "%s: ramp %d ns, %d requests at %d instants, largest send gap %.1f x the mean, TTFT %.1f ms, TPOT %.2f ms\n",
			v.name, int64(v.cfg.Workload.ClosedLoop.Ramp), p.requests, p.instants, p.maxGapRatio, p.ttftMs, p.tpotMs)
	}
	together, loaded := pats[0], pats[2]
	if together.instants > together.requests/4 {
		t.Errorf("together: %d send instants for %d requests, expected waves of clients sent at once", together.instants, together.requests)
	}
	if loaded.instants != loaded.requests {
		t.Errorf("spread over the loaded cycle: %d send instants for %d requests, expected one each", loaded.instants, loaded.requests)
	}
	// Evenly spread clients leave no gap far above the mean; bunched ones
	// leave one per cycle of several times it (the clients of a bunch
	// over the mean), waves of 16 one of about 16 times it.
	if loaded.maxGapRatio > 2 || loaded.maxGapRatio >= pats[1].maxGapRatio || together.maxGapRatio < 8 {
		t.Errorf("largest send gap over the mean: %.1f together, %.1f spread over one unloaded request, %.1f over the loaded cycle; expected at least 8, then decreasing to at most 2",
			together.maxGapRatio, pats[1].maxGapRatio,
			loaded.maxGapRatio)
	}
	golden := filepath.Join("testdata", "client_waves.golden")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("client waves differ from %s (-update rewrites it):\n got:\n%s\nwant:\n%s", golden, out.Bytes(), want)
	}
}
