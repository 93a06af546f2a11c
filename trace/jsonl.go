package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/lodsim/lodsim/trace/tabular"
)

// jsonlDecoder reads one JSON object per line, such as the Mooncake traces
// ({"timestamp": ms, "input_length": n, "output_length": n, "hash_ids": [...]}).
// The first object's keys play the part of a header.
type jsonlDecoder struct {
	name   string
	lr     *tabular.LineReader
	m      mapping
	row    int64
	line   int64
	obj    map[string]json.RawMessage
	first  bool // obj holds the first row, already read to build the mapping
	intern interner
}

// NewJSONLReader returns a Reader over a JSON-lines trace. name is used in
// error messages.
func NewJSONLReader(r io.Reader, name string, opt Options) (Reader, error) {
	d, err := newJSONLDecoder(r, name, opt)
	if err != nil {
		return nil, err
	}
	return newFileReader(name, d, opt), nil
}

func newJSONLDecoder(r io.Reader, name string, opt Options) (*jsonlDecoder, error) {
	d := &jsonlDecoder{name: name, lr: tabular.NewLines(r, opt.Limits), obj: map[string]json.RawMessage{}}
	line, err := d.readLine()
	if err == io.EOF {
		return nil, &Error{File: name, Found: "an empty file", Expected: "one JSON object per line", Err: ErrEmpty}
	}
	if err != nil {
		return nil, &Error{File: name, Line: d.lr.Line(), Err: err}
	}
	if err := json.Unmarshal(line, &d.obj); err != nil {
		return nil, &Error{File: name, Row: 1, Line: d.line, Found: quote(string(line)), Expected: "a JSON object", Err: err}
	}
	m, err := resolveMapping(name, sortedKeys(d.obj), opt)
	if err != nil {
		return nil, err
	}
	d.m, d.first = m, true
	return d, nil
}

// readLine returns the next non-blank line, without its newline.
func (d *jsonlDecoder) readLine() ([]byte, error) {
	for {
		line, err := d.lr.Next()
		d.line = d.lr.Line()
		if err != nil {
			return nil, err
		}
		if line = bytes.TrimSpace(line); len(line) > 0 {
			return line, nil
		}
	}
}

func (d *jsonlDecoder) hasID() bool            { return d.m.has(fID) }
func (d *jsonlDecoder) colName(f field) string { return d.m.name[f] }
func (d *jsonlDecoder) arrivalUnit() int64     { return d.m.unit }
func (d *jsonlDecoder) close() error           { return nil }

func (d *jsonlDecoder) decode(req *Request) error {
	if d.first {
		d.first = false
	} else {
		line, err := d.readLine()
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			return &Error{File: d.name, Row: d.row + 1, Line: d.line, Err: err}
		}
		clear(d.obj)
		if err := json.Unmarshal(line, &d.obj); err != nil {
			d.row++
			var se *json.SyntaxError
			e := &Error{Row: d.row, Line: d.line, Found: quote(string(line)), Expected: "a JSON object", Err: err}
			e.skippable = errors.As(err, &se) || isTypeErr(err)
			return e
		}
	}
	d.row++
	m := &d.m
	var fe *fieldError
	if req.Arrival, fe = jsonArrival(d.obj[m.name[fArrival]], m.unit); fe != nil {
		return fe.at(d.row, d.line, m.name[fArrival])
	}
	if req.PromptTokens, fe = jsonTokens(d.obj[m.name[fPrompt]]); fe != nil {
		return fe.at(d.row, d.line, m.name[fPrompt])
	}
	if req.OutputTokens, fe = jsonTokens(d.obj[m.name[fOutput]]); fe != nil {
		return fe.at(d.row, d.line, m.name[fOutput])
	}
	if m.has(fID) {
		s, fe := jsonText(d.obj[m.name[fID]])
		if fe == nil {
			req.ID, fe = parseIDText(s)
		}
		if fe != nil {
			return fe.at(d.row, d.line, m.name[fID])
		}
	}
	if m.has(fPriority) {
		s, fe := jsonText(d.obj[m.name[fPriority]])
		if fe == nil {
			req.Priority, fe = parsePriorityText(s)
		}
		if fe != nil && fe != errMissing {
			return fe.at(d.row, d.line, m.name[fPriority])
		}
	}
	if m.has(fModel) {
		if s, fe := jsonText(d.obj[m.name[fModel]]); fe == nil {
			req.Model = d.intern.str(s)
		}
	}
	if m.has(fSession) {
		if s, fe := jsonText(d.obj[m.name[fSession]]); fe == nil {
			req.Session = d.intern.str(s)
		}
	}
	if m.has(fPrefix) {
		raw := d.obj[m.name[fPrefix]]
		if len(raw) > 0 && raw[0] == '[' {
			var hs []uint64
			if err := json.Unmarshal(raw, &hs); err != nil {
				return badValue(quote(string(raw)), "an array of unsigned 64-bit block hashes").at(d.row, d.line, m.name[fPrefix])
			}
			if len(hs) > 0 {
				req.PrefixHashes = hs
			}
		} else if s, fe := jsonText(raw); fe == nil {
			if req.PrefixHashes, fe = parseHashesText(s, nil); fe != nil {
				return fe.at(d.row, d.line, m.name[fPrefix])
			}
		}
	}
	return nil
}

func isTypeErr(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// jsonText returns a scalar as text: strings unquoted, numbers as written.
func jsonText(raw json.RawMessage) (string, *fieldError) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", errMissing
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", badValue(quote(string(raw)), "a JSON string")
		}
		return s, nil
	case '{', '[', 't', 'f':
		return "", badValue(quote(string(raw)), "a JSON number or string")
	}
	return string(raw), nil
}

func jsonArrival(raw json.RawMessage, unit int64) (int64, *fieldError) {
	s, fe := jsonText(raw)
	if fe != nil {
		return 0, fe
	}
	return parseArrivalText(s, unit)
}

func jsonTokens(raw json.RawMessage) (int32, *fieldError) {
	s, fe := jsonText(raw)
	if fe != nil {
		return 0, fe
	}
	return parseTokensText(s)
}
