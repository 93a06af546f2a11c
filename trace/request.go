package trace

import "github.com/lodsim/lodsim/trace/workload"

// The request record and the stream interfaces are defined in the
// reader-free package workload (so the simulator core links no file
// readers); trace re-exports them under their familiar names.
type (
	// RequestID identifies one request within a trace.
	RequestID = workload.RequestID
	// Request is the canonical request record every reader produces and
	// every writer consumes.
	Request = workload.Request
	// Reader streams requests in non-decreasing arrival order.
	Reader = workload.Reader
	// Reactive is implemented by sources whose future requests depend on
	// the simulated completion of earlier ones.
	Reactive = workload.Reactive
	// SliceReader serves requests from memory.
	SliceReader = workload.SliceReader
	// LengthDist describes how a synthetic token count is drawn.
	LengthDist = workload.LengthDist
)

// ErrPending is returned by a reactive Reader when its next request depends
// on the completion of a request in flight (closed-loop workloads).
var ErrPending = workload.ErrPending

// NewSliceReader returns a Reader over reqs; it does not copy the slice.
func NewSliceReader(reqs []Request) *SliceReader { return workload.NewSliceReader(reqs) }

// ReadAll drains r into a slice and closes it.
func ReadAll(r Reader) ([]Request, error) { return workload.ReadAll(r) }
