package analysis

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// resultRow is the Parquet layout of a replay.RequestResult: one row per
// request, snake_case columns with the unit in the name (the schema is
// documented in RESULTS.md). Raw times that never happened are -1, as in
// RequestResult; the derived durations are null instead, so that SQL
// aggregates skip them. The duration pointers point into an encoder-owned
// array, so building a row allocates nothing.
type resultRow struct {
	ID             int64  `parquet:"id,delta"`
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
	TTFT           *int64 `parquet:"ttft_ns,optional"`   // first_token_ns - arrival_ns
	TPOT           *int64 `parquet:"tpot_ns,optional"`   // (completion_ns - first_token_ns) / (output_tokens - 1), rounded
	E2E            *int64 `parquet:"e2e_ns,optional"`    // completion_ns - arrival_ns
	Queue          *int64 `parquet:"queue_ns,optional"`  // first_scheduled_ns - arrival_ns
}

// disaggRow is the layout of a run on a disaggregated cluster (replay's
// cluster.disaggregated): resultRow's columns, then the request's prefill
// and decode workers (-1 for a stage it did not reach) and its KV transfer
// (raw times -1 when it did not happen; the duration null).
type disaggRow struct {
	resultRow
	PrefillWorker int32  `parquet:"prefill_worker"`
	DecodeWorker  int32  `parquet:"decode_worker"`
	TransferStart int64  `parquet:"transfer_start_ns,delta"`
	TransferEnd   int64  `parquet:"transfer_end_ns,delta"`
	Transfer      *int64 `parquet:"transfer_ns,optional"` // transfer_end_ns - transfer_start_ns
}

// DisaggColumns are the columns a results file of a disaggregated run has
// after the durations.
var DisaggColumns = []string{"prefill_worker", "decode_worker", "transfer_start_ns", "transfer_end_ns", "transfer_ns"}

// rawDisaggRow is what ReadResults decodes from a file with DisaggColumns.
type rawDisaggRow struct {
	rawRow
	PrefillWorker int32 `parquet:"prefill_worker"`
	DecodeWorker  int32 `parquet:"decode_worker"`
	TransferStart int64 `parquet:"transfer_start_ns"`
	TransferEnd   int64 `parquet:"transfer_end_ns"`
}

// rawRow is what ReadResults decodes: the raw columns only, since the
// durations follow from them (and files written before they existed still
// read).
type rawRow struct {
	ID             int64  `parquet:"id"`
	Arrival        int64  `parquet:"arrival_ns"`
	FirstScheduled int64  `parquet:"first_scheduled_ns"`
	FirstToken     int64  `parquet:"first_token_ns"`
	Completion     int64  `parquet:"completion_ns"`
	PromptTokens   int32  `parquet:"prompt_tokens"`
	OutputTokens   int32  `parquet:"output_tokens"`
	Replica        int32  `parquet:"replica"`
	Preemptions    int32  `parquet:"preemptions"`
	Status         string `parquet:"status"`
	Reason         string `parquet:"reject_reason"`
}

// ResultColumns are the raw column names of a results file, in order; every
// results file has them.
var ResultColumns = []string{"id", "arrival_ns", "first_scheduled_ns", "first_token_ns", "completion_ns",
	"prompt_tokens", "output_tokens", "replica", "preemptions", "status", "reject_reason"}

// ResultDurationColumns are the derived per-request durations that follow
// the raw columns, in nanoseconds, null where undefined.
var ResultDurationColumns = []string{"ttft_ns", "tpot_ns", "e2e_ns", "queue_ns"}

var resultKinds = []parquet.Kind{parquet.Int64, parquet.Int64, parquet.Int64, parquet.Int64, parquet.Int64,
	parquet.Int32, parquet.Int32, parquet.Int32, parquet.Int32, parquet.ByteArray, parquet.ByteArray}

// Metadata keys every results file carries besides the caller's.
const (
	// MetaSchema names the layout version: "lodsim.results/2" has the
	// duration columns and rows sorted by id.
	MetaSchema = "lodsim.schema"
	// MetaArrowSchema is the Arrow schema Arrow-based readers (pyarrow,
	// Polars, arrow-rs) apply to the columns: it types the durations as
	// duration[ns], which Parquet itself has no logical type for.
	MetaArrowSchema = "ARROW:schema"
	resultsSchemaV2 = "lodsim.results/2"
)

// resultBatch is how many rows ResultWriter hands the Parquet writer at a
// time, and resultRowGroup how many rows make a row group: the Parquet
// writer holds at most one row group's encoded pages.
const (
	resultBatch    = 4096
	resultRowGroup = 1 << 16
)

// ResultsProvenance is what a results file says about the run that made it.
// Version and Build form Parquet's created_by field, "lodsim version
// VERSION (build BUILD)"; Metadata becomes the file's key-value metadata,
// e.g. lodsim_version, config_hash, model, gpu, engine, seed, run_id.
type ResultsProvenance struct {
	Version  string            // lodsim module version, e.g. "v0.4.0" or "(devel)"
	Build    string            // VCS revision, possibly with a "-dirty" suffix
	Metadata map[string]string // written in key order
}

// CreatedBy is the created_by string of a file written with p, in the form
// the Parquet specification gives: "application version V (build B)".
func (p ResultsProvenance) CreatedBy() string {
	v := p.Version
	if v == "" {
		v = "unknown"
	}
	s := "lodsim version " + v
	if p.Build != "" {
		s += " (build " + p.Build + ")"
	}
	return s
}

// ResultOption configures a ResultWriter.
type ResultOption func(*resultConfig)

type resultConfig struct {
	prov     ResultsProvenance
	sortRows int
	tempDir  string
}

// WithProvenance records p in the file's created_by and key-value metadata.
// Keys lodsim reserves (MetaSchema, MetaArrowSchema) are refused.
func WithProvenance(p ResultsProvenance) ResultOption {
	return func(c *resultConfig) {
		c.prov = p
		c.prov.Metadata = maps.Clone(p.Metadata)
	}
}

// WithSortBuffer sets how many results the writer sorts in memory (88
// bytes each; default DefaultSortRows, at least 1024) and the directory
// where sorted runs of a longer stream go ("" for the system's temporary
// directory).
func WithSortBuffer(rows int, tempDir string) ResultOption {
	return func(c *resultConfig) { c.sortRows, c.tempDir = rows, tempDir }
}

// DefaultSortRows is the in-memory sort buffer of a ResultWriter: 1 Mi
// results, 88 MiB. A buffer holds at least minSortRows, so that a merge
// never opens more than one run file per thousand results.
const (
	DefaultSortRows = 1 << 20
	minSortRows     = 1 << 10
)

// ResultWriter streams results to a Parquet file sorted by request id. It
// implements replay.Sink; results may arrive in any order (the simulator
// records them as requests finish).
//
// Sorting is an external merge sort with bounded memory: results collect in
// a buffer of DefaultSortRows (see WithSortBuffer); a run that never fills
// it is sorted in memory and written at Close. A longer stream sorts each
// full buffer and spills it as a run file of 88-byte records in the
// temporary directory, and Close merges the runs. Memory stays at the
// buffer plus one batch of each run however long the run; disk use is the
// runs, which Close removes. Equal ids are ordered by their times, so the
// bytes never depend on the order results arrived in.
//
// Close must be called to write the footer (and remove the runs, also after
// an error); it does not close the underlying writer.
type ResultWriter struct {
	w    io.Writer
	cfg  resultConfig
	sort *resultSorter
	err  error
}

// NewResultWriter returns a ResultWriter writing to w.
func NewResultWriter(w io.Writer, opts ...ResultOption) *ResultWriter {
	cfg := resultConfig{sortRows: DefaultSortRows}
	for _, o := range opts {
		o(&cfg)
	}
	rw := &ResultWriter{w: w, cfg: cfg}
	for _, k := range []string{MetaSchema, MetaArrowSchema} {
		if _, ok := cfg.prov.Metadata[k]; ok {
			rw.err = fmt.Errorf("results: metadata key %q is reserved for lodsim", k)
		}
	}
	if cfg.sortRows < minSortRows {
		rw.err = fmt.Errorf("results: sort buffer of %d rows, expected at least %d", cfg.sortRows, minSortRows)
	}
	rw.sort = newResultSorter(cfg.sortRows, cfg.tempDir)
	return rw
}

// Record implements replay.Sink.
func (rw *ResultWriter) Record(r *replay.RequestResult) error {
	if rw.err != nil {
		return rw.err
	}
	if err := rw.sort.add(r); err != nil {
		rw.err = err
	}
	return rw.err
}

// Rows is the number of results recorded so far.
func (rw *ResultWriter) Rows() int64 { return rw.sort.rows }

// Close sorts what is left, writes every row and the Parquet footer, and
// removes the sorted runs. After an error it only removes the runs.
func (rw *ResultWriter) Close() error {
	defer rw.sort.cleanup()
	if rw.err != nil {
		return rw.err
	}
	enc := rowEncoder{}
	var err error
	if rw.sort.disagg {
		err = writeRows(rw, enc.encodeDisagg)
	} else {
		err = writeRows(rw, enc.encode)
	}
	if err != nil {
		rw.err = err
		return err
	}
	rw.err = errors.New("results: writer closed")
	return nil
}

// writeRows writes every sorted result as a row of type T and the footer.
func writeRows[T any](rw *ResultWriter, encode func([]replay.RequestResult) []T) error {
	_, disagg := any(*new(T)).(disaggRow)
	pw := parquet.NewGenericWriter[T](rw.w, rw.writerOptions(disagg)...)
	var written int64
	err := rw.sort.each(func(batch []replay.RequestResult) error {
		rows := encode(batch)
		if _, err := pw.Write(rows); err != nil {
			return fmt.Errorf("results: write rows %d-%d: %w", written, written+int64(len(rows))-1, err)
		}
		written += int64(len(rows))
		return nil
	})
	if err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("results: close: %w", err)
	}
	return nil
}

func (rw *ResultWriter) writerOptions(disagg bool) []parquet.WriterOption {
	arrowSchema := resultsArrowSchema
	if disagg {
		arrowSchema = disaggArrowSchema
	}
	opts := []parquet.WriterOption{
		parquet.Compression(resultCodec),
		parquet.MaxRowsPerRowGroup(resultRowGroup),
		createdBy(rw.cfg.prov.CreatedBy()),
		parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending("id"))),
		parquet.KeyValueMetadata(MetaSchema, resultsSchemaV2),
		parquet.KeyValueMetadata(MetaArrowSchema, arrowSchema()),
	}
	for _, k := range slices.Sorted(maps.Keys(rw.cfg.prov.Metadata)) {
		opts = append(opts, parquet.KeyValueMetadata(k, rw.cfg.prov.Metadata[k]))
	}
	return opts
}

// resultCodec compresses results with zstd's fastest level: the duration
// columns doubled the bytes to compress, and the default level took most
// of the writer's time. One codec for every file, so its encoders are
// pooled rather than made per file.
var resultCodec = &zstd.Codec{Level: zstd.SpeedFastest}

// createdBy sets created_by verbatim: parquet.CreatedBy drops the space
// before "(build".
type createdBy string

func (c createdBy) ConfigureWriter(cfg *parquet.WriterConfig) { cfg.CreatedBy = string(c) }

// rowEncoder turns results into rows, reusing its buffers.
type rowEncoder struct {
	rows  []resultRow
	durs  []int64
	drows []disaggRow
	xfer  []int64
}

func (e *rowEncoder) encode(batch []replay.RequestResult) []resultRow {
	e.rows = slices.Grow(e.rows[:0], len(batch))[:len(batch)]
	e.durs = slices.Grow(e.durs[:0], 4*len(batch))[:4*len(batch)]
	for i := range batch {
		r := &batch[i]
		d := e.durs[4*i : 4*i+4 : 4*i+4]
		row := resultRow{
			ID: int64(r.ID), Arrival: int64(r.Arrival), FirstScheduled: int64(r.FirstScheduled), FirstToken: int64(r.FirstToken),
			Completion: int64(r.Completion), PromptTokens: r.PromptTokens, OutputTokens: r.OutputTokens,
			Replica: r.Replica, Preemptions: int32(r.Preemptions), Status: r.Status.String(), Reason: r.Reason.String(),
		}
		if v := r.TTFT(); v >= 0 {
			d[0], row.TTFT = int64(v), &d[0]
		}
		if v := r.TPOT(); v >= 0 {
			d[1], row.TPOT = int64(math.Round(v)), &d[1]
		}
		if v := r.E2E(); v >= 0 {
			d[2], row.E2E = int64(v), &d[2]
		}
		if r.FirstScheduled >= 0 {
			d[3], row.Queue = int64(r.FirstScheduled-r.Arrival), &d[3]
		}
		e.rows[i] = row
	}
	return e.rows
}

// encodeDisagg turns results into rows of a disaggregated run.
func (e *rowEncoder) encodeDisagg(batch []replay.RequestResult) []disaggRow {
	rows := e.encode(batch)
	e.drows = slices.Grow(e.drows[:0], len(batch))[:len(batch)]
	e.xfer = slices.Grow(e.xfer[:0], len(batch))[:len(batch)]
	for i := range batch {
		r := &batch[i]
		row := disaggRow{resultRow: rows[i], PrefillWorker: r.PrefillWorker, DecodeWorker: r.DecodeWorker,
			TransferStart: int64(r.TransferStart), TransferEnd: int64(r.TransferEnd)}
		if v := r.TransferNs(); v >= 0 {
			e.xfer[i], row.Transfer = int64(v), &e.xfer[i]
		}
		e.drows[i] = row
	}
	return e.drows
}

// WriteResults writes results to w as one Parquet file, sorted by id.
func WriteResults(w io.Writer, results []replay.RequestResult, opts ...ResultOption) error {
	rw := NewResultWriter(w, opts...)
	for i := range results {
		if err := rw.Record(&results[i]); err != nil {
			rw.Close()
			return err
		}
	}
	return rw.Close()
}

// ErrResultsFormat is wrapped by every error ReadResults returns for a file
// that is not a valid results file.
var ErrResultsFormat = errors.New("not a lodsim results file")

// ResultsInfo is what a results file says about itself.
type ResultsInfo struct {
	Rows      int64
	CreatedBy string
	Metadata  map[string]string // every key-value pair, lodsim's own included
}

// ReadResultsInfo reads the footer of a results file: row count,
// created_by and key-value metadata, without decoding any row.
func ReadResultsInfo(r io.ReaderAt, size int64) (info ResultsInfo, err error) {
	defer func() {
		if p := recover(); p != nil {
			info, err = ResultsInfo{}, fmt.Errorf("%w: corrupt parquet: %v", ErrResultsFormat, p)
		}
	}()
	f, err := openResults(r, size)
	if err != nil {
		return ResultsInfo{}, err
	}
	md := f.Metadata()
	info = ResultsInfo{Rows: f.NumRows(), CreatedBy: md.CreatedBy, Metadata: map[string]string{}}
	for _, kv := range md.KeyValueMetadata {
		info.Metadata[kv.Key] = kv.Value
	}
	return info, nil
}

// openResults opens a Parquet file and checks it has every raw column with
// its type, and the duration columns, where present, with theirs.
func openResults(r io.ReaderAt, size int64) (*parquet.File, error) {
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
	for _, name := range ResultDurationColumns {
		if col, ok := schema.Lookup(name); ok && col.Node.Type().Kind() != parquet.Int64 {
			return nil, fmt.Errorf("%w: column %s: found type %v, expected INT64", ErrResultsFormat, name, col.Node.Type().Kind())
		}
	}
	return f, nil
}

// ReadResults reads a results file written by ResultWriter, in file order
// (by id for files lodsim writes). The duration columns are not read: they
// follow from the raw times. Errors name the row (0-based, over the whole
// file) and column at fault.
func ReadResults(r io.ReaderAt, size int64) (out []replay.RequestResult, err error) {
	// parquet-go panics on some corrupt inputs; bad input must be an error.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%w: corrupt parquet: %v", ErrResultsFormat, p)
		}
	}()
	f, err := openResults(r, size)
	if err != nil {
		return nil, err
	}
	if _, ok := f.Schema().Lookup(DisaggColumns[0]); ok {
		return readRows(f, (*rawDisaggRow).result)
	}
	return readRows(f, (*rawRow).result)
}

// readRows decodes every row of f as a T.
func readRows[T any](f *parquet.File, conv func(*T) (replay.RequestResult, error)) ([]replay.RequestResult, error) {
	out := make([]replay.RequestResult, 0, f.NumRows())
	buf := make([]T, resultBatch)
	var row int64
	for _, rg := range f.RowGroups() {
		rr := parquet.NewGenericRowGroupReader[T](rg)
		for {
			n, rerr := rr.Read(buf)
			for i := range buf[:n] {
				res, cerr := conv(&buf[i])
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

func (r *rawRow) result() (replay.RequestResult, error) {
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

func (r *rawDisaggRow) result() (replay.RequestResult, error) {
	res, err := r.rawRow.result()
	if err != nil {
		return res, err
	}
	if r.PrefillWorker < -1 || r.DecodeWorker < -1 {
		return res, fmt.Errorf("columns prefill_worker, decode_worker: found %d, %d, expected -1 or a worker index", r.PrefillWorker, r.DecodeWorker)
	}
	res.Disaggregated = true
	res.PrefillWorker, res.DecodeWorker = r.PrefillWorker, r.DecodeWorker
	res.TransferStart, res.TransferEnd = replay.Time(r.TransferStart), replay.Time(r.TransferEnd)
	return res, nil
}

// resultsArrowSchema is the base64 Arrow IPC schema message that
// Arrow-based Parquet readers use to type columns (the ARROW:schema
// metadata key, as pyarrow and arrow-go write it): the same columns as
// resultRow, with the durations as duration[ns].
var (
	resultsArrowSchema = sync.OnceValue(func() string { return arrowSchemaOf(false) })
	disaggArrowSchema  = sync.OnceValue(func() string { return arrowSchemaOf(true) })
)

// arrowSchemaOf builds the Arrow schema of resultRow, or with disagg of
// disaggRow.
func arrowSchemaOf(disagg bool) string {
	dur := &arrow.DurationType{Unit: arrow.Nanosecond}
	fields := []arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "arrival_ns", Type: arrow.PrimitiveTypes.Int64},
		{Name: "first_scheduled_ns", Type: arrow.PrimitiveTypes.Int64},
		{Name: "first_token_ns", Type: arrow.PrimitiveTypes.Int64},
		{Name: "completion_ns", Type: arrow.PrimitiveTypes.Int64},
		{Name: "prompt_tokens", Type: arrow.PrimitiveTypes.Int32},
		{Name: "output_tokens", Type: arrow.PrimitiveTypes.Int32},
		{Name: "replica", Type: arrow.PrimitiveTypes.Int32},
		{Name: "preemptions", Type: arrow.PrimitiveTypes.Int32},
		{Name: "status", Type: arrow.BinaryTypes.String},
		{Name: "reject_reason", Type: arrow.BinaryTypes.String},
		{Name: "ttft_ns", Type: dur, Nullable: true},
		{Name: "tpot_ns", Type: dur, Nullable: true},
		{Name: "e2e_ns", Type: dur, Nullable: true},
		{Name: "queue_ns", Type: dur, Nullable: true},
	}
	if disagg {
		fields = append(fields,
			arrow.Field{Name: "prefill_worker", Type: arrow.PrimitiveTypes.Int32},
			arrow.Field{Name: "decode_worker", Type: arrow.PrimitiveTypes.Int32},
			arrow.Field{Name: "transfer_start_ns", Type: arrow.PrimitiveTypes.Int64},
			arrow.Field{Name: "transfer_end_ns", Type: arrow.PrimitiveTypes.Int64},
			arrow.Field{Name: "transfer_ns", Type: dur, Nullable: true})
	}
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(arrow.NewSchema(fields, nil)))
	if err := w.Close(); err != nil {
		panic("analysis: serialise the results Arrow schema: " + err.Error())
	}
	// The stream is the schema message then the 8-byte end-of-stream
	// marker; the metadata holds the message alone.
	msg := buf.Bytes()[:buf.Len()-8]
	return base64.StdEncoding.EncodeToString(msg)
}
