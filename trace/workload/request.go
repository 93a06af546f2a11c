package workload

import (
	"errors"
	"io"
)

// RequestID identifies one request within a trace.
type RequestID int64

// Request is the canonical request record every reader produces and every
// writer consumes. Arrival is an integer count of nanoseconds since the start
// of the trace.
type Request struct {
	ID           RequestID
	Arrival      int64 // ns since trace start
	PromptTokens int32
	OutputTokens int32
	Priority     int32    // optional; 0 when absent
	Session      string   // optional session or conversation id
	Model        string   // optional model name
	PrefixHashes []uint64 // optional prefix block hashes, one per KV block
}

// Reader streams requests in non-decreasing arrival order. Next returns
// io.EOF after the last request. A reactive source (see Reactive) may return
// ErrPending when no request is available until a running request completes.
type Reader interface {
	Next() (Request, error)
	Close() error
}

// ErrPending is returned by a reactive Reader when its next request depends on
// the completion of a request in flight (closed-loop workloads).
var ErrPending = errors.New("trace: next request pending on a completion")

// Reactive is implemented by sources whose future requests depend on the
// simulated completion of earlier ones, such as closed-loop clients.
type Reactive interface {
	// Completed reports that request id finished at simulated time at (ns).
	Completed(id RequestID, at int64)
}

// SliceReader serves requests from memory. It is meant for tests and small
// generated workloads.
type SliceReader struct {
	reqs []Request
	next int
}

// NewSliceReader returns a Reader over reqs; it does not copy the slice.
func NewSliceReader(reqs []Request) *SliceReader { return &SliceReader{reqs: reqs} }

// Next implements Reader.
func (s *SliceReader) Next() (Request, error) {
	if s.next >= len(s.reqs) {
		return Request{}, io.EOF
	}
	r := s.reqs[s.next]
	s.next++
	return r, nil
}

// Close implements Reader.
func (s *SliceReader) Close() error { return nil }

// Served is the number of requests Next has returned so far.
func (s *SliceReader) Served() int { return s.next }

// ReadAll drains r into a slice and closes it.
func ReadAll(r Reader) ([]Request, error) {
	defer r.Close()
	var out []Request
	for {
		req, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, req)
	}
}
