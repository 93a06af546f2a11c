package trace

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// csvDecoder reads a delimited text trace with a header row.
type csvDecoder struct {
	name   string
	cr     *csv.Reader
	m      mapping
	row    int64
	header []string
	intern interner
}

// NewCSVReader returns a Reader over a CSV trace with a header row. name is
// used in error messages.
func NewCSVReader(r io.Reader, name string, opt Options) (Reader, error) {
	d, err := newCSVDecoder(r, name, opt)
	if err != nil {
		return nil, err
	}
	return newFileReader(name, d, opt), nil
}

func newCSVDecoder(r io.Reader, name string, opt Options) (*csvDecoder, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &Error{File: name, Found: "an empty file", Expected: "a header row naming the columns", Err: ErrEmpty}
	}
	if err != nil {
		return nil, csvError(name, 0, err)
	}
	header = append([]string(nil), header...)
	header[0] = string(bytes.TrimPrefix([]byte(header[0]), []byte("\ufeff")))
	m, err := resolveMapping(name, header, opt)
	if err != nil {
		return nil, err
	}
	cr.FieldsPerRecord = len(header)
	return &csvDecoder{name: name, cr: cr, m: m, header: header}, nil
}

func csvError(name string, row int64, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		e := &Error{File: name, Row: row, Line: int64(pe.Line), Err: pe.Err}
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			e.Err = nil
			e.Found = "a different number of fields"
			e.Expected = "as many fields as the header"
			// The row is intact; the reader can go on.
			e.skippable = true
		} else {
			e.Found = fmt.Sprintf("malformed CSV at column %d", pe.Column)
			e.Expected = "RFC 4180 quoting"
		}
		return e
	}
	return &Error{File: name, Row: row, Err: err}
}

func (d *csvDecoder) hasID() bool         { return d.m.has(fID) }
func (d *csvDecoder) arrivalName() string { return d.m.name[fArrival] }
func (d *csvDecoder) close() error        { return nil }
func (d *csvDecoder) line(col int) int64 {
	l, _ := d.cr.FieldPos(col)
	return int64(l)
}

func (d *csvDecoder) decode(req *Request) error {
	rec, err := d.cr.Read()
	if err == io.EOF {
		return io.EOF
	}
	d.row++
	if err != nil {
		return csvError(d.name, d.row, err)
	}
	m := &d.m
	var fe *fieldError
	c := m.col[fArrival]
	if req.Arrival, fe = parseArrivalText(rec[c], m.unit); fe != nil {
		return fe.at(d.row, d.line(c), m.name[fArrival])
	}
	c = m.col[fPrompt]
	if req.PromptTokens, fe = parseTokensText(rec[c]); fe != nil {
		return fe.at(d.row, d.line(c), m.name[fPrompt])
	}
	c = m.col[fOutput]
	if req.OutputTokens, fe = parseTokensText(rec[c]); fe != nil {
		return fe.at(d.row, d.line(c), m.name[fOutput])
	}
	if c = m.col[fID]; c >= 0 {
		if req.ID, fe = parseIDText(rec[c]); fe != nil {
			return fe.at(d.row, d.line(c), m.name[fID])
		}
	}
	if c = m.col[fPriority]; c >= 0 {
		if req.Priority, fe = parsePriorityText(rec[c]); fe != nil {
			return fe.at(d.row, d.line(c), m.name[fPriority])
		}
	}
	if c = m.col[fModel]; c >= 0 {
		req.Model = d.intern.str(rec[c])
	}
	if c = m.col[fSession]; c >= 0 {
		req.Session = d.intern.str(rec[c])
	}
	if c = m.col[fPrefix]; c >= 0 {
		if req.PrefixHashes, fe = parseHashesText(rec[c], nil); fe != nil {
			return fe.at(d.row, d.line(c), m.name[fPrefix])
		}
	}
	return nil
}
