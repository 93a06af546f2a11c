package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/replay"
)

func stdout(ctx *cli.Context) io.Writer {
	if ctx.App.Writer != nil {
		return ctx.App.Writer
	}
	return os.Stdout
}

func stderr(ctx *cli.Context) io.Writer {
	if ctx.App.ErrWriter != nil {
		return ctx.App.ErrWriter
	}
	return os.Stderr
}

// header says what is about to be simulated: version, then per config its
// model, GPU, parallelism, engine, workload and level(s) of detail.
func header(w io.Writer, cfgs []*replay.Config, lods string) {
	fmt.Fprintf(w, "%s\n", experiment.Version())
	for _, c := range cfgs {
		d := experiment.Describe(c)
		if lods != "" {
			d = strings.TrimSuffix(d, c.Simulation.LoD+" LoD") + lods + " LoD"
		}
		fmt.Fprintf(w, "%s: %s\n", c.Name, d)
	}
	fmt.Fprintln(w)
}

// progress reports a long command's advance on stderr: on a terminal a
// live line with percentage, rate and ETA, redrawn at most 10 times a
// second; otherwise a plain line every plainEvery. --quiet turns it off.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	label   string
	unit    string
	total   int64 // 0 when unknown
	start   time.Time
	last    time.Time
	every   time.Duration
	now     func() time.Time
	printed bool
}

const plainEvery = 5 * time.Second

func newProgress(ctx *cli.Context, label, unit string, total int64) *progress {
	if ctx.Bool("quiet") {
		return nil
	}
	p := &progress{w: stderr(ctx), label: label, unit: unit, total: total, every: plainEvery, now: time.Now}
	if f, ok := p.w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.every = true, 100*time.Millisecond
		}
	}
	p.start, p.last = p.now(), p.now()
	return p
}

// update reports done units (and, for simulations, the simulated time).
func (p *progress) update(done int64, simNs int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.now()
	if t.Sub(p.last) < p.every {
		return
	}
	p.last = t
	el := t.Sub(p.start).Seconds()
	line := fmt.Sprintf("%s: %d %s", p.label, done, p.unit)
	if p.total > 0 {
		line = fmt.Sprintf("%s: %d/%d %s (%.0f%%)", p.label, done, p.total, p.unit, 100*float64(done)/float64(p.total))
	}
	if simNs > 0 {
		line += fmt.Sprintf(", %.1f s simulated", float64(simNs)/1e9)
	}
	if el > 0 {
		rate := float64(done) / el
		line += fmt.Sprintf(", %.0f %s/s", rate, p.unit)
		if p.total > 0 && rate > 0 && done < p.total {
			line += fmt.Sprintf(", ETA %v", time.Duration(float64(p.total-done)/rate*1e9).Round(time.Second))
		}
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.printed = true
}

// sim adapts the progress to a simulation's callback.
func (p *progress) sim() experiment.Progress {
	if p == nil {
		return nil
	}
	return func(now replay.Time, finished int64) { p.update(finished, int64(now)) }
}

// done clears a terminal's live line.
func (p *progress) done() {
	if p != nil && p.tty && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// secs formats nanoseconds as seconds for the wall-time split.
func secs(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }
