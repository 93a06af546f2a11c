package trace

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/deprecated"
	"github.com/parquet-go/parquet-go/format"

	"github.com/lodsim/lodsim/trace/tabular"
)

// pqColumn reads the values of one mapped leaf column, a buffer at a time,
// across pages and row groups.
type pqColumn struct {
	f        field
	name     string
	leaf     int
	unit     int64 // arrival: ns per unit of an integer or float value
	repeated bool
	pages    parquet.Pages
	values   parquet.ValueReader
	buf      []parquet.Value
	n, i     int
}

// parquetDecoder reads a Parquet file column by column: for each row group it
// opens the page readers of the mapped columns and zips their values into
// rows, so memory stays at one page per column.
type parquetDecoder struct {
	name string
	file *parquet.File
	m    mapping
	cols []*pqColumn
	byF  [nFields]*pqColumn
	rg   int   // current row group
	left int64 // rows of it not yet in a batch
	row  int64 // rows returned by decode

	batch  []Request
	bad    []*Error
	pos    int
	nbatch int
	intern interner
	closer io.Closer
}

// NewParquetReader returns a Reader over a Parquet trace of size bytes.
func NewParquetReader(r io.ReaderAt, size int64, name string, opt Options) (Reader, error) {
	return newParquetReader(r, size, name, opt, nil)
}

func newParquetReader(r io.ReaderAt, size int64, name string, opt Options, c io.Closer) (Reader, error) {
	d, err := newParquetDecoder(r, size, name, opt)
	if err != nil {
		return nil, err
	}
	d.closer = c
	return newFileReader(name, d, opt), nil
}

func newParquetDecoder(r io.ReaderAt, size int64, name string, opt Options) (d *parquetDecoder, err error) {
	defer func() {
		if p := recover(); p != nil {
			d, err = nil, &Error{File: name, Found: fmt.Sprint("unreadable metadata: ", p), Expected: "a Parquet file", Err: errCorrupt}
		}
	}()
	f, err := tabular.OpenParquet(r, size, name, opt.Limits, parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return nil, fromTabular(err)
	}
	schema := f.Schema()
	paths := schema.Columns()
	var header []string
	leafOf := map[string]int{}
	for i, p := range paths {
		if len(p) == 0 {
			continue
		}
		if _, ok := leafOf[p[0]]; !ok {
			leafOf[p[0]] = i
			header = append(header, p[0])
		}
	}
	m, err := resolveMapping(name, header, opt)
	if err != nil {
		return nil, err
	}
	d = &parquetDecoder{name: name, file: f, m: m, rg: -1}
	for fi := field(0); fi < nFields; fi++ {
		if !m.has(fi) {
			continue
		}
		leaf := leafOf[header[m.col[fi]]]
		lc, ok := schema.Lookup(paths[leaf]...)
		if !ok {
			return nil, &Error{File: name, Column: m.name[fi], Found: "a group column", Expected: "a leaf column"}
		}
		c := &pqColumn{f: fi, name: m.name[fi], leaf: leaf, unit: m.unit,
			repeated: lc.MaxRepetitionLevel > 0, buf: make([]parquet.Value, 1024)}
		typ := lc.Node.Type()
		kind := typ.Kind()
		if e := checkParquetKind(fi, kind, c.repeated); e != "" {
			return nil, &Error{File: name, Column: c.name, Found: kind.String() + columnShape(c.repeated), Expected: e}
		}
		if fi == fArrival {
			if lt := typ.LogicalType(); lt != nil {
				if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
					c.unit = int64(ts.Unit.Value.Duration())
				}
			} else if ct := typ.ConvertedType(); ct != nil {
				switch *ct {
				case deprecated.TimestampMillis:
					c.unit = 1e6
				case deprecated.TimestampMicros:
					c.unit = 1e3
				}
			}
		}
		d.cols = append(d.cols, c)
		d.byF[fi] = c
	}
	return d, nil
}

func columnShape(repeated bool) string {
	if repeated {
		return " list"
	}
	return ""
}

// checkParquetKind returns what was expected when a column's physical type
// cannot hold field f, or "".
func checkParquetKind(f field, k parquet.Kind, repeated bool) string {
	if f == fPrefix {
		if k == parquet.Int64 || k == parquet.Int32 {
			return ""
		}
		return "a list of int64 or uint64 block hashes"
	}
	if repeated {
		return "a scalar column"
	}
	switch f {
	case fArrival:
		switch k {
		case parquet.Int32, parquet.Int64, parquet.Int96, parquet.Float, parquet.Double, parquet.ByteArray:
			return ""
		}
		return "an integer, float, timestamp or string arrival column"
	case fModel, fSession:
		switch k {
		case parquet.ByteArray, parquet.Int32, parquet.Int64:
			return ""
		}
		return "a string column"
	case fID, fPriority:
		switch k {
		case parquet.Int32, parquet.Int64, parquet.ByteArray:
			return ""
		}
		return "an integer column"
	}
	switch k {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double, parquet.ByteArray:
		return ""
	}
	return "an integer token count column"
}

func (d *parquetDecoder) hasID() bool            { return d.m.has(fID) }
func (d *parquetDecoder) colName(f field) string { return d.m.name[f] }
func (d *parquetDecoder) arrivalUnit() int64     { return d.m.unit }

func (d *parquetDecoder) close() error {
	var err error
	for _, c := range d.cols {
		if c.pages != nil {
			if cerr := c.pages.Close(); err == nil {
				err = cerr
			}
			c.pages = nil
		}
	}
	if d.closer != nil {
		if cerr := d.closer.Close(); err == nil {
			err = cerr
		}
		d.closer = nil
	}
	return err
}

func (d *parquetDecoder) corrupt(c *pqColumn, what any) *Error {
	return &Error{File: d.name, Row: d.row + 1, Column: c.name, Found: fmt.Sprint(what), Expected: "readable column data", Err: errCorrupt}
}

// nextRowGroup opens the page readers of the next row group with rows.
func (d *parquetDecoder) nextRowGroup() error {
	groups := d.file.RowGroups()
	for {
		for _, c := range d.cols {
			if c.pages != nil {
				c.pages.Close()
				c.pages, c.values, c.n, c.i = nil, nil, 0, 0
			}
		}
		d.rg++
		if d.rg >= len(groups) {
			return io.EOF
		}
		g := groups[d.rg]
		d.left = g.NumRows()
		if d.left == 0 {
			continue
		}
		chunks := g.ColumnChunks()
		for _, c := range d.cols {
			if c.leaf >= len(chunks) {
				return d.corrupt(c, "a row group without the column")
			}
			c.pages = chunks[c.leaf].Pages()
		}
		return nil
	}
}

// fill refills c's buffer, moving to the next page when one is exhausted.
func (d *parquetDecoder) fill(c *pqColumn) error {
	for {
		if c.values == nil {
			p, err := c.pages.ReadPage()
			if err == io.EOF {
				return d.corrupt(c, "fewer values than the row group's row count")
			}
			if err != nil {
				return d.corrupt(c, err)
			}
			c.values = p.Values()
		}
		n, err := c.values.ReadValues(c.buf)
		c.n, c.i = n, 0
		if err == io.EOF {
			c.values = nil
		} else if err != nil {
			return d.corrupt(c, err)
		}
		if n > 0 {
			return nil
		}
	}
}

// value returns c's next value.
func (d *parquetDecoder) value(c *pqColumn) (parquet.Value, error) {
	if c.i >= c.n {
		if err := d.fill(c); err != nil {
			return parquet.Value{}, err
		}
	}
	v := c.buf[c.i]
	c.i++
	return v, nil
}

// peekContinues reports whether c's next value continues the current row of
// a repeated column.
func (d *parquetDecoder) peekContinues(c *pqColumn, last bool) (bool, error) {
	if c.i >= c.n {
		if last {
			// The last row of the group: the chunk must end here.
			return false, nil
		}
		if err := d.fill(c); err != nil {
			return false, err
		}
	}
	return c.buf[c.i].RepetitionLevel() > 0, nil
}

// parquetBatchRows is how many rows decode assembles at a time, column by
// column, so that the per-value work is a tight loop over one column.
const parquetBatchRows = 1024

func (d *parquetDecoder) decode(req *Request) error {
	if d.pos >= d.nbatch {
		if err := d.loadBatch(); err != nil {
			return err
		}
	}
	i := d.pos
	d.pos++
	d.row++
	*req = d.batch[i]
	if e := d.bad[i]; e != nil {
		d.bad[i] = nil
		return e
	}
	return nil
}

// loadBatch decodes the next rows of the current row group into d.batch.
// A row with a bad value keeps its first problem in d.bad.
func (d *parquetDecoder) loadBatch() (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{File: d.name, Row: d.row + 1, Found: fmt.Sprint(p), Expected: "readable column data", Err: errCorrupt}
		}
	}()
	if d.left == 0 {
		if err := d.nextRowGroup(); err != nil {
			return err
		}
	}
	k := int64(parquetBatchRows)
	if d.left < k {
		k = d.left
	}
	if d.batch == nil {
		d.batch = make([]Request, parquetBatchRows)
		d.bad = make([]*Error, parquetBatchRows)
	}
	batch := d.batch[:k]
	clear(batch)
	d.pos, d.nbatch = 0, 0
	for _, c := range d.cols {
		if c.repeated {
			if err := d.loadList(c, batch); err != nil {
				return err
			}
			continue
		}
		j := 0
		for j < len(batch) {
			if c.i >= c.n {
				if err := d.fill(c); err != nil {
					return err
				}
			}
			m := min(len(batch)-j, c.n-c.i)
			d.setColumn(c, batch[j:j+m], c.buf[c.i:c.i+m], j)
			c.i += m
			j += m
		}
	}
	d.left -= k
	d.nbatch = int(k)
	return nil
}

// problem records a bad value at batch row j, keeping the row's first.
func (d *parquetDecoder) problem(j int, c *pqColumn, fe *fieldError) {
	if d.bad[j] == nil {
		d.bad[j] = fe.at(d.row+int64(j)+1, 0, c.name)
	}
}

// setColumn stores vals, the values of column c for rows[0:len(vals)], which
// are batch rows off and after.
func (d *parquetDecoder) setColumn(c *pqColumn, rows []Request, vals []parquet.Value, off int) {
	var fe *fieldError
	for t := range vals {
		v := &vals[t]
		q := &rows[t]
		if v.IsNull() {
			switch c.f {
			case fArrival, fPrompt, fOutput, fID:
				d.problem(off+t, c, errMissing)
			}
			continue
		}
		switch c.f {
		case fArrival:
			if v.Kind() == parquet.Int64 && c.unit == 1 {
				q.Arrival = v.Int64()
				continue
			}
			q.Arrival, fe = pqArrival(*v, c.unit)
		case fPrompt:
			if v.Kind() == parquet.Int32 {
				if n := v.Int32(); n >= 0 {
					q.PromptTokens = n
					continue
				}
			}
			q.PromptTokens, fe = pqTokens(*v)
		case fOutput:
			if v.Kind() == parquet.Int32 {
				if n := v.Int32(); n >= 0 {
					q.OutputTokens = n
					continue
				}
			}
			q.OutputTokens, fe = pqTokens(*v)
		default:
			fe = d.set(q, c, *v)
		}
		if fe != nil {
			d.problem(off+t, c, fe)
			fe = nil
		}
	}
}

// loadList reads one list per row of batch from repeated column c.
func (d *parquetDecoder) loadList(c *pqColumn, batch []Request) error {
	for j := range batch {
		v, err := d.value(c)
		if err != nil {
			return err
		}
		last := j == len(batch)-1 && d.left == int64(len(batch))
		hashes, e := d.listValues(c, v, j, last)
		if e != nil {
			if e.Err == errCorrupt {
				return e
			}
			if d.bad[j] == nil {
				d.bad[j] = e
			}
			continue
		}
		batch[j].PrefixHashes = hashes
	}
	return nil
}

// listValues collects the values of one row of a repeated column, starting
// with v, leaving the column at the next row.
func (d *parquetDecoder) listValues(c *pqColumn, v parquet.Value, j int, last bool) ([]uint64, *Error) {
	var out []uint64
	var bad *Error
	for {
		if !v.IsNull() {
			switch v.Kind() {
			case parquet.Int64:
				out = append(out, v.Uint64())
			case parquet.Int32:
				out = append(out, uint64(v.Uint32()))
			default:
				if bad == nil {
					bad = badValue(v.Kind().String(), "int64 block hashes").at(d.row+int64(j)+1, 0, c.name)
				}
			}
		}
		more, err := d.peekContinues(c, last)
		if err != nil {
			var e *Error
			errors.As(err, &e)
			return nil, e
		}
		if !more {
			return out, bad
		}
		v = c.buf[c.i]
		c.i++
	}
}

// set stores one scalar value into its field of req.
func (d *parquetDecoder) set(req *Request, c *pqColumn, v parquet.Value) *fieldError {
	if v.IsNull() {
		switch c.f {
		case fArrival, fPrompt, fOutput, fID:
			return errMissing
		}
		return nil
	}
	var fe *fieldError
	switch c.f {
	case fArrival:
		req.Arrival, fe = pqArrival(v, c.unit)
	case fPrompt:
		req.PromptTokens, fe = pqTokens(v)
	case fOutput:
		req.OutputTokens, fe = pqTokens(v)
	case fID:
		switch v.Kind() {
		case parquet.Int32:
			req.ID = RequestID(v.Int32())
		case parquet.Int64:
			req.ID = RequestID(v.Int64())
		default:
			req.ID, fe = parseIDText(string(v.ByteArray()))
		}
	case fPriority:
		switch v.Kind() {
		case parquet.Int32:
			req.Priority = v.Int32()
		case parquet.Int64:
			p := v.Int64()
			if int64(int32(p)) != p {
				return badValue(strconv.FormatInt(p, 10), "an int32 priority")
			}
			req.Priority = int32(p)
		default:
			req.Priority, fe = parsePriorityText(string(v.ByteArray()))
		}
	case fModel:
		req.Model = d.pqString(v)
	case fSession:
		req.Session = d.pqString(v)
	}
	return fe
}

func (d *parquetDecoder) pqString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.Int32:
		return strconv.FormatInt(int64(v.Int32()), 10)
	case parquet.Int64:
		return strconv.FormatInt(v.Int64(), 10)
	}
	return d.intern.get(v.ByteArray())
}

func pqArrival(v parquet.Value, unit int64) (int64, *fieldError) {
	var ns int64
	ok := true
	switch v.Kind() {
	case parquet.Int32:
		ns, ok = scaleInt(int64(v.Int32()), unit)
	case parquet.Int64:
		ns, ok = scaleInt(v.Int64(), unit)
	case parquet.Float:
		ns, ok = scaleFloat(float64(v.Float()), unit)
	case parquet.Double:
		ns, ok = scaleFloat(v.Double(), unit)
	case parquet.Int96:
		// Legacy Impala/Spark timestamps: nanoseconds of the day, then the
		// Julian day number.
		i := v.Int96()
		nanos := int64(uint64(i[1])<<32 | uint64(i[0]))
		days := int64(i[2]) - 2440588
		ns = days*86400e9 + nanos
	case parquet.ByteArray:
		return parseArrivalText(string(v.ByteArray()), unit)
	}
	if !ok {
		return 0, badValue(v.String(), fmt.Sprintf("a finite arrival time in %s that fits in int64 nanoseconds", unitName(unit)))
	}
	return ns, nil
}

func pqTokens(v parquet.Value) (int32, *fieldError) {
	switch v.Kind() {
	case parquet.Int32:
		return tokensFromInt(int64(v.Int32()), "")
	case parquet.Int64:
		return tokensFromInt(v.Int64(), "")
	case parquet.Float:
		return tokensFromFloat(float64(v.Float()), "")
	case parquet.Double:
		return tokensFromFloat(v.Double(), "")
	}
	return parseTokensText(string(v.ByteArray()))
}
