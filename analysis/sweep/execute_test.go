package sweep

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lodsim/lodsim/analysis"
)

// fakeRunner summarises a point from its configuration alone, instantly:
// for the tests of the machinery around the simulator.
func fakeRunner(calls *atomic.Int64) Runner {
	return func(ctx context.Context, p *Point) (analysis.Summary, error) {
		if calls != nil {
			calls.Add(1)
		}
		c := p.Config
		if c.Cluster.TensorParallel == 4 && c.Cluster.Replicas == 2 && p.GPU == "H100-SXM" {
			return analysis.Summary{}, fmt.Errorf("does not fit (fake)")
		}
		tp, rep := float64(c.Cluster.TensorParallel), float64(c.Cluster.Replicas)
		s := analysis.Summary{Requests: 40, Completed: 40}
		s.TTFT = analysis.Dist{Count: 40, Mean: 100 / tp / rep, P99: 300 / tp / rep}
		s.TPOT = analysis.Dist{Count: 40, P99: 40 / tp}
		s.Throughput.OutputTokensPerS = 1000 * rep
		s.Goodput.Fraction = min(1, tp*rep/4)
		return s, nil
	}
}

// tableBytes merges dir and returns the Parquet and CSV bytes of the table.
func tableBytes(t *testing.T, dir string) ([]byte, []byte) {
	t.Helper()
	tab, err := Merge(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteTable(dir, tab, 10); err != nil {
		t.Fatal(err)
	}
	pq, err := os.ReadFile(filepath.Join(dir, TableFile))
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	return pq, csv
}

func runAll(t *testing.T, p *Plan, dir string, n, workers int, r Runner) {
	t.Helper()
	for i := range n {
		if _, err := Execute(context.Background(), p, dir, Options{Workers: workers, Shard: Shard{i, n}, Runner: r}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDeterminismAcrossWorkers simulates for real: the table is
// byte-identical whatever the worker count and the sharding.
func TestDeterminismAcrossWorkers(t *testing.T) {
	p, err := NewPlan(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	runAll(t, p, ref, 1, 1, nil)
	refPQ, refCSV := tableBytes(t, ref)
	lines := strings.Split(strings.TrimSpace(string(refCSV)), "\n")
	if len(lines) != 1+len(p.Points) {
		t.Fatalf("%d CSV lines, want a header and %d rows", len(lines), len(p.Points))
	}
	if !strings.HasPrefix(lines[0], "point,gpu,tp,replicas,gpu_name,gpus,requests,") {
		t.Errorf("header %q", lines[0])
	}
	tab, _ := Merge(ref)
	for _, r := range tab.Rows {
		if r.Status != "ok" || r.Completed == 0 || r.TTFTP99Ms <= 0 || r.OutputTokensPerS <= 0 {
			t.Errorf("point %d: %+v: want a completed simulation", r.Point, r.Metrics)
		}
	}
	for _, c := range []struct{ shards, workers int }{{1, 4}, {3, 2}, {5, 3}} {
		dir := t.TempDir()
		runAll(t, p, dir, c.shards, c.workers, nil)
		pq, csv := tableBytes(t, dir)
		if !bytes.Equal(pq, refPQ) || !bytes.Equal(csv, refCSV) {
			t.Errorf("%d shards x %d workers: table differs from 1 worker", c.shards, c.workers)
		}
	}
}

func TestTableRoundTrip(t *testing.T) {
	s := testSpec(t)
	s.Points = [][]Assignment{{{"gpu", "h200"}, {"cluster.links.latency_us", "2.5"}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runAll(t, p, dir, 1, 2, fakeRunner(nil))
	tab, err := Merge(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range tab.Rows {
		pt := &p.Points[i]
		if r.Point != i || r.PointID != pt.ID || strings.Join(r.Values, ",") != strings.Join(pt.Values, ",") {
			t.Fatalf("row %d: point %d id %s values %v, want %d %s %v", i, r.Point, r.PointID, r.Values, i, pt.ID, pt.Values)
		}
		var want Row
		if sum, err := fakeRunner(nil)(context.Background(), pt); err == nil {
			want = rowOf(pt, &sum, nil, p.Attainment)
		} else {
			want = rowOf(pt, nil, err, p.Attainment)
		}
		if fmt.Sprint(r.Metrics) != fmt.Sprint(want.Metrics) {
			t.Errorf("row %d: read back\n%+v\nwant\n%+v", i, r.Metrics, want.Metrics)
		}
	}
	// The fake's failure is a row, not a failed sweep.
	if r := tab.Rows[11]; r.Status != "failed" || !strings.Contains(r.Error, "does not fit") || r.MeetsSLO {
		t.Errorf("row 11: %+v, want the runner's error recorded", r.Metrics)
	}
	// Cost, from the formulas in the Metrics doc: A100 at TP4 x 2 replicas
	// is 8 GPUs; the fake produces 1000 x replicas output tok/s.
	r := tab.Rows[5]
	price := DefaultPrices()["A100-80GB-SXM"]
	mtokPerHour := 2000 * 3600 / 1e6
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Abs(b) } // float rounding only
	if r.GPUs != 8 || r.USDPerGPUHour != price || !near(r.USDPerHour, 8*price) || !near(r.USDPerMTok, 8*price/mtokPerHour) ||
		!near(r.GPUHoursPerMTok, 8/mtokPerHour) || !near(r.OutputTokensPerSPerGPU, 250) {
		t.Errorf("row 5: %+v, want 8 GPUs at %v USD/GPU-h, %v USD/Mtok, %v GPU-h/Mtok", r.Metrics, price, 8*price/mtokPerHour, 8/mtokPerHour)
	}
}

func TestMergeReportsMissingAndDuplicates(t *testing.T) {
	p, err := NewPlan(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, i := range []int{0, 2} {
		if _, err := Execute(context.Background(), p, dir, Options{Shard: Shard{i, 4}, Runner: fakeRunner(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = Merge(dir)
	if err == nil {
		t.Fatal("merge of 2 of 4 shards succeeded")
	}
	for _, w := range []string{"6 of 12 points are missing", "shards with no partition (of 4): 1, 3", "1 (gpu=a100 tp=1 replicas=2)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	for _, i := range []int{1, 3} {
		if _, err := Execute(context.Background(), p, dir, Options{Shard: Shard{i, 4}, Runner: fakeRunner(nil)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Merge(dir); err != nil {
		t.Fatalf("complete sweep: %v", err)
	}
	// A partition copied under another name duplicates its points.
	parts := filepath.Join(dir, PartsDir)
	data, err := os.ReadFile(filepath.Join(parts, PartitionName(Shard{1, 4})))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parts, "part-0009-of-0009.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Merge(dir)
	if err == nil || !strings.Contains(err.Error(), "point 1 (gpu=a100 tp=1 replicas=2) is present twice: in part-0001-of-0004.parquet and part-0009-of-0009.parquet") {
		t.Errorf("error %v, want the duplicate named with both files", err)
	}
	os.Remove(filepath.Join(parts, "part-0009-of-0009.parquet"))

	// A shard that lost points (an interrupted run) is named incomplete.
	tab, _, err := readTableFile(filepath.Join(parts, PartitionName(Shard{3, 4})), p)
	if err != nil {
		t.Fatal(err)
	}
	tab.rows = tab.rows[:1]
	writeTableFile(t, filepath.Join(parts, PartitionName(Shard{3, 4})), p, tab)
	_, err = Merge(dir)
	if err == nil || !strings.Contains(err.Error(), "incomplete shards (re-run them to resume): 3") {
		t.Errorf("error %v, want shard 3 named incomplete", err)
	}

	// A partition of another sweep, dropped into this one, is refused by
	// merge (same columns, different plan).
	s2 := testSpec(t)
	s2.Set = []Assignment{{"seed", "7"}}
	p2, err := NewPlan(s2)
	if err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	if _, err := Execute(context.Background(), p2, dir2, Options{Shard: Shard{3, 4}, Runner: fakeRunner(nil)}); err != nil {
		t.Fatal(err)
	}
	data, err = os.ReadFile(filepath.Join(dir2, PartsDir, PartitionName(Shard{3, 4})))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(parts, PartitionName(Shard{3, 4})), data, 0o644)
	if _, err = Merge(dir); err == nil || !strings.Contains(err.Error(), "belongs to a different sweep") {
		t.Errorf("error %v, want the foreign partition refused", err)
	}

	// Another sweep's plan in the same directory is refused.
	s := testSpec(t)
	s.Grid[1].Values = []string{"1", "2"}
	other, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(context.Background(), other, dir, Options{Runner: fakeRunner(nil)}); err == nil || !strings.Contains(err.Error(), "different sweep") {
		t.Errorf("error %v, want a different-sweep refusal", err)
	}
}

func readTableFile(path string, p *Plan) (*partition, string, error) {
	part, err := readPartition(path, p.Keys, p.Kinds)
	return part, path, err
}

func writeTableFile(t *testing.T, path string, p *Plan, part *partition) {
	t.Helper()
	tab := &Table{Keys: p.Keys, Kinds: p.Kinds, Rows: part.rows}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := tab.WriteParquet(f, map[string]string{metaPlan: part.plan, metaShard: part.shard.String()}); err != nil {
		t.Fatal(err)
	}
}

// TestResume interrupts a run after a few points, resumes it, and checks
// that only the rest ran and the table is the one an uninterrupted run
// writes.
func TestResume(t *testing.T) {
	p, err := NewPlan(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	ref := t.TempDir()
	runAll(t, p, ref, 1, 1, fakeRunner(nil))
	refPQ, refCSV := tableBytes(t, ref)

	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	fake := fakeRunner(nil)
	stopAfter := func(c context.Context, pt *Point) (analysis.Summary, error) {
		if calls.Add(1) > 5 {
			cancel()
			<-c.Done()
			return analysis.Summary{}, c.Err()
		}
		return fake(c, pt)
	}
	out, err := Execute(ctx, p, dir, Options{Workers: 1, Runner: stopAfter})
	if err == nil || !strings.Contains(err.Error(), "interrupted after 5 of 12") {
		t.Fatalf("interrupted run: %v, want an interruption after 5 points", err)
	}
	if out.Ran != 5 {
		t.Fatalf("interrupted run ran %d", out.Ran)
	}
	var rerun atomic.Int64
	out, err = Execute(context.Background(), p, dir, Options{Workers: 3, Runner: fakeRunner(&rerun)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Skipped != 5 || out.Ran != 7 || rerun.Load() != 7 {
		t.Errorf("resume: skipped %d ran %d (runner called %d times), want 5 and 7", out.Skipped, out.Ran, rerun.Load())
	}
	pq, csv := tableBytes(t, dir)
	if !bytes.Equal(pq, refPQ) || !bytes.Equal(csv, refCSV) {
		t.Error("resumed table differs from an uninterrupted run")
	}
	// A third run has nothing to do.
	rerun.Store(0)
	if out, err = Execute(context.Background(), p, dir, Options{Runner: fakeRunner(&rerun)}); err != nil || out.Skipped != 12 || rerun.Load() != 0 {
		t.Errorf("complete re-run: %+v %v, calls %d: want every point skipped", out, err, rerun.Load())
	}
	// A row whose ID does not match the plan (a stale result) is run again.
	part, _, err := readTableFile(out.Partition, p)
	if err != nil {
		t.Fatal(err)
	}
	part.rows[4].PointID = "stale"
	writeTableFile(t, out.Partition, p, part)
	rerun.Store(0)
	if out, err = Execute(context.Background(), p, dir, Options{Runner: fakeRunner(&rerun)}); err != nil || out.Skipped != 11 || rerun.Load() != 1 {
		t.Errorf("stale row: %+v %v, calls %d: want exactly the stale point re-run", out, err, rerun.Load())
	}
}

func TestShardFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env    map[string]string
		want   Shard
		source string
		err    string
	}{
		{env: nil, want: Whole},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "8"}, want: Shard{3, 8}, source: "SLURM_ARRAY_TASK_COUNT"},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10", "SLURM_ARRAY_TASK_MAX": "17"}, want: Shard{2, 8}, source: "SLURM_ARRAY_TASK_MAX"},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_STEP": "2"}, want: Shard{2, 4}, source: "SLURM_ARRAY_TASK_MAX"},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "3"}, err: "neither SLURM_ARRAY_TASK_COUNT"},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "8"}, err: "SLURM_ARRAY_TASK_ID=\"x\""},
		{env: map[string]string{"SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "8"}, err: "shard 9/8"},
		{env: map[string]string{"JOB_COMPLETION_INDEX": "5", ShardCountEnv: "6"}, want: Shard{5, 6}, source: "JOB_COMPLETION_INDEX"},
		{env: map[string]string{"JOB_COMPLETION_INDEX": "5"}, err: ShardCountEnv + " is not"},
	} {
		s, src, ok, err := ShardFromEnv(func(k string) string { return tc.env[k] })
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v: error %v, want %q", tc.env, err, tc.err)
			}
			continue
		}
		if err != nil || s != tc.want || ok != (tc.env != nil) || !strings.Contains(src, tc.source) {
			t.Errorf("%v: %v %q %v %v, want %v from %s", tc.env, s, src, ok, err, tc.want, tc.source)
		}
	}
	if _, err := ParseShard("8/8"); err == nil {
		t.Error("8/8 accepted")
	}
	if s, err := ParseShard("2/8"); err != nil || s != (Shard{2, 8}) {
		t.Errorf("2/8: %v %v", s, err)
	}
}

// TestKubernetesShardsInProcess runs every shard of an Indexed Job the way
// its pods would (the shard from JOB_COMPLETION_INDEX and the count the
// manifest sets), merges, and compares with a local run.
func TestKubernetesShardsInProcess(t *testing.T) {
	p, err := NewPlan(testSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	runAll(t, p, local, 1, 2, nil)
	wantPQ, wantCSV := tableBytes(t, local)

	const n = 5
	dir := t.TempDir()
	for i := range n {
		t.Setenv("JOB_COMPLETION_INDEX", fmt.Sprint(i))
		t.Setenv(ShardCountEnv, fmt.Sprint(n))
		s, _, ok, err := ShardFromEnv(os.Getenv)
		if err != nil || !ok || s != (Shard{i, n}) {
			t.Fatalf("pod %d: shard %v %v %v", i, s, ok, err)
		}
		if _, err := Execute(context.Background(), p, dir, Options{Workers: 1, Shard: s}); err != nil {
			t.Fatal(err)
		}
	}
	pq, csv := tableBytes(t, dir)
	if !bytes.Equal(pq, wantPQ) || !bytes.Equal(csv, wantCSV) {
		t.Error("the Indexed Job's merged table differs from the local run")
	}
}

// TestClosedLoopPoints runs a closed-loop workload through Simulate: the
// source must reach the simulator as the reactive source it is.
func TestClosedLoopPoints(t *testing.T) {
	base := []byte(`
name: closed
model: {name: Llama-3-8B}
hardware: {gpu: A100-80GB-SXM}
workload:
  closed_loop: {clients: 4, requests: 30, prompt: {kind: fixed, mean: 128}, output: {kind: fixed, mean: 16}}
`)
	p, err := NewPlan(&Spec{Base: base, Grid: []Axis{{"replicas", []string{"1", "2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Execute(context.Background(), p, dir, Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	tab, err := Merge(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tab.Rows {
		if r.Status != "ok" || r.Completed != 30 {
			t.Errorf("point %d: %s %q, %d completed, want all 30", r.Point, r.Status, r.Error, r.Completed)
		}
	}
}

// TestAdaptiveLoDPoints: a sweep's lod axis takes adaptive like the other
// levels, and each point runs at its level: with per-rank variability at
// TP2 adaptive refines windows at high, so its events lie between
// medium's and high's.
func TestAdaptiveLoDPoints(t *testing.T) {
	base, dir, err := ScenarioBase("reference-tp2")
	if err != nil {
		t.Fatal(err)
	}
	s := &Spec{Base: base, Dir: dir, Grid: []Axis{{"lod", []string{"high", "medium", "adaptive"}}},
		Set: []Assignment{{"simulation.variability", "0.05"}}}
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range []string{"high", "medium", "adaptive"} {
		if got := p.Points[i].Config.Simulation.LoD; string(got) != l {
			t.Errorf("point %d: lod %q, want %q", i, got, l)
		}
	}
	var events [3]uint64
	for i := range p.Points {
		sum, err := Simulate(context.Background(), &p.Points[i])
		if err != nil {
			t.Fatal(err)
		}
		if sum.Completed == 0 {
			t.Errorf("point %d completed nothing", i)
		}
		events[i] = sum.TotalEvents
	}
	if !(events[1] < events[2] && events[2] < events[0]) {
		t.Errorf("events high %d, medium %d, adaptive %d: want medium < adaptive < high", events[0], events[1], events[2])
	}
}
