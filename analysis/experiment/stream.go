package experiment

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/replay"
)

// WriteRun runs the experiment and commits its run directory dir as a unit.
// Results stream to results.parquet as requests finish and into a
// streaming summary, so memory follows the requests in flight plus 32 bytes
// of latencies per request, whatever the workload's length. dir is checked
// before the simulation starts; on failure nothing is left behind. The
// returned timing's RecordNs includes writing the directory.
func (e *Experiment) WriteRun(dir string, progress Progress) (*analysis.Run, Timing, error) {
	w, err := rundir.Create(dir)
	if err != nil {
		return nil, Timing{}, err
	}
	defer w.Abort()
	f, err := w.Results()
	if err != nil {
		return nil, Timing{}, err
	}
	rp, err := e.ResultsProvenance()
	if err != nil {
		f.Close()
		return nil, Timing{}, err
	}
	rw := analysis.NewResultWriter(f, analysis.WithProvenance(rp), analysis.WithSortBuffer(analysis.DefaultSortRows, w.Staging()))
	sum := analysis.NewSummarizer(e.SLO())
	st, t, err := e.Run(teeSink{rw, sum}, progress)
	if err != nil {
		f.Close()
		return nil, t, err
	}
	start := time.Now()
	if err := rw.Close(); err != nil {
		f.Close()
		return nil, t, fmt.Errorf("write %s: %w", filepath.Join(dir, rundir.ResultsFile), err)
	}
	if err := f.Close(); err != nil {
		return nil, t, err
	}
	run := e.NewRun(st, t.WallNs)
	run.Summary = sum.Summary(st)
	run.Summary.WallS = float64(t.WallNs) / 1e9
	if err := w.Commit(run); err != nil {
		return nil, t, err
	}
	t.RecordNs += time.Since(start).Nanoseconds()
	return run, t, nil
}

// teeSink records each result into both sinks.
type teeSink struct{ a, b replay.Sink }

func (t teeSink) Record(r *replay.RequestResult) error {
	if err := t.a.Record(r); err != nil {
		return err
	}
	return t.b.Record(r)
}
