package trace

import (
	"io"

	"github.com/lodsim/lodsim/trace/tabular"
)

// csvDecoder reads a delimited text trace with a header row.
type csvDecoder struct {
	name   string
	cr     *tabular.CSVReader
	m      mapping
	row    int64
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
	cr, err := tabular.NewCSV(r, name, tabular.CSVOptions{TrimLeadingSpace: true, Limits: opt.Limits})
	if err != nil {
		return nil, fromTabular(err)
	}
	m, err := resolveMapping(name, cr.Header(), opt)
	if err != nil {
		return nil, err
	}
	return &csvDecoder{name: name, cr: cr, m: m}, nil
}

func (d *csvDecoder) hasID() bool            { return d.m.has(fID) }
func (d *csvDecoder) colName(f field) string { return d.m.name[f] }
func (d *csvDecoder) arrivalUnit() int64     { return d.m.unit }
func (d *csvDecoder) close() error           { return nil }
func (d *csvDecoder) line(col int) int64     { return d.cr.Line(col) }

func (d *csvDecoder) decode(req *Request) error {
	rec, err := d.cr.Read()
	if err == io.EOF {
		return io.EOF
	}
	d.row++
	if err != nil {
		return fromTabular(err)
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
