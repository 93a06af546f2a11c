package analysis

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/parquet-go/parquet-go"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// compareResults orders results by id, then by their times, so that the
// order is total over distinct results: sorting in memory or merging
// spilled runs gives the same bytes whatever order results arrived in.
func compareResults(a, b *replay.RequestResult) int {
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Arrival, b.Arrival); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Completion, b.Completion); c != 0 {
		return c
	}
	if c := cmp.Compare(a.FirstToken, b.FirstToken); c != 0 {
		return c
	}
	if c := cmp.Compare(a.FirstScheduled, b.FirstScheduled); c != 0 {
		return c
	}
	return cmp.Compare(a.Replica, b.Replica)
}

// spillRow is the layout of a sorted run on disk: the result's fields as
// numbers, delta-encoded where sorted.
type spillRow struct {
	ID             int64 `parquet:"id,delta"`
	Arrival        int64 `parquet:"arrival_ns"`
	FirstScheduled int64 `parquet:"first_scheduled_ns"`
	FirstToken     int64 `parquet:"first_token_ns"`
	Completion     int64 `parquet:"completion_ns"`
	PromptTokens   int32 `parquet:"prompt_tokens"`
	OutputTokens   int32 `parquet:"output_tokens"`
	Replica        int32 `parquet:"replica"`
	Preemptions    int32 `parquet:"preemptions"`
	Status         int32 `parquet:"status"`
	Reason         int32 `parquet:"reason"`
}

// resultSorter is the external merge sort behind ResultWriter: a buffer of
// up to limit results, sorted and spilled to a run file whenever it fills,
// and a k-way merge of the runs and the last buffer at the end.
type resultSorter struct {
	limit   int
	tempDir string
	buf     []replay.RequestResult
	runs    []*os.File
	spill   []spillRow
	rows    int64
}

func newResultSorter(limit int, tempDir string) *resultSorter {
	return &resultSorter{limit: limit, tempDir: tempDir}
}

func (s *resultSorter) add(r *replay.RequestResult) error {
	if len(s.buf) >= s.limit {
		if err := s.spillBuffer(); err != nil {
			return err
		}
	}
	if len(s.buf) == cap(s.buf) {
		// Double up to the limit: append grows large slices by a quarter,
		// which copies the buffer five times over on its way up.
		grown := make([]replay.RequestResult, len(s.buf), min(s.limit, max(2*cap(s.buf), resultBatch)))
		copy(grown, s.buf)
		s.buf = grown
	}
	s.buf = append(s.buf, *r)
	s.rows++
	return nil
}

// spillBuffer sorts the buffer and writes it as a new run file.
func (s *resultSorter) spillBuffer() (err error) {
	slices.SortFunc(s.buf, func(a, b replay.RequestResult) int { return compareResults(&a, &b) })
	f, err := os.CreateTemp(s.tempDir, "lodsim-results-*.run")
	if err != nil {
		return fmt.Errorf("results: sort spill: %w", err)
	}
	s.runs = append(s.runs, f) // cleanup removes it, whatever happens next
	pw := parquet.NewGenericWriter[spillRow](f, parquet.Compression(&parquet.Snappy), parquet.MaxRowsPerRowGroup(resultRowGroup))
	for start := 0; start < len(s.buf); start += resultBatch {
		batch := s.buf[start:min(start+resultBatch, len(s.buf))]
		s.spill = slices.Grow(s.spill[:0], len(batch))[:len(batch)]
		for i := range batch {
			r := &batch[i]
			s.spill[i] = spillRow{ID: int64(r.ID), Arrival: r.Arrival, FirstScheduled: r.FirstScheduled,
				FirstToken: r.FirstToken, Completion: r.Completion, PromptTokens: r.PromptTokens,
				OutputTokens: r.OutputTokens, Replica: r.Replica, Preemptions: int32(r.Preemptions),
				Status: int32(r.Status), Reason: int32(r.Reason)}
		}
		if _, err := pw.Write(s.spill); err != nil {
			return fmt.Errorf("results: sort spill %s: %w", f.Name(), err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("results: sort spill %s: %w", f.Name(), err)
	}
	s.buf = s.buf[:0]
	return nil
}

// each hands every result to fn in sorted order, resultBatch at a time.
func (s *resultSorter) each(fn func([]replay.RequestResult) error) error {
	slices.SortFunc(s.buf, func(a, b replay.RequestResult) int { return compareResults(&a, &b) })
	if len(s.runs) == 0 {
		for start := 0; start < len(s.buf); start += resultBatch {
			if err := fn(s.buf[start:min(start+resultBatch, len(s.buf))]); err != nil {
				return err
			}
		}
		return nil
	}
	cursors := make([]*runCursor, 0, len(s.runs)+1)
	for _, f := range s.runs {
		c, err := openRun(f)
		if err != nil {
			return err
		}
		defer c.close()
		cursors = append(cursors, c)
	}
	cursors = append(cursors, &runCursor{rows: s.buf})
	h := runHeap{}
	for _, c := range cursors {
		if err := c.fill(); err != nil {
			return err
		}
		if c.pos < len(c.rows) {
			h.push(c)
		}
	}
	out := make([]replay.RequestResult, 0, resultBatch)
	for len(h) > 0 {
		c := h[0]
		out = append(out, c.rows[c.pos])
		c.pos++
		if c.pos == len(c.rows) {
			if err := c.fill(); err != nil {
				return err
			}
		}
		if c.pos < len(c.rows) {
			h.fix0()
		} else {
			h.pop()
		}
		if len(out) == resultBatch {
			if err := fn(out); err != nil {
				return err
			}
			out = out[:0]
		}
	}
	if len(out) > 0 {
		return fn(out)
	}
	return nil
}

// cleanup closes and removes every run file.
func (s *resultSorter) cleanup() {
	for _, f := range s.runs {
		f.Close()
		os.Remove(f.Name())
	}
	s.runs = nil
	s.buf = nil
}

// runCursor walks one sorted run: a spilled file read a batch at a time,
// or (rd nil) the in-memory buffer.
type runCursor struct {
	rows  []replay.RequestResult
	pos   int
	rd    *parquet.GenericReader[spillRow]
	spill []spillRow
	name  string
}

func openRun(f *os.File) (*runCursor, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("results: sort merge: %w", err)
	}
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("results: sort merge %s: %w", f.Name(), err)
	}
	return &runCursor{rd: parquet.NewGenericReader[spillRow](pf), spill: make([]spillRow, 1024), name: f.Name()}, nil
}

// fill loads the next batch of a file run once the current one is used up.
func (c *runCursor) fill() error {
	if c.rd == nil || c.pos < len(c.rows) {
		return nil
	}
	n, err := c.rd.Read(c.spill)
	if err != nil && err != io.EOF {
		return fmt.Errorf("results: sort merge %s: %w", c.name, err)
	}
	c.rows, c.pos = slices.Grow(c.rows[:0], n)[:n], 0
	for i, r := range c.spill[:n] {
		c.rows[i] = replay.RequestResult{ID: trace.RequestID(r.ID), Arrival: r.Arrival, FirstScheduled: r.FirstScheduled,
			FirstToken: r.FirstToken, Completion: r.Completion, PromptTokens: r.PromptTokens,
			OutputTokens: r.OutputTokens, Replica: r.Replica, Preemptions: int16(r.Preemptions),
			Status: replay.Status(r.Status), Reason: replay.Reason(r.Reason)}
	}
	return nil
}

func (c *runCursor) close() {
	if c.rd != nil {
		c.rd.Close()
	}
}

// runHeap is a min-heap of run cursors by their current result; the heap
// is typed so the merge boxes nothing.
type runHeap []*runCursor

func (h runHeap) less(i, j int) bool {
	return compareResults(&h[i].rows[h[i].pos], &h[j].rows[h[j].pos]) < 0
}

func (h *runHeap) push(c *runCursor) {
	*h = append(*h, c)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if !s.less(i, p) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *runHeap) pop() {
	s := *h
	n := len(s) - 1
	s[0] = s[n]
	*h = s[:n]
	h.fix0()
}

// fix0 restores the heap after the top cursor advanced.
func (h runHeap) fix0() {
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h.less(l, m) {
			m = l
		}
		if r < len(h) && h.less(r, m) {
			m = r
		}
		if m == i {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
