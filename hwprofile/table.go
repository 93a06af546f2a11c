package hwprofile

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/parquet-go/parquet-go"

	"github.com/lodsim/lodsim/trace/tabular"
)

// table is a decoded file in column form. Parquet and Arrow columns keep
// their native type; CSV columns are text, parsed when read, so a bad cell
// is reported with its line.
type table struct {
	file    string // for messages
	csv     bool   // row numbers are CSV lines (header = line 1)
	cols    []column
	idx     map[string]int
	numRows int
}

type column struct {
	name  string
	str   []string  // text columns
	num   []float64 // numeric columns (nil for text)
	valid []bool    // nil when no nulls
}

func (t *table) addColumn(c column) error {
	if t.idx == nil {
		t.idx = map[string]int{}
	}
	if _, dup := t.idx[c.name]; dup {
		return fmt.Errorf("%s: column %q appears twice", t.file, c.name)
	}
	t.idx[c.name] = len(t.cols)
	t.cols = append(t.cols, c)
	return nil
}

func (t *table) has(name string) bool { _, ok := t.idx[name]; return ok }

func (t *table) names() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

// rowLabel says where data row i (0-based) is in the file.
func (t *table) rowLabel(i int) string {
	if t.csv {
		return fmt.Sprintf("line %d", i+2)
	}
	return fmt.Sprintf("row %d", i+1)
}

// errAt formats an error at row i, column col.
func (t *table) errAt(i int, col, format string, args ...any) error {
	return fmt.Errorf("%s: %s, column %q: %s", t.file, t.rowLabel(i), col, fmt.Sprintf(format, args...))
}

// str returns the text of a cell ("" for a missing column or a null).
func (t *table) str(i int, col string) string {
	j, ok := t.idx[col]
	if !ok {
		return ""
	}
	c := &t.cols[j]
	if c.valid != nil && !c.valid[i] {
		return ""
	}
	if c.num != nil {
		return strconv.FormatFloat(c.num[i], 'g', -1, 64)
	}
	return c.str[i]
}

// float reads a numeric cell. ok is false for a missing column, a null or an
// empty CSV cell.
func (t *table) float(i int, col string) (v float64, ok bool, err error) {
	j, has := t.idx[col]
	if !has {
		return 0, false, nil
	}
	c := &t.cols[j]
	if c.valid != nil && !c.valid[i] {
		return 0, false, nil
	}
	if c.num != nil {
		v = c.num[i]
	} else {
		s := strings.TrimSpace(c.str[i])
		if s == "" {
			return 0, false, nil
		}
		v, err = strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false, t.errAt(i, col, "found %q, expected a number", c.str[i])
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false, t.errAt(i, col, "found %v, expected a finite number", v)
	}
	return v, true, nil
}

// int reads an integral cell; a missing one is an error when required.
func (t *table) int(i int, col string, required bool) (int64, error) {
	v, ok, err := t.float(i, col)
	if err != nil {
		return 0, err
	}
	if !ok {
		if required {
			return 0, t.errAt(i, col, "found an empty cell, expected an integer")
		}
		return 0, nil
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return 0, t.errAt(i, col, "found %v, expected an integer", v)
	}
	return int64(v), nil
}

// readTable decodes data (the whole file) by its content: the Parquet magic
// "PAR1", the Arrow IPC file magic "ARROW1" or an Arrow stream, else CSV.
func readTable(file string, data []byte) (*table, error) {
	switch {
	case bytes.HasPrefix(data, []byte("PAR1")):
		return readParquet(file, data)
	case bytes.HasPrefix(data, []byte("ARROW1")):
		return readArrowFile(file, data)
	case isArrowStream(file, data):
		return readArrowStream(file, data)
	default:
		return readCSV(file, data)
	}
}

// isArrowStream recognises an Arrow IPC stream: it starts with the
// continuation marker 0xFFFFFFFF (files named .arrows or .arrow carry it).
func isArrowStream(file string, data []byte) bool {
	return len(data) >= 4 && data[0] == 0xff && data[1] == 0xff && data[2] == 0xff && data[3] == 0xff
}

// The readers below go through trace/tabular, which checks every size the
// file claims before allocating; columns grow by append, never by a row
// count read from a footer.

func readParquet(file string, data []byte) (t *table, err error) {
	pf, err := tabular.OpenParquet(bytes.NewReader(data), int64(len(data)), file, tabular.Limits{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("%s: corrupt Parquet data: %v", file, p)
		}
	}()
	schema := pf.Schema()
	paths := schema.Columns()
	t = &table{file: file}
	isNum := make([]bool, len(paths))
	for ci, p := range paths {
		if len(p) != 1 {
			return nil, fmt.Errorf("%s: column %q is nested, expected a flat table", file, strings.Join(p, "."))
		}
		leaf, _ := schema.Lookup(p...)
		switch leaf.Node.Type().Kind() {
		case parquet.Boolean, parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
			isNum[ci] = true
		case parquet.ByteArray, parquet.FixedLenByteArray:
		default:
			return nil, fmt.Errorf("%s: column %q has Parquet type %v, expected numbers or strings", file, p[0], leaf.Node.Type())
		}
		c := column{name: p[0], valid: []bool{}}
		if isNum[ci] {
			c.num = []float64{}
		} else {
			c.str = []string{}
		}
		if err := t.addColumn(c); err != nil {
			return nil, err
		}
	}
	footerRows := pf.NumRows()
	r := parquet.NewGenericReader[any](pf)
	defer r.Close()
	buf := make([]parquet.Row, 512)
	for {
		n, err := r.ReadRows(buf)
		for _, rv := range buf[:n] {
			if int64(t.numRows) >= footerRows {
				return nil, fmt.Errorf("%s: more rows than the footer's %d", file, footerRows)
			}
			row := t.numRows
			for ci := range t.cols {
				c := &t.cols[ci]
				c.valid = append(c.valid, false)
				if c.num != nil {
					c.num = append(c.num, 0)
				} else {
					c.str = append(c.str, "")
				}
			}
			for _, v := range rv {
				ci := v.Column()
				if ci < 0 || ci >= len(t.cols) || v.IsNull() {
					continue
				}
				c := &t.cols[ci]
				c.valid[row] = true
				switch v.Kind() {
				case parquet.Boolean:
					if v.Boolean() {
						c.num[row] = 1
					}
				case parquet.Int32:
					c.num[row] = float64(v.Int32())
				case parquet.Int64:
					c.num[row] = float64(v.Int64())
				case parquet.Float:
					c.num[row] = float64(v.Float())
				case parquet.Double:
					c.num[row] = v.Double()
				default:
					if c.str != nil {
						c.str[row] = string(v.ByteArray())
					}
				}
			}
			t.numRows++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading row %d: %w", file, t.numRows+1, err)
		}
	}
	return t, nil
}

// readArrowFile reads an Arrow IPC file; readArrowStream a stream. Both go
// through tabular.OpenArrow, which tells them apart by the magic.
func readArrowFile(file string, data []byte) (*table, error) { return readArrow(file, data) }

func readArrowStream(file string, data []byte) (*table, error) { return readArrow(file, data) }

func readArrow(file string, data []byte) (t *table, err error) {
	ar, err := tabular.OpenArrow(bytes.NewReader(data), int64(len(data)), file, tabular.Limits{})
	if err != nil {
		return nil, err
	}
	defer ar.Close()
	t, err = arrowTable(file, ar.Schema())
	if err != nil {
		return nil, err
	}
	for {
		rec, err := ar.Next()
		if err == io.EOF {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		if err := t.appendArrow(rec); err != nil {
			return nil, err
		}
	}
}

func arrowTable(file string, s *arrow.Schema) (*table, error) {
	t := &table{file: file}
	for _, f := range s.Fields() {
		c := column{name: f.Name}
		switch f.Type.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW, arrow.BINARY, arrow.LARGE_BINARY:
		case arrow.BOOL, arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16,
			arrow.UINT32, arrow.UINT64, arrow.FLOAT32, arrow.FLOAT64:
			c.num = []float64{}
		default:
			return nil, fmt.Errorf("%s: column %q has Arrow type %s, expected numbers or strings", file, f.Name, f.Type)
		}
		c.valid = []bool{}
		if err := t.addColumn(c); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (t *table) appendArrow(rec arrow.Record) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: row %d: corrupt Arrow data: %v", t.file, t.numRows+1, p)
		}
	}()
	n := int(rec.NumRows())
	if int(rec.NumCols()) != len(t.cols) {
		return fmt.Errorf("%s: a record batch with %d columns, expected the schema's %d", t.file, rec.NumCols(), len(t.cols))
	}
	for ci := range t.cols {
		c := &t.cols[ci]
		a := rec.Column(ci)
		for i := 0; i < n; i++ {
			c.valid = append(c.valid, a.IsValid(i))
			if c.num == nil {
				var s string
				switch x := a.(type) {
				case *array.String:
					s = x.Value(i)
				case *array.LargeString:
					s = x.Value(i)
				case *array.StringView:
					s = x.Value(i)
				case *array.Binary:
					s = string(x.Value(i))
				case *array.LargeBinary:
					s = string(x.Value(i))
				}
				c.str = append(c.str, s)
				continue
			}
			var v float64
			switch x := a.(type) {
			case *array.Boolean:
				if x.Value(i) {
					v = 1
				}
			case *array.Int8:
				v = float64(x.Value(i))
			case *array.Int16:
				v = float64(x.Value(i))
			case *array.Int32:
				v = float64(x.Value(i))
			case *array.Int64:
				v = float64(x.Value(i))
			case *array.Uint8:
				v = float64(x.Value(i))
			case *array.Uint16:
				v = float64(x.Value(i))
			case *array.Uint32:
				v = float64(x.Value(i))
			case *array.Uint64:
				v = float64(x.Value(i))
			case *array.Float32:
				v = float64(x.Value(i))
			case *array.Float64:
				v = x.Value(i)
			}
			c.num = append(c.num, v)
		}
	}
	t.numRows += n
	return nil
}

func readCSV(file string, data []byte) (*table, error) {
	r, err := tabular.NewCSV(bytes.NewReader(data), file, tabular.CSVOptions{})
	if err != nil {
		return nil, err
	}
	t := &table{file: file, csv: true}
	for i, h := range r.Header() {
		h = strings.TrimSpace(h)
		if h == "" && i == 0 {
			h = "index" // pandas writes an unnamed index column
		}
		if err := t.addColumn(column{name: h}); err != nil {
			return nil, err
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for ci := range t.cols {
			t.cols[ci].str = append(t.cols[ci].str, rec[ci])
		}
		t.numRows++
	}
	return t, nil
}
