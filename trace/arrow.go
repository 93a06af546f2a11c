package trace

import (
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/lodsim/lodsim/trace/tabular"
)

// arrowKind is how an Arrow column's values are read.
type arrowKind int

const (
	akInt64 arrowKind = iota
	akInt32
	akInt16
	akInt8
	akUint64
	akUint32
	akUint16
	akUint8
	akFloat64
	akFloat32
	akString
	akLargeString
	akStringView
	akDictString
	akList
	akLargeList
)

// arrowCol is a mapped column's view of the current record batch.
type arrowCol struct {
	f    field
	name string
	idx  int
	unit int64
	kind arrowKind

	arr   arrow.Array
	i64   []int64
	i32   []int32
	i16   []int16
	i8    []int8
	u64   []uint64
	u32   []uint32
	u16   []uint16
	u8    []uint8
	f64   []float64
	f32   []float32
	str   *array.String
	lstr  *array.LargeString
	vstr  *array.StringView
	dict  *array.Dictionary
	dstr  arrow.Array // dictionary values (string or large string)
	list  *array.List
	llist *array.LargeList
	elems arrowElems
}

// arrowElems reads the uint64 elements of a list column.
type arrowElems struct {
	n   int64 // number of elements
	u64 []uint64
	i64 []int64
	u32 []uint32
	i32 []int32
}

func (e *arrowElems) at(i int64) uint64 {
	switch {
	case e.u64 != nil:
		return e.u64[i]
	case e.i64 != nil:
		return uint64(e.i64[i])
	case e.u32 != nil:
		return uint64(e.u32[i])
	}
	return uint64(uint32(e.i32[i]))
}

// arrowDecoder reads an Arrow IPC file or stream one record batch at a time.
type arrowDecoder struct {
	name   string
	ar     *tabular.ArrowReader
	rec    arrow.Record
	i, n   int
	m      mapping
	cols   []*arrowCol
	row    int64
	intern interner
	closer io.Closer
}

// NewArrowReader returns a Reader over an Arrow IPC file (.arrow, .feather
// v2) or stream (.arrows). A file is read through its footer when r is an
// io.ReaderAt and io.Seeker, else as the stream it contains.
func NewArrowReader(r io.Reader, name string, opt Options) (Reader, error) {
	return newArrowFileOrStream(r, -1, name, opt, nil)
}

func newArrowFileOrStream(r io.Reader, size int64, name string, opt Options, c io.Closer) (Reader, error) {
	ar, err := tabular.OpenArrow(r, size, name, opt.Limits)
	if err != nil {
		return nil, fromTabular(err)
	}
	d := &arrowDecoder{name: name, ar: ar, closer: c}
	if err := d.bind(ar.Schema(), opt); err != nil {
		d.close()
		return nil, err
	}
	return newFileReader(name, d, opt), nil
}

// bind resolves the mapping against the schema and checks each column's type.
func (d *arrowDecoder) bind(schema *arrow.Schema, opt Options) error {
	header := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		header[i] = f.Name
	}
	m, err := resolveMapping(d.name, header, opt)
	if err != nil {
		return err
	}
	d.m = m
	for fi := field(0); fi < nFields; fi++ {
		if !m.has(fi) {
			continue
		}
		c := &arrowCol{f: fi, name: m.name[fi], idx: m.col[fi], unit: m.unit}
		dt := schema.Field(c.idx).Type
		kind, unit, ok := arrowKindOf(fi, dt)
		if !ok {
			return &Error{File: d.name, Column: c.name, Found: dt.String(), Expected: arrowExpected(fi)}
		}
		c.kind = kind
		if unit > 0 {
			c.unit = unit
		}
		d.cols = append(d.cols, c)
	}
	return nil
}

func arrowExpected(f field) string {
	switch f {
	case fPrefix:
		return "a list of uint64 or int64 block hashes"
	case fModel, fSession:
		return "a string (utf8, large_utf8, utf8_view or dictionary-encoded) or integer column"
	case fArrival:
		return "an integer, float, timestamp or string arrival column"
	}
	return "an integer, float or string column"
}

// arrowKindOf says how to read type dt for field f, and the unit of a
// timestamp or duration arrival.
func arrowKindOf(f field, dt arrow.DataType) (arrowKind, int64, bool) {
	if f == fPrefix {
		var elem arrow.DataType
		kind := akList
		switch t := dt.(type) {
		case *arrow.ListType:
			elem = t.Elem()
		case *arrow.LargeListType:
			elem, kind = t.Elem(), akLargeList
		default:
			return 0, 0, false
		}
		switch elem.ID() {
		case arrow.UINT64, arrow.INT64, arrow.UINT32, arrow.INT32:
			return kind, 0, true
		}
		return 0, 0, false
	}
	switch t := dt.(type) {
	case *arrow.TimestampType:
		if f == fArrival {
			return akInt64, int64(t.Unit.Multiplier()), true
		}
		return 0, 0, false
	case *arrow.DurationType:
		if f == fArrival {
			return akInt64, int64(t.Unit.Multiplier()), true
		}
		return 0, 0, false
	case *arrow.DictionaryType:
		switch t.ValueType.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
			return akDictString, 0, true
		}
		return 0, 0, false
	}
	isFloat := false
	var k arrowKind
	switch dt.ID() {
	case arrow.INT64:
		k = akInt64
	case arrow.INT32:
		k = akInt32
	case arrow.INT16:
		k = akInt16
	case arrow.INT8:
		k = akInt8
	case arrow.UINT64:
		k = akUint64
	case arrow.UINT32:
		k = akUint32
	case arrow.UINT16:
		k = akUint16
	case arrow.UINT8:
		k = akUint8
	case arrow.FLOAT64:
		k, isFloat = akFloat64, true
	case arrow.FLOAT32:
		k, isFloat = akFloat32, true
	case arrow.STRING:
		return akString, 0, true
	case arrow.LARGE_STRING:
		return akLargeString, 0, true
	case arrow.STRING_VIEW:
		return akStringView, 0, true
	default:
		return 0, 0, false
	}
	if isFloat {
		switch f {
		case fArrival, fPrompt, fOutput:
			return k, 0, true
		}
		return 0, 0, false
	}
	return k, 0, true
}

func (d *arrowDecoder) hasID() bool            { return d.m.has(fID) }
func (d *arrowDecoder) colName(f field) string { return d.m.name[f] }
func (d *arrowDecoder) arrivalUnit() int64     { return d.m.unit }

func (d *arrowDecoder) close() error {
	d.rec = nil
	var err error
	if d.ar != nil {
		err = d.ar.Close()
		d.ar = nil
	}
	if d.closer != nil {
		if cerr := d.closer.Close(); err == nil {
			err = cerr
		}
		d.closer = nil
	}
	return err
}

// nextBatch loads the next non-empty record batch and binds the columns.
func (d *arrowDecoder) nextBatch() error {
	for {
		if d.ar == nil {
			return io.EOF
		}
		rec, err := d.ar.Next()
		if err != nil {
			d.rec = nil
			return fromTabular(err)
		}
		d.rec = rec
		d.i, d.n = 0, int(rec.NumRows())
		if d.n == 0 {
			continue
		}
		for _, c := range d.cols {
			if c.idx >= int(rec.NumCols()) || rec.Column(c.idx).Len() < d.n {
				return &Error{File: d.name, Row: d.row + 1, Column: c.name, Found: "a column shorter than its record batch", Expected: "aligned columns", Err: errCorrupt}
			}
			c.bindArray(rec.Column(c.idx))
		}
		return nil
	}
}

func (c *arrowCol) bindArray(a arrow.Array) {
	c.arr = a
	switch c.kind {
	case akInt64:
		switch t := a.(type) {
		case *array.Int64:
			c.i64 = t.Int64Values()
		case *array.Timestamp:
			c.i64 = arrow.Int64Traits.CastFromBytes(arrow.TimestampTraits.CastToBytes(t.TimestampValues()))
		case *array.Duration:
			c.i64 = arrow.Int64Traits.CastFromBytes(arrow.DurationTraits.CastToBytes(t.DurationValues()))
		}
	case akInt32:
		c.i32 = a.(*array.Int32).Int32Values()
	case akInt16:
		c.i16 = a.(*array.Int16).Int16Values()
	case akInt8:
		c.i8 = a.(*array.Int8).Int8Values()
	case akUint64:
		c.u64 = a.(*array.Uint64).Uint64Values()
	case akUint32:
		c.u32 = a.(*array.Uint32).Uint32Values()
	case akUint16:
		c.u16 = a.(*array.Uint16).Uint16Values()
	case akUint8:
		c.u8 = a.(*array.Uint8).Uint8Values()
	case akFloat64:
		c.f64 = a.(*array.Float64).Float64Values()
	case akFloat32:
		c.f32 = a.(*array.Float32).Float32Values()
	case akString:
		c.str = a.(*array.String)
	case akLargeString:
		c.lstr = a.(*array.LargeString)
	case akStringView:
		c.vstr = a.(*array.StringView)
	case akDictString:
		c.dict = a.(*array.Dictionary)
		c.dstr = c.dict.Dictionary()
	case akList, akLargeList:
		var vals arrow.Array
		if c.kind == akList {
			c.list = a.(*array.List)
			vals = c.list.ListValues()
		} else {
			c.llist = a.(*array.LargeList)
			vals = c.llist.ListValues()
		}
		c.elems = arrowElems{n: int64(vals.Len())}
		switch v := vals.(type) {
		case *array.Uint64:
			c.elems.u64 = v.Uint64Values()
		case *array.Int64:
			c.elems.i64 = v.Int64Values()
		case *array.Uint32:
			c.elems.u32 = v.Uint32Values()
		case *array.Int32:
			c.elems.i32 = v.Int32Values()
		}
	}
}

// integer returns value i of an integer column.
func (c *arrowCol) integer(i int) (int64, bool) {
	switch c.kind {
	case akInt64:
		return c.i64[i], true
	case akInt32:
		return int64(c.i32[i]), true
	case akInt16:
		return int64(c.i16[i]), true
	case akInt8:
		return int64(c.i8[i]), true
	case akUint64:
		v := c.u64[i]
		return int64(v), v <= 1<<63-1
	case akUint32:
		return int64(c.u32[i]), true
	case akUint16:
		return int64(c.u16[i]), true
	case akUint8:
		return int64(c.u8[i]), true
	}
	return 0, false
}

func (c *arrowCol) float(i int) (float64, bool) {
	switch c.kind {
	case akFloat64:
		return c.f64[i], true
	case akFloat32:
		return float64(c.f32[i]), true
	}
	return 0, false
}

func (c *arrowCol) text(i int) (string, bool) {
	switch c.kind {
	case akString:
		return c.str.Value(i), true
	case akLargeString:
		return c.lstr.Value(i), true
	case akStringView:
		return c.vstr.Value(i), true
	case akDictString:
		j := c.dict.GetValueIndex(i)
		switch s := c.dstr.(type) {
		case *array.String:
			return s.Value(j), true
		case *array.LargeString:
			return s.Value(j), true
		case *array.StringView:
			return s.Value(j), true
		}
	}
	return "", false
}

func (d *arrowDecoder) decode(req *Request) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &Error{File: d.name, Row: d.row, Found: fmt.Sprint(p), Expected: "readable Arrow data", Err: errCorrupt}
		}
	}()
	if d.i >= d.n {
		if err := d.nextBatch(); err != nil {
			return err
		}
	}
	i := d.i
	d.i++
	d.row++
	for _, c := range d.cols {
		if fe := d.set(req, c, i); fe != nil {
			return fe.at(d.row, 0, c.name)
		}
	}
	return nil
}

func (d *arrowDecoder) set(req *Request, c *arrowCol, i int) *fieldError {
	if c.arr.IsNull(i) {
		switch c.f {
		case fArrival, fPrompt, fOutput, fID:
			return errMissing
		}
		return nil
	}
	switch c.f {
	case fArrival:
		if v, ok := c.integer(i); ok {
			ns, ok := scaleInt(v, c.unit)
			if !ok {
				return badValue(strconv.FormatInt(v, 10), fmt.Sprintf("an arrival time in %s that fits in int64 nanoseconds", unitName(c.unit)))
			}
			req.Arrival = ns
		} else if v, ok := c.float(i); ok {
			ns, ok := scaleFloat(v, c.unit)
			if !ok {
				return badValue(strconv.FormatFloat(v, 'g', -1, 64), fmt.Sprintf("a finite arrival time in %s that fits in int64 nanoseconds", unitName(c.unit)))
			}
			req.Arrival = ns
		} else if s, ok := c.text(i); ok {
			var fe *fieldError
			if req.Arrival, fe = parseArrivalText(s, c.unit); fe != nil {
				return fe
			}
		} else if c.kind == akUint64 {
			return badValue(strconv.FormatUint(c.u64[i], 10), "an arrival that fits in int64 nanoseconds")
		}
	case fPrompt, fOutput:
		var v int32
		var fe *fieldError
		if n, ok := c.integer(i); ok {
			v, fe = tokensFromInt(n, "")
		} else if f, ok := c.float(i); ok {
			v, fe = tokensFromFloat(f, "")
		} else if s, ok := c.text(i); ok {
			v, fe = parseTokensText(s)
		} else {
			fe = badValue(strconv.FormatUint(c.u64[i], 10), tokensExpected)
		}
		if fe != nil {
			return fe
		}
		if c.f == fPrompt {
			req.PromptTokens = v
		} else {
			req.OutputTokens = v
		}
	case fID:
		if n, ok := c.integer(i); ok {
			req.ID = RequestID(n)
		} else if s, ok := c.text(i); ok {
			var fe *fieldError
			if req.ID, fe = parseIDText(s); fe != nil {
				return fe
			}
		} else {
			return badValue(strconv.FormatUint(c.u64[i], 10), "an int64 request id")
		}
	case fPriority:
		if n, ok := c.integer(i); ok && int64(int32(n)) == n {
			req.Priority = int32(n)
		} else if s, ok := c.text(i); ok {
			var fe *fieldError
			if req.Priority, fe = parsePriorityText(s); fe != nil {
				return fe
			}
		} else {
			return badValue(c.arr.ValueStr(i), "an int32 priority")
		}
	case fModel, fSession:
		var s string
		if n, ok := c.integer(i); ok {
			s = strconv.FormatInt(n, 10)
		} else {
			s, _ = c.text(i)
			s = d.intern.str(s)
		}
		if c.f == fModel {
			req.Model = s
		} else {
			req.Session = s
		}
	case fPrefix:
		var lo, hi int64
		if c.list != nil {
			lo, hi = c.list.ValueOffsets(i)
		} else {
			lo, hi = c.llist.ValueOffsets(i)
		}
		if lo < 0 || hi < lo || hi > c.elems.n {
			return badValue(fmt.Sprintf("list offsets [%d, %d) of %d elements", lo, hi, c.elems.n), "a list inside the column's values")
		}
		if hi > lo {
			hs := make([]uint64, hi-lo)
			for j := range hs {
				hs[j] = c.elems.at(lo + int64(j))
			}
			req.PrefixHashes = hs
		}
	}
	return nil
}
