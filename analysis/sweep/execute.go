package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/lodsim/lodsim/analysis"
)

// Options control Execute.
type Options struct {
	Workers int    // concurrent simulations; <= 0: runtime.NumCPU()
	Shard   Shard  // zero value: the whole plan
	Runner  Runner // nil: Simulate
	// Checkpoint is how often the partition is rewritten while points
	// complete, so that a preempted run loses at most this much work
	// (default 30 s; the partition is always written at the end).
	Checkpoint time.Duration
	// Progress, if set, is called from one goroutine after each point with
	// the number done so far (skipped points included), the shard's total,
	// the row and the point's wall time.
	Progress func(done, total int, r *Row, wall time.Duration)
}

// Outcome says what Execute did.
type Outcome struct {
	Shard     Shard
	Partition string // path of the partition written
	Points    int    // points in the shard
	Skipped   int    // already present with the same ID (resumed)
	Ran       int
	Failed    int // rows whose simulation returned an error
}

// Execute runs the points of one shard of p on a worker pool and writes
// the shard's partition under dir/parts/. Points whose row is already in
// the partition with the same ID are skipped. Cancelling ctx stops the
// pool, writes what completed and returns ctx's error.
func Execute(ctx context.Context, p *Plan, dir string, opt Options) (*Outcome, error) {
	s := opt.Shard
	if s.Count == 0 {
		s = Whole
	}
	if err := s.valid(); err != nil {
		return nil, err
	}
	runner := opt.Runner
	if runner == nil {
		runner = Simulate
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	every := opt.Checkpoint
	if every <= 0 {
		every = 30 * time.Second
	}
	hash, err := writePlan(dir, p)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Shard: s, Partition: filepath.Join(dir, PartsDir, PartitionName(s))}
	todo := p.Shard(s)
	out.Points = len(todo)

	// Resume: keep the rows of this shard's partition that match the plan.
	rows := map[int]Row{}
	if _, err := os.Stat(out.Partition); err == nil {
		part, err := readPartition(out.Partition, p.Keys, p.Kinds)
		if err != nil {
			return nil, fmt.Errorf("resume: %w (remove it to start the shard over)", err)
		}
		if part.plan == hash {
			for _, r := range part.rows {
				if r.Point >= 0 && r.Point < len(p.Points) && s.Has(r.Point) && r.PointID == p.Points[r.Point].ID {
					rows[r.Point] = r
				}
			}
		}
	}
	todo = slices.DeleteFunc(todo, func(i int) bool { _, ok := rows[i]; return ok })
	out.Skipped = len(rows)

	write := func() error {
		t := &Table{Keys: p.Keys, Kinds: p.Kinds, Rows: make([]Row, 0, len(rows))}
		for _, i := range sortedKeys(rows) {
			t.Rows = append(t.Rows, rows[i])
		}
		meta := map[string]string{metaPlan: hash, metaShard: s.String()}
		return WriteFileAtomic(out.Partition, func(w io.Writer) error { return t.WriteParquet(w, meta) })
	}

	type result struct {
		row  Row
		wall time.Duration
	}
	jobs := make(chan int)
	results := make(chan result)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for range min(workers, max(len(todo), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				pt := &p.Points[i]
				start := time.Now()
				sum, err := runner(ctx, pt)
				if ctx.Err() != nil {
					return // cancelled: the point has no result
				}
				var sp *analysis.Summary
				if err == nil {
					sp = &sum
				}
				results <- result{rowOf(pt, sp, err, p.Attainment), time.Since(start)}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, i := range todo {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	last := time.Now()
	var werr error
	for res := range results {
		rows[res.row.Point] = res.row
		out.Ran++
		if res.row.Status != "ok" {
			out.Failed++
		}
		if opt.Progress != nil {
			opt.Progress(out.Skipped+out.Ran, out.Points, &res.row, res.wall)
		}
		if time.Since(last) >= every && werr == nil {
			werr = write()
			last = time.Now()
		}
	}
	if werr != nil {
		return out, werr
	}
	if err := write(); err != nil {
		return out, err
	}
	if err := ctx.Err(); err != nil && len(rows) < out.Points {
		return out, fmt.Errorf("sweep interrupted after %d of %d points (re-run to resume): %w", len(rows), out.Points, err)
	}
	return out, nil
}

// ProgressPrinter returns an Options.Progress that writes to w: on a
// terminal (live) one status line rewritten in place, ended when the shard
// is done; otherwise (a cluster job's log) a line per tenth of the shard.
func ProgressPrinter(w io.Writer, live bool) func(done, total int, r *Row, wall time.Duration) {
	return func(done, total int, r *Row, wall time.Duration) {
		switch {
		case live:
			fmt.Fprintf(w, "\r\033[K[%d/%d] point %d %s %v", done, total, r.Point, r.Status, wall.Round(time.Millisecond))
			if done == total {
				fmt.Fprintln(w)
			}
		case done == total || done%max(1, total/10) == 0:
			fmt.Fprintf(w, "[%d/%d] points done\n", done, total)
		}
	}
}
