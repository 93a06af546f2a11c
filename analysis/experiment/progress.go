package experiment

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lodsim/lodsim/replay"
)

// ProgressLine describes a long job's advance in one line: units done (of
// total, with the share, when known), simulated time (when simNs > 0), the
// rate over elapsed and, with a total, the time left at that rate.
func ProgressLine(label, unit string, done, total, simNs int64, elapsed time.Duration) string {
	line := fmt.Sprintf("%s: %d %s", label, done, unit)
	if total > 0 {
		line = fmt.Sprintf("%s: %d/%d %s (%.0f%%)", label, done, total, unit, 100*float64(done)/float64(total))
	}
	if simNs > 0 {
		line += fmt.Sprintf(", %.1f s simulated", float64(simNs)/1e9)
	}
	if el := elapsed.Seconds(); el > 0 {
		rate := float64(done) / el
		line += fmt.Sprintf(", %.0f %s/s", rate, unit)
		if total > 0 && rate > 0 && done < total {
			line += fmt.Sprintf(", ETA %v", time.Duration(float64(total-done)/rate*1e9).Round(time.Second))
		}
	}
	return line
}

// Header says what is about to be simulated: the lodsim version, then per
// configuration its model, GPU, parallelism, engine, workload and level of
// detail (lods, when not "", replaces the configured one).
func Header(cfgs []*replay.Config, lods string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", Version())
	for _, c := range cfgs {
		d := Describe(c)
		if lods != "" {
			d = strings.TrimSuffix(d, string(c.Simulation.LoD)+" LoD") + lods + " LoD"
		}
		fmt.Fprintf(&b, "%s: %s\n", c.Name, d)
	}
	return b.String() + "\n"
}

// Meter reports a long command's advance on w: on a terminal a live line
// with percentage, rate and ETA (ProgressLine), redrawn at most 10 times a
// second; otherwise a plain line every PlainEvery. A nil *Meter reports
// nothing, so a quiet command passes nil.
type Meter struct {
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

// PlainEvery is how often a Meter writing to a non-terminal prints.
const PlainEvery = 5 * time.Second

// NewMeter reports label's advance in unit (of total, 0 when unknown) on w.
func NewMeter(w io.Writer, label, unit string, total int64) *Meter {
	m := &Meter{w: w, label: label, unit: unit, total: total, every: PlainEvery, now: time.Now}
	if IsTerminal(w) {
		m.tty, m.every = true, 100*time.Millisecond
	}
	m.start, m.last = m.now(), m.now()
	return m
}

// Update reports done units (and, for simulations, the simulated time).
func (m *Meter) Update(done int64, simNs int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.now()
	if t.Sub(m.last) < m.every {
		return
	}
	m.last = t
	line := ProgressLine(m.label, m.unit, done, m.total, simNs, t.Sub(m.start))
	if m.tty {
		fmt.Fprintf(m.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(m.w, line)
	}
	m.printed = true
}

// Sim adapts the meter to a simulation's callback.
func (m *Meter) Sim() Progress {
	if m == nil {
		return nil
	}
	return func(now replay.Time, finished int64) { m.Update(finished, int64(now)) }
}

// Count adapts the meter to a count of requests read.
func (m *Meter) Count() func(n int64) {
	if m == nil {
		return nil
	}
	return func(n int64) { m.Update(n, 0) }
}

// Done clears a terminal's live line.
func (m *Meter) Done() {
	if m != nil && m.tty && m.printed {
		fmt.Fprint(m.w, "\r\033[K")
	}
}

// IsTerminal reports whether w is a terminal (progress redraws one line).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
