package tabular

import (
	"sync/atomic"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

// limitAllocator is an Arrow allocator that refuses to hold more than limit
// bytes at once. Arrow's allocator interface has no error result, so a
// refusal panics with the *LimitError; the reader recovers it and reports
// the error it kept.
type limitAllocator struct {
	mem   memory.Allocator
	live  atomic.Int64
	limit int64
	err   atomic.Pointer[LimitError]
}

func newLimitAllocator(limit int64) *limitAllocator {
	return &limitAllocator{mem: memory.NewGoAllocator(), limit: limit}
}

func (a *limitAllocator) reserve(n int64) {
	if n < 0 {
		return
	}
	if live := a.live.Add(n); live > a.limit {
		a.live.Add(-n)
		e := &LimitError{What: "Arrow record batch memory", Found: live, Limit: a.limit, Field: "DecodedBytes"}
		a.err.CompareAndSwap(nil, e)
		panic(e)
	}
}

func (a *limitAllocator) Allocate(size int) []byte {
	a.reserve(int64(size))
	return a.mem.Allocate(size)
}

func (a *limitAllocator) Reallocate(size int, b []byte) []byte {
	a.reserve(int64(size) - int64(len(b)))
	if d := int64(len(b)) - int64(size); d > 0 {
		a.live.Add(-d)
	}
	return a.mem.Reallocate(size, b)
}

func (a *limitAllocator) Free(b []byte) {
	a.live.Add(-int64(len(b)))
	a.mem.Free(b)
}

// exceeded returns the limit error a refusal raised, if any.
func (a *limitAllocator) exceeded() *LimitError { return a.err.Load() }
