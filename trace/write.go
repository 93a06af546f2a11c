package trace

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

// Writers drain r to io.EOF and return the number of requests written. They
// do not close r. Every writer writes the canonical schema (SCHEMA.md), so
// Open reads its output back without a column mapping.

// ParquetRowGroupRows is the number of requests per Parquet row group: large
// enough that per-group overhead vanishes, small enough that a reader holds
// only a few MB of pages per column.
const ParquetRowGroupRows = 128 * 1024

// parquetRow is the canonical Parquet schema.
type parquetRow struct {
	ID           int64    `parquet:"id,delta"`
	ArrivalNs    int64    `parquet:"arrival_ns,delta"`
	PromptTokens int32    `parquet:"prompt_tokens"`
	OutputTokens int32    `parquet:"output_tokens"`
	Priority     int32    `parquet:"priority,optional"`
	Session      string   `parquet:"session,optional,dict"`
	Model        string   `parquet:"model,optional,dict"`
	PrefixHashes []uint64 `parquet:"prefix_hashes,list"`
}

// forEachBatch hands every request of r to add, calls flush after every batch
// requests (never when batch is 0) and once at the end, and returns how
// many requests it handed over. Errors from r are returned as they are, so
// that a reader's file-row-column error reaches the user unwrapped.
func forEachBatch(r Reader, batch int, add func(*Request) error, flush func() error) (int64, error) {
	var n int64
	for {
		q, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if q.Arrival < 0 || q.PromptTokens < 0 || q.OutputTokens < 0 {
			return n, fmt.Errorf("trace: request %d (output row %d): arrival %d ns, %d prompt and %d output tokens: expected a non-negative arrival and token counts", q.ID, n+1, q.Arrival, q.PromptTokens, q.OutputTokens)
		}
		if err := add(&q); err != nil {
			return n, err
		}
		n++
		if batch > 0 && n%int64(batch) == 0 {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	return n, flush()
}

// wrapWrite says which writer failed; reader errors pass unwrapped.
func wrapWrite(format string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("trace: write %s: %w", format, err)
}

// WriteParquet writes r as a zstd-compressed Parquet file in the canonical
// schema, ParquetRowGroupRows requests per row group.
func WriteParquet(w io.Writer, r Reader) (int64, error) {
	pw := parquet.NewGenericWriter[parquetRow](w,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(ParquetRowGroupRows),
		parquet.CreatedBy("lodsim", "", ""))
	buf := make([]parquetRow, 0, 4096)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		if _, err := pw.Write(buf); err != nil {
			return fmt.Errorf("trace: write parquet: %w", err)
		}
		clear(buf)
		buf = buf[:0]
		return nil
	}
	n, err := forEachBatch(r, cap(buf), func(q *Request) error {
		buf = append(buf, parquetRow{int64(q.ID), q.Arrival, q.PromptTokens, q.OutputTokens, q.Priority, q.Session, q.Model, q.PrefixHashes})
		return nil
	}, flush)
	if err != nil {
		return n, err
	}
	if err := pw.Close(); err != nil {
		return n, fmt.Errorf("trace: write parquet: %w", err)
	}
	return n, nil
}

// ArrowSchema is the canonical Arrow schema. arrival_ns is a plain int64
// (nanoseconds since the trace start, not an epoch).
var ArrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "arrival_ns", Type: arrow.PrimitiveTypes.Int64},
	{Name: "prompt_tokens", Type: arrow.PrimitiveTypes.Int32},
	{Name: "output_tokens", Type: arrow.PrimitiveTypes.Int32},
	{Name: "priority", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "session", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "model", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "prefix_hashes", Type: arrow.ListOf(arrow.PrimitiveTypes.Uint64), Nullable: true},
}, nil)

// ArrowBatchRows is the number of requests per Arrow record batch.
const ArrowBatchRows = 64 * 1024

// positionWriter gives ipc.FileWriter the only Seek it makes: asking for the
// current offset.
type positionWriter struct {
	w   io.Writer
	pos int64
}

func (p *positionWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.pos += int64(n)
	return n, err
}

func (p *positionWriter) Seek(offset int64, whence int) (int64, error) {
	if offset == 0 && whence == io.SeekCurrent {
		return p.pos, nil
	}
	return 0, errors.New("trace: arrow writer: only the current position can be asked")
}

// WriteArrow writes r as an Arrow IPC file (.arrow, Feather v2), or as an IPC
// stream (.arrows) when stream is set, in record batches of ArrowBatchRows.
func WriteArrow(w io.Writer, r Reader, stream bool) (int64, error) {
	mem := memory.NewGoAllocator()
	type recordWriter interface {
		Write(arrow.Record) error
		Close() error
	}
	var rw recordWriter
	if stream {
		rw = ipc.NewWriter(w, ipc.WithSchema(ArrowSchema), ipc.WithAllocator(mem))
	} else {
		fw, err := ipc.NewFileWriter(&positionWriter{w: w}, ipc.WithSchema(ArrowSchema), ipc.WithAllocator(mem))
		if err != nil {
			return 0, fmt.Errorf("trace: write arrow: %w", err)
		}
		rw = fw
	}
	b := array.NewRecordBuilder(mem, ArrowSchema)
	defer b.Release()
	id := b.Field(0).(*array.Int64Builder)
	arrival := b.Field(1).(*array.Int64Builder)
	prompt := b.Field(2).(*array.Int32Builder)
	output := b.Field(3).(*array.Int32Builder)
	prio := b.Field(4).(*array.Int32Builder)
	session := b.Field(5).(*array.StringBuilder)
	model := b.Field(6).(*array.StringBuilder)
	hashes := b.Field(7).(*array.ListBuilder)
	hashVals := hashes.ValueBuilder().(*array.Uint64Builder)
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		rec := b.NewRecord()
		defer rec.Release()
		rows = 0
		if err := rw.Write(rec); err != nil {
			return fmt.Errorf("trace: write arrow: %w", err)
		}
		return nil
	}
	optString := func(sb *array.StringBuilder, s string) {
		if s == "" {
			sb.AppendNull()
		} else {
			sb.Append(s)
		}
	}
	n, err := forEachBatch(r, ArrowBatchRows, func(q *Request) error {
		id.Append(int64(q.ID))
		arrival.Append(q.Arrival)
		prompt.Append(q.PromptTokens)
		output.Append(q.OutputTokens)
		if q.Priority == 0 {
			prio.AppendNull()
		} else {
			prio.Append(q.Priority)
		}
		optString(session, q.Session)
		optString(model, q.Model)
		if len(q.PrefixHashes) == 0 {
			hashes.AppendNull()
		} else {
			hashes.Append(true)
			hashVals.AppendValues(q.PrefixHashes, nil)
		}
		rows++
		return nil
	}, flush)
	if err != nil {
		return n, err
	}
	if err := rw.Close(); err != nil {
		return n, fmt.Errorf("trace: write arrow: %w", err)
	}
	return n, nil
}

// canonicalHeader is the header WriteCSV writes.
var canonicalHeader = []string{"id", "arrival_ns", "prompt_tokens", "output_tokens", "priority", "session", "model", "prefix_hashes"}

// WriteCSV writes r as CSV in the canonical columns; prefix_hashes is a
// space-separated list.
func WriteCSV(w io.Writer, r Reader) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString(strings.Join(canonicalHeader, ",") + "\n")
	line := make([]byte, 0, 256)
	n, err := forEachBatch(r, 0, func(q *Request) error {
		line = strconv.AppendInt(line[:0], int64(q.ID), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, q.Arrival, 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(q.PromptTokens), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(q.OutputTokens), 10)
		line = append(line, ',')
		line = strconv.AppendInt(line, int64(q.Priority), 10)
		line = append(line, ',')
		line = appendCSVString(line, q.Session)
		line = append(line, ',')
		line = appendCSVString(line, q.Model)
		line = append(line, ',')
		for i, h := range q.PrefixHashes {
			if i > 0 {
				line = append(line, ' ')
			}
			line = strconv.AppendUint(line, h, 10)
		}
		line = append(line, '\n')
		_, err := bw.Write(line)
		return wrapWrite("csv", err)
	}, func() error { return wrapWrite("csv", bw.Flush()) })
	return n, err
}

// appendCSVString quotes s when a reader would otherwise split or trim it.
func appendCSVString(b []byte, s string) []byte {
	if s == "" || !(strings.ContainsAny(s, ",\"\r\n") || s[0] == ' ' || s[0] == '\t') {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}

// jsonRow is the canonical JSONL record. Every key is always present, since
// a JSONL reader takes its columns from the first line.
type jsonRow struct {
	ID           int64    `json:"id"`
	ArrivalNs    int64    `json:"arrival_ns"`
	PromptTokens int32    `json:"prompt_tokens"`
	OutputTokens int32    `json:"output_tokens"`
	Priority     int32    `json:"priority"`
	Session      string   `json:"session"`
	Model        string   `json:"model"`
	PrefixHashes []uint64 `json:"prefix_hashes"`
}

// WriteJSONL writes r as one canonical JSON object per line.
func WriteJSONL(w io.Writer, r Reader) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	enc := json.NewEncoder(bw)
	n, err := forEachBatch(r, 0, func(q *Request) error {
		hs := q.PrefixHashes
		if hs == nil {
			hs = []uint64{}
		}
		return wrapWrite("jsonl", enc.Encode(jsonRow{int64(q.ID), q.Arrival, q.PromptTokens, q.OutputTokens, q.Priority, q.Session, q.Model, hs}))
	}, func() error { return wrapWrite("jsonl", bw.Flush()) })
	return n, err
}

// Write writes r in format (csv, parquet, arrow, arrows for the IPC stream
// format, or jsonl).
func Write(w io.Writer, r Reader, format string) (int64, error) {
	switch format {
	case "csv":
		return WriteCSV(w, r)
	case "parquet":
		return WriteParquet(w, r)
	case "arrow":
		return WriteArrow(w, r, false)
	case "arrows":
		return WriteArrow(w, r, true)
	case "jsonl":
		return WriteJSONL(w, r)
	}
	return 0, fmt.Errorf("trace: output format %q: expected csv, parquet, arrow, arrows or jsonl", format)
}

// FormatForPath returns the output format Write expects for a file name:
// .parquet, .arrow/.feather (file), .arrows (stream), .csv, .jsonl.
func FormatForPath(path string) (string, error) {
	p := strings.ToLower(path)
	switch {
	case strings.HasSuffix(p, ".parquet"), strings.HasSuffix(p, ".pq"):
		return "parquet", nil
	case strings.HasSuffix(p, ".arrows"):
		return "arrows", nil
	case strings.HasSuffix(p, ".arrow"), strings.HasSuffix(p, ".feather"), strings.HasSuffix(p, ".ipc"):
		return "arrow", nil
	case strings.HasSuffix(p, ".csv"):
		return "csv", nil
	case strings.HasSuffix(p, ".jsonl"), strings.HasSuffix(p, ".ndjson"):
		return "jsonl", nil
	}
	return "", fmt.Errorf("trace: output %s: expected a name ending in .parquet, .arrow, .feather, .arrows, .csv or .jsonl", path)
}
