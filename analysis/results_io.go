package analysis

import (
	"errors"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// resultRow is the Parquet layout of a replay.RequestResult: one row per
// request, snake_case columns with the unit in the name. Times that never
// happened are -1, as in RequestResult.
type resultRow struct {
	ID             int64  `parquet:"id"`
	Arrival        int64  `parquet:"arrival_ns,delta"`
	FirstScheduled int64  `parquet:"first_scheduled_ns,delta"`
	FirstToken     int64  `parquet:"first_token_ns,delta"`
	Completion     int64  `parquet:"completion_ns,delta"`
	PromptTokens   int32  `parquet:"prompt_tokens"`
	OutputTokens   int32  `parquet:"output_tokens"`
	Replica        int32  `parquet:"replica"`
	Preemptions    int32  `parquet:"preemptions"`
	Status         string `parquet:"status,dict"`        // completed, unfinished or rejected
	Reason         string `parquet:"reject_reason,dict"` // why a rejected request was; empty otherwise
}

// ResultColumns are the column names of a results file, in order.
var ResultColumns = []string{"id", "arrival_ns", "first_scheduled_ns", "first_token_ns", "completion_ns",
	"prompt_tokens", "output_tokens", "replica", "preemptions", "status", "reject_reason"}

var resultKinds = []parquet.Kind{parquet.Int64, parquet.Int64, parquet.Int64, parquet.Int64, parquet.Int64,
	parquet.Int32, parquet.Int32, parquet.Int32, parquet.Int32, parquet.ByteArray, parquet.ByteArray}

// resultBatch is how many rows ResultWriter buffers before handing them to
// the Parquet writer, and resultRowGroup how many rows make a row group: the
// writer holds at most one row group's encoded pages, so memory stays
// bounded however long the run.
const (
	resultBatch    = 4096
	resultRowGroup = 1 << 16
)

// ResultWriter streams results to a Parquet file as they arrive. It
// implements replay.Sink. Close must be called to write the footer; it does
// not close the underlying writer.
type ResultWriter struct {
	pw   *parquet.GenericWriter[resultRow]
	buf  []resultRow
	rows int64
	err  error
}

// NewResultWriter returns a ResultWriter writing to w.
func NewResultWriter(w io.Writer) *ResultWriter {
	return &ResultWriter{
		pw: parquet.NewGenericWriter[resultRow](w,
			parquet.Compression(&parquet.Zstd),
			parquet.MaxRowsPerRowGroup(resultRowGroup),
			parquet.CreatedBy("lodsim", "", ""),
		),
		buf: make([]resultRow, 0, resultBatch),
	}
}

// Record implements replay.Sink.
func (rw *ResultWriter) Record(r *replay.RequestResult) error {
	if rw.err != nil {
		return rw.err
	}
	rw.buf = append(rw.buf, resultRow{
		ID: int64(r.ID), Arrival: int64(r.Arrival), FirstScheduled: int64(r.FirstScheduled), FirstToken: int64(r.FirstToken),
		Completion: int64(r.Completion), PromptTokens: r.PromptTokens, OutputTokens: r.OutputTokens,
		Replica: r.Replica, Preemptions: int32(r.Preemptions), Status: r.Status.String(), Reason: r.Reason.String(),
	})
	if len(rw.buf) == cap(rw.buf) {
		return rw.flush()
	}
	return nil
}

func (rw *ResultWriter) flush() error {
	if len(rw.buf) == 0 {
		return nil
	}
	if _, err := rw.pw.Write(rw.buf); err != nil {
		rw.err = fmt.Errorf("results: write rows %d-%d: %w", rw.rows, rw.rows+int64(len(rw.buf))-1, err)
		return rw.err
	}
	rw.rows += int64(len(rw.buf))
	rw.buf = rw.buf[:0]
	return nil
}

// Rows is the number of results recorded so far.
func (rw *ResultWriter) Rows() int64 { return rw.rows + int64(len(rw.buf)) }

// Close flushes buffered rows and writes the Parquet footer.
func (rw *ResultWriter) Close() error {
	if err := rw.flush(); err != nil {
		return err
	}
	if err := rw.pw.Close(); err != nil {
		return fmt.Errorf("results: close: %w", err)
	}
	return nil
}

// WriteResults writes results to w as one Parquet file.
func WriteResults(w io.Writer, results []replay.RequestResult) error {
	rw := NewResultWriter(w)
	for i := range results {
		if err := rw.Record(&results[i]); err != nil {
			return err
		}
	}
	return rw.Close()
}

// ErrResultsFormat is wrapped by every error ReadResults returns for a file
// that is not a valid results file.
var ErrResultsFormat = errors.New("not a lodsim results file")

// ReadResults reads a results file written by ResultWriter. Errors name the
// row (0-based, over the whole file) and column at fault.
func ReadResults(r io.ReaderAt, size int64) (out []replay.RequestResult, err error) {
	// parquet-go panics on some corrupt inputs; bad input must be an error.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: corrupt parquet: %v", ErrResultsFormat, p)
		}
	}()
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrResultsFormat, err)
	}
	schema := f.Schema()
	for i, name := range ResultColumns {
		col, ok := schema.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("%w: column %s: missing (expected columns %v)", ErrResultsFormat, name, ResultColumns)
		}
		if k := col.Node.Type().Kind(); k != resultKinds[i] {
			return nil, fmt.Errorf("%w: column %s: found type %v, expected %v", ErrResultsFormat, name, k, resultKinds[i])
		}
	}
	out = make([]replay.RequestResult, 0, f.NumRows())
	buf := make([]resultRow, resultBatch)
	var row int64
	for _, rg := range f.RowGroups() {
		rr := parquet.NewGenericRowGroupReader[resultRow](rg)
		for {
			n, rerr := rr.Read(buf)
			for i := range buf[:n] {
				res, cerr := buf[i].result()
				if cerr != nil {
					rr.Close()
					return nil, fmt.Errorf("%w: row %d: %v", ErrResultsFormat, row, cerr)
				}
				out = append(out, res)
				row++
			}
			if rerr == io.EOF {
				break
			}
			if rerr != nil {
				rr.Close()
				return nil, fmt.Errorf("%w: row %d: %v", ErrResultsFormat, row, rerr)
			}
		}
		if err := rr.Close(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrResultsFormat, err)
		}
	}
	return out, nil
}

func (r *resultRow) result() (replay.RequestResult, error) {
	var st replay.Status
	switch r.Status {
	case "completed":
		st = replay.Completed
	case "unfinished":
		st = replay.Unfinished
	case "rejected":
		st = replay.Rejected
	default:
		return replay.RequestResult{}, fmt.Errorf("column status: found %q, expected completed, unfinished or rejected", r.Status)
	}
	reason, ok := replay.ParseReason(r.Reason)
	if !ok || (reason != replay.NotRejected) != (st == replay.Rejected) {
		return replay.RequestResult{}, fmt.Errorf("column reject_reason: found %q for a %s request, expected %s", r.Reason, r.Status,
			map[bool]string{true: "exceeds_kv_capacity or exceeds_max_model_len", false: "an empty reason"}[st == replay.Rejected])
	}
	if r.Preemptions < 0 || r.Preemptions > 1<<15-1 {
		return replay.RequestResult{}, fmt.Errorf("column preemptions: found %d, expected 0..32767", r.Preemptions)
	}
	return replay.RequestResult{
		ID: trace.RequestID(r.ID), Arrival: replay.Time(r.Arrival), FirstScheduled: replay.Time(r.FirstScheduled), FirstToken: replay.Time(r.FirstToken),
		Completion: replay.Time(r.Completion), PromptTokens: r.PromptTokens, OutputTokens: r.OutputTokens,
		Replica: r.Replica, Preemptions: int16(r.Preemptions), Status: st, Reason: reason,
	}, nil
}
