package trace

import (
	"errors"
	"io"
	"sort"
	"strconv"
)

// Options control how Open reads a trace file.
type Options struct {
	// Format is csv, parquet, arrow or jsonl; "" detects it from the
	// extension and the first bytes.
	Format string
	// Columns maps file columns to fields, e.g.
	// "arrival=ts,prompt=in,output=out,model=m,unit=ms" (see ParseColumns).
	// Fields left out are detected from the header.
	Columns string
	// TimeUnit is the unit of a numeric arrival column: s, ms, us or ns.
	// "" takes it from the detected layout, else from a suffix of the column
	// name (_ms), else seconds. Calendar timestamps and Parquet/Arrow
	// timestamp columns carry their own unit.
	TimeUnit string
	// Sort sorts out-of-order arrivals (stably, so ties keep file order)
	// instead of failing at the first one. Sorting holds the whole trace in
	// memory.
	Sort bool
	// DropFailed drops requests with zero output tokens (BurstGPT marks
	// failed requests that way).
	DropFailed bool
	// KeepOffset keeps arrival times as found (Unix nanoseconds for calendar
	// timestamps) instead of shifting the first request to 0.
	KeepOffset bool
	// SkipInvalid skips rows with missing or invalid values, and
	// out-of-order rows, counting them (see Problems) instead of failing.
	// Structural damage (a truncated file) still fails.
	SkipInvalid bool
}

// decoder is one file format's row decoder. decode fills req from the next
// row, or returns io.EOF. Value problems come back as *Error with Row and
// Column set and skippable true; anything else ends the stream.
type decoder interface {
	decode(req *Request) error
	// hasID reports whether the file has an id column; otherwise IDs are
	// 0-based row indexes.
	hasID() bool
	// arrivalName is the file's arrival column, for order errors.
	arrivalName() string
	close() error
}

// Problems counts what a reader skipped under Options.SkipInvalid.
type Problems struct {
	Rows       int64            // rows skipped in total
	Missing    int64            // rows skipped for an empty or null required value
	Invalid    int64            // rows skipped for a value that did not parse or was out of range
	OutOfOrder int64            // rows skipped for arriving before the row before them
	ByColumn   map[string]int64 // rows skipped per file column
	First      error            // the first problem, as an *Error
}

func (p *Problems) add(e *Error, kind *int64) {
	p.Rows++
	*kind++
	if p.ByColumn == nil {
		p.ByColumn = map[string]int64{}
	}
	p.ByColumn[e.Column]++
	if p.First == nil {
		p.First = e
	}
}

// fileReader turns a decoder into a Reader: it assigns row-index IDs, checks
// or sorts arrival order, drops failed rows and shifts arrivals to zero.
type fileReader struct {
	name string
	dec  decoder
	opt  Options
	ids  bool

	row      int64 // data rows decoded so far
	prev     int64 // raw arrival of the previous row
	havePrev bool
	base     int64
	returned int64
	problems Problems

	scratch Request

	sorted []Request // Options.Sort: the whole trace, sorted
	pos    int
	err    error // sticky
}

func newFileReader(name string, dec decoder, opt Options) *fileReader {
	return &fileReader{name: name, dec: dec, opt: opt, ids: dec.hasID()}
}

// Problems reports the rows skipped so far under Options.SkipInvalid.
func (r *fileReader) Problems() Problems { return r.problems }

// raw returns the next decoded, order-checked row before shifting.
func (r *fileReader) raw() (Request, error) {
	for {
		// decode writes into a field: a local whose address reaches an
		// interface method would escape, costing an allocation per row.
		r.scratch = Request{}
		err := r.dec.decode(&r.scratch)
		req := r.scratch
		if err == io.EOF {
			if r.row == 0 {
				return req, &Error{File: r.name, Found: "no data rows", Expected: "at least one request", Err: ErrEmpty}
			}
			return req, io.EOF
		}
		r.row++
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.File = r.name
				if r.opt.SkipInvalid && e.skippable {
					if e.missing {
						r.problems.add(e, &r.problems.Missing)
					} else {
						r.problems.add(e, &r.problems.Invalid)
					}
					continue
				}
			}
			return req, err
		}
		if !r.ids {
			req.ID = RequestID(r.row - 1)
		}
		if !r.opt.Sort && r.havePrev && req.Arrival < r.prev {
			e := &Error{File: r.name, Row: r.row, Column: r.arrivalColumn(),
				Found:    "arrival " + strconv.FormatInt(req.Arrival, 10) + " ns before the previous row's " + strconv.FormatInt(r.prev, 10) + " ns",
				Expected: "non-decreasing arrivals", Err: ErrOutOfOrder}
			if r.opt.SkipInvalid {
				r.problems.add(e, &r.problems.OutOfOrder)
				continue
			}
			return req, e
		}
		r.prev, r.havePrev = req.Arrival, true
		if r.opt.DropFailed && req.OutputTokens == 0 {
			continue
		}
		return req, nil
	}
}

func (r *fileReader) arrivalColumn() string { return r.dec.arrivalName() }

// Next implements Reader.
func (r *fileReader) Next() (Request, error) {
	if r.err != nil {
		return Request{}, r.err
	}
	var req Request
	var err error
	if r.opt.Sort {
		if r.sorted == nil {
			if err = r.sortAll(); err != nil {
				r.err = err
				return Request{}, err
			}
		}
		if r.pos >= len(r.sorted) {
			r.err = io.EOF
			return Request{}, io.EOF
		}
		req = r.sorted[r.pos]
		r.sorted[r.pos] = Request{}
		r.pos++
	} else if req, err = r.raw(); err != nil {
		r.err = err
		return Request{}, err
	}
	if r.returned == 0 && !r.opt.KeepOffset {
		r.base = req.Arrival
	}
	r.returned++
	req.Arrival -= r.base
	return req, nil
}

func (r *fileReader) sortAll() error {
	all := make([]Request, 0, 1024)
	for {
		req, err := r.raw()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		all = append(all, req)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Arrival < all[j].Arrival })
	r.sorted = all
	return nil
}

// Close implements Reader.
func (r *fileReader) Close() error {
	r.sorted = nil
	return r.dec.close()
}

// interner returns one string per distinct byte sequence, so that a column of
// repeated model or session names allocates each name once.
type interner struct {
	m map[string]string
}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= 1<<16 {
		// High-cardinality columns (session ids) would grow without bound.
		in.m = make(map[string]string, 64)
	}
	s := string(b)
	in.m[s] = s
	return s
}

func (in *interner) str(s string) string {
	if len(s) == 0 {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil || len(in.m) >= 1<<16 {
		in.m = make(map[string]string, 64)
	}
	s = string([]byte(s)) // detach from a reused buffer
	in.m[s] = s
	return s
}
