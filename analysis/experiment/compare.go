package experiment

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"sync"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/replay"
)

// Comparison runs configurations at several levels of detail and compares
// each with the reference.
type Comparison struct {
	Configs []*replay.Config
	LoDs    []string // levels of detail, the reference first
	Out     string   // compare directory
	// RunFigures and IndexFigures, when set, draw the figures written into
	// each run directory and beside the index (package plots/report).
	RunFigures   func(run *analysis.Run) ([]rundir.Extra, error)
	IndexFigures func(sw *analysis.Sweep) ([]rundir.Extra, error)
	// Progress, when set, gives the progress callback of one run.
	Progress func(e *Experiment) Progress
	// Done, when set, is called after each run is committed, and after
	// each repetition with dir empty.
	Done func(run *analysis.Run, dir string)
	// Repeat is how many times each configuration runs at each level of
	// detail (0 or 1: once). The first run is committed; the others are
	// timed only, back to back in the same order, and every comparison
	// then carries the wall times of all (analysis.Comparison.Walls), so
	// figure 2 shows the median speed-up with its range rather than one
	// run's figure, which swings with the machine's load.
	Repeat int
}

// Run validates every configuration at every level of detail before it
// writes anything, removes the previous index of Out, runs each
// configuration (the reference last: peak RSS is a high-water mark of the
// process, so running the cheaper levels first keeps their figure their
// own), commits one run directory per simulation, and writes the index
// last. A failure leaves no index, so the directory is never read as a
// comparison it is not.
func (cmp *Comparison) Run() (*analysis.Sweep, error) {
	if len(cmp.Configs) == 0 {
		return nil, errors.New("compare: no configuration")
	}
	if len(cmp.LoDs) < 2 {
		return nil, errors.New("compare: need a reference and at least one other level of detail")
	}
	if cmp.Repeat < 0 || cmp.Repeat > MaxRepeat {
		return nil, fmt.Errorf("compare: repeat %d: want 1 to %d runs of each configuration", cmp.Repeat, MaxRepeat)
	}
	seen := map[string]bool{}
	exps := make([][]*Experiment, len(cmp.Configs))
	var errs []error
	for i, c := range cmp.Configs {
		if seen[c.Name] {
			return nil, fmt.Errorf("two configurations are named %q; give each a distinct name", c.Name)
		}
		seen[c.Name] = true
		base, err := New(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, l := range cmp.LoDs {
			e, err := base.WithLoD(l)
			if err != nil {
				errs = append(errs, err)
				break
			}
			exps[i] = append(exps[i], e)
		}
	}
	errs = append(errs, rundir.CheckDir(cmp.Out))
	if err := errors.Join(errs...); err != nil {
		return nil, rundir.Input(err) // the configurations or --out: nothing ran
	}
	if err := rundir.RemoveIndex(cmp.Out); err != nil {
		return nil, err
	}
	sw := &analysis.Sweep{SLO: SLOOf(cmp.Configs[0]), Runs: map[string]string{}}
	for _, row := range exps {
		runs := make([]*analysis.Run, len(row))
		for k := range row {
			i := (k + 1) % len(row)
			run, err := cmp.runOne(row[i], sw)
			if err != nil {
				return nil, err
			}
			runs[i] = run
			debug.FreeOSMemory() // return the last run's garbage before the next one
		}
		walls, err := cmp.repeat(row, runs)
		if err != nil {
			return nil, err
		}
		for k, other := range runs[1:] {
			c := analysis.Compare(runs[0], other)
			if walls != nil {
				c.Walls = &analysis.WallTimes{Label: c.Label, RefLoD: c.RefLoD, LoD: c.LoD, RefNs: walls[0], Ns: walls[k+1]}
			}
			sw.Comparisons = append(sw.Comparisons, c)
		}
	}
	var figs []rundir.Extra
	if cmp.IndexFigures != nil {
		var err error
		if figs, err = cmp.IndexFigures(sw); err != nil {
			return nil, err
		}
	}
	if err := rundir.WriteIndex(cmp.Out, sw, figs...); err != nil {
		return nil, err
	}
	return sw, nil
}

// MaxRepeat bounds Comparison.Repeat.
const MaxRepeat = 100

// repeat runs the Repeat-1 extra repetitions of one configuration's
// experiments (row, in the committed runs' order) and returns each level's
// wall times, the committed run's first; nil when Repeat is at most 1.
func (cmp *Comparison) repeat(row []*Experiment, runs []*analysis.Run) ([][]int64, error) {
	if cmp.Repeat <= 1 {
		return nil, nil
	}
	walls := make([][]int64, len(row))
	for i, r := range runs {
		walls[i] = append(make([]int64, 0, cmp.Repeat), r.WallNs)
	}
	for range cmp.Repeat - 1 {
		for k := range row {
			i := (k + 1) % len(row)
			var progress Progress
			if cmp.Progress != nil {
				progress = cmp.Progress(row[i])
			}
			run, err := row[i].Collect(progress)
			if err != nil {
				return nil, err
			}
			walls[i] = append(walls[i], run.WallNs)
			if cmp.Done != nil {
				cmp.Done(run, "")
			}
			debug.FreeOSMemory()
		}
	}
	return walls, nil
}

func (cmp *Comparison) runOne(e *Experiment, sw *analysis.Sweep) (*analysis.Run, error) {
	var progress Progress
	if cmp.Progress != nil {
		progress = cmp.Progress(e)
	}
	run, err := e.Collect(progress)
	if err != nil {
		return nil, err
	}
	var figs []rundir.Extra
	if cmp.RunFigures != nil {
		if figs, err = cmp.RunFigures(run); err != nil {
			return nil, err
		}
	}
	name := rundir.FileSafe(run.Name())
	dir := filepath.Join(cmp.Out, name)
	if err := rundir.Write(dir, run, figs...); err != nil {
		return nil, err
	}
	sw.Runs[name] = run.ID
	if cmp.Done != nil {
		cmp.Done(run, dir)
	}
	return run, nil
}

// CollectAll runs every experiment, workers at a time (0: one per
// experiment), each in its own goroutine and each single-threaded and
// deterministic, and returns the runs in the order of exps. The first
// error (in exps order) is returned with every other one joined.
func CollectAll(exps []*Experiment, workers int) ([]*analysis.Run, error) {
	runs := make([]*analysis.Run, len(exps))
	errs := make([]error, len(exps))
	Parallel(len(exps), workers, func(i int) { runs[i], errs[i] = exps[i].Collect(nil) })
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return runs, nil
}

// Parallel calls fn(i) for i in [0, n), workers at a time (0: all at
// once), each call in its own goroutine, and returns when all are done.
// Results written by fn to distinct slots of a slice are in input order
// whatever the number of workers.
func Parallel(n, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = n
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
