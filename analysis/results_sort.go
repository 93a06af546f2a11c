package analysis

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

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

// spillLen is the size of one result in a run file: its fields as
// fixed-width little-endian integers (ID, the four times, prompt and output
// tokens, replica, preemptions, status, reason, then the disaggregated
// cluster's prefill and decode workers and transfer times). Raw records
// cost 88 bytes of disk a result against some 35 for a Parquet run, and
// halve the CPU time of a spilling write (BenchmarkResultWriterSpill).
const spillLen = 5*8 + 3*4 + 2 + 1 + 1 + 2*4 + 2*8 + 8

func putSpill(b []byte, r *replay.RequestResult) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], uint64(r.ID))
	le.PutUint64(b[8:], uint64(r.Arrival))
	le.PutUint64(b[16:], uint64(r.FirstScheduled))
	le.PutUint64(b[24:], uint64(r.FirstToken))
	le.PutUint64(b[32:], uint64(r.Completion))
	le.PutUint32(b[40:], uint32(r.PromptTokens))
	le.PutUint32(b[44:], uint32(r.OutputTokens))
	le.PutUint32(b[48:], uint32(r.Replica))
	le.PutUint16(b[52:], uint16(r.Preemptions))
	b[54], b[55] = byte(r.Status), byte(r.Reason)
	le.PutUint32(b[56:], uint32(r.PrefillWorker))
	le.PutUint32(b[60:], uint32(r.DecodeWorker))
	le.PutUint64(b[64:], uint64(r.TransferStart))
	le.PutUint64(b[72:], uint64(r.TransferEnd))
	b[80] = 0
	if r.Disaggregated {
		b[80] = 1
	}
}

func getSpill(b []byte) replay.RequestResult {
	le := binary.LittleEndian
	return replay.RequestResult{ID: trace.RequestID(le.Uint64(b[0:])), Arrival: replay.Time(le.Uint64(b[8:])),
		FirstScheduled: replay.Time(le.Uint64(b[16:])), FirstToken: replay.Time(le.Uint64(b[24:])), Completion: replay.Time(le.Uint64(b[32:])),
		PromptTokens: int32(le.Uint32(b[40:])), OutputTokens: int32(le.Uint32(b[44:])), Replica: int32(le.Uint32(b[48:])),
		Preemptions: int16(le.Uint16(b[52:])), Status: replay.Status(b[54]), Reason: replay.Reason(b[55]),
		PrefillWorker: int32(le.Uint32(b[56:])), DecodeWorker: int32(le.Uint32(b[60:])),
		TransferStart: replay.Time(le.Uint64(b[64:])), TransferEnd: replay.Time(le.Uint64(b[72:])), Disaggregated: b[80] == 1}
}

// resultSorter is the external merge sort behind ResultWriter: a buffer of
// up to limit results, sorted and spilled to a run file whenever it fills,
// and a k-way merge of the runs and the last buffer at the end.
type resultSorter struct {
	limit   int
	tempDir string
	buf     []replay.RequestResult
	runs    []*os.File
	rows    int64
	disagg  bool // some result went through a disaggregated cluster
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
	s.disagg = s.disagg || r.Disaggregated
	return nil
}

// spillBuffer sorts the buffer and writes it as a new run file.
func (s *resultSorter) spillBuffer() error {
	slices.SortFunc(s.buf, func(a, b replay.RequestResult) int { return compareResults(&a, &b) })
	f, err := os.CreateTemp(s.tempDir, "lodsim-results-*.run")
	if err != nil {
		return fmt.Errorf("results: sort spill: %w", err)
	}
	s.runs = append(s.runs, f) // cleanup removes it, whatever happens next
	w := bufio.NewWriterSize(f, 1<<16)
	var rec [spillLen]byte
	for i := range s.buf {
		putSpill(rec[:], &s.buf[i])
		if _, err := w.Write(rec[:]); err != nil {
			return fmt.Errorf("results: sort spill %s: %w", f.Name(), err)
		}
	}
	if err := w.Flush(); err != nil {
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
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("results: sort merge %s: %w", f.Name(), err)
		}
		cursors = append(cursors, &runCursor{rd: bufio.NewReaderSize(f, 1<<16), name: f.Name()})
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
	rows []replay.RequestResult
	pos  int
	rd   *bufio.Reader
	rec  [spillLen]byte
	name string
}

// fill loads the next batch of a file run once the current one is used up.
func (c *runCursor) fill() error {
	if c.rd == nil || c.pos < len(c.rows) {
		return nil
	}
	c.rows, c.pos = c.rows[:0], 0
	for len(c.rows) < 1024 {
		if _, err := io.ReadFull(c.rd, c.rec[:]); err == io.EOF {
			break
		} else if err != nil {
			return fmt.Errorf("results: sort merge %s: %w", c.name, err)
		}
		c.rows = append(c.rows, getSpill(c.rec[:]))
	}
	return nil
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
