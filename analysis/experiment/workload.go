package experiment

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lodsim/lodsim/trace"
)

// Transforms select and reshape a workload read from a trace, in the
// syntax of the trace convert flags: by model, then a window of arrivals
// (shifted back to 0 unless KeepOffset), then a rate factor, a seeded
// random sample and the first Head requests.
type Transforms struct {
	Model      string
	Window     string // START:END in seconds after the first request; either may be empty
	KeepOffset bool
	Scale      *float64 // arrival rate factor; nil leaves the rate alone
	Sample     *float64 // keep probability; nil keeps every request
	Seed       uint64   // of the sample
	Head       *int64   // keep the first N; nil keeps all
}

// Apply wraps r in the transforms, checking every value first.
func (t Transforms) Apply(r trace.Reader) (trace.Reader, error) {
	if m := t.Model; m != "" {
		r = trace.FilterModel(r, m)
	}
	if w := t.Window; w != "" {
		start, end, err := ParseWindow(w)
		if err != nil {
			return nil, err
		}
		r = trace.Window(r, start, end)
		if !t.KeepOffset {
			r = trace.ShiftToZero(r)
		}
	}
	if t.Scale != nil {
		f := *t.Scale
		if !(f > 0 && f < 1e9) {
			return nil, fmt.Errorf("--scale %v: expected a rate factor above 0 and below 1e9", f)
		}
		r = trace.Scale(r, f)
	}
	if t.Sample != nil {
		f := *t.Sample
		if !(f >= 0 && f <= 1) {
			return nil, fmt.Errorf("--sample %v: expected a probability in [0, 1]", f)
		}
		r = trace.Sample(r, f, t.Seed)
	}
	if t.Head != nil {
		if *t.Head < 0 {
			return nil, fmt.Errorf("--head %d: expected a number of requests >= 0", *t.Head)
		}
		r = trace.Head(r, *t.Head)
	}
	return r, nil
}

// ParseWindow reads START:END in seconds; an empty side is unbounded.
func ParseWindow(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("--window %q: expected START:END in seconds", s)
	}
	start, end := int64(0), int64(math.MaxInt64)
	for _, p := range []struct {
		text string
		dst  *int64
	}{{a, &start}, {b, &end}} {
		if strings.TrimSpace(p.text) == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(p.text), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 9e9 {
			return 0, 0, fmt.Errorf("--window %q: %q is not a number of seconds >= 0", s, p.text)
		}
		*p.dst = int64(math.Round(v * 1e9))
	}
	if end <= start {
		return 0, 0, fmt.Errorf("--window %q: expected START < END", s)
	}
	return start, end, nil
}

// ParseLengthDist reads a token-length distribution in the syntax of the
// trace synth flags: fixed:N, normal:MEAN,STD, lognormal:MEAN,STD or the
// name of an embedded length distribution (its prompt or output column).
func ParseLengthDist(s string, prompt bool) (trace.LengthDist, error) {
	kind, args, _ := strings.Cut(s, ":")
	nums := func(want int) ([]float64, error) {
		parts := strings.Split(args, ",")
		if args == "" || len(parts) != want {
			return nil, fmt.Errorf("%q: expected %s:%s", s, kind, map[int]string{1: "N", 2: "MEAN,STD"}[want])
		}
		out := make([]float64, want)
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %q is not a number", s, p)
			}
			out[i] = v
		}
		return out, nil
	}
	switch kind {
	case "fixed":
		v, err := nums(1)
		if err != nil {
			return trace.LengthDist{}, err
		}
		return trace.LengthDist{Kind: "fixed", Mean: v[0]}, nil
	case "normal", "lognormal":
		v, err := nums(2)
		if err != nil {
			return trace.LengthDist{}, err
		}
		return trace.LengthDist{Kind: kind, Mean: v[0], Std: v[1]}, nil
	}
	p, o, err := trace.EmbeddedLengths(s)
	if err != nil {
		return trace.LengthDist{}, fmt.Errorf("%q: expected fixed:N, normal:MEAN,STD, lognormal:MEAN,STD or one of %s", s, strings.Join(trace.EmbeddedLengthNames(), ", "))
	}
	if prompt {
		return trace.LengthDist{Kind: "empirical", Values: p}, nil
	}
	return trace.LengthDist{Kind: "empirical", Values: o}, nil
}

// Counted calls report with the number of requests read so far every 4096
// requests, for progress reports; trace.ProblemsOf sees through it.
func Counted(r trace.Reader, report func(n int64)) trace.Reader {
	if report == nil {
		return r
	}
	return &countingReader{Reader: r, report: report}
}

type countingReader struct {
	trace.Reader
	report func(n int64)
	n      int64
}

// Unwrap lets trace.ProblemsOf see the reader underneath.
func (c *countingReader) Unwrap() trace.Reader { return c.Reader }

func (c *countingReader) Next() (trace.Request, error) {
	req, err := c.Reader.Next()
	if err == nil {
		if c.n++; c.n&0xfff == 0 {
			c.report(c.n)
		}
	}
	return req, err
}

// Synth is an open-loop synthetic trace in the syntax of the trace synth
// flags: prompt and output lengths as ParseLengthDist reads them, and
// Count requests or Duration (nil when not given) of arrivals, or both.
type Synth struct {
	Arrival        string
	Rate, CV       float64
	Prompt, Output string
	Count          int64
	Duration       *time.Duration
	Seed           uint64
}

// Reader checks every value and returns the synthetic trace.
func (s Synth) Reader() (trace.Reader, error) {
	prompt, err := ParseLengthDist(s.Prompt, true)
	if err != nil {
		return nil, fmt.Errorf("--prompt: %w", err)
	}
	output, err := ParseLengthDist(s.Output, false)
	if err != nil {
		return nil, fmt.Errorf("--output: %w", err)
	}
	switch {
	case s.Count < 0:
		return nil, fmt.Errorf("--count %d: expected a positive number of requests", s.Count)
	case s.Count == 0 && s.Duration == nil:
		return nil, fmt.Errorf("trace synth: give --count N or --duration D (or both)")
	case !(s.Rate > 0):
		return nil, fmt.Errorf("--rate %v: expected a positive number of requests per second", s.Rate)
	}
	syn := trace.Synthetic{Arrival: s.Arrival, Rate: s.Rate, CV: s.CV, Prompt: prompt, Output: output, Count: s.Count, Seed: s.Seed}
	if s.Duration != nil {
		syn.Duration = int64(*s.Duration)
	}
	return trace.NewSynthetic(syn)
}
