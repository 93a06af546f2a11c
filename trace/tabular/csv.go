package tabular

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CSVOptions configure NewCSV.
type CSVOptions struct {
	// TrimLeadingSpace ignores leading white space in a field.
	TrimLeadingSpace bool
	Limits           Limits
}

// CSVReader reads an RFC 4180 CSV file with a header row, one record at a
// time, no record longer than Limits.RecordBytes.
type CSVReader struct {
	file   string
	cr     *csv.Reader
	br     *boundedReader
	header []string
	row    int64
}

// MaxColumns bounds the columns of a CSV header (every later row holds as
// many fields, and the readers index the names) and the fields of one Arrow
// schema or nested field (Arrow sizes a slice of fields from the count).
const MaxColumns = 10000

// csvLookahead is how far encoding/csv reads ahead of the record it
// returns (its bufio.Reader's size).
const csvLookahead = 4096

// NewCSV reads the header row of r. The header's first name loses a UTF-8
// byte-order mark. Every later record must have as many fields as the
// header.
func NewCSV(r io.Reader, file string, opt CSVOptions) (*CSVReader, error) {
	lim := opt.Limits.withDefaults(0)
	br := &boundedReader{r: r, limit: lim.RecordBytes, slack: csvLookahead, what: "one CSV record"}
	br.reset()
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = opt.TrimLeadingSpace
	c := &CSVReader{file: file, cr: cr, br: br}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{File: file, Found: "an empty file", Expected: "a header row naming the columns", Err: ErrEmpty}
	}
	if err != nil {
		return nil, c.err(0, err)
	}
	br.reset()
	if len(header) > MaxColumns {
		return nil, &Error{File: file, Line: 1, Found: fmt.Sprintf("a header of %d columns", len(header)), Expected: fmt.Sprintf("at most %d columns", MaxColumns)}
	}
	c.header = append([]string(nil), header...)
	c.header[0] = strings.TrimPrefix(c.header[0], "\ufeff")
	cr.FieldsPerRecord = len(header)
	return c, nil
}

// Header is the header row.
func (c *CSVReader) Header() []string { return c.header }

// Row is the 1-based number of the data row Read last returned.
func (c *CSVReader) Row() int64 { return c.row }

// Line is the 1-based line on which field col of the last record starts.
func (c *CSVReader) Line(col int) int64 {
	l, _ := c.cr.FieldPos(col)
	return int64(l)
}

// Read returns the next data row; the slice is reused by the next call.
// At the end it returns io.EOF. A row with the wrong number of fields is an
// *Error wrapping csv.ErrFieldCount, after which reading can go on; any
// other error ends the file.
func (c *CSVReader) Read() ([]string, error) {
	rec, err := c.cr.Read()
	if err == io.EOF && c.br.err == nil {
		return nil, io.EOF
	}
	c.row++
	c.br.reset()
	if err != nil {
		return rec, c.err(c.row, err)
	}
	return rec, nil
}

func (c *CSVReader) err(row int64, err error) *Error {
	if c.br.err != nil {
		return &Error{File: c.file, Row: row, Err: c.br.err}
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: c.file, Row: row, Line: int64(pe.Line), Err: pe.Err}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			e.Found = "a different number of fields"
			e.Expected = fmt.Sprintf("%d fields, as many as the header", len(c.header))
		} else {
			e.Found = fmt.Sprintf("malformed CSV at column %d", pe.Column)
			e.Expected = "RFC 4180 quoting"
		}
		return e
	}
	return &Error{File: c.file, Row: row, Err: err}
}

// boundedReader fails once more than limit (+ slack for read-ahead) bytes
// are read since the last reset, so that one record or line cannot grow
// without bound.
type boundedReader struct {
	r     io.Reader
	limit int64
	slack int64
	left  int64
	what  string
	err   *LimitError
}

func (b *boundedReader) reset() { b.left = b.limit + b.slack }

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left <= 0 {
		// Only fail if there is more to read.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		b.err = &LimitError{What: b.what, Limit: b.limit, Field: "RecordBytes"}
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}
