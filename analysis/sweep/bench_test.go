package sweep

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// azureSpec sweeps the Azure conversation trace (19,366 requests) on
// Llama-3.1-8B over H100s: 2 replica counts x 2 batch limits.
func azureSpec(t testing.TB) *Spec {
	base, dir, err := ScenarioBase("azure-conv-4xh100")
	if err != nil {
		t.Fatal(err)
	}
	return &Spec{Base: base, Dir: dir, Grid: []Axis{{"replicas", []string{"2", "4"}}, {"max_num_seqs", []string{"128", "256"}}}}
}

// BenchmarkSweepAzure runs the whole azure sweep per iteration at medium
// LoD and reports points per second of wall time.
func BenchmarkSweepAzure(b *testing.B) {
	p, err := NewPlan(azureSpec(b))
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			points := 0
			start := time.Now()
			for b.Loop() {
				dir := b.TempDir()
				if _, err := Execute(context.Background(), p, dir, Options{Workers: workers}); err != nil {
					b.Fatal(err)
				}
				points += len(p.Points)
			}
			b.ReportMetric(float64(points)/time.Since(start).Seconds(), "points/s")
		})
	}
}

// bigSpec is a 10,000-point grid: 25 x 20 x 20.
func bigSpec(t testing.TB) *Spec {
	s := testSpec(t)
	var rep, seqs, tok []string
	for i := 1; i <= 25; i++ {
		rep = append(rep, fmt.Sprint(i))
	}
	for i := 1; i <= 20; i++ {
		seqs = append(seqs, fmt.Sprint(16*i))
		tok = append(tok, fmt.Sprint(512*i))
	}
	s.Grid = []Axis{{"replicas", rep}, {"max_num_seqs", seqs}, {"max_num_batched_tokens", tok}}
	return s
}

// BenchmarkPlan10k plans 10,000 points (each configuration resolved,
// validated and hashed) and splits them into 100 shards.
func BenchmarkPlan10k(b *testing.B) {
	s := bigSpec(b)
	for b.Loop() {
		p, err := NewPlan(s)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for i := range 100 {
			n += len(p.Shard(Shard{i, 100}))
		}
		if n != 10_000 {
			b.Fatalf("%d points in the shards", n)
		}
	}
}

// partitioned writes a 2,000-point sweep as 1,000 partitions of fake
// results and returns its directory and plan. It writes the files
// directly: Execute's own path is tested elsewhere, and 1,000 runs of it
// (each syncing its partition to disk) would dominate the test.
func partitioned(t testing.TB) (string, *Plan) {
	s := bigSpec(t)
	s.Grid[0].Values = s.Grid[0].Values[:5] // 5 x 20 x 20 = 2,000
	p, err := NewPlan(s)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hash, err := writePlan(dir, p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, PartsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := fakeRunner(nil)
	for i := range 1000 {
		sh := Shard{i, 1000}
		tab := &Table{Keys: p.Keys, Kinds: p.Kinds}
		for _, k := range p.Shard(sh) {
			sum, err := fake(context.Background(), &p.Points[k])
			tab.Rows = append(tab.Rows, rowOf(&p.Points[k], &sum, err, p.Attainment))
		}
		var buf bytes.Buffer
		if err := tab.WriteParquet(&buf, map[string]string{metaPlan: hash, metaShard: sh.String()}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, PartsDir, PartitionName(sh)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, p
}

// BenchmarkMerge1000 merges 1,000 partitions of 2 points each.
func BenchmarkMerge1000(b *testing.B) {
	dir, _ := partitioned(b)
	for b.Loop() {
		if _, err := Merge(dir); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPlanAndMergeAtScale checks the 10,000-point plan and the
// 1,000-partition merge for correctness (their speed is in the
// benchmarks above).
func TestPlanAndMergeAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1,000 partitions")
	}
	p, err := NewPlan(bigSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Points) != 10_000 {
		t.Fatalf("%d points", len(p.Points))
	}
	last := p.Points[9999].Config
	if last.Cluster.Replicas != 25 || last.Scheduler.MaxNumSeqs != 320 || last.Scheduler.MaxNumBatchedTokens != 10240 {
		t.Errorf("last point: %d %d %d", last.Cluster.Replicas, last.Scheduler.MaxNumSeqs, last.Scheduler.MaxNumBatchedTokens)
	}
	dir, small := partitioned(t)
	tab, err := Merge(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range tab.Rows {
		if r.Point != i || r.PointID != small.Points[i].ID {
			t.Fatalf("row %d: point %d id %s", i, r.Point, r.PointID)
		}
	}
	if err := os.Remove(filepath.Join(dir, PartsDir, PartitionName(Shard{617, 1000}))); err != nil {
		t.Fatal(err)
	}
	if _, err := Merge(dir); err == nil || !strings.Contains(err.Error(), "shards with no partition (of 1000): 617") ||
		!strings.Contains(err.Error(), "points 617 (") || !strings.Contains(err.Error(), ", 1617 (") {
		t.Errorf("error %v, want shard 617 and its points 617 and 1617 named", err)
	}
}
