package trace

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
)

// Transforms wrap a Reader and return one; they compose, and each reads its
// source lazily, one request at a time. Closing a transform closes its
// source. Errors from the source (ErrPending included) pass through.

// filter is the common shape of a transform: keep decides, per request,
// whether to pass it on (possibly changed) and whether to stop.
type filter struct {
	src  Reader
	keep func(q *Request) (pass, stop bool)
	err  error
}

func (f *filter) Next() (Request, error) {
	if f.err != nil {
		return Request{}, f.err
	}
	for {
		q, err := f.src.Next()
		if err != nil {
			return q, err
		}
		pass, stop := f.keep(&q)
		if stop {
			f.err = io.EOF
			return Request{}, io.EOF
		}
		if pass {
			return q, nil
		}
	}
}

func (f *filter) Close() error   { return f.src.Close() }
func (f *filter) Unwrap() Reader { return f.src }

// failing is a Reader that reports a configuration error on first use.
type failing struct {
	src Reader
	err error
}

func (f failing) Next() (Request, error) { return Request{}, f.err }
func (f failing) Close() error           { return f.src.Close() }
func (f failing) Unwrap() Reader         { return f.src }

// Window keeps the requests arriving in [startNs, endNs) and stops reading
// at the first arrival at or after endNs. Arrivals are not shifted; compose
// with ShiftToZero for that.
func Window(r Reader, startNs, endNs int64) Reader {
	if endNs <= startNs {
		return failing{r, fmt.Errorf("trace: window [%d, %d) ns: expected start < end", startNs, endNs)}
	}
	return &filter{src: r, keep: func(q *Request) (bool, bool) {
		if q.Arrival >= endNs {
			return false, true
		}
		return q.Arrival >= startNs, false
	}}
}

// Scale divides arrival times by factor, rounding to the nanosecond: factor 2
// replays the trace twice as fast (double the rate), 0.5 half as fast.
func Scale(r Reader, factor float64) Reader {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return failing{r, fmt.Errorf("trace: scale factor %v: expected a positive finite number", factor)}
	}
	return &scaled{src: r, factor: factor}
}

// scaled is Scale's Reader: a scaled arrival that int64 nanoseconds cannot
// hold ends the stream with an error instead of wrapping negative.
type scaled struct {
	src    Reader
	factor float64
	err    error
}

func (s *scaled) Next() (Request, error) {
	if s.err != nil {
		return Request{}, s.err
	}
	q, err := s.src.Next()
	if err != nil {
		return q, err
	}
	v := math.Round(float64(q.Arrival) / s.factor)
	// ±2^63 are exactly representable; -2^63 itself fits.
	if !(v < 9.223372036854775807e18 && v >= -9.223372036854775807e18) {
		s.err = fmt.Errorf("trace: scale factor %v: request %d's arrival %d ns becomes %.3g ns, beyond the 292 years int64 nanoseconds hold: expected a larger factor", s.factor, q.ID, q.Arrival, v)
		return Request{}, s.err
	}
	q.Arrival = int64(v)
	return q, nil
}

func (s *scaled) Close() error   { return s.src.Close() }
func (s *scaled) Unwrap() Reader { return s.src }

// Head keeps the first n requests.
func Head(r Reader, n int64) Reader {
	if n < 0 {
		return failing{r, fmt.Errorf("trace: head %d: expected a number of requests >= 0", n)}
	}
	var seen int64
	return &filter{src: r, keep: func(q *Request) (bool, bool) {
		if seen >= n {
			return false, true
		}
		seen++
		return true, false
	}}
}

// Sample keeps each request independently with probability fraction, drawn
// from a PCG generator seeded with seed: the same seed keeps the same
// requests.
func Sample(r Reader, fraction float64, seed uint64) Reader {
	if !(fraction >= 0 && fraction <= 1) {
		return failing{r, fmt.Errorf("trace: sample fraction %v: expected a number in [0, 1]", fraction)}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5))
	return &filter{src: r, keep: func(q *Request) (bool, bool) {
		return rng.Float64() < fraction, false
	}}
}

// FilterModel keeps the requests whose Model is model.
func FilterModel(r Reader, model string) Reader {
	return &filter{src: r, keep: func(q *Request) (bool, bool) {
		return q.Model == model, false
	}}
}

// DropFailed drops requests with zero output tokens, which BurstGPT uses
// for failed requests.
func DropFailed(r Reader) Reader {
	return &filter{src: r, keep: func(q *Request) (bool, bool) {
		return q.OutputTokens > 0, false
	}}
}

// ShiftToZero subtracts the first request's arrival from every arrival. An
// arrival before the first (an unsorted source) or a difference beyond
// int64 ends the stream with an error.
func ShiftToZero(r Reader) Reader { return &shifted{src: r, first: true} }

type shifted struct {
	src   Reader
	first bool
	base  int64
	err   error
}

func (s *shifted) Next() (Request, error) {
	if s.err != nil {
		return Request{}, s.err
	}
	q, err := s.src.Next()
	if err != nil {
		return q, err
	}
	if s.first {
		s.base, s.first = q.Arrival, false
	}
	d, ok := subInt64(q.Arrival, s.base)
	if !ok || d < 0 {
		s.err = fmt.Errorf("trace: shift to zero: request %d arrives at %d ns, before or too far from the first request's %d ns: expected arrivals in order within 292 years", q.ID, q.Arrival, s.base)
		return Request{}, s.err
	}
	q.Arrival = d
	return q, nil
}

func (s *shifted) Close() error   { return s.src.Close() }
func (s *shifted) Unwrap() Reader { return s.src }

// ProblemsOf returns what the file reader under r (through any transforms)
// skipped under Options.SkipInvalid; false when r is not a file reader.
func ProblemsOf(r Reader) (Problems, bool) {
	for r != nil {
		if fr, ok := r.(*fileReader); ok {
			return fr.Problems(), true
		}
		u, ok := r.(interface{ Unwrap() Reader })
		if !ok {
			return Problems{}, false
		}
		r = u.Unwrap()
	}
	return Problems{}, false
}
