package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/replay"
)

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
	p := &progress{w: ctx.App.ErrWriter, label: label, unit: unit, total: total, every: plainEvery, now: time.Now}
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
	line := experiment.ProgressLine(p.label, p.unit, done, p.total, simNs, t.Sub(p.start))
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

// count adapts the progress to a count of requests read.
func (p *progress) count() func(n int64) {
	if p == nil {
		return nil
	}
	return func(n int64) { p.update(n, 0) }
}

// done clears a terminal's live line.
func (p *progress) done() {
	if p != nil && p.tty && p.printed {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// secs formats nanoseconds as seconds for the wall-time split.
func secs(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }
